"""Profile one endpoint of the generated blog app and of the hand-written one, in process (no
network, no load tool), over the database `bench/load.py` seeded; prints SQL statements per
request and the top of a cProfile by own time (tottime).

    DATABASE_URL=postgresql+asyncpg://... python bench/profile_requests.py /api/v1/posts/17
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import sys
from pathlib import Path

from httpx import ASGITransport, AsyncClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "output" / "blog"), str(ROOT)]
os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-abcdef")
os.environ.update(RATE_LIMIT_ENABLED="false", CACHE_ENABLED="false", LOG_LEVEL="WARNING")
REQUESTS = 200


async def drive(app: object, path: str) -> tuple[int, str]:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://bench") as client:
        for _ in range(5):  # warm-up
            assert (await client.get(path)).status_code == 200
        event.listen(Engine, "before_cursor_execute", record)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(REQUESTS):
            await client.get(path)
        profile.disable()
        event.remove(Engine, "before_cursor_execute", record)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(20)
    return len(statements) // REQUESTS, out.getvalue()


def main() -> None:
    path = sys.argv[1]
    from blog.main import create_app

    from bench.handwritten_app import app as handwritten

    for name, app in (("generated", create_app()), ("hand-written", handwritten)):
        per_request, profile = asyncio.run(drive(app, path))
        print(f"== {name}: {per_request} SQL statements per request")
        print(profile)


if __name__ == "__main__":
    main()
