"""Docs emitter: the normalization report and an ER diagram of the stored schema."""

from __future__ import annotations

from generator import ir
from generator.emit.base import RenderedFile, header, render

_RULE_TITLES = {
    "1": "Rule 1: list fields become child tables",
    "2": "Rule 2: many_to_many become association tables",
    "3": "Rule 3: declared dependencies are synthesized into 3NF",
    "4": "Rule 4: copies of related values are not stored",
}
# With `api.tenancy` only: which rows carry their tenant key, and why.
_TENANCY_TITLE = "Tenancy: every scoped row carries its tenant key"


def emit(project: ir.Project) -> list[RenderedFile]:
    """docs/normalization.md and docs/erd.md of one project."""
    root = f"{project.api.name}/docs"
    return [
        RenderedFile(
            f"{root}/normalization.md",
            render(
                "docs/normalization.md.j2",
                header=header(project, "<!--") + " -->",
                project=project,
                rules=_rules(project.decisions),
                tables=project.tables,
            ),
        ),
        RenderedFile(
            f"{root}/erd.md",
            render(
                "docs/erd.md.j2",
                header=header(project, "<!--") + " -->",
                tables=[_erd_table(t) for t in project.tables],
                links=_erd_links(project.tables),
            ),
        ),
    ]


def _rules(decisions: tuple[ir.Decision, ...]) -> list[tuple[str, list[ir.Decision]]]:
    rules = [
        (title, [d for d in decisions if d.rule == rule]) for rule, title in _RULE_TITLES.items()
    ]
    tenancy = [d for d in decisions if d.rule == "tenancy"]
    return [*rules, (_TENANCY_TITLE, tenancy)] if tenancy else rules


def sql_type_label(t: ir.SqlType) -> str:
    """A short type label for diagrams: varchar(200), numeric(10_2), bigint."""
    if t.kind == "string" and t.length:
        return f"varchar({t.length})"
    if t.kind == "numeric":
        return f"numeric({t.precision}_{t.scale})"
    return t.kind


def _erd_table(table: ir.Table) -> dict[str, object]:
    fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
    unique_columns = {
        c.columns[0] for c in table.constraints if c.kind == "unique" and len(c.columns) == 1
    }
    rows = []
    for column in table.columns:
        keys = [
            k
            for k, on in (
                ("PK", column.name in table.primary_key),
                ("FK", column.name in fk_columns),
                ("UK", column.name in unique_columns),
            )
            if on
        ]
        rows.append((sql_type_label(column.type), column.name, ", ".join(keys)))
    return {"name": table.name, "rows": rows}


def _erd_links(tables: tuple[ir.Table, ...]) -> list[tuple[str, str, str, str]]:
    nullable = {(t.name, c.name): c.nullable for t in tables for c in t.columns}
    links = []
    for table in tables:
        for fk in table.foreign_keys:
            optional = any(nullable.get((table.name, c), False) for c in fk.columns)
            shape = "|o--o{" if optional else "||--o{"
            links.append((fk.ref_table, shape, table.name, ", ".join(fk.columns)))
    return sorted(links)
