"""Unit tests for generator/diff: the migration plan of each kind of change, its risk, the
downgrade, `widens`, the PostgreSQL `USING` casts and the SQL that moves values in a split.

Schemas come from small YAML specs compiled by the real pipeline, so the tables are the ones
a build would compare. The split's SQL runs here on an in-memory SQLite database.
"""

from __future__ import annotations

import ast
import dataclasses
import sqlite3
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.operations import ops

import generator.emit.migrations  # noqa: F401  (registers the renderers of the custom ops)
from generator import ir
from generator.diff.compare import (
    CastColumnOp,
    CreateBuiltIndexOp,
    CreateBuiltTableOp,
    CreateIrTableOp,
    DropIndexByNameOp,
    MigrationPlan,
    downgrade_operations,
    enum_values,
    plan_migration,
    postgresql_using,
    widens,
)
from generator.diff.data import (
    CheckDependencyOp,
    FillNullsOp,
    MoveValuesOp,
    RestoreValuesOp,
    Split,
    conflicts_sql,
    insert_sql,
    orphans_sql,
    quote,
    restore_sql,
)
from generator.diff.sqla import sa_table
from generator.emit.migrations import _ALEMBIC_MARKERS, MigrationInput, _body, render_revision
from generator.incremental import BuildCache
from generator.load.previous import PreviousOutput
from generator.pipeline import compile_specs


def tables(tmp_path: Path, spec: str) -> tuple[ir.Table, ...]:
    """The stored tables of one spec (YAML text)."""
    folder = tmp_path / f"spec{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    (folder / "api.yaml").write_text(textwrap.dedent(spec), encoding="utf-8")
    projects, diags = compile_specs(folder)
    assert not diags.has_errors, [d.render() for d in diags.sorted()]
    return projects[0].tables


def plan(tmp_path: Path, before: str, after: str) -> MigrationPlan:
    return plan_migration(tables(tmp_path, before), tables(tmp_path, after))


def flat(operations: list[ops.MigrateOperation]) -> list[ops.MigrateOperation]:
    """Operations with each ModifyTableOps replaced by what it holds."""
    result: list[ops.MigrateOperation] = []
    for op in operations:
        result += op.ops if isinstance(op, ops.ModifyTableOps) else [op]
    return result


#: The plan's own subclasses, which differ from Alembic's only in how they reach their objects.
FAST_OPS = {
    CreateIrTableOp: "CreateTableOp",
    CreateBuiltTableOp: "CreateTableOp",
    CreateBuiltIndexOp: "CreateIndexOp",
    DropIndexByNameOp: "DropIndexOp",
}


def built(operations: list[ops.MigrateOperation]) -> list[ops.MigrateOperation]:
    """Operations with each created table replaced by the operations it renders as."""
    result: list[ops.MigrateOperation] = []
    for op in operations:
        result += op.built_operations() if isinstance(op, CreateIrTableOp) else [op]
    return result


def kind(op: ops.MigrateOperation) -> str:
    """The name of the Alembic operation an op is."""
    return FAST_OPS.get(type(op), type(op).__name__)


def down(p: MigrationPlan) -> list[ops.MigrateOperation]:
    return list(downgrade_operations(ops.UpgradeOps(ops=list(p.operations))).ops)


def render(operations: list[ops.MigrateOperation]) -> str:
    """The operations as Alembic renders them in a revision (batch mode); must be Python."""
    code = render_python_code(ops.UpgradeOps(ops=list(operations)), render_as_batch=True)
    lines = [line for line in code.splitlines() if not line.lstrip().startswith("# ###")]
    ast.parse(textwrap.dedent("\n".join(lines)))
    return code


NOTES = """
api: {name: notes}
entities:
  note:
    fields:
      title: {type: string, max_length: 100}
"""


def notes(*fields: str, entity: str = "note", extra: str = "") -> str:
    lines = [f"      {f}" for f in fields]
    return (
        "api: {name: notes}\nentities:\n"
        + f"  {entity}:\n{extra}    fields:\n"
        + "\n".join(lines)
        + "\n"
    )


# --- kinds of change ---------------------------------------------------------------------------


def test_no_change_plans_nothing(tmp_path: Path) -> None:
    p = plan(tmp_path, NOTES, NOTES)
    assert p.empty and p.changes == []


def test_first_build_creates_every_table(tmp_path: Path) -> None:
    p = plan_migration((), tables(tmp_path, NOTES))
    assert len(p.operations) == 1 and isinstance(p.operations[0], ops.CreateTableOp)
    assert [c.risk for c in p.changes] == ["safe"]


