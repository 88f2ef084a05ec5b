"""Profile one endpoint of the generated blog app and of the hand-written one, in process (no
network, no load tool), over the database `bench/load.py` seeded; prints, for each app, the SQL
statements and Python function calls per request (both independent of the machine's load), the
CPU time this process spends per request (less dependent on load than wall time), the calls by
package and the top of a cProfile by own time (tottime).

    DATABASE_URL=postgresql+asyncpg://... python bench/profile_requests.py /api/v1/posts/17
    DATABASE_URL=postgresql+asyncpg://... python bench/profile_requests.py create

`create` posts new rows to `/api/v1/posts` with the seeded author's token. With `--redis URL`
the generated app keeps its response cache in that Redis database: after the warm-up, reads are
cache hits (the hand-written app has no cache).

    DATABASE_URL=... python bench/profile_requests.py /api/v1/posts/17 --redis redis://...
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import itertools
import os
import pstats
import sys
import time
from pathlib import Path

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "output" / "blog"), str(ROOT)]
os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-abcdef")
os.environ.update(RATE_LIMIT_ENABLED="false", CACHE_ENABLED="false", LOG_LEVEL="WARNING")
REQUESTS = 200
_serial = itertools.count()


def author_token() -> str:
    """An access token of the seeded author (user 1)."""
    from blog.core.config import Settings
    from blog.core.security import issue_access_token

    settings = Settings(_env_file=None, SECRET_KEY=os.environ["SECRET_KEY"], ENV="test")
    return issue_access_token(settings, subject="1")[0]


async def one_request(client: AsyncClient, path: str, token: str) -> Response:
    if path != "create":
        return await client.get(path)
    number = next(_serial)
    body = {"title": f"Profiled post {number}", "slug": f"profiled-{os.getpid()}-{number}"}
    return await client.post(
        "/api/v1/posts",
        json={**body, "body": "Profiled body."},
        headers={"Authorization": f"Bearer {token}"},
    )


async def drive(app: FastAPI, path: str, token: str) -> tuple[str, str]:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    transport = ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),  # startup and shutdown, as uvicorn runs them
        AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        for _ in range(5):  # warm-up
            response = await one_request(client, path, token)
            assert response.status_code in (200, 201), response.text
        cpu = time.process_time()
        for _ in range(REQUESTS):
            await one_request(client, path, token)
        cpu_ms = (time.process_time() - cpu) * 1000 / REQUESTS
        event.listen(Engine, "before_cursor_execute", record)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(REQUESTS):
            await one_request(client, path, token)
        profile.disable()
        event.remove(Engine, "before_cursor_execute", record)
    stats = pstats.Stats(profile, stream=(out := io.StringIO()))
    stats.sort_stats("tottime").print_stats(25)
    calls = stats.total_calls / REQUESTS  # type: ignore[attr-defined]
    summary = f"{len(statements) / REQUESTS:g} SQL statements, {calls:.0f} Python calls, "
    summary += f"{cpu_ms:.2f} ms CPU (this process, without the profiler) per request"
    return summary, calls_by_package(stats) + out.getvalue()


def calls_by_package(stats: pstats.Stats) -> str:
    """Python calls per request by the package (or app module) of the function called."""
    totals: dict[str, int] = {}
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        # a builtin (`~`) counts for the package that called it
        callers = row[4].items() if filename == "~" else [((filename, 0, ""), row)]
        for (caller, _, _), caller_row in callers:
            totals[_package(caller)] = totals.get(_package(caller), 0) + caller_row[1]
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:15]
    return "".join(f"{calls / REQUESTS:8.0f}  {package}\n" for package, calls in ranked) + "\n"


def _package(filename: str) -> str:
    if filename == "~":
        return "builtins"
    path = Path(filename)
    if "site-packages" in path.parts:
        return path.parts[path.parts.index("site-packages") + 1].removesuffix(".py")
    if path.is_relative_to(ROOT):
        return str(path.relative_to(ROOT))
    return "stdlib " + path.stem


def main() -> None:
    path = sys.argv[1]
    if sys.argv[2:3] == ["--redis"]:
        os.environ.update(CACHE_ENABLED="true", REDIS_URL=sys.argv[3])
    from blog.main import create_app

    from bench.handwritten_app import app as handwritten

    token = author_token()
    for name, app in (("generated", create_app()), ("hand-written", handwritten)):
        summary, profile = asyncio.run(drive(app, path, token))
        print(f"== {name}: {summary}")
        print(profile)


if __name__ == "__main__":
    main()
