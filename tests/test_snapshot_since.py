"""generator/diff/snapshot.py `tables_since`: the previous snapshot's tables, the ones it starts
and ends with taken from the new schema when their text is the same, always equal to parsing
the whole snapshot."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml
from alembic.autogenerate import render_python_code
from alembic.operations import ops
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import generator.emit.migrations  # noqa: F401  (registers the renderers of the custom ops)
from generator import ir
from generator.diff import snapshot
from generator.diff.compare import plan_migration
from generator.diff.snapshot import (
    SNAPSHOT_FIELDS,
    placed_json,
    round_trips,
    snapshot_of_placed,
    snapshot_text,
    tables_from_snapshot,
    tables_since,
)
from generator.pipeline import build, compile_specs
from generator.write import write_output

CASES = Path(__file__).resolve().parent / "cases"
BLOG = Path(__file__).resolve().parent.parent / "specs" / "blog"


def _members(tables: tuple[ir.Table, ...]) -> list[tuple[str, bool]]:
    return [(placed_json(t), round_trips(t)) for t in tables]


def _pool(projects: dict[str, ir.Project]) -> tuple[ir.Table, ...]:
    return tuple(t for p in projects.values() for t in p.tables)


def test_the_snapshot_holds_every_field_of_a_table() -> None:
    for cls, fields in SNAPSHOT_FIELDS.items():
        assert fields == {f.name for f in dataclasses.fields(cls)}, cls


def test_every_table_of_every_case_round_trips(projects: dict[str, ir.Project]) -> None:
    tables = [*_pool(projects)]
    for case in sorted(CASES.iterdir()):
        compiled, _ = compile_specs(case / "spec", "spec")
        tables += [t for p in compiled for t in p.tables]
    assert len(tables) > 80
    for table in tables:
        assert round_trips(table), table.name
        (parsed,) = tables_from_snapshot(snapshot_text((table,)))
        assert repr(parsed) == repr(table)


class _Name(str):
    """A str that JSON would write as a plain one."""


def test_what_does_not_round_trip_is_found() -> None:
    column = ir.Column("id", ir.SqlType("string", length=10))
    fk = ir.ForeignKey("fk", ("id",), "u", ("id",))
    index = ir.Index("ix", ("id",), where="id > 0")
    check = ir.Constraint("ck", "check", (), "id > 0")
    table = ir.Table("t", "entity", (column,), ("id",), "e", (fk,), (check,), (index,))
    assert round_trips(table)
    extra = dataclasses.replace(column)
    object.__setattr__(extra, "comment", "not in the snapshot")
    for odd in (
        dataclasses.replace(table, name=_Name("t")),
        dataclasses.replace(table, columns=[column]),  # type: ignore[arg-type]
        dataclasses.replace(table, columns=(extra,)),
        dataclasses.replace(table, foreign_keys=(dataclasses.replace(fk, ref_columns=["id"]),)),  # type: ignore[arg-type]
        dataclasses.replace(table, indexes=(dataclasses.replace(index, unique=0.0),)),  # type: ignore[arg-type]
        dataclasses.replace(table, constraints=(dataclasses.replace(check, sql=b"id"),)),  # type: ignore[arg-type]
        dataclasses.replace(table, primary_key=["id"]),  # type: ignore[arg-type]
        dataclasses.replace(table, columns=(dataclasses.replace(column, nullable=1.0),)),  # type: ignore[arg-type]
        dataclasses.replace(
            table,
            columns=(dataclasses.replace(column, type=ir.SqlType("string", 10.0)),),  # type: ignore[arg-type]
        ),
    ):
        assert not round_trips(odd)


def _edited(table: ir.Table, bump: int) -> ir.Table:
    """The table with its first column's type changed."""
    first = table.columns[0]
    wider = dataclasses.replace(first.type, length=(first.type.length or 0) + bump)
    return dataclasses.replace(table, columns=(dataclasses.replace(first, type=wider),))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_tables_since_is_parsing_the_whole_snapshot(
    projects: dict[str, ir.Project], data: st.DataObject
) -> None:
    pool = _pool(projects)
    indexes = st.lists(st.sampled_from(range(len(pool))), max_size=12, unique=True)
    old = tuple(pool[i] for i in data.draw(indexes))
    new = list(old)
    for _ in range(data.draw(st.integers(0, 3))):  # edits: drop, insert or change a table
        edit = data.draw(st.sampled_from(["drop", "insert", "change"]))
        at = data.draw(st.integers(0, len(new)))
        if edit == "insert":
            new.insert(at, data.draw(st.sampled_from(pool)))
        elif new and at < len(new):
            new[at : at + 1] = [] if edit == "drop" else [_edited(new[at], 1 + at % 3)]
    members = _members(tuple(new))
    # a member said not to round-trip must be parsed, never stood for by the new table
    for i in data.draw(st.lists(st.integers(0, len(new) - 1), max_size=2)) if new else ():
        members[i] = (members[i][0], False)
    previous = snapshot_text(old)
    assert snapshot_of_placed([placed_json(t) for t in old]) == previous
    found = tables_since(previous, tuple(new), members)
    assert repr(found) == repr(tables_from_snapshot(previous))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_plan_from_tables_since_is_the_plan_from_the_parsed_snapshot(
    projects: dict[str, ir.Project], data: st.DataObject
) -> None:
    """plan_migration skips a kept table that is the very new one: the plan is the same."""
    old = projects[data.draw(st.sampled_from(sorted(projects)))].tables
    new = list(old)
    edited = data.draw(st.lists(st.integers(0, len(new) - 1), max_size=3))
    for i in edited:
        new[i] = _edited(new[i], 1 + i % 3)
    previous = snapshot_text(old)
    found = tables_since(previous, tuple(new), _members(tuple(new)))
    parsed = tables_from_snapshot(previous)
    assert _plan_text(found, tuple(new)) == _plan_text(parsed, tuple(new))
    assert {c.table for c in plan_migration(found, tuple(new)).changes} == {
        new[i].name for i in edited
    }