def test_add_optional_field_is_safe(tmp_path: Path) -> None:
    p = plan(
        tmp_path,
        NOTES,
        notes("title: {type: string, max_length: 100}", "body: {type: text, nullable: true}"),
    )
    [add] = flat(p.operations)
    assert isinstance(add, ops.AddColumnOp) and add.column.name == "body"
    assert add.column.nullable
    assert [(c.risk, c.slug) for c in p.changes] == [("safe", "add_notes_body")]
    [undo] = flat(down(p))
    assert isinstance(undo, ops.DropColumnOp) and undo.column_name == "body"


def test_add_required_field_with_default_is_safe(tmp_path: Path) -> None:
    p = plan(
        tmp_path,
        NOTES,
        notes("title: {type: string, max_length: 100}", "priority: {type: integer, default: 0}"),
    )
    [add] = flat(p.operations)
    assert isinstance(add, ops.AddColumnOp) and not add.column.nullable
    assert add.column.server_default is not None
    assert not p.destructive


def test_add_required_field_without_default_is_destructive(tmp_path: Path) -> None:
    p = plan(tmp_path, NOTES, notes("title: {type: string, max_length: 100}", "priority: integer"))
    [change] = p.destructive
    assert change.column == "priority" and "NOT NULL without a default" in change.summary


def test_drop_field_and_drop_entity_are_destructive(tmp_path: Path) -> None:
    before = notes("title: {type: string, max_length: 100}", "body: text")
    p = plan(tmp_path, before, NOTES)
    assert [c.slug for c in p.destructive] == ["drop_notes_body"]
    two = NOTES + "  tag:\n    fields:\n      name: string\n"
    p = plan(tmp_path, two, NOTES)
    assert [c.slug for c in p.destructive] == ["drop_tags"]
    assert isinstance(p.operations[-1], ops.DropTableOp)


def test_rename_field_is_a_rename_not_a_drop_and_add(tmp_path: Path) -> None:
    renamed = notes("headline: {type: string, max_length: 100, renamed_from: title}")
    p = plan(tmp_path, NOTES, renamed)
    [rename] = flat(p.operations)
    assert isinstance(rename, ops.AlterColumnOp)
    assert (rename.column_name, rename.modify_name) == ("title", "headline")
    assert [c.risk for c in p.changes] == ["review"] and not p.destructive
    [back] = flat(down(p))
    assert isinstance(back, ops.AlterColumnOp)
    assert (back.column_name, back.modify_name) == ("headline", "title")
    assert "new_column_name='title'" in render(down(p))


def test_rename_field_and_widen_it_in_one_step(tmp_path: Path) -> None:
    renamed = notes("headline: {type: string, max_length: 200, renamed_from: title}")
    p = plan(tmp_path, NOTES, renamed)
    rename, widen = flat(p.operations)
    assert isinstance(rename, ops.AlterColumnOp) and rename.modify_name == "headline"
    assert isinstance(widen, ops.AlterColumnOp) and widen.column_name == "headline"
    assert not p.destructive
    narrow, back = flat(down(p))
    assert isinstance(narrow, ops.AlterColumnOp) and narrow.column_name == "headline"
    assert isinstance(back, ops.AlterColumnOp) and back.modify_name == "title"


RENAMED_ENTITY_BEFORE = """
api: {name: notes}
entities:
  note:
    fields:
      title: {type: string, max_length: 100}
  remark:
    fields:
      text: string
    relations:
      note: {type: many_to_one, target: note}
"""
RENAMED_ENTITY_AFTER = """
api: {name: notes}
entities:
  memo:
    renamed_from: note
    fields:
      title: {type: string, max_length: 100}
  remark:
    fields:
      text: string
    relations:
      note: {type: many_to_one, target: memo}
"""


def test_rename_entity_renames_the_table_and_moves_references_around_it(tmp_path: Path) -> None:
    p = plan(tmp_path, RENAMED_ENTITY_BEFORE, RENAMED_ENTITY_AFTER)
    kinds = [kind(op) for op in p.operations]
    assert kinds == ["ModifyTableOps", "RenameTableOp", "ModifyTableOps"]
    drop_fk, rename, add_fk = p.operations
    assert isinstance(drop_fk, ops.ModifyTableOps) and isinstance(add_fk, ops.ModifyTableOps)
    assert [type(o) for o in drop_fk.ops] == [ops.DropConstraintOp]
    assert [type(o) for o in add_fk.ops] == [ops.CreateForeignKeyOp]
    assert isinstance(rename, ops.RenameTableOp)
    assert (rename.table_name, rename.new_table_name) == ("notes", "memos")
    assert not p.destructive
    assert p.slug() == "rename_notes_to_memos_and_more"
    # The downgrade renames back before the old foreign key (to `notes`) is created again.
    undo = down(p)
    assert [kind(op) for op in undo] == kinds
    back = undo[1]
    assert isinstance(back, ops.RenameTableOp)
    assert (back.table_name, back.new_table_name) == ("memos", "notes")
    recreate = undo[2]
    assert isinstance(recreate, ops.ModifyTableOps)
    [fk] = recreate.ops
    assert isinstance(fk, ops.CreateForeignKeyOp) and fk.referent_table == "notes"


