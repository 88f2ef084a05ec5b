"""The schema snapshot a generated project keeps: the stored tables it last emitted, as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from generator import ir, jsontext

SNAPSHOT_VERSION = 1


def snapshot_text(
    tables: tuple[ir.Table, ...], table_text: Callable[[ir.Table], str] | None = None
) -> str:
    """Deterministic JSON of the stored schema (sorted keys, trailing newline); table_text
    gives each table's text as `table_json` does (from a cache, say)."""
    if table_text is None:
        data = {"version": SNAPSHOT_VERSION, "tables": [_table(t) for t in tables]}
        return jsontext.dumps(data, sort_keys=True) + "\n"
    skeleton = {"version": SNAPSHOT_VERSION, "tables": [table_text(t) for t in tables]}
    return jsontext.dumps_placed(skeleton, [("tables",)], sort_keys=True) + "\n"


def table_json(table: ir.Table) -> str:
    """One table of the snapshot, as its text at depth 0."""
    return jsontext.dumps(_table(table), sort_keys=True)


def _table(t: ir.Table) -> dict[str, Any]:
    return {
        "name": t.name,
        "kind": t.kind,
        "entity": t.entity,
        "renamed_from": t.renamed_from,
        "primary_key": list(t.primary_key),
        "columns": [
            {
                "name": c.name,
                "type": _type(c.type),
                "nullable": c.nullable,
                "primary_key": c.primary_key,
                "autoincrement": c.autoincrement,
                "server_default": c.server_default,
                "renamed_from": c.renamed_from,
            }
            for c in t.columns
        ],
        "foreign_keys": [
            {
                "name": fk.name,
                "columns": list(fk.columns),
                "ref_table": fk.ref_table,
                "ref_columns": list(fk.ref_columns),
                "on_delete": fk.on_delete,
            }
            for fk in t.foreign_keys
        ],
        "constraints": [
            {"name": c.name, "kind": c.kind, "columns": list(c.columns), "sql": c.sql}
            for c in t.constraints
        ],
        "indexes": [_index(i) for i in t.indexes],
    }


def _index(i: ir.Index) -> dict[str, Any]:
    """An index; `where` only for partial ones, so older snapshots read the same."""
    data: dict[str, Any] = {"name": i.name, "columns": list(i.columns), "unique": i.unique}
    if i.where is not None:
        data["where"] = i.where
    return data


def _type(t: ir.SqlType) -> dict[str, Any]:
    return {
        k: v
        for k, v in (
            ("kind", t.kind),
            ("length", t.length),
            ("precision", t.precision),
            ("scale", t.scale),
        )
        if v is not None
    }


def tables_from_snapshot(text: str) -> tuple[ir.Table, ...]:
    """Parse a snapshot written by snapshot_text."""
    data = json.loads(text)
    if data.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"unsupported schema snapshot version {data.get('version')!r}")
    return tuple(_parse_table(t) for t in data["tables"])


def _parse_table(t: dict[str, Any]) -> ir.Table:
    return ir.Table(
        name=t["name"],
        kind=t["kind"],
        entity=t.get("entity"),
        renamed_from=t.get("renamed_from"),
        primary_key=tuple(t["primary_key"]),
        columns=tuple(
            ir.Column(
                c["name"],
                ir.SqlType(**c["type"]),
                nullable=c["nullable"],
                primary_key=c["primary_key"],
                autoincrement=c["autoincrement"],
                server_default=c["server_default"],
                renamed_from=c.get("renamed_from"),
            )
            for c in t["columns"]
        ),
        foreign_keys=tuple(
            ir.ForeignKey(
                fk["name"],
                tuple(fk["columns"]),
                fk["ref_table"],
                tuple(fk["ref_columns"]),
                fk["on_delete"],
            )
            for fk in t["foreign_keys"]
        ),
        constraints=tuple(
            ir.Constraint(c["name"], c["kind"], tuple(c["columns"]), c["sql"])
            for c in t["constraints"]
        ),
        indexes=tuple(
            ir.Index(i["name"], tuple(i["columns"]), i["unique"], i.get("where"))
            for i in t["indexes"]
        ),
    )
