"""Compare two stored schemas -> a MigrationPlan of Alembic operation objects.

The previous schema is the snapshot the project kept; the new one is the IR. Renames come
from `renamed_from` hints, never from guessing, so a rename is never a drop plus an add.
A declared dependency that splits a table moves its values into the new table (checked,
deduplicated) instead of dropping them. Destructive changes are marked; the caller refuses
them unless explicitly allowed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import conv

from generator import ir
from generator.diff.data import (
    CheckDependencyOp,
    FillNullsOp,
    FillTenantKeyOp,
    KeepOneRowPerKeyOp,
    MoveValuesOp,
    RestoreValuesOp,
    Split,
    TenantKeyFill,
)
from generator.diff.order import creation_order, deferred_foreign_keys
from generator.diff.sqla import LazyMetadata, sa_column, sa_type

Risk = Literal["safe", "review", "destructive"]


@dataclass(frozen=True)
class Change:
    """One schema change, in words, with its risk for the rows already stored."""

    table: str
    summary: str
    risk: Risk = "safe"
    slug: str = ""
    column: str | None = None


@dataclass
class MigrationPlan:
    """What one migration does: changes for people, operations for Alembic."""

    changes: list[Change] = field(default_factory=list)
    operations: list[ops.MigrateOperation] = field(default_factory=list)
    splits: list[Split] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.operations

    @property
    def destructive(self) -> list[Change]:
        return [c for c in self.changes if c.risk == "destructive"]

    def slug(self) -> str:
        """A file-name slug for the migration, from its first change."""
        slugs = [c.slug for c in self.changes if c.slug]
        slug = slugs[0] if slugs else "change_schema"
        return slug if len(slugs) <= 1 else f"{slug}_and_more"


class CastColumnOp(ops.AlterColumnOp):
    """An AlterColumnOp whose type change needs `USING` on PostgreSQL one way or both:
    `kw["postgresql_using"]` for this direction, `reverse_using` for the downgrade."""

    reverse_using: str | None = None


class CreateBuiltTableOp(ops.CreateTableOp):
    """A CreateTableOp that gives Alembic's renderer the Table it was made from. Alembic's
    `to_table()` copies every column and constraint into a new MetaData on each call (most of
    an initial revision's render time); the copy holds the same items, so it renders the same
    text. When the op's items were changed after `of_table` (a foreign key left for later),
    the copy is made as before."""

    _built: sa.Table | None = None
    _built_items: tuple[Any, ...] = ()

    @classmethod
    def of_table(cls, table: sa.Table) -> CreateBuiltTableOp:
        op = cls.from_table(table)
        assert isinstance(op, CreateBuiltTableOp)
        op._built, op._built_items = table, tuple(op.columns)
        return op

    def to_table(self, migration_context: Any = None) -> sa.Table:
        unchanged = len(self.columns) == len(self._built_items) and all(
            a is b for a, b in zip(self.columns, self._built_items, strict=True)
        )
        if self._built is None or migration_context is not None or not unchanged:
            return super().to_table(migration_context)
        return self._built


class CreateBuiltIndexOp(ops.CreateIndexOp):
    """A CreateIndexOp that gives the renderer the Index it was made from, not a copy on a
    stub Table in a new MetaData (Alembic's `to_index()`, made on each call)."""

    _built: sa.Index | None = None

    @classmethod
    def of_index(cls, index: sa.Index) -> CreateBuiltIndexOp:
        op = cls.from_index(index)
        assert isinstance(op, CreateBuiltIndexOp)
        op._built = index
        return op

    def to_index(self, migration_context: Any = None) -> sa.Index:
        if self._built is None or migration_context is not None:
            return super().to_index(migration_context)
        return self._built


class CreateIrTableOp(ops.CreateTableOp):
    """The creation of one IR table and of its indexes, whose SQLAlchemy objects are built only
    when Alembic's renderer needs them: a revision takes the rendered text of an unchanged table
    from the build cache (generator/emit/migrations.py), and a build into an empty output folder
    with a warm cache then builds no Table at all. It renders as Alembic's `create_table` of the
    table (without the foreign keys `deferred` for later) and `create_index` of each index,
    sorted by name (`built_operations`)."""

    def __init__(
        self,
        table: ir.Table,
        schema: LazyMetadata,
        deferred: frozenset[str],
        names: Container[str],
    ) -> None:
        super().__init__(table.name, [])
        self.ir_table = table
        self.deferred = frozenset(fk.name for fk in table.foreign_keys if fk.name in deferred)
        #: The tables the renderer may read besides this one: those its foreign keys reference.
        self.references = tuple(
            sorted({fk.ref_table for fk in table.foreign_keys if fk.ref_table in names})
        )
        self._schema = schema
        self._operations: list[ops.MigrateOperation] | None = None

    def index_names(self) -> list[str]:
        """The names of the table's indexes, in the order they are created."""
        return sorted(i.name for i in self.ir_table.indexes)

    def built_operations(self) -> list[ops.MigrateOperation]:
        """Alembic's operations of the table and its indexes, made from SQLAlchemy objects."""
        if self._operations is None:
            created = self._schema.table(self.table_name)
            create = CreateBuiltTableOp.of_table(created)
            create.columns = [
                c
                for c in create.columns
                if not (isinstance(c, sa.ForeignKeyConstraint) and c.name in self.deferred)
            ]
            indexes = sorted(created.indexes, key=lambda i: str(i.name))
            self._operations = [create, *(CreateBuiltIndexOp.of_index(i) for i in indexes)]
        return self._operations

    def to_table(self, migration_context: Any = None) -> sa.Table:
        create = self.built_operations()[0]
        assert isinstance(create, CreateBuiltTableOp)
        return create.to_table(migration_context)


class DropIndexByNameOp(ops.DropIndexOp):
    """The drop of an index known by name only (the reverse of a created one). Alembic's
    `to_index()` makes a stub Table in a new MetaData per index; these share one MetaData and
    one stub Table per table name, made on first use, and hold no column."""

    _stubs: sa.MetaData | None = None

    def to_index(self, migration_context: Any = None) -> sa.Index:
        if self._stubs is None or migration_context is not None or self.kw:
            return super().to_index(migration_context)
        table = self._stubs.tables.get(str(self.table_name))
        if table is None:
            table = sa.Table(str(self.table_name), self._stubs)
        # No columns: a drop names only the index (Alembic's stub has a dummy column `x`).
        return sa.Index(self.index_name, _table=table)


def plan_migration(old: tuple[ir.Table, ...], new: tuple[ir.Table, ...]) -> MigrationPlan:
    """Operations that turn the old stored schema into the new one, in a safe order.

    Order: the checks of table splits (before anything changes), foreign keys to renamed
    tables dropped, table renames, new tables, values moved into split tables, alterations of
    kept tables (constraint drops, columns, constraint adds), dropped tables.
    """
    plan = MigrationPlan()
    old_by_name = {t.name: t for t in old}
    new_meta, old_meta = LazyMetadata(new), LazyMetadata(old)
    renamed = {
        t.renamed_from: t.name
        for t in new
        if t.renamed_from in old_by_name and t.name not in old_by_name
    }
    current = {renamed.get(name, name): t for name, t in old_by_name.items()}
    new_tables = {t.name: t for t in new}
    creating = [t for t in new if t.name not in current]
    plan.splits = find_splits(current, new, creating)
    plan.operations += [CheckDependencyOp(split) for split in plan.splits]
    early = MigrationPlan()
    dropped_early = _drop_references_to_renamed(early, current, new, renamed, old_meta)
    plan.operations += early.operations
    for before, after in sorted(renamed.items()):
        plan.operations.append(ops.RenameTableOp(before, after))
        plan.changes.append(
            Change(
                after,
                f"rename table `{before}` to `{after}` (rows kept)",
                "review",
                f"rename_{before}_to_{after}",
            )
        )
    plan.changes += early.changes
    for split in plan.splits:
        moved = ", ".join(f"`{split.source}.{c}`" for c in split.moved_names)
        plan.changes.append(
            Change(
                split.target,
                f"move {moved} into the new table `{split.target}` (one row per distinct "
                f"{', '.join(split.target_determinant)}; the upgrade stops if the rows break "
                f"`{split.fd}`)",
                "review",
                f"split_{split.source}_{split.target}",
            )
        )
    deferred = deferred_foreign_keys(creating)
    for table in creation_order(creating):
        plan.operations.append(CreateIrTableOp(table, new_meta, deferred, new_tables))
        plan.changes.append(
            Change(table.name, f"create table `{table.name}`", "safe", f"create_{table.name}")
        )
    for table in creation_order(creating):
        if not any(fk.name in deferred for fk in table.foreign_keys):
            continue
        closing = [
            c
            for c in new_meta.table(table.name).constraints
            if isinstance(c, sa.ForeignKeyConstraint) and c.name in deferred
        ]
        if closing:
            plan.operations.append(
                ops.ModifyTableOps(
                    table.name,
                    [
                        ops.CreateForeignKeyOp.from_constraint(c)
                        for c in sorted(closing, key=lambda c: str(c.name))
                    ],
                )
            )
    plan.operations += [MoveValuesOp(split) for split in plan.splits]
    fills = tenant_key_fills(current, new)
    _add_tenant_keys(plan, current, new, fills)
    altered = MigrationPlan(changes=plan.changes)
    for table in new:
        # The very table (`snapshot.tables_since` hands out the new table for an unchanged
        # one): nothing to alter.
        if current.get(table.name) is table:
            continue
        if table.name in current:
            moved_out = {c.name for s in plan.splits if s.source == table.name for c in s.moved}
            _alter_table(
                altered, current[table.name], table, old_meta, new_meta, moved_out, dropped_early
            )
    fk_drops, rest, fk_adds = _foreign_keys_apart(altered.operations)
    plan.operations += fk_drops + rest
    plan.operations += [FillTenantKeyOp(fill) for fill in fills if fill.source]
    plan.operations += [_not_null(new_tables[fill.table], fill.column) for fill in fills]
    plan.operations += fk_adds
    plan.operations = _merge_adjacent(plan.operations)
    kept_names = {t.name for t in new}
    for table in reversed(creation_order([t for n, t in current.items() if n not in kept_names])):
        drop = ops.DropTableOp.from_table(old_meta.table(table.name))
        plan.operations.append(drop)
        plan.changes.append(
            Change(
                table.name,
                f"drop table `{table.name}` and its rows",
                "destructive",
                f"drop_{table.name}",
            )
        )
    return plan


def tenant_key_fills(
    current: dict[str, ir.Table], new: tuple[ir.Table, ...]
) -> list[TenantKeyFill]:
    """Tenant key columns added to kept tables (NOT NULL, no default), each with where its
    values come from, in an order where a table is filled after the one it reads from: a
    parent's (id, key) referenced by a composite foreign key, or the rows of the table that
    references this one by (key, determinant)."""
    fills = {}
    for table in new:
        old = current.get(table.name)
        if old is None:
            continue
        old_names = {c.name for c in old.columns}
        for column in table.columns:
            if column.name in old_names or column.nullable or column.server_default:
                continue
            fill = _parent_fill(table, column.name) or _copy_fill(old, new, column.name)
            if fill is not None:
                fills[table.name] = fill
    ordered: list[TenantKeyFill] = []
    while len(ordered) < len(fills):
        done = {f.table for f in ordered}
        ready = [
            f
            for name, f in sorted(fills.items())
            if name not in done and (f.after not in fills or f.after in done)
        ]
        ordered += ready or [f for name, f in sorted(fills.items()) if name not in done][:1]
    return ordered


def _parent_fill(table: ir.Table, column: str) -> TenantKeyFill | None:
    for fk in table.foreign_keys:
        if len(fk.columns) == 2 and fk.columns[1] == column and fk.ref_columns == ("id", column):
            return TenantKeyFill(
                table.name, column, parent=fk.ref_table, parent_column=fk.columns[0]
            )
    return None


def _copy_fill(old: ir.Table, new: tuple[ir.Table, ...], column: str) -> TenantKeyFill | None:
    for source in new:
        for fk in source.foreign_keys:
            if (
                fk.ref_table == old.name
                and len(fk.columns) > 1
                and fk.columns[0] == column
                and fk.ref_columns[0] == column
            ):
                uuid_key = next(
                    (c.name for c in old.columns if c.primary_key and c.type.kind == "uuid"), None
                )
                return TenantKeyFill(
                    old.name,
                    column,
                    source=source.name,
                    pairs=tuple(zip(fk.columns[1:], fk.ref_columns[1:], strict=True)),
                    copied=tuple(c.name for c in old.columns if not c.primary_key),
                    uuid_key=uuid_key,
                )
    return None


def _add_tenant_keys(
    plan: MigrationPlan,
    current: dict[str, ir.Table],
    new: tuple[ir.Table, ...],
    fills: list[TenantKeyFill],
) -> None:
    """Each tenant key column as nullable, the keys read from parents filled at once; the
    per-tenant copies wait until the old unique keys are gone. `current` then holds the final
    column, so the table's own alterations leave it alone."""
    new_tables = {t.name: t for t in new}
    for fill in fills:
        table = new_tables[fill.table]
        column = next(c for c in table.columns if c.name == fill.column)
        loose = dataclasses.replace(column, nullable=True)
        plan.operations.append(
            ops.ModifyTableOps(fill.table, [ops.AddColumnOp(fill.table, sa_column(loose, table))])
        )
        old = current[fill.table]
        current[fill.table] = dataclasses.replace(old, columns=(*old.columns, column))
        if fill.parent:
            summary = (
                f"add column `{fill.table}.{fill.column}`, filled from `{fill.parent}` "
                f"through `{fill.parent_column}`"
            )
        else:
            keys = ", ".join(t for _, t in fill.pairs)
            summary = (
                f"add column `{fill.table}.{fill.column}` to its key: one row per "
                f"{fill.column} and ({keys}) that `{fill.source}` uses; rows no tenant uses "
                "are dropped (the downgrade keeps one row per key)"
            )
        plan.changes.append(
            Change(fill.table, summary, "review", f"add_{fill.table}_{fill.column}", fill.column)
        )
    plan.operations += [FillTenantKeyOp(fill) for fill in fills if fill.parent]


def _not_null(table: ir.Table, name: str) -> ops.ModifyTableOps:
    column = next(c for c in table.columns if c.name == name)
    return ops.ModifyTableOps(
        table.name,
        [
            ops.AlterColumnOp(
                table.name,
                name,
                modify_nullable=False,
                existing_type=sa_type(column.type),
                existing_nullable=True,
            )
        ],
    )


def _merge_adjacent(operations: list[ops.MigrateOperation]) -> list[ops.MigrateOperation]:
    """Consecutive alterations of one table as one batch (one table rebuild on SQLite)."""
    merged: list[ops.MigrateOperation] = []
    for op in operations:
        last = merged[-1] if merged else None
        if (
            isinstance(op, ops.ModifyTableOps)
            and isinstance(last, ops.ModifyTableOps)
            and last.table_name == op.table_name
        ):
            merged[-1] = ops.ModifyTableOps(op.table_name, [*last.ops, *op.ops], schema=op.schema)
        else:
            merged.append(op)
    return merged


def _foreign_keys_apart(
    operations: list[ops.MigrateOperation],
) -> tuple[list[ops.MigrateOperation], list[ops.MigrateOperation], list[ops.MigrateOperation]]:
    """Alterations as (foreign key drops, the rest, foreign key adds): a unique key a foreign
    key references is changed only while no foreign key references it, in either direction."""
    drops: list[ops.MigrateOperation] = []
    rest: list[ops.MigrateOperation] = []
    adds: list[ops.MigrateOperation] = []
    for op in operations:
        if not isinstance(op, ops.ModifyTableOps):
            rest.append(op)
            continue
        buckets: tuple[list[ops.MigrateOperation], ...] = ([], [], [])
        for inner in op.ops:
            if isinstance(inner, ops.DropConstraintOp) and inner.constraint_type == "foreignkey":
                buckets[0].append(inner)
            elif isinstance(inner, ops.CreateForeignKeyOp):
                buckets[2].append(inner)
            else:
                buckets[1].append(inner)
        for target, bucket in zip((drops, rest, adds), buckets, strict=True):
            if bucket:
                target.append(ops.ModifyTableOps(op.table_name, bucket, schema=op.schema))
    return drops, rest, adds


def _drop_references_to_renamed(
    plan: MigrationPlan,
    current: dict[str, ir.Table],
    new: tuple[ir.Table, ...],
    renamed: dict[str, str],
    old_meta: LazyMetadata,
) -> frozenset[str]:
    """Foreign keys to a table being renamed that change: dropped before the rename, so that
    the downgrade adds them back only after the table has its old name again (PostgreSQL
    checks the referenced table when a foreign key is created)."""
    new_by_name = {t.name: t for t in new}
    dropped: set[str] = set()
    for name, before in sorted(current.items()):
        after = new_by_name.get(name)
        if after is None:
            continue
        kept = {fk.name: fk for fk in after.foreign_keys}
        early = [
            fk for fk in before.foreign_keys if fk.ref_table in renamed and kept.get(fk.name) != fk
        ]
        if not early:
            continue
        plan.operations.append(
            ops.ModifyTableOps(
                before.name,
                [
                    ops.DropConstraintOp.from_constraint(
                        _sa_constraint(old_meta, before.name, fk.name)
                    )
                    for fk in sorted(early, key=lambda fk: fk.name)
                ],
            )
        )
        for fk in sorted(early, key=lambda fk: fk.name):
            plan.changes.append(Change(name, f"drop constraint `{fk.name}`"))
            dropped.add(fk.name)
    return frozenset(dropped)


def find_splits(
    current: dict[str, ir.Table], new: tuple[ir.Table, ...], creating: list[ir.Table]
) -> list[Split]:
    """Declared dependencies split out of kept tables (see `split_of`)."""
    # Only a kept table's foreign key to a new table can split it: index those by target once
    # (trying every pair of new and kept tables was quadratic in the schema).
    references: dict[str, list[tuple[ir.Table, ir.ForeignKey]]] = {}
    for source in new:
        if source.name in current:
            for fk in source.foreign_keys:
                references.setdefault(fk.ref_table, []).append((source, fk))
    splits = []
    for target in sorted(creating, key=lambda t: t.name):
        for source, fk in references.get(target.name, []):
            split = split_of(current[source.name], source, target, fk)
            if split is not None:
                splits.append(split)
    return splits


def split_of(
    before: ir.Table, after: ir.Table, target: ir.Table, fk: ir.ForeignKey
) -> Split | None:
    """A split when `target` is new, unique on the columns `fk` references, and holds columns
    that `before` had and `after` lost; `after` keeps the determinant and references `target`.

    The determinant may have been renamed in the same step (its previous name is read); every
    other column of `target` must fill itself (a default, nullable, or a generated key).
    """
    if fk.ref_table != target.name or not _unique_on(target, fk.ref_columns):
        return None
    old_cols = {c.name: c for c in before.columns}
    new_cols = {c.name: c for c in after.columns}
    determinant = []
    for source_col, target_col in zip(fk.columns, fk.ref_columns, strict=True):
        col = new_cols.get(source_col)
        name = source_col if source_col in old_cols else (col.renamed_from if col else None)
        if col is None or name not in old_cols:
            return None
        determinant.append((name, target_col))
    renamed_away = {c.renamed_from for c in after.columns if c.renamed_from}
    key = {*target.primary_key, *fk.ref_columns}
    moved = tuple(
        old_cols[c.name]
        for c in target.columns
        if c.name not in key
        and c.name in old_cols
        and c.name not in new_cols
        and c.name not in renamed_away
    )
    if not moved:
        return None
    uuid_key = None
    moved_names = {c.name for c in moved}
    for c in target.columns:
        if c.name in moved_names or c.name in fk.ref_columns:
            continue
        if c.primary_key and c.type.kind == "uuid" and c.server_default is None:
            uuid_key = c.name
        elif not (c.nullable or c.server_default is not None or c.autoincrement):
            return None
    return Split(
        source=after.name,
        target=target.name,
        source_before_renames=before.name,
        determinant=tuple(determinant),
        moved=moved,
        target_uuid_key=uuid_key,
        nullable_determinant=any(old_cols[s].nullable for s, _ in determinant),
        fd=f"{', '.join(n for n, _ in determinant)} -> {', '.join(c.name for c in moved)}",
    )


def _unique_on(table: ir.Table, columns: tuple[str, ...]) -> bool:
    wanted = set(columns)
    return (
        set(table.primary_key) == wanted
        or any(c.kind == "unique" and set(c.columns) == wanted for c in table.constraints)
        or any(i.unique and set(i.columns) == wanted for i in table.indexes)
    )


def _alter_table(
    plan: MigrationPlan,
    old: ir.Table,
    new: ir.Table,
    old_meta: LazyMetadata,
    new_meta: LazyMetadata,
    moved_out: set[str] | frozenset[str] = frozenset(),
    dropped_early: frozenset[str] = frozenset(),
) -> None:
    """Constraint and index drops first (a dropped column takes its own with it on
    PostgreSQL), then the columns, then the new constraints and indexes."""
    constraint_changes = MigrationPlan()
    drops, adds = _constraint_ops(constraint_changes, old, new, old_meta, new_meta, dropped_early)
    table_ops: list[ops.MigrateOperation] = list(drops)
    old_cols = {c.name: c for c in old.columns}
    new_cols = {c.name: c for c in new.columns}
    for col in new.columns:
        if col.name in old_cols:
            table_ops += _alter_column(plan, new.name, old_cols[col.name], col)
        elif col.renamed_from in old_cols and col.renamed_from not in new_cols:
            previous = old_cols.pop(col.renamed_from)
            table_ops.append(
                ops.AlterColumnOp(
                    new.name,
                    previous.name,
                    modify_name=col.name,
                    existing_type=sa_type(previous.type),
                    existing_nullable=previous.nullable,
                    existing_server_default=previous.server_default or False,
                )
            )
            plan.changes.append(
                Change(
                    new.name,
                    f"rename column `{new.name}.{previous.name}` to `{col.name}` (values kept)",
                    "review",
                    f"rename_{new.name}_{previous.name}",
                    col.name,
                )
            )
            table_ops += _alter_column(plan, new.name, previous, col)
        else:
            table_ops.append(ops.AddColumnOp(new.name, sa_column(col, new)))
            risk: Risk = (
                "destructive" if not col.nullable and col.server_default is None else "safe"
            )
            note = (
                " (NOT NULL without a default: fails on a table with rows)"
                if risk == "destructive"
                else ""
            )
            plan.changes.append(
                Change(
                    new.name,
                    f"add column `{new.name}.{col.name}`{note}",
                    risk,
                    f"add_{new.name}_{col.name}",
                    col.name,
                )
            )
    for col in old.columns:
        if col.name not in new_cols and col.name in old_cols:
            if col.name in moved_out:
                # The values moved to the split table; the downgrade re-adds the column as
                # nullable, copies the values back, then restores NOT NULL.
                restored = sa_column(
                    ir.Column(col.name, col.type, nullable=True, server_default=col.server_default),
                    old,
                )
                table_ops.append(
                    ops.DropColumnOp.from_column_and_tablename(None, new.name, restored)
                )
                continue
            table_ops.append(
                ops.DropColumnOp.from_column_and_tablename(None, new.name, sa_column(col, old))
            )
            plan.changes.append(
                Change(
                    new.name,
                    f"drop column `{new.name}.{col.name}` and its values",
                    "destructive",
                    f"drop_{new.name}_{col.name}",
                    col.name,
                )
            )
    table_ops += adds
    plan.changes += constraint_changes.changes
    if table_ops:
        plan.operations.append(ops.ModifyTableOps(new.name, table_ops))


def _default_clause(sql: str | None) -> sa.DefaultClause | None:
    """A server default as Alembic renders it (`sa.text(...)`); a bare TextClause would be
    printed as its SQL, which is not Python (`server_default=CURRENT_TIMESTAMP`)."""
    return sa.DefaultClause(sa.text(sql)) if sql else None


def downgrade_operations(upgrade: ops.UpgradeOps) -> ops.DowngradeOps:
    """The downgrade: each operation's reverse, last first.

    Repairs on Alembic's reverse(): AlterColumnOp.reverse() forgets `modify_name` (a renamed
    column must be renamed back), swaps `existing_server_default` (a string, as Alembic's
    renderer wants it) into `modify_server_default`, where a string would be read as a quoted
    literal, and keeps the upgrade's `USING` cast. A table split copies its values back before
    the moved columns become NOT NULL again; checks and NULL fills have no reverse.
    """
    stubs = sa.MetaData()
    return ops.DowngradeOps(ops=[r for op in reversed(upgrade.ops) for r in _reverse(op, stubs)])


def _reverse(op: ops.MigrateOperation, stubs: sa.MetaData) -> list[ops.MigrateOperation]:
    if isinstance(op, CheckDependencyOp | FillNullsOp):
        return []
    if isinstance(op, FillTenantKeyOp):
        return [KeepOneRowPerKeyOp(op.fill)] if op.fill.source else []
    if isinstance(op, MoveValuesOp):
        return _restore_values(op.split)
    if isinstance(op, ops.RenameTableOp):
        return [ops.RenameTableOp(op.new_table_name, op.table_name)]
    if isinstance(op, ops.ModifyTableOps):
        reversed_ops = [r for o in _last_first(op.ops) for r in _reverse(o, stubs)]
        return [ops.ModifyTableOps(op.table_name, reversed_ops, schema=op.schema)]
    if isinstance(op, ops.AlterColumnOp):
        return [_reverse_alter(op)]
    # The drop of a created table or index needs only names; Alembic's reverse() would copy the
    # whole table first (most of a large initial migration's build time).
    if isinstance(op, CreateIrTableOp):
        drops = [
            _drop_index(conv(name), op.table_name, op.schema, stubs)
            for name in reversed(op.index_names())
        ]
        return [*drops, ops.DropTableOp(op.table_name, schema=op.schema)]
    if isinstance(op, ops.CreateTableOp):
        return [ops.DropTableOp(op.table_name, schema=op.schema)]
    if isinstance(op, ops.CreateIndexOp) and op.index_name is not None:
        return [_drop_index(op.index_name, op.table_name, op.schema, stubs)]
    return [op.reverse()]


def _drop_index(
    name: str, table: str, schema: str | None, stubs: sa.MetaData
) -> ops.MigrateOperation:
    """The drop of a created index, by name, its stub table in ``stubs``."""
    drop = DropIndexByNameOp(name, table_name=table, schema=schema)
    drop._stubs = stubs
    return drop


def _last_first(table_ops: list[ops.MigrateOperation]) -> list[ops.MigrateOperation]:
    """A table's operations last first, except that a run of dropped columns keeps its order:
    the downgrade adds them back in the table's order, so the table it leaves is the one the
    upgrade found (pytest-alembic's `downgrade_leaves_no_trace` compares column order too)."""
    runs: list[list[ops.MigrateOperation]] = []
    for table_op in table_ops:
        if (
            runs
            and isinstance(table_op, ops.DropColumnOp)
            and isinstance(runs[-1][-1], ops.DropColumnOp)
        ):
            runs[-1].append(table_op)
        else:
            runs.append([table_op])
    return [table_op for run in reversed(runs) for table_op in run]


def _restore_values(split: Split) -> list[ops.MigrateOperation]:
    restore: list[ops.MigrateOperation] = [RestoreValuesOp(split)]
    not_null = [
        ops.AlterColumnOp(
            split.source,
            c.name,
            modify_nullable=False,
            existing_type=sa_type(c.type),
            existing_server_default=c.server_default or False,
        )
        for c in split.moved
        if not c.nullable
    ]
    if not_null:
        restore.append(ops.ModifyTableOps(split.source, not_null))
    return restore


def _reverse_alter(op: ops.AlterColumnOp) -> ops.AlterColumnOp:
    reverse = op.reverse()
    if op.modify_name:
        reverse.column_name = op.modify_name
        reverse.modify_name = op.column_name
    if isinstance(reverse.modify_server_default, str):
        reverse.modify_server_default = _default_clause(reverse.modify_server_default)
    existing = reverse.existing_server_default
    if isinstance(existing, sa.DefaultClause) and isinstance(existing.arg, sa.TextClause):
        reverse.existing_server_default = existing.arg.text
    reverse.kw.pop("postgresql_using", None)
    if isinstance(op, CastColumnOp) and isinstance(reverse, CastColumnOp):
        if op.reverse_using:
            reverse.kw["postgresql_using"] = op.reverse_using
        reverse.reverse_using = op.kw.get("postgresql_using")
    return reverse


class _ColumnChanges(TypedDict, total=False):
    """The `modify_*` arguments of an AlterColumnOp."""

    modify_type: sa.types.TypeEngine[Any]
    modify_nullable: bool
    modify_server_default: sa.DefaultClause | None


def _alter_column(
    plan: MigrationPlan, table: str, old: ir.Column, new: ir.Column
) -> list[ops.MigrateOperation]:
    kwargs: _ColumnChanges = {}
    using, reverse_using = None, None
    if old.type != new.type:
        kwargs["modify_type"] = sa_type(new.type)
        using = postgresql_using(new.name, old.type, new.type)
        reverse_using = postgresql_using(new.name, new.type, old.type)
        risk: Risk = "safe" if widens(old.type, new.type) else "destructive"
        plan.changes.append(
            Change(
                table,
                f"change type of `{table}.{new.name}` from "
                f"{_label(old.type)} to {_label(new.type)}",
                risk,
                f"alter_{table}_{new.name}",
                new.name,
            )
        )
    if old.nullable != new.nullable:
        kwargs["modify_nullable"] = new.nullable
        risk = "safe" if new.nullable else "review" if new.server_default else "destructive"
        word = "nullable" if new.nullable else "NOT NULL"
        note = (
            f" (rows holding NULL get the default {new.server_default})"
            if risk == "review"
            else " (fails on rows holding NULL)"
            if risk == "destructive"
            else ""
        )
        if risk == "review" and new.server_default:
            plan.operations.append(FillNullsOp(table, old.name, new.server_default))
        plan.changes.append(
            Change(
                table,
                f"make `{table}.{new.name}` {word}{note}",
                risk,
                f"alter_{table}_{new.name}",
                new.name,
            )
        )
    if old.server_default != new.server_default:
        kwargs["modify_server_default"] = _default_clause(new.server_default)
        plan.changes.append(
            Change(
                table,
                f"change the default of `{table}.{new.name}`",
                "safe",
                f"alter_{table}_{new.name}",
                new.name,
            )
        )
    if not kwargs:
        return []
    if not (using or reverse_using):
        return [
            ops.AlterColumnOp(
                table,
                new.name,
                existing_type=sa_type(old.type),
                existing_nullable=old.nullable,
                existing_server_default=old.server_default or False,
                **kwargs,
            )
        ]
    return _cast_column(table, old, new, kwargs, using, reverse_using)


def _cast_column(
    table: str,
    old: ir.Column,
    new: ir.Column,
    kwargs: _ColumnChanges,
    using: str | None,
    reverse_using: str | None,
) -> list[ops.MigrateOperation]:
    """A type change with `USING`. PostgreSQL cannot cast a column's default along with it
    (`default ... cannot be cast automatically`): the old default goes first, the new one
    comes after the cast (and the downgrade does the same the other way)."""
    result: list[ops.MigrateOperation] = []
    defaults = bool(old.server_default or new.server_default)
    if defaults:
        kwargs.pop("modify_server_default", None)
    if defaults and old.server_default:
        result.append(
            ops.AlterColumnOp(
                table,
                new.name,
                existing_type=sa_type(old.type),
                existing_nullable=old.nullable,
                existing_server_default=old.server_default,
                modify_server_default=None,
            )
        )
    cast = CastColumnOp(
        table,
        new.name,
        existing_type=sa_type(old.type),
        existing_nullable=old.nullable,
        existing_server_default=False if defaults else old.server_default or False,
        **kwargs,
    )
    if using:
        cast.kw["postgresql_using"] = using
    cast.reverse_using = reverse_using
    result.append(cast)
    if defaults and new.server_default:
        result.append(
            ops.AlterColumnOp(
                table,
                new.name,
                existing_type=sa_type(new.type),
                existing_nullable=new.nullable,
                existing_server_default=None,
                modify_server_default=_default_clause(new.server_default),
            )
        )
    return result


_NUMBERS = frozenset({"integer", "bigint", "float", "numeric"})
_ASSIGNABLE = frozenset({("date", "datetime"), ("datetime", "date"), ("datetime", "time")})


def postgresql_using(column: str, old: ir.SqlType, new: ir.SqlType) -> str | None:
    """`USING "column"::TYPE` when PostgreSQL has no assignment cast from old to new.

    Anything converts to a string type, and numbers to numbers, without one; a string to a
    number, a boolean to a number or a string to a date does not (ALTER fails without USING).
    """
    if old.kind == new.kind or new.kind in ("string", "text"):
        return None
    if {old.kind, new.kind} <= _NUMBERS or (old.kind, new.kind) in _ASSIGNABLE:
        return None
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    type_sql = sa_type(new).dialect_impl(dialect).compile(dialect=dialect)
    quoted = '"' + column.replace('"', '""') + '"'
    return f"{quoted}::{type_sql}"


_WIDER = {
    ("integer", "bigint"),
    ("string", "text"),
    ("integer", "float"),
    ("date", "datetime"),
}
_DIGITS = {"integer": 10, "bigint": 19}  # integer digits a NUMERIC needs to hold them


def widens(old: ir.SqlType, new: ir.SqlType) -> bool:
    """True when every value of the old type fits the new one unchanged.

    A missing length or precision is unbounded. A float never fits a NUMERIC unchanged (its
    binary fractions are rounded); an integer fits one with enough integer digits.
    """
    if old.kind == new.kind == "string":
        return new.length is None or (old.length is not None and new.length >= old.length)
    if old.kind == new.kind == "numeric":
        if new.precision is None:
            return True
        if old.precision is None:
            return False
        return new.precision - (new.scale or 0) >= old.precision - (old.scale or 0) and (
            new.scale or 0
        ) >= (old.scale or 0)
    if old.kind == new.kind:
        return True
    if new.kind == "numeric" and old.kind in _DIGITS:
        return new.precision is None or new.precision - (new.scale or 0) >= _DIGITS[old.kind]
    return (old.kind, new.kind) in _WIDER


def _label(t: ir.SqlType) -> str:
    if t.length:
        return f"{t.kind}({t.length})"
    if t.precision:
        return f"{t.kind}({t.precision}, {t.scale})"
    return t.kind


def _constraint_ops(
    plan: MigrationPlan,
    old: ir.Table,
    new: ir.Table,
    old_meta: LazyMetadata,
    new_meta: LazyMetadata,
    dropped_early: frozenset[str] = frozenset(),
) -> tuple[list[ops.MigrateOperation], list[ops.MigrateOperation]]:
    """(drops, adds) of constraints and indexes, compared by name and content; a changed one
    is dropped and added again. An enum's CHECK that only gains values is safe; one that
    loses values is destructive (rows holding them fail the upgrade)."""
    drops: list[ops.MigrateOperation] = []
    adds: list[ops.MigrateOperation] = []
    old_items, new_items = _named_constraints(old), _named_constraints(new)
    changed = {n for n in old_items if n in new_items and old_items[n] != new_items[n]}
    enums = {n: e for n in changed if (e := _enum_change(old_items[n], new_items[n])) is not None}
    for name in sorted(set(old_items) - set(new_items) | changed):
        if name in dropped_early:
            continue
        drops.append(ops.DropConstraintOp.from_constraint(_sa_constraint(old_meta, old.name, name)))
        if name not in enums:
            risk: Risk = "review" if _is_check(old_items[name]) else "safe"
            plan.changes.append(Change(new.name, f"drop constraint `{name}`", risk))
    for name in sorted(set(new_items) - set(old_items) | changed):
        adds.append(ops.AddConstraintOp.from_constraint(_sa_constraint(new_meta, new.name, name)))
        if name in enums:
            plan.changes.append(_enum_change_summary(new.name, name, *enums[name]))
            continue
        risk = "review" if not isinstance(new_items[name], ir.ForeignKey) else "safe"
        plan.changes.append(
            Change(
                new.name,
                f"add constraint `{name}` (existing rows must satisfy it)",
                risk,
                f"add_{name}",
            )
        )
    old_ix = {i.name: i for i in old.indexes}
    new_ix = {i.name: i for i in new.indexes}
    changed_ix = {n for n in old_ix.keys() & new_ix.keys() if old_ix[n] != new_ix[n]}
    for name in sorted(old_ix.keys() - new_ix.keys() | changed_ix):
        drops.append(ops.DropIndexOp.from_index(_sa_index(old_meta, old.name, name)))
        plan.changes.append(Change(new.name, f"drop index `{name}`"))
    for name in sorted(new_ix.keys() - old_ix.keys() | changed_ix):
        adds.append(ops.CreateIndexOp.from_index(_sa_index(new_meta, new.name, name)))
        plan.changes.append(Change(new.name, f"create index `{name}`", slug=f"add_{name}"))
    return drops, adds


_IN_LIST = re.compile(r"^(\w+) IN \(((?:'(?:[^']|'')*'(?:, )?)*)\)$", re.S)
_SQL_STRING = re.compile(r"'((?:[^']|'')*)'")


def enum_values(item: object) -> tuple[str, tuple[str, ...]] | None:
    """(column, values) of an enum CHECK (`column IN ('a', 'b')`), else None."""
    if not _is_check(item):
        return None
    assert isinstance(item, ir.Constraint)
    match = _IN_LIST.match(item.sql or "")
    if match is None:
        return None
    values = tuple(v.replace("''", "'") for v in _SQL_STRING.findall(match.group(2)))
    return match.group(1), values


def _enum_change(old: object, new: object) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    before, after = enum_values(old), enum_values(new)
    if before is None or after is None or before[0] != after[0]:
        return None
    return after[0], before[1], after[1]


def _enum_change_summary(
    table: str, name: str, column: str, before: tuple[str, ...], after: tuple[str, ...]
) -> Change:
    removed = [v for v in before if v not in after]
    added = [v for v in after if v not in before]
    if removed:
        return Change(
            table,
            f"remove value(s) {', '.join(map(repr, removed))} from `{table}.{column}` "
            "(rows holding them fail the upgrade)",
            "destructive",
            f"alter_{name}",
            column,
        )
    words = f"add value(s) {', '.join(map(repr, added))} to" if added else "reorder the values of"
    return Change(
        table, f"{words} `{table}.{column}` (CHECK replaced)", "safe", f"alter_{name}", column
    )


def _named_constraints(table: ir.Table) -> dict[str, ir.Constraint | ir.ForeignKey]:
    items: list[ir.Constraint | ir.ForeignKey] = [*table.constraints, *table.foreign_keys]
    return {c.name: c for c in items}


def _is_check(item: object) -> bool:
    return isinstance(item, ir.Constraint) and item.kind == "check"


def _sa_constraint(meta: LazyMetadata, table: str, name: str) -> sa.Constraint:
    return next(c for c in meta.table(table).constraints if c.name == name)


def _sa_index(meta: LazyMetadata, table: str, name: str) -> sa.Index:
    return next(i for i in meta.table(table).indexes if i.name == name)