def _plan_text(old: tuple[ir.Table, ...], new: tuple[ir.Table, ...]) -> str:
    plan = plan_migration(old, new)
    code = render_python_code(ops.UpgradeOps(ops=list(plan.operations)), render_as_batch=True)
    return f"{code}\n{plan.changes!r}"


def test_only_the_changed_tables_are_parsed(
    projects: dict[str, ir.Project], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _pool(projects)[:10]
    new = (*old[:4], _edited(old[4], 2), *old[5:])
    parsed: list[str] = []
    real = snapshot._parse_table
    monkeypatch.setattr(snapshot, "_parse_table", lambda t: parsed.append(t["name"]) or real(t))
    assert tables_since(snapshot_text(old), new, _members(new)) == old
    assert parsed == [old[4].name]


def test_a_snapshot_of_another_shape_is_parsed_as_a_whole(
    projects: dict[str, ir.Project],
) -> None:
    tables = _pool(projects)[:3]
    members = _members(tables)
    other_version = snapshot_text(tables).replace('"version": 1', '"version": 2')
    with pytest.raises(ValueError, match="unsupported schema snapshot version"):
        tables_since(other_version, tables, members)
    broken = snapshot_text(tables).replace(members[1][0].splitlines()[1], "  oops", 1)
    with pytest.raises(ValueError):
        tables_since(broken, tables, members)


def test_migrations_planned_with_a_warm_cache_are_those_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """specs/blog built into an output folder, then changed twice (a column widened, one made
    nullable): each build with the cache warm parses only the changed table of the snapshot
    and writes what a build without the cache writes, the new revisions included."""
    specs, out, cache_dir = tmp_path / "blog", tmp_path / "out", tmp_path / "cache"
    shutil.copytree(BLOG, specs)
    before = build(specs, out_dir=out, cache_dir=cache_dir)
    write_output(out, before.files, before.once)
    parsed: list[str] = []
    real = snapshot._parse_table
    counting = lambda t: parsed.append(t["name"]) or real(t)  # noqa: E731
    for field, key, value in (("title", "max_length", 400), ("views", "nullable", True)):
        posts = specs / "entities" / "post.yaml"
        data = yaml.safe_load(posts.read_text())
        data["entities"]["post"]["fields"][field][key] = value
        posts.write_text(yaml.safe_dump(data, sort_keys=False))
        monkeypatch.setenv("GEN_EMIT_CACHE", "off")
        cold = build(specs, out_dir=out, cache_dir=cache_dir)
        monkeypatch.setenv("GEN_EMIT_CACHE", "on")
        parsed.clear()
        with monkeypatch.context() as patch:
            patch.setattr(snapshot, "_parse_table", counting)
            warm = build(specs, out_dir=out, cache_dir=cache_dir)
        assert parsed == ["posts"]  # the changed table only
        assert warm.files == cold.files
        revisions = [p for p in warm.files if "/versions/" in p]
        assert len(revisions) == len([p for p in before.files if "/versions/" in p]) + 1
        write_output(out, warm.files, warm.once)
        before = warm