ENUM = "status: {{type: enum, values: [{values}], default: draft}}"


def test_enum_value_added_replaces_the_check_safely(tmp_path: Path) -> None:
    p = plan(
        tmp_path,
        notes(ENUM.format(values="draft, done")),
        notes(ENUM.format(values="draft, done, archived")),
    )
    drop, widen, add = flat(p.operations)
    assert isinstance(drop, ops.DropConstraintOp) and isinstance(add, ops.AddConstraintOp)
    assert isinstance(widen, ops.AlterColumnOp)
    assert isinstance(add, ops.CreateCheckConstraintOp)
    assert drop.constraint_name == add.constraint_name == "ck_notes_status_enum"
    assert "'archived'" in render([p.operations[0]])
    assert not p.destructive
    assert any("add value(s) 'archived'" in c.summary and c.risk == "safe" for c in p.changes)


def test_enum_value_removed_is_destructive(tmp_path: Path) -> None:
    p = plan(
        tmp_path,
        notes(ENUM.format(values="draft, done, archived")),
        notes(ENUM.format(values="draft, archived")),
    )
    [change] = p.destructive
    assert change.column == "status" and "'done'" in change.summary


def test_enum_values_parse_from_the_check() -> None:
    check = ir.Constraint("ck", "check", sql="status IN ('a', 'it''s', 'b c')")
    assert enum_values(check) == ("status", ("a", "it's", "b c"))
    assert enum_values(ir.Constraint("ck", "check", sql="n >= 0")) is None
    assert enum_values(ir.Constraint("uq", "unique", ("a",))) is None


def test_many_to_many_and_list_field_create_tables(tmp_path: Path) -> None:
    labels = "  label:\n    fields:\n      name: string\n"
    before = NOTES + labels
    after = (
        notes(
            "title: {type: string, max_length: 100}",
            "tags: {type: list, of: {type: string, max_length: 30}, max_items: 5}",
            extra="    relations:\n      labels: {type: many_to_many, target: label}\n",
        )
        + labels
    )
    p = plan(tmp_path, before, after)
    created = [op.table_name for op in p.operations if isinstance(op, ops.CreateTableOp)]
    assert sorted(created) == ["notes_labels", "notes_tags"]
    assert not p.destructive
    dropped = [op.table_name for op in down(p) if isinstance(op, ops.DropTableOp)]
    assert sorted(dropped) == ["notes_labels", "notes_tags"]


def test_widen_string_is_safe_and_narrowing_is_destructive(tmp_path: Path) -> None:
    wide = notes("title: {type: string, max_length: 200}")
    p = plan(tmp_path, NOTES, wide)
    [alter] = flat(p.operations)
    assert isinstance(alter, ops.AlterColumnOp) and not isinstance(alter, CastColumnOp)
    assert not p.destructive
    assert [c.risk for c in plan(tmp_path, wide, NOTES).changes] == ["destructive"]


def test_required_with_default_fills_nulls_first(tmp_path: Path) -> None:
    p = plan(
        tmp_path,
        notes("color: {type: string, max_length: 20, nullable: true}"),
        notes("color: {type: string, max_length: 20, default: white}"),
    )
    fill, modify = p.operations
    assert isinstance(fill, FillNullsOp)
    assert fill.sql() == 'UPDATE "notes" SET "color" = \'white\' WHERE "color" IS NULL'
    assert isinstance(modify, ops.ModifyTableOps)
    assert not p.destructive
    assert p.changes[0].risk == "review"
    assert not any(isinstance(op, FillNullsOp) for op in down(p))
    assert "server_default=sa.text(\"'white'\")" in render(p.operations)


def test_required_without_default_is_destructive_and_fills_nothing(tmp_path: Path) -> None:
    p = plan(
        tmp_path,
        notes("color: {type: string, max_length: 20, nullable: true}"),
        notes("color: {type: string, max_length: 20}"),
    )
    assert [c.column for c in p.destructive] == ["color"]
    assert not any(isinstance(op, FillNullsOp) for op in p.operations)


