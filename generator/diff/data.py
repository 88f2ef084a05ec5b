"""Operations that move stored values, not only the schema, and the SQL they run.

A declared dependency split out of a table (`zip_code -> city, state`) keeps its rows: the
migration checks that the stored rows obey the dependency, copies the distinct values into the
new table, and only then drops the moved columns; the downgrade copies them back.
Each SQL statement runs unchanged on SQLite and PostgreSQL and quotes every identifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic.operations import ops

from generator import ir


def quote(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _columns(names: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(prefix + quote(n) for n in names)


@dataclass(frozen=True)
class Split:
    """Columns of `source` that move to the new table `target`, keyed by the determinant.

    Names are as the migration sees them when it moves the values: `source` after the table
    renames, the source's columns before its own alterations.
    """

    source: str
    target: str
    source_before_renames: str
    determinant: tuple[tuple[str, str], ...]  # (source column, target column)
    moved: tuple[ir.Column, ...]  # source columns, named as in target too
    target_uuid_key: str | None = None  # the target's uuid primary key, filled on insert
    nullable_determinant: bool = False
    fd: str = ""

    @property
    def source_determinant(self) -> tuple[str, ...]:
        return tuple(s for s, _ in self.determinant)

    @property
    def target_determinant(self) -> tuple[str, ...]:
        return tuple(t for _, t in self.determinant)

    @property
    def moved_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.moved)


def _distinct(split: Split, table: str) -> str:
    names = (*split.source_determinant, *split.moved_names)
    return f"SELECT DISTINCT {_columns(names)} FROM {quote(table)}"


def conflicts_sql(split: Split) -> str:
    """The distinct value combinations whose determinant maps to more than one combination."""
    det = split.source_determinant
    names = (*det, *split.moved_names)
    distinct = _distinct(split, split.source_before_renames)
    join = " AND ".join(f"m.{quote(c)} = c.{quote(c)}" for c in det)
    order = ", ".join(str(i) for i in range(1, len(names) + 1))
    return (
        f"SELECT {_columns(names, 'm.')} FROM ({distinct}) AS m "
        f"JOIN (SELECT {_columns(det)} FROM ({distinct}) AS d GROUP BY {_columns(det)} "
        f"HAVING COUNT(*) > 1) AS c ON {join} ORDER BY {order} LIMIT 20"
    )


def orphans_sql(split: Split) -> str:
    """Values that would be lost: dependents stored on a row without a determinant."""
    no_key = " OR ".join(f"{quote(c)} IS NULL" for c in split.source_determinant)
    some_value = " OR ".join(f"{quote(c)} IS NOT NULL" for c in split.moved_names)
    names = (*split.source_determinant, *split.moved_names)
    return (
        f"SELECT DISTINCT {_columns(names)} FROM {quote(split.source_before_renames)} "
        f"WHERE ({no_key}) AND ({some_value}) ORDER BY "
        + ", ".join(str(i) for i in range(1, len(names) + 1))
        + " LIMIT 20"
    )


def insert_sql(split: Split, new_key: str | None = None) -> str:
    """Copy the distinct values into the new table (new_key: SQL for a uuid primary key)."""
    det = split.source_determinant
    present = " AND ".join(f"{quote(c)} IS NOT NULL" for c in det)
    source = f"{_distinct(split, split.source)} WHERE {present}"
    targets = (*split.target_determinant, *split.moved_names)
    if new_key is None or split.target_uuid_key is None:
        return f"INSERT INTO {quote(split.target)} ({_columns(targets)}) {source}"
    names = (*det, *split.moved_names)
    return (
        f"INSERT INTO {quote(split.target)} ({_columns((split.target_uuid_key, *targets))}) "
        f"SELECT {new_key}, {_columns(names, 'm.')} FROM ({source}) AS m"
    )


def restore_sql(split: Split) -> str:
    """Copy the moved values back into the source table, through the determinant."""
    source, target = quote(split.source), quote(split.target)
    where = " AND ".join(f"{target}.{quote(t)} = {source}.{quote(s)}" for s, t in split.determinant)
    sets = ", ".join(
        f"{quote(c)} = (SELECT {target}.{quote(c)} FROM {target} WHERE {where})"
        for c in split.moved_names
    )
    return f"UPDATE {source} SET {sets}"


UUID_SQL = {"postgresql": "gen_random_uuid()", "sqlite": "lower(hex(randomblob(16)))"}


class CheckDependencyOp(ops.MigrateOperation):
    """Stop the upgrade, before it changes anything, when the stored rows break the
    dependency a split relies on; the message names the conflicting values."""

    def __init__(self, split: Split) -> None:
        self.split = split

    def reverse(self) -> ops.MigrateOperation:
        raise NotImplementedError("a check has no reverse: the downgrade skips it")

    def message(self) -> str:
        s = self.split
        return (
            f"cannot move {', '.join(s.moved_names)} from {s.source_before_renames} to "
            f"{s.target}: the stored rows break the dependency {s.fd} (the same "
            f"{', '.join(s.source_determinant)} with different values); "
            "make these rows agree, then upgrade again. Conflicting "
            f"({', '.join((*s.source_determinant, *s.moved_names))}):"
        )

    def orphans_message(self) -> str:
        s = self.split
        return (
            f"cannot move {', '.join(s.moved_names)} from {s.source_before_renames} to "
            f"{s.target}: rows without {', '.join(s.source_determinant)} hold values that "
            "would be lost; set the key or clear the values, then upgrade again. Rows "
            f"({', '.join((*s.source_determinant, *s.moved_names))}):"
        )


class MoveValuesOp(ops.MigrateOperation):
    """INSERT INTO target SELECT DISTINCT ... FROM source."""

    def __init__(self, split: Split) -> None:
        self.split = split

    def reverse(self) -> RestoreValuesOp:
        return RestoreValuesOp(self.split)


class RestoreValuesOp(ops.MigrateOperation):
    """UPDATE source SET moved = (SELECT ... FROM target WHERE determinant matches)."""

    def __init__(self, split: Split) -> None:
        self.split = split

    def reverse(self) -> MoveValuesOp:
        return MoveValuesOp(self.split)


class FillNullsOp(ops.MigrateOperation):
    """UPDATE table SET column = default WHERE column IS NULL, before it becomes NOT NULL."""

    def __init__(self, table: str, column: str, default_sql: str) -> None:
        self.table = table
        self.column = column
        self.default_sql = default_sql

    def sql(self) -> str:
        column = quote(self.column)
        return (
            f"UPDATE {quote(self.table)} SET {column} = {self.default_sql} WHERE {column} IS NULL"
        )

    def reverse(self) -> ops.MigrateOperation:
        raise NotImplementedError("filled values stay: the downgrade skips it")


@dataclass(frozen=True)
class TenantKeyFill:
    """A tenant key column added to a table that may hold rows (`column`, NOT NULL at the end).

    Either read from the parent row (`parent`, through `parent_column`): the parent's own key;
    or, for a table split out by a dependency, one copy of each row per tenant whose `source`
    rows reference it through `pairs` (source column, this table's column): the dependency now
    holds per tenant, so each tenant gets its own row; rows no tenant references are dropped.
    """

    table: str
    column: str
    parent: str | None = None
    parent_column: str | None = None
    source: str | None = None
    pairs: tuple[tuple[str, str], ...] = ()
    copied: tuple[str, ...] = ()  # this table's other columns, copied as they are
    uuid_key: str | None = None  # the uuid primary key each copy gets anew

    @property
    def after(self) -> str | None:
        """The table whose key must be filled before this one's."""
        return self.parent or self.source

    def parent_sql(self) -> str:
        table, parent, column = quote(self.table), quote(self.parent or ""), quote(self.column)
        return (
            f"UPDATE {table} SET {column} = (SELECT {parent}.{column} FROM {parent} "
            f"WHERE {parent}.{quote('id')} = {table}.{quote(self.parent_column or '')})"
        )

    def copy_sql(self, new_key: str | None) -> str:
        column = quote(self.column)
        used = _columns((self.column, *(s for s, _ in self.pairs)))
        join = " AND ".join(f"d.{quote(t)} = s.{quote(src)}" for src, t in self.pairs)
        keys = (self.uuid_key,) if new_key and self.uuid_key else ()
        values = [new_key] if keys and new_key else []
        return (
            f"INSERT INTO {quote(self.table)} ({_columns((*keys, self.column, *self.copied))}) "
            f"SELECT {', '.join([*values, f's.{column}', _columns(self.copied, 'd.')])} "
            f"FROM {quote(self.table)} AS d JOIN (SELECT DISTINCT {used} FROM "
            f"{quote(self.source or '')} WHERE {column} IS NOT NULL) AS s ON {join} "
            f"WHERE d.{column} IS NULL"
        )

    def drop_shared_sql(self) -> str:
        return f"DELETE FROM {quote(self.table)} WHERE {quote(self.column)} IS NULL"

    def keep_one_sql(self) -> str:
        """The downgrade: one row per old key (the lowest tenant's) before it is unique again."""
        table, column = quote(self.table), quote(self.column)
        same = " AND ".join(f"o.{quote(t)} = {table}.{quote(t)}" for _, t in self.pairs)
        return (
            f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {table} AS o WHERE {same} "
            f"AND o.{column} < {table}.{column})"
        )


class FillTenantKeyOp(ops.MigrateOperation):
    """Fill a new tenant key column (see TenantKeyFill) before it becomes NOT NULL."""

    def __init__(self, fill: TenantKeyFill) -> None:
        self.fill = fill

    def reverse(self) -> ops.MigrateOperation:
        return KeepOneRowPerKeyOp(self.fill)


class KeepOneRowPerKeyOp(ops.MigrateOperation):
    """The reverse of a per-tenant copy: one row per old key, so it can be unique again."""

    def __init__(self, fill: TenantKeyFill) -> None:
        self.fill = fill

    def reverse(self) -> ops.MigrateOperation:
        return FillTenantKeyOp(self.fill)


__all__ = [
    "UUID_SQL",
    "CheckDependencyOp",
    "FillNullsOp",
    "FillTenantKeyOp",
    "KeepOneRowPerKeyOp",
    "MoveValuesOp",
    "RestoreValuesOp",
    "Split",
    "TenantKeyFill",
    "conflicts_sql",
    "insert_sql",
    "orphans_sql",
    "quote",
    "restore_sql",
]
