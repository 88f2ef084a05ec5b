"""`gen explain`: every normalization decision, and the final stored schema."""

from __future__ import annotations

from typing import Any

from generator import ir


def explain_text(projects: tuple[ir.Project, ...]) -> str:
    """One block per project: each decision with its place, rule and resulting tables."""
    lines: list[str] = []
    for project in projects:
        lines.append(
            f"{project.api.name}: {len(project.decisions)} decision(s), "
            f"{len(project.tables)} stored table(s)"
        )
        for d in project.decisions:
            tables = ", ".join(d.tables)
            lines.append(f"{d.span}: rule {d.rule} ({d.entity}): {d.summary}")
            if d.dependency:
                lines.append(f"  dependency: {d.dependency}")
            if tables:
                lines.append(f"  tables: {tables}")
        for table in project.tables:
            fks = "; ".join(
                f"{', '.join(fk.columns)} -> {fk.ref_table}" for fk in table.foreign_keys
            )
            lines.append(
                f"  table {table.name} ({table.kind}): key ({', '.join(table.primary_key)})"
                + (f"; foreign keys {fks}" if fks else "")
            )
    return "".join(line + "\n" for line in lines)


def explain_json(projects: tuple[ir.Project, ...]) -> list[dict[str, Any]]:
    """The decisions plus each stored table's columns, keys, unique sets and foreign keys."""
    return [
        {
            "api": project.api.name,
            "decisions": [
                {
                    "location": str(d.span),
                    "rule": d.rule,
                    "entity": d.entity,
                    "summary": d.summary,
                    "dependency": d.dependency,
                    "tables": list(d.tables),
                }
                for d in project.decisions
            ],
            "tables": [_table_json(t) for t in project.tables],
        }
        for project in projects
    ]


def _table_json(table: ir.Table) -> dict[str, Any]:
    return {
        "name": table.name,
        "kind": table.kind,
        "columns": [
            {"name": c.name, "type": c.type.kind, "nullable": c.nullable} for c in table.columns
        ],
        "primary_key": list(table.primary_key),
        "unique": [list(c.columns) for c in table.constraints if c.kind == "unique"],
        "foreign_keys": [
            {"columns": list(fk.columns), "references": fk.ref_table, "on_delete": fk.on_delete}
            for fk in table.foreign_keys
        ],
    }