def test_default_changes_render_as_sql_text(tmp_path: Path) -> None:
    p = plan(
        tmp_path,
        notes("done: {type: boolean, default: false}"),
        notes("done: {type: boolean, default: true}"),
    )
    assert "server_default=sa.text('true')" in render(p.operations).replace('"', "'")
    assert "server_default=sa.text('false')" in render(down(p)).replace('"', "'")


# --- type changes and USING --------------------------------------------------------------------


def test_string_to_integer_casts_with_using_and_is_destructive(tmp_path: Path) -> None:
    p = plan(tmp_path, notes("pages: {type: string, max_length: 10}"), notes("pages: integer"))
    [cast] = flat(p.operations)
    assert isinstance(cast, CastColumnOp)
    assert cast.kw["postgresql_using"] == '"pages"::INTEGER'
    assert [c.risk for c in p.changes] == ["destructive"]
    assert "postgresql_using='\"pages\"::INTEGER'" in render(p.operations)
    [back] = flat(down(p))
    assert isinstance(back, ops.AlterColumnOp)
    assert "postgresql_using" not in back.kw  # integer -> string needs no USING
    assert "postgresql_using" not in render(down(p))


def test_integer_to_string_downgrade_casts_back(tmp_path: Path) -> None:
    p = plan(tmp_path, notes("pages: integer"), notes("pages: {type: string, max_length: 10}"))
    [alter] = flat(p.operations)
    assert isinstance(alter, CastColumnOp) and "postgresql_using" not in alter.kw
    [back] = flat(down(p))
    assert isinstance(back, CastColumnOp)
    assert back.kw["postgresql_using"] == '"pages"::INTEGER'


def test_cast_with_a_default_drops_it_first_and_sets_the_new_one_after(tmp_path: Path) -> None:
    p = plan(
        tmp_path,
        notes('pages: {type: string, max_length: 10, default: "1"}'),
        notes("pages: {type: integer, default: 1}"),
    )
    drop_default, cast, set_default = flat(p.operations)
    assert isinstance(drop_default, ops.AlterColumnOp)
    assert drop_default.modify_server_default is None
    assert isinstance(cast, CastColumnOp) and cast.modify_server_default is False
    assert isinstance(set_default, ops.AlterColumnOp)
    assert isinstance(set_default.modify_server_default, sa.DefaultClause)
    undo = flat(down(p))
    first = undo[0]
    assert isinstance(first, ops.AlterColumnOp) and first.modify_server_default is None
    assert "sa.text(\"'1'\")" in render(down(p))


@pytest.mark.parametrize(
    ("old", "new", "using"),
    [
        ("string", "integer", '"c"::INTEGER'),
        ("text", "numeric", '"c"::NUMERIC(10, 2)'),
        ("string", "boolean", '"c"::BOOLEAN'),
        ("string", "uuid", '"c"::UUID'),
        ("string", "date", '"c"::DATE'),
        ("boolean", "integer", '"c"::INTEGER'),
        ("text", "json", '"c"::JSONB'),
        ("integer", "string", None),
        ("integer", "bigint", None),
        ("bigint", "integer", None),
        ("float", "numeric", None),
        ("date", "datetime", None),
        ("string", "text", None),
        ("string", "string", None),
    ],
)
def test_postgresql_using(old: str, new: str, using: str | None) -> None:
    def t(kind: str) -> ir.SqlType:
        if kind == "string":
            return ir.SqlType("string", length=20)
        if kind == "numeric":
            return ir.SqlType("numeric", precision=10, scale=2)
        return ir.SqlType(kind)

    assert postgresql_using("c", t(old), t(new)) == using


def test_using_quotes_the_column() -> None:
    assert postgresql_using('a"b', ir.SqlType("text"), ir.SqlType("integer")) == '"a""b"::INTEGER'


# --- widens ------------------------------------------------------------------------------------

