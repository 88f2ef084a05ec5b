"""Shop's migration that turns tenant keys on, run over rows stored before it.

Two organizations share a vendor code and a zip code in the tables split out by dependencies,
which every tenant shared until then. The upgrade gives each organization its own copy of
those rows and fills the key of every path-scoped row from its parent; the downgrade keeps one
row per old key, and upgrading again gives the same result. SQLite always, PostgreSQL too when
TEST_DATABASE_URL is set (in a schema of its own).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SHOP = Path(__file__).resolve().parent.parent / "output" / "shop"
pytestmark = pytest.mark.slow  # Alembic runs shop's five revisions four times

RUNNER = Path(__file__).resolve().parent / "evolution" / "run_alembic.py"
# The revision before tenant keys were carried (read from its file: ids hash the content).
BEFORE_REVISION = next(
    line.split('"')[1]
    for path in (SHOP / "migrations" / "versions").glob("0004_*.py")
    for line in path.read_text().splitlines()
    if line.startswith("revision: str")
)
_DUMMY = {
    "CHAR": lambda: uuid.uuid4().hex,
    "UUID": lambda: uuid.uuid4(),
    "VARCHAR": lambda: "x",
    "TEXT": lambda: "x",
    "NUMERIC": lambda: 1,
    "INTEGER": lambda: 0,
    "BIGINT": lambda: 0,
}


class Database:
    """One empty database (SQLite file, or a PostgreSQL schema) shop's Alembic runs on."""

    def __init__(self, url: str, schema: str | None) -> None:
        self.url = url
        self.schema = schema

    def engine(self) -> AsyncEngine:
        args = {"server_settings": {"search_path": self.schema}} if self.schema else {}
        return create_async_engine(self.url, connect_args=args, poolclass=sa.pool.NullPool)

    def alembic(self, command: str, revision: str) -> None:
        if self.schema:
            args = [sys.executable, str(RUNNER), str(SHOP), self.url, self.schema]
        else:
            code = (
                "import sys; sys.path.insert(0, '.'); from alembic import command; "
                "from alembic.config import Config; c = Config('alembic.ini'); "
                "c.set_main_option('sqlalchemy.url', sys.argv[1]); "
                "getattr(command, sys.argv[2])(c, sys.argv[3])"
            )
            args = [sys.executable, "-c", code, self.url]
        done = subprocess.run(
            [*args, command, revision], cwd=SHOP, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        yield Database(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}", None)
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"tenant_keys_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        engine = create_async_engine(url, poolclass=sa.pool.NullPool)
        async with engine.begin() as connection:
            await connection.execute(sa.text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"'))
    yield Database(url, schema)
    asyncio.run(run(f'DROP SCHEMA "{schema}" CASCADE'))


async def _insert(connection: Any, table: str, **values: Any) -> Any:
    """A row with `values`; every other NOT NULL column without a default gets a dummy."""
    columns = await connection.run_sync(lambda c: sa.inspect(c).get_columns(table))
    row = dict(values)
    for column in columns:
        name, kind = column["name"], str(column["type"]).split("(")[0].upper()
        if name in row or column["nullable"] or column.get("default") is not None:
            continue
        row[name] = _DUMMY[kind]() if kind in _DUMMY else None
    table_ = sa.table(table, *(sa.column(name) for name in row))
    await connection.execute(sa.insert(table_).values(**row))
    return row["id"]


async def _store_rows(database: Database) -> dict[str, Any]:
    """Two organizations, each a customer with an address and a product; the zip code and the
    vendor rows are shared, as they were before tenant keys."""
    engine = database.engine()
    ids: dict[str, Any] = {}
    async with engine.begin() as connection:
        await _insert(connection, "zip_codes", zip_code="94103", city="SF", state="CA")
        await _insert(connection, "vendors", vendor_code="ACME", vendor_name="Acme")
        for n in (1, 2):
            org = await _insert(connection, "organizations", name=f"Org {n}")
            customer = await _insert(
                connection, "customers", organization_id=org, email=f"c{n}@example.com"
            )
            await _insert(connection, "addresses", customer_id=customer, zip_code="94103")
            await _insert(
                connection,
                "products",
                organization_id=org,
                vendor_code="ACME",
                sku=f"SKU-{n}000",
                slug=f"p-{n}",
            )
            ids[f"org{n}"] = org
    await engine.dispose()
    return ids


async def _read(database: Database, sql: str) -> list[tuple[Any, ...]]:
    engine = database.engine()
    async with engine.connect() as connection:
        rows = [tuple(r) for r in (await connection.execute(sa.text(sql))).all()]
    await engine.dispose()
    return rows


def _key(value: Any) -> str:
    return str(value).replace("-", "")


def _assert_per_tenant(database: Database, ids: dict[str, Any]) -> None:
    orgs = {_key(ids["org1"]), _key(ids["org2"])}
    vendors = asyncio.run(_read(database, "SELECT organization_id, vendor_name FROM vendors"))
    assert {_key(o) for o, _ in vendors} == orgs and {n for _, n in vendors} == {"Acme"}
    zips = asyncio.run(_read(database, "SELECT organization_id FROM zip_codes"))
    assert {_key(o) for (o,) in zips} == orgs and len(zips) == 2
    mismatched = asyncio.run(
        _read(
            database,
            "SELECT a.id FROM addresses a JOIN customers c ON c.id = a.customer_id "
            "WHERE a.organization_id IS NULL OR a.organization_id <> c.organization_id",
        )
    )
    assert mismatched == []


def test_tenant_keys_are_filled_for_stored_rows_and_undone(database: Database) -> None:
    database.alembic("upgrade", BEFORE_REVISION)
    ids = asyncio.run(_store_rows(database))
    database.alembic("upgrade", "head")
    _assert_per_tenant(database, ids)
    database.alembic("downgrade", BEFORE_REVISION)
    vendors = asyncio.run(_read(database, "SELECT vendor_code, vendor_name FROM vendors"))
    assert vendors == [("ACME", "Acme")]
    assert len(asyncio.run(_read(database, "SELECT zip_code FROM zip_codes"))) == 1
    database.alembic("upgrade", "head")
    _assert_per_tenant(database, ids)
