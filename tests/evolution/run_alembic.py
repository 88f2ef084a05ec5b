"""Run one Alembic command on a generated project, inside one PostgreSQL schema.

    python run_alembic.py PROJECT_DIR DATABASE_URL SCHEMA COMMAND [ARGUMENT]

The project's own alembic.ini and env.py run the command; the engine they get (through
`config.attributes["connection"]`, which env.py honours) has `search_path` set to SCHEMA, so
the evolution test can keep its tables apart from anything else in the database. COMMAND is
an `alembic.command` function: upgrade, downgrade, check, current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine


def main(argv: list[str]) -> None:
    project, url, schema, name, *arguments = argv
    sys.path.insert(0, project)
    engine = create_async_engine(
        url,
        poolclass=pool.NullPool,
        connect_args={"server_settings": {"search_path": schema}},
    )
    config = Config(str(Path(project) / "alembic.ini"))
    config.attributes["connection"] = engine
    getattr(command, name)(config, *arguments)


if __name__ == "__main__":
    main(sys.argv[1:])