S = ir.SqlType


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (S("string", 10), S("string", 20), True),
        (S("string", 20), S("string", 20), True),
        (S("string", 20), S("string", 10), False),
        (S("string", 20), S("string"), True),  # no length: unbounded
        (S("string"), S("string", 20), False),
        (S("string", 20), S("text"), True),
        (S("text"), S("string", 20), False),
        (S("integer"), S("bigint"), True),
        (S("bigint"), S("integer"), False),
        (S("integer"), S("float"), True),
        (S("integer"), S("numeric", precision=12, scale=2), True),
        (S("integer"), S("numeric", precision=10, scale=2), False),  # 8 integer digits < 10
        (S("bigint"), S("numeric", precision=19, scale=0), True),
        (S("bigint"), S("numeric"), True),
        (S("float"), S("numeric", precision=30, scale=10), False),  # binary fractions round
        (S("numeric", precision=10, scale=2), S("numeric", precision=12, scale=2), True),
        (S("numeric", precision=10, scale=2), S("numeric", precision=10, scale=3), False),
        (S("numeric", precision=10, scale=2), S("numeric", precision=12, scale=4), True),
        (S("numeric", precision=10, scale=2), S("numeric"), True),
        (S("numeric"), S("numeric", precision=10, scale=2), False),
        (S("date"), S("datetime"), True),
        (S("datetime"), S("date"), False),
        (S("string", 20), S("integer"), False),
        (S("boolean"), S("boolean"), True),
    ],
)
def test_widens(old: ir.SqlType, new: ir.SqlType, expected: bool) -> None:
    assert widens(old, new) is expected


# --- table splits ------------------------------------------------------------------------------

ADDRESS = """
api: {name: crm}
entities:
  customer:
    fields:
      name: {type: string, max_length: 100}
      zip_code: {type: string, max_length: 10}
      city: {type: string, max_length: 60}
      state: {type: string, max_length: 2}
"""
SPLIT = ADDRESS + '    dependencies:\n      - "zip_code -> city, state"\n'


def test_split_moves_values_instead_of_dropping_them(tmp_path: Path) -> None:
    p = plan(tmp_path, ADDRESS, SPLIT)
    assert not p.destructive
    assert p.changes[0].risk == "review" and p.slug() == "split_customers_zip_codes_and_more"
    [split] = p.splits
    assert (split.source, split.target) == ("customers", "zip_codes")
    assert split.determinant == (("zip_code", "zip_code"),)
    assert split.moved_names == ("city", "state")
    assert split.fd == "zip_code -> city, state"
    kinds = [kind(op) for op in p.operations]
    assert kinds == ["CheckDependencyOp", "CreateTableOp", "MoveValuesOp", "ModifyTableOps"]
    modify = p.operations[-1]
    assert isinstance(modify, ops.ModifyTableOps) and modify.table_name == "customers"
    assert [kind(o) for o in modify.ops] == [
        "DropColumnOp",
        "DropColumnOp",
        "CreateIndexOp",
        "CreateForeignKeyOp",  # foreign keys last: what they reference is in place by then
    ]


def test_split_downgrade_copies_values_back_before_not_null(tmp_path: Path) -> None:
    undo = down(plan(tmp_path, ADDRESS, SPLIT))
    kinds = [kind(op) for op in undo]
    assert kinds == ["ModifyTableOps", "RestoreValuesOp", "ModifyTableOps", "DropTableOp"]
    readd = undo[0]
    assert isinstance(readd, ops.ModifyTableOps)
    added = [o for o in readd.ops if isinstance(o, ops.AddColumnOp)]
    assert sorted(o.column.name for o in added) == ["city", "state"]
    assert all(o.column.nullable for o in added)  # filled by the restore, then NOT NULL
    not_null = undo[2]
    assert isinstance(not_null, ops.ModifyTableOps)
    assert all(
        isinstance(o, ops.AlterColumnOp) and o.modify_nullable is False for o in not_null.ops
    )


def test_split_renders_check_move_and_restore(tmp_path: Path) -> None:
    p = plan(tmp_path, ADDRESS, SPLIT)
    up, back = render(p.operations), render(down(p))
    assert up.index("raise RuntimeError") < up.index("op.create_table") < up.index("INSERT INTO")
    assert up.index("INSERT INTO") < up.index("drop_column")
    assert "UPDATE" in back and back.index("UPDATE") < back.index("op.drop_table")


def test_split_of_a_renamed_table_checks_the_old_name(tmp_path: Path) -> None:
    renamed = SPLIT.replace("  customer:\n", "  client:\n    renamed_from: customer\n")
    p = plan(tmp_path, ADDRESS, renamed)
    [split] = p.splits
    assert (split.source_before_renames, split.source) == ("customers", "clients")
    assert '"customers"' in conflicts_sql(split) and '"clients"' in insert_sql(split)
    assert [kind(op) for op in p.operations][:2] == ["CheckDependencyOp", "RenameTableOp"]


