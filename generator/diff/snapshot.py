"""The schema snapshot a generated project keeps: the stored tables it last emitted, as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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


#: What `snapshot_text` writes around its tables, and between two (each table's text at depth 0
#: placed at depth 2).
_HEAD = '{\n  "tables": [\n    '
_SEPARATOR = ",\n    "
_TAIL = f'\n  ],\n  "version": {SNAPSHOT_VERSION}\n}}\n'
_PLACED_BREAK = "\n    "

#: The classes of a table's parts, and the fields of each that the snapshot holds.
SNAPSHOT_FIELDS: dict[type, frozenset[str]] = {
    ir.Table: frozenset(
        [
            "name",
            "kind",
            "entity",
            "renamed_from",
            "primary_key",
            "columns",
            "foreign_keys",
            "constraints",
            "indexes",
        ]
    ),
    ir.Column: frozenset(
        [
            "name",
            "type",
            "nullable",
            "primary_key",
            "autoincrement",
            "server_default",
            "renamed_from",
        ]
    ),
    ir.SqlType: frozenset(("kind", "length", "precision", "scale")),
    ir.ForeignKey: frozenset(("name", "columns", "ref_table", "ref_columns", "on_delete")),
    ir.Constraint: frozenset(("name", "kind", "columns", "sql")),
    ir.Index: frozenset(("name", "columns", "unique", "where")),
}
_LEAVES = frozenset((str, int, bool, type(None)))


def round_trips(table: ir.Table) -> bool:
    """True when parsing `table_json(table)` gives a table equal to it in every respect: its
    parts are tuples and the classes above with their fields alone, its leaves exactly str,
    int, bool or None (JSON would turn a list into a tuple, a float NaN into another NaN, a
    subclass into its base). Written out, not recursive: a cold build checks every table."""
    if not _plain(table, ("name", "kind", "entity", "renamed_from"), ("primary_key",)):
        return False
    for column in table.columns:
        if type(column) is not ir.Column or not _plain(column, _COLUMN_LEAVES, ()):
            return False
        if type(column.type) is not ir.SqlType or not _plain(column.type, _TYPE_LEAVES, ()):
            return False
    parts = (
        (table.foreign_keys, ir.ForeignKey, ("name", "ref_table", "on_delete")),
        (table.constraints, ir.Constraint, ("name", "kind", "sql")),
        (table.indexes, ir.Index, ("name", "unique", "where")),
    )
    for items, kind, leaves in parts:
        for item in items:
            if type(item) is not kind or not _plain(item, leaves, _NAME_LISTS[kind]):
                return False
    return (
        type(table.columns) is tuple
        and type(table.foreign_keys) is tuple
        and type(table.constraints) is tuple
        and type(table.indexes) is tuple
    )


_COLUMN_LEAVES = tuple(SNAPSHOT_FIELDS[ir.Column] - {"type"})
_TYPE_LEAVES = tuple(SNAPSHOT_FIELDS[ir.SqlType])
_NAME_LISTS: dict[type, tuple[str, ...]] = {
    ir.ForeignKey: ("columns", "ref_columns"),
    ir.Constraint: ("columns",),
    ir.Index: ("columns",),
}


def _plain(item: object, leaves: tuple[str, ...], name_lists: tuple[str, ...]) -> bool:
    """item has exactly the fields the snapshot holds; those named are leaves, or tuples of
    strings."""
    state = vars(item)
    if state.keys() != SNAPSHOT_FIELDS[type(item)]:
        return False
    for name in leaves:
        if type(state[name]) not in _LEAVES:
            return False
    for name in name_lists:
        names = state[name]
        if type(names) is not tuple:
            return False
        for each in names:
            if type(each) is not str:
                return False
    return True


def placed_json(table: ir.Table) -> str:
    """`table_json(table)` as the snapshot holds it (at depth 2)."""
    return table_json(table).replace("\n", _PLACED_BREAK)


def snapshot_of_placed(placed: Sequence[str]) -> str:
    """`snapshot_text` of the tables whose `placed_json` texts are given."""
    return f"{_HEAD}{_SEPARATOR.join(placed)}{_TAIL}" if placed else snapshot_text(())


def tables_since(
    previous: str,
    tables: tuple[ir.Table, ...],
    members: Sequence[tuple[str, bool]],
) -> tuple[ir.Table, ...]:
    """`tables_from_snapshot(previous)`, without parsing the tables it starts and ends with
    when the new snapshot starts and ends with the same texts: members[i] is `placed_json`
    of tables[i] and whether it `round_trips` (only such a table stands for its parsed text).
    Anything unexpected is parsed as a whole."""
    if not (previous.startswith(_HEAD) and previous.endswith(_TAIL)):
        return tables_from_snapshot(previous)
    # the members, each led by a separator: ",\n    T1,\n    T2 ... ,\n    Tn"
    body = _SEPARATOR + previous[len(_HEAD) : len(previous) - len(_TAIL)]
    lead = len(_SEPARATOR)

    def at(i: int, start: int) -> bool:
        """Whether body holds the separator and the text of members[i] at start."""
        return body.startswith(_SEPARATOR, start) and body.startswith(members[i][0], start + lead)

    front, first = 0, 0
    while first < len(tables) and members[first][1] and at(first, front):
        end = front + lead + len(members[first][0])
        if end != len(body) and not body.startswith(_SEPARATOR, end):
            break
        front, first = end, first + 1
    back, last = len(body), len(tables)
    while last > first and members[last - 1][1]:
        start = back - lead - len(members[last - 1][0])
        if start < front or not at(last - 1, start):
            break
        back, last = start, last - 1
    middle = body[front:back]
    try:
        if middle and not middle.startswith(_SEPARATOR):
            raise ValueError("not a list of tables")
        parsed = tuple(_parse_table(t) for t in json.loads(f"[{middle[len(_SEPARATOR) :]}]"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return tables_from_snapshot(previous)
    return (*tables[:first], *parsed, *tables[last:])
