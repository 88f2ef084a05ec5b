"""IR tables as SQLAlchemy Table objects: what Alembic's operation objects are built from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import SchemaItem
from sqlalchemy.sql.elements import conv

from generator import ir
from generator.compile import naming

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


def sa_type(t: ir.SqlType, *, primary_key: bool = False) -> sa.types.TypeEngine[Any]:
    """The portable SQLAlchemy type of an IR storage type."""
    kind = t.kind
    if kind == "bigint":
        # SQLite only autoincrements an INTEGER PRIMARY KEY.
        big = sa.BigInteger()
        return big.with_variant(sa.Integer(), "sqlite") if primary_key else big
    if kind == "string":
        return sa.String(length=t.length)
    if kind == "numeric":
        return sa.Numeric(precision=t.precision, scale=t.scale)
    if kind == "datetime":
        return sa.DateTime(timezone=True)
    if kind == "json":
        return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    simple: dict[str, type[sa.types.TypeEngine[Any]]] = {
        "text": sa.Text,
        "integer": sa.Integer,
        "float": sa.Float,
        "boolean": sa.Boolean,
        "date": sa.Date,
        "time": sa.Time,
        "uuid": sa.Uuid,
    }
    return simple[kind]()


def pk_name(table: str) -> str:
    """The primary key constraint's name."""
    return naming.constraint_name(f"pk_{table}")


def sa_column(column: ir.Column, table: ir.Table) -> sa.Column[Any]:
    """One column; identity for integer surrogate keys."""
    identity = [sa.Identity()] if column.autoincrement and column.primary_key else []
    return sa.Column(
        column.name,
        sa_type(column.type, primary_key=column.autoincrement),
        *identity,
        primary_key=column.name in table.primary_key,
        nullable=column.nullable and column.name not in table.primary_key,
        server_default=sa.text(column.server_default) if column.server_default else None,
        autoincrement=column.autoincrement if column.primary_key else "auto",
    )


def sa_table(table: ir.Table, metadata: sa.MetaData) -> sa.Table:
    """A Table with every constraint named as the IR says (names are final: `conv`)."""
    items: list[SchemaItem] = [sa_column(c, table) for c in table.columns]
    items.append(sa.PrimaryKeyConstraint(*table.primary_key, name=conv(pk_name(table.name))))
    for fk in table.foreign_keys:
        items.append(
            sa.ForeignKeyConstraint(
                list(fk.columns),
                [f"{fk.ref_table}.{c}" for c in fk.ref_columns],
                name=conv(fk.name),
                ondelete=fk.on_delete,
            )
        )
    for constraint in table.constraints:
        if constraint.kind == "unique":
            items.append(sa.UniqueConstraint(*constraint.columns, name=conv(constraint.name)))
        else:
            items.append(sa.CheckConstraint(constraint.sql or "", name=conv(constraint.name)))
    options: dict[str, Any] = {"sqlite_autoincrement": True} if table.numbers_rows else {}
    result: sa.Table = sa.Table(table.name, metadata, *items, **options)
    for index in table.indexes:
        partial: dict[str, Any] = (
            {"sqlite_where": sa.text(index.where), "postgresql_where": sa.text(index.where)}
            if index.where
            else {}
        )
        sa.Index(
            conv(index.name), *[result.c[c] for c in index.columns], unique=index.unique, **partial
        )
    return result


class LazyMetadata:
    """The tables of one schema in one MetaData, each built when first asked for: a migration
    needs the SQLAlchemy objects only of the tables it creates, alters or drops, and building
    every table of a large schema twice on each build cost more than the rest of the plan.

    A table comes with the tables its foreign keys reference (Alembic resolves a foreign key's
    target column when it makes an operation of the constraint)."""

    def __init__(self, tables: tuple[ir.Table, ...]) -> None:
        self._schema = {t.name: t for t in tables}
        self.metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    def table(self, name: str) -> sa.Table:
        table = self._built(name)
        for fk in self._schema[name].foreign_keys:
            if fk.ref_table in self._schema:
                self._built(fk.ref_table)
        return table

    def _built(self, name: str) -> sa.Table:
        built = self.metadata.tables.get(name)
        return built if built is not None else sa_table(self._schema[name], self.metadata)