def test_no_split_when_the_new_table_needs_values_the_source_lacks(tmp_path: Path) -> None:
    before = tables(tmp_path, ADDRESS)
    after = list(tables(tmp_path, SPLIT))
    zips = next(t for t in after if t.name == "zip_codes")
    extra = ir.Column("county", ir.SqlType("string", length=30))
    after[after.index(zips)] = ir.Table(
        zips.name,
        zips.kind,
        (*zips.columns, extra),
        zips.primary_key,
        zips.entity,
        zips.foreign_keys,
        zips.constraints,
        zips.indexes,
    )
    p = plan_migration(before, tuple(after))
    assert p.splits == []
    assert sorted(c.column or "" for c in p.destructive) == ["city", "state"]


def test_split_with_a_composite_determinant_and_uuid_keys(tmp_path: Path) -> None:
    before = """
    api: {name: crm, id_type: uuid}
    entities:
      store:
        fields: {name: string}
      stock_count:
        fields:
          sku: {type: string, max_length: 32}
          shelf: {type: string, max_length: 12}
          aisle: {type: integer, nullable: true}
        relations:
          store: {type: many_to_one, target: store}
    """
    after = before.rstrip(" ") + (
        '        dependencies:\n          - {fd: "store, sku -> shelf, aisle", '
        "entity: shelf_slot}\n"
    )
    p = plan(tmp_path, before, after)
    [split] = p.splits
    assert split.determinant == (("store_id", "store_id"), ("sku", "sku"))
    assert split.moved_names == ("shelf", "aisle")
    assert split.target_uuid_key == "id"
    assert not p.destructive
    code = render(p.operations)
    assert "gen_random_uuid()" in code and "randomblob(16)" in code


# --- the split's SQL, run on SQLite ------------------------------------------------------------

ZIP_SPLIT = Split(
    source="customers",
    target="zip_codes",
    source_before_renames="customers",
    determinant=(("zip_code", "zip_code"),),
    moved=(ir.Column("city", ir.SqlType("text")), ir.Column("state", ir.SqlType("text"))),
    fd="zip_code -> city, state",
)


