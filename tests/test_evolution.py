"""A schema's history, built step by step with the real CLI, migrated on databases that hold rows.

tests/evolution/NN/api.yaml is the spec at step NN (its first line says what changed). Every
step is built with `gen build` (click's CliRunner on `generator.cli.main`) into ONE output
folder, so it sees the schema snapshot and the revisions the step before left; a copy of the
project is kept per step. Then, on SQLite and (when TEST_DATABASE_URL is set) on PostgreSQL:
rows are inserted with SQL, each step's revision is applied with `alembic upgrade head` through
the generated alembic.ini and env.py, and every table must hold exactly the expected rows and
values (renamed columns and tables, values moved into a split table included). More rows,
using the new columns, follow each step.

Step 9 splits a table (`zip_code -> city, state`) and first meets rows that break the
dependency: the upgrade must stop, name the values and leave the database as it was. At the
end: `alembic check`, downgrades that must give the values back (split and renames undone),
downgrade to base, upgrade to head, `alembic check`, and the project's pytest-alembic suite.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import exc, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from generator.cli import main

HERE = Path(__file__).resolve().parent
STEPS_DIR = HERE / "evolution"
STEPS = sorted(p.name for p in STEPS_DIR.iterdir() if p.is_dir())
PACKAGE = "shopfront"
SCHEMA = "gen_evolution_chain"
_REVISION = re.compile(r'^revision: str = "([^"]+)"', re.M)

# One pytest-xdist worker runs the module: its chain of builds is costly, its schema fixed.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("evolution")]


# --- the chain of builds -----------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """The project as each step left it, and the head revision of each step."""

    projects: dict[str, Path]
    heads: dict[str, str]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    root = tmp_path_factory.mktemp("evolution")
    out = root / "output"
    projects, heads = {}, {}
    runner = CliRunner()
    for number, step in enumerate(STEPS, start=1):
        result = runner.invoke(main, ["build", str(STEPS_DIR / step), "-o", str(out)])
        assert result.exit_code == 0, f"step {step}: gen build failed\n{result.output}"
        revisions = sorted((out / PACKAGE / "migrations" / "versions").glob("[0-9]*_*.py"))
        assert len(revisions) == number, f"step {step}: expected one new revision, got " + str(
            [p.name for p in revisions]
        )
        match = _REVISION.search(revisions[-1].read_text(encoding="utf-8"))
        assert match is not None
        heads[step] = match.group(1)
        projects[step] = root / "steps" / step
        shutil.copytree(out / PACKAGE, projects[step])
    return Chain(projects, heads)


def test_steps_cover_the_kinds_of_change() -> None:
    """At least eight steps; each spec says in its first line what it changes."""
    assert len(STEPS) >= 8
    for step in STEPS:
        first = (STEPS_DIR / step / "api.yaml").read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(f"# Step {int(step)}: "), step


# --- a database under test ---------------------------------------------------------------------


@dataclass
class Database:
    """A SQLite file, or a schema of its own in the PostgreSQL database of TEST_DATABASE_URL."""

    url: str
    schema: str | None = None

    @property
    def dialect(self) -> str:
        return "postgresql" if self.schema is not None else "sqlite"

    def _engine_args(self) -> dict[str, Any]:
        if self.schema is None:
            return {}
        return {"connect_args": {"server_settings": {"search_path": self.schema}}}

    def execute(self, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run one statement in a transaction of its own; the rows it returns."""

        if self.schema is None:  # the sqlite3 module binds no Decimal
            params = {k: str(v) if isinstance(v, Decimal) else v for k, v in params.items()}

        async def run() -> list[tuple[Any, ...]]:
            engine = create_async_engine(self.url, poolclass=pool.NullPool, **self._engine_args())
            try:
                async with engine.begin() as connection:
                    result = await connection.execute(text(statement), params)
                    return [tuple(row) for row in result.all()] if result.returns_rows else []
            finally:
                await engine.dispose()

        return asyncio.run(run())

    def reset(self) -> None:
        """Start empty (a new schema on PostgreSQL; SQLite files start empty)."""
        if self.schema is None:
            return
        try:
            asyncio.run(self._recreate_schema())
        except (OSError, ConnectionError, exc.DBAPIError) as error:
            pytest.fail(f"TEST_DATABASE_URL is set but unreachable: {error!r}", pytrace=False)

    async def _recreate_schema(self) -> None:
        engine = create_async_engine(self.url, poolclass=pool.NullPool)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
                await connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        finally:
            await engine.dispose()

    def drop(self) -> None:
        if self.schema is not None:
            self.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def table_exists(self, name: str) -> bool:
        if self.schema is None:
            query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = :name"
        else:
            query = (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name = :name"
            )
        return bool(self.execute(query, name=name))

    def version(self) -> str | None:
        rows = self.execute("SELECT version_num FROM alembic_version")
        return rows[0][0] if rows else None

    def alembic(self, project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
        """`alembic ARGUMENTS` through the project's alembic.ini and env.py.

        SQLite: the alembic command line with DATABASE_URL set. PostgreSQL: the same commands,
        with env.py handed an engine whose search_path is this database's schema.
        """
        if self.schema is None:
            args = [sys.executable, "-m", "alembic", "-c", "alembic.ini", *arguments]
            return _run(args, project, DATABASE_URL=self.url)
        runner = str(STEPS_DIR / "run_alembic.py")
        args = [sys.executable, runner, str(project), self.url, self.schema, *arguments]
        return _run(args, project)


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    environment.update(env, PYTHONPATH=str(cwd))
    return subprocess.run(
        args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"{result.args}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result.stdout + result.stderr


# --- what the tables must hold -----------------------------------------------------------------

KEYS = {
    "customers": ("id",),
    "products": ("id",),
    "items": ("id",),
    "purchases": ("id",),
    "customers_favorites": ("customer_id", "favorite_id"),
    "customers_tags": ("customer_id", "position"),
    "zip_codes": ("zip_code",),
}


def _value(value: Any) -> Any:
    """Numbers compared by value: SQLite gives 19.9 where PostgreSQL gives Decimal('19.90')."""
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        return Decimal(str(value)).normalize()
    return value


@dataclass
class Ledger:
    """The rows every table must hold, kept in step with the migrations."""

    columns: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)

    def create(self, table: str, *columns: str) -> None:
        self.columns[table] = list(columns)
        self.rows[table] = {}

    def insert(self, db: Database, table: str, **row: Any) -> None:
        """INSERT the row with SQL, and expect it."""
        names = ", ".join(f'"{c}"' for c in row)
        values = ", ".join(f":{c}" for c in row)
        db.execute(f'INSERT INTO "{table}" ({names}) VALUES ({values})', **row)
        self.expect(table, **row)

    def expect(self, table: str, **row: Any) -> None:
        assert set(row) == set(self.columns[table]), (table, sorted(row))
        self.rows[table][tuple(row[k] for k in KEYS[table])] = dict(row)

    def update(self, db: Database, table: str, key: tuple[Any, ...], **values: Any) -> None:
        sets = ", ".join(f'"{c}" = :{c}' for c in values)
        where = " AND ".join(f'"{k}" = :key_{k}' for k in KEYS[table])
        keys = {f"key_{k}": v for k, v in zip(KEYS[table], key, strict=True)}
        db.execute(f'UPDATE "{table}" SET {sets} WHERE {where}', **values, **keys)
        self.rows[table][key].update(values)

    def add_column(self, table: str, column: str, value: Any) -> None:
        self.columns[table].append(column)
        for row in self.rows[table].values():
            row[column] = value

    def drop_column(self, table: str, column: str) -> None:
        self.columns[table].remove(column)
        for row in self.rows[table].values():
            del row[column]

    def rename_column(self, table: str, old: str, new: str) -> None:
        self.columns[table] = [new if c == old else c for c in self.columns[table]]
        for row in self.rows[table].values():
            row[new] = row.pop(old)

    def rename_table(self, old: str, new: str) -> None:
        self.columns[new] = self.columns.pop(old)
        self.rows[new] = self.rows.pop(old)

    def assert_matches(self, db: Database, when: str) -> None:
        """Every expected table holds exactly the expected rows, value for value."""
        for table, columns in self.columns.items():
            names = ", ".join(f'"{c}"' for c in columns)
            found = [
                {c: _value(v) for c, v in zip(columns, row, strict=True)}
                for row in db.execute(f'SELECT {names} FROM "{table}"')
            ]
            actual = {tuple(row[k] for k in KEYS[table]): row for row in found}
            assert len(actual) == len(found), f"{when}: duplicate keys in {table}"
            expected = {
                tuple(_value(k) for k in key): {c: _value(v) for c, v in row.items()}
                for key, row in self.rows[table].items()
            }
            assert actual == expected, f"{when} ({db.dialect}): table {table} differs"


# --- the steps ---------------------------------------------------------------------------------
# EFFECTS[step]: what the step's migration must have done to the rows already stored.
# ROWS[step]: rows inserted after the step, using what it added.


def _effects_01(ledger: Ledger) -> None:
    ledger.create("customers", "id", "name", "tier", "zip_code", "city", "state")
    ledger.create("products", "id", "title", "sku", "price")
    ledger.create("purchases", "id", "quantity", "customer_id", "product_id")


def _rows_01(db: Database, ledger: Ledger) -> None:
    for row in (
        (1, "Ada Lovelace", "gold", "10001", "New York", "NY"),
        (2, "Bob O'Brien", "basic", "10001", "New York", "NY"),
        (3, "Cy Young", "basic", "94105", "San Francisco", "CA"),
    ):
        ledger.insert(db, "customers", **dict(zip(ledger.columns["customers"], row, strict=True)))
    ledger.insert(db, "products", id=1, title="Lamp", sku="LMP-1", price=Decimal("19.90"))
    ledger.insert(db, "products", id=2, title="Desk", sku="DSK-2", price=Decimal("149.00"))
    ledger.insert(db, "purchases", id=1, quantity=2, customer_id=1, product_id=1)
    ledger.insert(db, "purchases", id=2, quantity=1, customer_id=3, product_id=2)


def _effects_02(ledger: Ledger) -> None:
    ledger.add_column("customers", "phone", None)


def _rows_02(db: Database, ledger: Ledger) -> None:
    ledger.insert(
        db,
        "customers",
        id=4,
        name="Di",
        tier="basic",
        zip_code="94105",
        city="San Francisco",
        state="CA",
        phone="555-0100",
    )


def _effects_03(ledger: Ledger) -> None:
    ledger.add_column("products", "stock", 0)


def _rows_03(db: Database, ledger: Ledger) -> None:
    ledger.insert(db, "products", id=3, title="Chair", sku="CHR-3", price=Decimal("49.50"), stock=7)


def _effects_04(ledger: Ledger) -> None:
    ledger.rename_column("customers", "name", "full_name")


def _rows_04(db: Database, ledger: Ledger) -> None:
    ledger.insert(
        db,
        "customers",
        id=5,
        full_name="Eve",
        tier="gold",
        zip_code="10001",
        city="New York",
        state="NY",
        phone=None,
    )


def _effects_05(ledger: Ledger) -> None:
    ledger.rename_table("products", "items")


def _rows_05(db: Database, ledger: Ledger) -> None:
    ledger.insert(db, "items", id=4, title="Shelf", sku="SHF-4", price=Decimal("75"), stock=3)
    ledger.insert(db, "purchases", id=3, quantity=5, customer_id=5, product_id=4)


def _effects_06(ledger: Ledger) -> None:
    pass


def _rows_06(db: Database, ledger: Ledger) -> None:
    ledger.insert(
        db,
        "customers",
        id=6,
        full_name="Fay",
        tier="platinum",
        zip_code="60601",
        city="Chicago",
        state="IL",
        phone="555-0199",
    )


def _effects_07(ledger: Ledger) -> None:
    ledger.create("customers_favorites", "customer_id", "favorite_id")


def _rows_07(db: Database, ledger: Ledger) -> None:
    for customer, item in ((1, 1), (1, 4), (6, 2)):
        ledger.insert(db, "customers_favorites", customer_id=customer, favorite_id=item)


def _effects_08(ledger: Ledger) -> None:
    ledger.create("customers_tags", "customer_id", "position", "value")


def _rows_08(db: Database, ledger: Ledger) -> None:
    for customer, position, value in ((1, 0, "vip"), (1, 1, "early"), (3, 0, "wholesale")):
        ledger.insert(db, "customers_tags", customer_id=customer, position=position, value=value)


def _effects_09(ledger: Ledger) -> None:
    ledger.create("zip_codes", "zip_code", "city", "state")
    for row in ledger.rows["customers"].values():
        ledger.expect("zip_codes", zip_code=row["zip_code"], city=row["city"], state=row["state"])
    ledger.drop_column("customers", "city")
    ledger.drop_column("customers", "state")


def _rows_09(db: Database, ledger: Ledger) -> None:
    ledger.insert(db, "zip_codes", zip_code="73301", city="Austin", state="TX")
    ledger.insert(
        db, "customers", id=7, full_name="Gus", tier="basic", zip_code="73301", phone=None
    )


def _effects_10(ledger: Ledger) -> None:
    pass


def _rows_10(db: Database, ledger: Ledger) -> None:
    ledger.insert(
        db,
        "items",
        id=5,
        title="Long SKU",
        sku="LONG-SKU-0123456789-ABCDEFGHIJ",
        price=Decimal("1.05"),
        stock=1,
    )


Step = Callable[[Ledger], None]
Rows = Callable[[Database, Ledger], None]
EFFECTS: dict[str, Step] = {
    "01": _effects_01,
    "02": _effects_02,
    "03": _effects_03,
    "04": _effects_04,
    "05": _effects_05,
    "06": _effects_06,
    "07": _effects_07,
    "08": _effects_08,
    "09": _effects_09,
    "10": _effects_10,
}
ROWS: dict[str, Rows] = {
    "01": _rows_01,
    "02": _rows_02,
    "03": _rows_03,
    "04": _rows_04,
    "05": _rows_05,
    "06": _rows_06,
    "07": _rows_07,
    "08": _rows_08,
    "09": _rows_09,
    "10": _rows_10,
}


def test_every_step_is_exercised() -> None:
    assert sorted(EFFECTS) == sorted(ROWS) == STEPS


def _upgrade(db: Database, chain: Chain, step: str) -> None:
    _ok(db.alembic(chain.projects[step], "upgrade", "head"))
    assert db.version() == chain.heads[step], f"step {step} ({db.dialect})"


def _split_meets_conflicting_rows(db: Database, ledger: Ledger, chain: Chain) -> None:
    """Step 9 on rows where one zip code has two cities: the upgrade stops, names the values,
    and leaves everything as it was; once the rows agree, it goes through."""
    ledger.insert(
        db,
        "customers",
        id=90,
        full_name="Hal",
        tier="basic",
        zip_code="10001",
        city="Newark",
        state="NJ",
        phone=None,
    )
    result = db.alembic(chain.projects["09"], "upgrade", "head")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "zip_code -> city, state" in output, output
    assert "('10001', 'New York', 'NY'); ('10001', 'Newark', 'NJ')" in output, output
    assert db.version() == chain.heads["08"]
    assert not db.table_exists("zip_codes")
    ledger.assert_matches(db, "step 09 refused")
    ledger.update(db, "customers", (90,), city="New York", state="NY")


def _downgrades(db: Database, ledger: Ledger, chain: Chain) -> None:
    """Down to step 8 (the split undone: the values are copied back), down to step 1 (renames
    undone), down to base, and up to head again."""
    last = chain.projects[STEPS[-1]]
    # A narrower sku and a tier without `platinum` cannot hold these values: make them fit.
    ledger.update(db, "items", (5,), sku="LONG-5")
    _ok(db.alembic(last, "downgrade", chain.heads["08"]))
    assert db.version() == chain.heads["08"]
    assert not db.table_exists("zip_codes")
    zips = ledger.rows.pop("zip_codes")
    del ledger.columns["zip_codes"]
    ledger.add_column("customers", "city", None)
    ledger.add_column("customers", "state", None)
    for row in ledger.rows["customers"].values():
        row.update(city=zips[(row["zip_code"],)]["city"], state=zips[(row["zip_code"],)]["state"])
    ledger.assert_matches(db, "downgraded to step 08")

    ledger.update(db, "customers", (6,), tier="gold")
    _ok(db.alembic(last, "downgrade", chain.heads["01"]))
    assert db.version() == chain.heads["01"]
    for table in ("customers_tags", "customers_favorites"):
        del ledger.rows[table], ledger.columns[table]
    ledger.rename_table("items", "products")
    ledger.drop_column("products", "stock")
    ledger.rename_column("customers", "full_name", "name")
    ledger.drop_column("customers", "phone")
    ledger.assert_matches(db, "downgraded to step 01")

    _ok(db.alembic(last, "downgrade", "base"))
    assert not any(db.table_exists(t) for t in ("customers", "products", "purchases"))
    _upgrade(db, chain, STEPS[-1])
    assert "No new upgrade operations detected" in _ok(db.alembic(last, "check"))


def run_evolution(db: Database, chain: Chain) -> None:
    db.reset()
    try:
        ledger = Ledger()
        for step in STEPS:
            if step == "09":
                _split_meets_conflicting_rows(db, ledger, chain)
            _upgrade(db, chain, step)
            EFFECTS[step](ledger)
            ledger.assert_matches(db, f"step {step}")
            ROWS[step](db, ledger)
            ledger.assert_matches(db, f"step {step}, new rows")
        last = chain.projects[STEPS[-1]]
        assert "No new upgrade operations detected" in _ok(db.alembic(last, "check"))
        with pytest.raises(exc.IntegrityError):  # the enum's CHECK survived every batch copy
            db.execute("UPDATE customers SET tier = 'bogus' WHERE id = 1")
        _downgrades(db, ledger, chain)
    finally:
        db.drop()


def test_evolution_on_sqlite(chain: Chain, tmp_path: Path) -> None:
    run_evolution(Database(f"sqlite+aiosqlite:///{tmp_path / 'evolution.db'}"), chain)


@pytest.mark.postgres
def test_evolution_on_postgresql(chain: Chain) -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if url is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    run_evolution(Database(url, SCHEMA), chain)


def test_last_step_passes_its_pytest_alembic_suite(chain: Chain) -> None:
    """The generated pytest-alembic tests over the whole history (SQLite, and PostgreSQL when
    TEST_DATABASE_URL is set)."""
    last = chain.projects[STEPS[-1]]
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_migrations.py",
    ]
    _ok(_run(args, last))
    url = os.environ.get("TEST_DATABASE_URL")
    if url is not None:
        _ok(_run(args, last, TEST_DATABASE_URL=url))
