"""An object field stored as prefixed columns, changed by PATCH without its optional members.

The update replaces the object whole: a member left out takes its default (null), as on
create. Runs the generated app of the `object_fields` case in a subprocess, on SQLite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from generator.pipeline import build
from generator.write import write_output

SPEC = Path(__file__).parent / "cases" / "object_fields" / "spec"

SCRIPT = textwrap.dedent(
    """\
    import asyncio, json, sys

    from httpx import ASGITransport, AsyncClient
    from sqlalchemy.ext.asyncio import create_async_engine

    from places.core.config import Settings
    from places.main import create_app
    from places.models import Base


    async def main(database: str) -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        settings = Settings(_env_file=None, ENV="test", DATABASE_URL=str(engine.url))
        app = create_app(settings, engine=engine)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            address = {"street": "1 Main St", "city": "Lyon", "postcode": "69001"}
            created = await client.post("/api/v1/venues", json={"name": "V", "address": address})
            assert created.status_code == 201, created.text
            venue = created.json()["data"]["id"]
            moved = {"street": "2 Quai", "city": "Paris"}
            changed = await client.patch(f"/api/v1/venues/{venue}", json={"address": moved})
            print(json.dumps([changed.status_code, changed.json()]))
        await engine.dispose()


    asyncio.run(main(sys.argv[1]))
    """
)


def test_patching_an_object_field_without_its_optional_member_sets_that_member_to_null(
    tmp_path: Path,
) -> None:
    result = build(SPEC, out_dir=tmp_path / "output", label_root="spec")
    assert result.ok, [d.render() for d in result.diagnostics]
    write_output(tmp_path / "output", result.files, result.once)
    project = tmp_path / "output" / "places"
    environment = {**os.environ, "PYTHONPATH": str(project)}
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "places.db")],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    status, body = json.loads(run.stdout.strip().splitlines()[-1])
    assert status == 200, body
    assert body["data"]["address"] == {"street": "2 Quai", "city": "Paris", "postcode": None}