@pytest.fixture
def db() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, zip_code TEXT, city TEXT, state TEXT);
        CREATE TABLE zip_codes (id INTEGER PRIMARY KEY, zip_code TEXT UNIQUE NOT NULL,
                                city TEXT, state TEXT);
        INSERT INTO customers VALUES (1, '10001', 'New York', 'NY'), (2, '10001', 'New York',
          'NY'), (3, '94105', 'San Francisco', 'CA'), (4, '60601', NULL, 'IL');
        """
    )
    return connection


def test_insert_moves_distinct_values(db: sqlite3.Connection) -> None:
    assert db.execute(conflicts_sql(ZIP_SPLIT)).fetchall() == []
    db.execute(insert_sql(ZIP_SPLIT))
    rows = db.execute("SELECT zip_code, city, state FROM zip_codes ORDER BY 1").fetchall()
    assert rows == [
        ("10001", "New York", "NY"),
        ("60601", None, "IL"),
        ("94105", "San Francisco", "CA"),
    ]


def test_conflicts_name_every_disagreeing_combination(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO customers VALUES (5, '10001', 'Newark', 'NJ')")
    db.execute("INSERT INTO customers VALUES (6, '60601', 'Chicago', 'IL')")
    assert db.execute(conflicts_sql(ZIP_SPLIT)).fetchall() == [
        ("10001", "New York", "NY"),
        ("10001", "Newark", "NJ"),
        ("60601", None, "IL"),  # SQLite sorts NULL first
        ("60601", "Chicago", "IL"),
    ]


def test_orphans_are_values_without_a_determinant(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO customers VALUES (7, NULL, 'Nowhere', NULL)")
    db.execute("INSERT INTO customers VALUES (8, NULL, NULL, NULL)")
    assert db.execute(orphans_sql(ZIP_SPLIT)).fetchall() == [(None, "Nowhere", None)]
    db.execute(insert_sql(ZIP_SPLIT))
    assert db.execute("SELECT COUNT(*) FROM zip_codes WHERE zip_code IS NULL").fetchone() == (0,)


def test_restore_copies_values_back(db: sqlite3.Connection) -> None:
    db.execute(insert_sql(ZIP_SPLIT))
    db.execute("UPDATE customers SET city = NULL, state = NULL")
    db.execute(restore_sql(ZIP_SPLIT))
    rows = db.execute("SELECT id, city, state FROM customers ORDER BY id").fetchall()
    assert rows == [
        (1, "New York", "NY"),
        (2, "New York", "NY"),
        (3, "San Francisco", "CA"),
        (4, None, "IL"),
    ]


def test_identifiers_are_quoted() -> None:
    assert quote('we"ird') == '"we""ird"'
    split = Split(
        "order",
        "select",
        "order",
        (("group", "group"),),
        (ir.Column("from", ir.SqlType("text")),),
        fd="group -> from",
    )
    connection = sqlite3.connect(":memory:")
    connection.executescript(
        'CREATE TABLE "order" ("group" TEXT, "from" TEXT);'
        'CREATE TABLE "select" (id INTEGER PRIMARY KEY, "group" TEXT, "from" TEXT);'
        "INSERT INTO \"order\" VALUES ('a', 'x'), ('a', 'x');"
    )
    assert connection.execute(conflicts_sql(split)).fetchall() == []
    connection.execute(insert_sql(split))
    assert connection.execute('SELECT "group", "from" FROM "select"').fetchall() == [("a", "x")]


def test_custom_ops_reverse_as_the_downgrade_needs() -> None:
    assert isinstance(MoveValuesOp(ZIP_SPLIT).reverse(), RestoreValuesOp)
    assert isinstance(RestoreValuesOp(ZIP_SPLIT).reverse(), MoveValuesOp)
    undo = downgrade_operations(
        ops.UpgradeOps(ops=[CheckDependencyOp(ZIP_SPLIT), FillNullsOp("t", "c", "0")])
    )
    assert undo.ops == []


# --- rendering from the built objects ----------------------------------------------------------


def _revision_text(plan_: MigrationPlan) -> str:
    upgrade = ops.UpgradeOps(ops=list(plan_.operations))
    return render(list(upgrade.ops)) + render(list(downgrade_operations(upgrade).ops))


@pytest.mark.parametrize("example", ["blog", "shop", "weather"])
def test_initial_revision_renders_as_from_alembics_own_copies(example: str) -> None:
    """The created tables and indexes render from the objects they were made from, and the
    dropped indexes from shared stubs: the text is the one Alembic's copying `to_table()` and
    `to_index()` give (each op's fast path switched off in the second rendering)."""
    projects, diags = compile_specs(Path(__file__).parent.parent / "specs" / example)
    assert not diags.has_errors
    p = plan_migration((), projects[0].tables)
    upgrade = ops.UpgradeOps(ops=built(p.operations))
    downgrade = downgrade_operations(upgrade)
    tables_ = [op for op in upgrade.ops if isinstance(op, CreateBuiltTableOp)]
    indexes = [op for op in upgrade.ops if isinstance(op, CreateBuiltIndexOp)]
    drops = [op for op in downgrade.ops if isinstance(op, DropIndexByNameOp)]
    assert tables_ and indexes and len(drops) == len(indexes)
    assert [op for op in tables_ if op.to_table() is op._built]  # cycles aside, every one
    assert all(op.to_index() is op._built for op in indexes)
    fast = render(list(upgrade.ops)) + render(list(downgrade.ops))
    for op in tables_:
        op._built = None
    for op in indexes:
        op._built = None
    for op in drops:
        op._stubs = None
    assert all(op.to_table() is not op._built_items[0].table for op in tables_)  # copies
    assert render(list(upgrade.ops)) + render(list(downgrade.ops)) == fast


def test_a_created_table_is_rendered_from_the_build_cache_while_unchanged(
    tmp_path: Path,
) -> None:
    """A second initial revision of the same tables takes each table's text from the cache and
    builds none of their SQLAlchemy objects; a changed table is rendered again, and so are the
    tables that reference it (their foreign keys are rendered from it)."""
    projects, diags = compile_specs(Path(__file__).parent.parent / "specs" / "blog")
    assert not diags.has_errors
    project = projects[0]

    def revision(project_: ir.Project) -> tuple[str, dict[str, bool]]:
        """The revision's text, and whether each created table's objects were built."""
        cache = BuildCache.open(tmp_path, project_)
        plan_ = plan_migration((), project_.tables)
        text = render_revision(project_, MigrationInput(PreviousOutput(), plan_), 1, cache)[1]
        cache.save()
        creates = [op for op in plan_.operations if isinstance(op, CreateIrTableOp)]
        return text, {op.table_name: op._operations is not None for op in creates}

    first, built_first = revision(project)
    again, built_again = revision(project)
    assert again == first and all(built_first.values()) and not any(built_again.values())
    plain = plan_migration((), project.tables)
    assert render_revision(project, MigrationInput(PreviousOutput(), plain), 1)[1] == first
    table = project.tables[0]
    wider = dataclasses.replace(
        table, columns=(*table.columns, ir.Column("extra", ir.SqlType("text"), nullable=True))
    )
    changed = dataclasses.replace(project, tables=(wider, *project.tables[1:]), _tables={})
    text, built_changed = revision(changed)
    referencing = {
        t.name for t in project.tables if table.name in {f.ref_table for f in t.foreign_keys}
    }
    assert "'extra'" in text and referencing
    assert {n for n, b in built_changed.items() if b} == {table.name, *referencing}


def test_a_create_table_op_whose_items_changed_renders_a_copy_of_them(tmp_path: Path) -> None:
    """A foreign key left for later (a cycle) is taken out of the op after it was made: the
    op then renders from Alembic's copy of what it holds, without that key."""
    cycle = """
    api: {name: notes}
    entities:
      note:
        fields:
          title: string
        relations:
          label: {type: many_to_one, target: label}
      label:
        fields:
          name: string
        relations:
          favourite: {type: many_to_one, target: note, required: false}
    """
    p = plan_migration((), tables(tmp_path, cycle))
    changed = [
        op
        for op in built(p.operations)
        if isinstance(op, CreateBuiltTableOp) and len(op.columns) < len(op._built_items)
    ]
    assert changed
    for op in changed:
        copy = op.to_table()
        assert copy is not op._built
        assert len(copy.foreign_keys) < len(op._built.foreign_keys)  # type: ignore[union-attr]


def test_a_downgrade_adds_dropped_columns_back_in_the_table_order() -> None:
    """Columns come back where they were (last first would swap them), so the table the
    downgrade leaves is the one the upgrade found: pytest-alembic compares column order."""
    upgrade = ops.UpgradeOps(
        ops=[
            ops.ModifyTableOps(
                "customers",
                [
                    ops.DropColumnOp.from_column_and_tablename(
                        None, "customers", sa.Column("city", sa.String(60))
                    ),
                    ops.DropColumnOp.from_column_and_tablename(
                        None, "customers", sa.Column("state", sa.String(2))
                    ),
                    ops.CreateIndexOp("ix_customers_zip_code", "customers", ["zip_code"]),
                ],
            )
        ]
    )
    (table,) = downgrade_operations(upgrade).ops
    assert isinstance(table, ops.ModifyTableOps)
    undone = [(type(op).__name__, getattr(op, "column", None)) for op in table.ops]
    assert undone[0][0] == "DropIndexByNameOp"
    assert [column.name for _, column in undone if column is not None] == ["city", "state"]


def _numbered_table(autoincrement: bool) -> ir.Table:
    key = ir.Column("id", ir.SqlType("integer"), primary_key=True, autoincrement=autoincrement)
    return ir.Table("notes", "entity", (key, ir.Column("body", ir.SqlType("text"))), ("id",))


def test_sqlite_never_hands_a_deleted_rows_id_to_a_new_row() -> None:
    """An integer surrogate key is AUTOINCREMENT on SQLite: without it, SQLite gives the largest
    id again after that row is deleted, and a token or link naming the deleted row (a user's
    `sub`) would reach the new one."""
    table = _numbered_table(autoincrement=True)
    assert table.numbers_rows
    engine = sa.create_engine("sqlite://")
    built = sa_table(table, sa.MetaData())
    built.create(engine)
    with engine.begin() as db:
        db.execute(built.insert(), [{"body": "a"}, {"body": "b"}])
        db.execute(built.delete().where(built.c.id == 2))
        db.execute(built.insert(), [{"body": "c"}])
        assert db.execute(sa.select(built.c.id).order_by(built.c.id)).scalars().all() == [1, 3]


def test_only_tables_with_a_numbered_key_are_autoincrement() -> None:
    plain = sa_table(_numbered_table(autoincrement=False), sa.MetaData())
    assert not _numbered_table(autoincrement=False).numbers_rows
    assert plain.dialect_options["sqlite"]["autoincrement"] is False


@pytest.mark.parametrize(
    "code",
    [
        "# ### commands auto generated by Alembic - please adjust! ###\n"
        "    op.create_table('a',\n    sa.Column('id', sa.Integer(), nullable=False)\n    )\n"
        "    with op.batch_alter_table('b') as batch_op:\n"
        "        batch_op.drop_column('c')\n\n"
        "    # ### end Alembic commands ###",
        "  op.execute('x')\n  if y:\n      op.execute('z')",
        "\top.execute('x')",
        "        op.execute('x')",
        "# ### commands auto generated by Alembic - please adjust! ###\n"
        "    pass\n    # ### end Alembic commands ###",
        "# ### end Alembic commands ###",
    ],
)
def test_a_revision_body_is_alembics_dedented_and_indented_by_four(code: str) -> None:
    lines = [line for line in _ALEMBIC_MARKERS.sub("", code).splitlines() if line.strip()]
    expected = textwrap.indent(textwrap.dedent("\n".join(lines)) if lines else "pass", "    ")
    assert _body(code) == expected
