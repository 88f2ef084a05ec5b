"""Compare two stored schemas -> a MigrationPlan of Alembic operation objects.

The previous schema is the snapshot the project kept; the new one is the IR. Renames come
from `renamed_from` hints, never from guessing, so a rename is never a drop plus an add.
Destructive changes are marked; the caller refuses them unless explicitly allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from alembic.operations import ops

from generator import ir
from generator.diff.sqla import sa_column, sa_metadata, sa_type

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


def plan_migration(old: tuple[ir.Table, ...], new: tuple[ir.Table, ...]) -> MigrationPlan:
    """Operations that turn the old stored schema into the new one, in a safe order."""
    plan = MigrationPlan()
    old_by_name = {t.name: t for t in old}
    new_meta, old_meta = sa_metadata(new), sa_metadata(old)
    renamed = {
        t.renamed_from: t.name
        for t in new
        if t.renamed_from in old_by_name and t.name not in old_by_name
    }
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
    current = {renamed.get(name, name): t for name, t in old_by_name.items()}
    creating = [t for t in new if t.name not in current]
    deferred = deferred_foreign_keys(creating)
    for table in creation_order(creating):
        created = new_meta.tables[table.name]
        create = ops.CreateTableOp.from_table(created)
        create.columns = [c for c in create.columns
                          if not (isinstance(c, sa.ForeignKeyConstraint) and c.name in deferred)]
        plan.operations.append(create)
        plan.operations += [
            ops.CreateIndexOp.from_index(index)
            for index in sorted(created.indexes, key=lambda i: str(i.name))
        ]
        plan.changes.append(
            Change(table.name, f"create table `{table.name}`", "safe", f"create_{table.name}")
        )
    for table in creation_order(creating):
        closing = [c for c in new_meta.tables[table.name].constraints
                   if isinstance(c, sa.ForeignKeyConstraint) and c.name in deferred]
        if closing:
            plan.operations.append(ops.ModifyTableOps(table.name, [
                ops.CreateForeignKeyOp.from_constraint(c)
                for c in sorted(closing, key=lambda c: str(c.name))]))
    for table in new:
        if table.name in current:
            _alter_table(plan, current[table.name], table, old_meta, new_meta)
    for table in reversed(
        creation_order([t for n, t in current.items() if n not in {t.name for t in new}])
    ):
        drop = ops.DropTableOp.from_table(old_meta.tables[table.name])
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


def deferred_foreign_keys(tables: list[ir.Table] | tuple[ir.Table, ...]) -> frozenset[str]:
    """Foreign keys that close a cycle: added after their tables exist (`use_alter`)."""
    order = creation_order(list(tables))
    created: set[str] = set()
    deferred = set()
    names = {t.name for t in tables}
    for table in order:
        for fk in table.foreign_keys:
            if fk.ref_table in names and fk.ref_table not in created | {table.name}:
                deferred.add(fk.name)
        created.add(table.name)
    return frozenset(deferred)


def creation_order(tables: list[ir.Table]) -> list[ir.Table]:
    """Tables ordered so that each comes after the tables its foreign keys point at."""
    pending = {t.name: t for t in sorted(tables, key=lambda t: t.name)}
    ordered: list[ir.Table] = []
    while pending:
        ready = [
            t
            for t in pending.values()
            if all(fk.ref_table not in pending or fk.ref_table == t.name for fk in t.foreign_keys)
        ]
        ready = ready or [next(iter(pending.values()))]  # a cycle: break it deterministically
        for t in ready:
            ordered.append(pending.pop(t.name))
    return ordered


def _alter_table(
    plan: MigrationPlan, old: ir.Table, new: ir.Table, old_meta: sa.MetaData, new_meta: sa.MetaData
) -> None:
    table_ops: list[ops.MigrateOperation] = []
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
    table_ops += _constraint_ops(plan, old, new, old_meta, new_meta)
    if table_ops:
        plan.operations.append(ops.ModifyTableOps(new.name, table_ops))


def _default_text(col: ir.Column) -> sa.TextClause | None:
    return sa.text(col.server_default) if col.server_default else None


def downgrade_operations(upgrade: ops.UpgradeOps) -> ops.DowngradeOps:
    """The downgrade: each operation's reverse(), last first.

    Two repairs on AlterColumnOp.reverse(): it forgets `modify_name` (a renamed column must be
    renamed back), and it swaps `existing_server_default` (a string, as Alembic's renderer wants
    it) into `modify_server_default`, where a string would be read as a quoted literal.
    """
    return ops.DowngradeOps(ops=[_reverse(op) for op in reversed(upgrade.ops)])


def _reverse(op: ops.MigrateOperation) -> ops.MigrateOperation:
    if isinstance(op, ops.RenameTableOp):
        return ops.RenameTableOp(op.new_table_name, op.table_name)
    if isinstance(op, ops.ModifyTableOps):
        return ops.ModifyTableOps(
            op.table_name, [_reverse(o) for o in reversed(op.ops)], schema=op.schema
        )
    if isinstance(op, ops.AlterColumnOp):
        return _reverse_alter(op)
    return op.reverse()


def _reverse_alter(op: ops.AlterColumnOp) -> ops.AlterColumnOp:
    reverse = op.reverse()
    if op.modify_name:
        reverse.column_name = op.modify_name
        reverse.modify_name = op.column_name
    if isinstance(reverse.modify_server_default, str):
        reverse.modify_server_default = sa.text(reverse.modify_server_default)
    if isinstance(reverse.existing_server_default, sa.TextClause):
        reverse.existing_server_default = reverse.existing_server_default.text
    return reverse


class _ColumnChanges(TypedDict, total=False):
    """The `modify_*` arguments of an AlterColumnOp."""

    modify_type: sa.types.TypeEngine[Any]
    modify_nullable: bool
    modify_server_default: sa.TextClause | None


def _alter_column(
    plan: MigrationPlan, table: str, old: ir.Column, new: ir.Column
) -> list[ops.MigrateOperation]:
    kwargs: _ColumnChanges = {}
    if old.type != new.type:
        kwargs["modify_type"] = sa_type(new.type)
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
        risk = "safe" if new.nullable or new.server_default else "destructive"
        word = "nullable" if new.nullable else "NOT NULL"
        plan.changes.append(
            Change(
                table,
                f"make `{table}.{new.name}` {word}",
                risk,
                f"alter_{table}_{new.name}",
                new.name,
            )
        )
    if old.server_default != new.server_default:
        kwargs["modify_server_default"] = _default_text(new) if new.server_default else None
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


_WIDER = {
    ("integer", "bigint"),
    ("string", "text"),
    ("integer", "float"),
    ("bigint", "numeric"),
    ("integer", "numeric"),
    ("float", "numeric"),
    ("date", "datetime"),
}


def widens(old: ir.SqlType, new: ir.SqlType) -> bool:
    """True when every value of the old type fits the new one unchanged."""
    if old.kind == new.kind:
        if old.kind == "string":
            return (new.length or 0) >= (old.length or 0)
        if old.kind == "numeric":
            return (new.precision or 0) - (new.scale or 0) >= (old.precision or 0) - (
                old.scale or 0
            ) and (new.scale or 0) >= (old.scale or 0)
        return True
    return (old.kind, new.kind) in _WIDER


def _label(t: ir.SqlType) -> str:
    if t.length:
        return f"{t.kind}({t.length})"
    if t.precision:
        return f"{t.kind}({t.precision}, {t.scale})"
    return t.kind


def _constraint_ops(
    plan: MigrationPlan, old: ir.Table, new: ir.Table, old_meta: sa.MetaData, new_meta: sa.MetaData
) -> list[ops.MigrateOperation]:
    """Constraints and indexes are compared by name and content; a change drops and re-adds."""
    result: list[ops.MigrateOperation] = []
    old_t, new_t = old_meta.tables[old.name], new_meta.tables[new.name]
    old_items, new_items = _named_constraints(old), _named_constraints(new)
    for name in sorted(
        set(old_items) - set(new_items)
        | {n for n in old_items if n in new_items and old_items[n] != new_items[n]}
    ):
        result.append(ops.DropConstraintOp.from_constraint(_sa_constraint(old_t, name)))
        risk: Risk = "review" if _is_check(old_items[name]) else "safe"
        plan.changes.append(Change(new.name, f"drop constraint `{name}`", risk))
    for name in sorted(
        set(new_items) - set(old_items)
        | {n for n in new_items if n in old_items and old_items[n] != new_items[n]}
    ):
        result.append(ops.AddConstraintOp.from_constraint(_sa_constraint(new_t, name)))
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
    for name in sorted(old_ix.keys() - new_ix.keys()):
        result.append(ops.DropIndexOp.from_index(_sa_index(old_t, name)))
        plan.changes.append(Change(new.name, f"drop index `{name}`"))
    for name in sorted(new_ix.keys() - old_ix.keys()):
        result.append(ops.CreateIndexOp.from_index(_sa_index(new_t, name)))
        plan.changes.append(Change(new.name, f"create index `{name}`", slug=f"add_{name}"))
    return result


def _named_constraints(table: ir.Table) -> dict[str, ir.Constraint | ir.ForeignKey]:
    items: list[ir.Constraint | ir.ForeignKey] = [*table.constraints, *table.foreign_keys]
    return {c.name: c for c in items}


def _is_check(item: object) -> bool:
    return isinstance(item, ir.Constraint) and item.kind == "check"


def _sa_constraint(table: sa.Table, name: str) -> sa.Constraint:
    return next(c for c in table.constraints if c.name == name)


def _sa_index(table: sa.Table, name: str) -> sa.Index:
    return next(i for i in table.indexes if i.name == name)
