"""The build cache (generator/incremental.py): what a unit reads is what keys it, and a build
with a warm cache writes exactly what a build without one writes."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import incremental, ir
from generator.diagnostics import Diagnostics, Span
from generator.incremental import (
    FOLDER,
    BuildCache,
    CacheMismatch,
    FileCache,
    ProjectDigests,
    track,
)
from generator.load import load_specs
from generator.pipeline import build
from generator.write import write_output

CASES = Path(__file__).parent / "cases"
SPAN = Span("spec.yaml", 1, 1)


def _entity(name: str, description: str | None = None) -> ir.Entity:
    return ir.Entity(name, name.title(), f"{name}s", f"/{name}s", f"{name}s", SPAN, description)


def _project(*entities: ir.Entity, title: str = "Shop") -> ir.Project:
    api = ir.Api(
        "shop", title, "1.0", None, "/", ("en",), "integer", True, 20, 100, "", "", (), None, None
    )
    return ir.Project("specs", api, entities=entities)


def test_tracked_project_records_what_it_hands_out() -> None:
    project = _project(_entity("order"), _entity("item"))
    view, reads = track(project)
    assert view.entity("order") is project.entity("order")
    assert not view.has_entity("nothing")
    assert view.api.name == "shop"
    assert reads == {("entity", "order"), ("entity", "nothing"), ("attr", "api")}
    assert len(view.entities) == 2
    assert ("attr", "entities") in reads


def test_a_unit_is_reused_until_what_it_read_changes(tmp_path: Path) -> None:
    calls: list[str] = []

    def order_text(view: ir.Project) -> str:
        calls.append("rendered")
        return f"{view.api.title}: {view.entity('order').description}"

    def rebuild(project: ir.Project) -> str:
        cache = BuildCache.open(tmp_path, project)
        text = cache.unit("order", order_text)
        cache.save()
        return text

    assert rebuild(_project(_entity("order", "a"), _entity("item"))) == "Shop: a"
    assert rebuild(_project(_entity("order", "a"), _entity("item", "changed"))) == "Shop: a"
    assert calls == ["rendered"]  # the item was not read
    assert rebuild(_project(_entity("order", "b"), _entity("item"))) == "Shop: b"
    assert rebuild(_project(_entity("order", "b"), _entity("item"), title="Store")) == "Store: b"
    assert calls == ["rendered"] * 3


def test_every_read_kind_has_its_own_digest() -> None:
    order = _entity("order")
    digests = ProjectDigests(_project(order))
    other = ProjectDigests(_project(dataclasses.replace(order, description="x")))
    assert digests.of(("entity", "order")) != other.of(("entity", "order"))
    assert digests.of(("attr", "api")) == other.of(("attr", "api"))
    assert digests.of(("entity", "gone")) == other.of(("entity", "gone"))
    assert digests.of(("table", "gone")) == other.of(("table", "gone"))
    assert digests.of(("class", "Order")) != other.of(("class", "Order"))
    reads = [("entity", "order")]
    assert digests.combined(reads, "a") != digests.combined(reads, "b")
    assert digests.combined([("nonsense", "x")], "a") == digests.combined([("nonsense", "x")], "a")


def _class_digest(*entities: ir.Entity) -> bytes:
    return ProjectDigests(_project(*entities)).of(("class", "Order"))


def test_a_class_digest_changes_with_any_member_or_the_membership() -> None:
    first = _entity("order", "a")
    second = dataclasses.replace(_entity("order2", "b"), class_name="Order")
    other = _entity("item")
    both = _class_digest(first, second, other)
    assert both == _class_digest(first, second)  # another class's entity is not a member
    assert both != _class_digest(first, dataclasses.replace(second, description="c"))
    assert both != _class_digest(first)  # a member removed
    assert both != _class_digest(first, second, dataclasses.replace(other, class_name="Order"))
    assert both != _class_digest(second, first)  # the same members in another order
    assert _class_digest(first) != _class_digest(dataclasses.replace(first, path="/o"))
    assert _class_digest() == _class_digest(other)  # no member either way


def test_an_entity_read_after_its_class_gives_the_digest_of_its_text() -> None:
    order = _entity("order", "a")
    digests = ProjectDigests(_project(order))
    digests.of(("class", "Order"))
    assert digests.of(("entity", "order")) == incremental._digest(repr(order))


_DIGESTS_IN_A_CHILD = """
import dataclasses, sys
sys.path.insert(0, {tests!r})
from test_incremental import _entity, _project
from generator.incremental import ProjectDigests
order = _entity("order", "a")
second = dataclasses.replace(_entity("order2"), class_name="Order")
digests = ProjectDigests(_project(order, second))
print(digests.of(("class", "Order")).hex(), digests.of(("entity", "order")).hex())
"""


def test_class_and_entity_digests_are_the_same_in_another_process() -> None:
    order = _entity("order", "a")
    second = dataclasses.replace(_entity("order2"), class_name="Order")
    digests = ProjectDigests(_project(order, second))
    expected = f"{digests.of(('class', 'Order')).hex()} {digests.of(('entity', 'order')).hex()}"
    code = _DIGESTS_IN_A_CHILD.format(tests=str(Path(__file__).parent))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == expected


def test_a_cache_holds_a_unit_while_what_it_read_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(_entity("order"), _entity("customer"))
    cache = BuildCache.open(tmp_path, project)
    assert not cache.holds("order")
    cache.unit("order", lambda view: view.entity("order").name)
    cache.save()
    assert BuildCache.open(tmp_path, project).holds("order")
    assert not BuildCache.open(tmp_path, project).holds("customer")
    changed = _project(_entity("order", "Changed."), _entity("customer"))
    assert not BuildCache.open(tmp_path, changed).holds("order")
    monkeypatch.setenv("GEN_EMIT_CACHE", "verify")
    assert not BuildCache.open(tmp_path, project).holds("order")


def test_verify_mode_renders_and_compares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(_entity("order"))
    cache = BuildCache.open(tmp_path, project)
    cache.unit("order", lambda view: "first")
    cache.save()
    monkeypatch.setenv("GEN_EMIT_CACHE", "verify")
    cache = BuildCache.open(tmp_path, project)
    assert cache.unit("order", lambda view: "first") == "first"
    with pytest.raises(CacheMismatch):
        BuildCache.open(tmp_path, project).unit("order", lambda view: "second")
    monkeypatch.setenv("GEN_EMIT_CACHE", "off")
    cache = BuildCache.open(tmp_path, project)
    assert cache.path is None and cache.unit("order", lambda view: "third") == "third"
    monkeypatch.setenv("GEN_EMIT_CACHE", "sometimes")
    with pytest.raises(CacheMismatch):
        BuildCache.open(tmp_path, project)


@pytest.mark.parametrize("content", [b"", b"not marshal", b"\xe9\x00\x00\x00\x00"])
def test_a_corrupt_cache_file_only_costs_the_cache(tmp_path: Path, content: bytes) -> None:
    project = _project(_entity("order"))
    cache = BuildCache.open(tmp_path, project)
    cache.unit("order", lambda view: "text")
    cache.save()
    assert cache.path is not None and cache.path.parent == tmp_path / FOLDER
    cache.path.write_bytes(content)
    again = BuildCache.open(tmp_path, project)
    assert again.unit("order", lambda view: "text") == "text" and again.misses == 1


def test_a_save_appends_only_the_units_rendered_anew(tmp_path: Path) -> None:
    project = _project(_entity("order", "a"), _entity("item", "b" * 10_000))
    first = BuildCache.open(tmp_path, project)
    first.unit("order", lambda view: view.entity("order").description)
    first.unit("item", lambda view: view.entity("item").description)
    first.save()
    assert first.path is not None
    before = first.path.stat()
    changed = _project(_entity("order", "c"), _entity("item", "b" * 10_000))
    second = BuildCache.open(tmp_path, changed)
    assert second.unit("order", lambda view: view.entity("order").description) == "c"
    assert second.unit("item", lambda view: "not rendered: a hit") == "b" * 10_000
    second.save()
    after = first.path.stat()
    assert after.st_ino == before.st_ino and 0 < after.st_size - before.st_size < 1_000
    third = BuildCache.open(tmp_path, changed)
    assert third.unit("order", lambda view: "not rendered") == "c" and third.hits == 1
    third.save()
    assert first.path.stat().st_size == after.st_size  # nothing rendered: nothing written


def test_a_store_of_other_code_is_started_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(_entity("order", "a"))
    cache = BuildCache.open(tmp_path, project)
    cache.unit("order", lambda view: "old code's text")
    cache.save()
    monkeypatch.setattr(incremental, "_CODE_IDENTITY", ["other code"])
    other = BuildCache.open(tmp_path, project)
    assert other.unit("order", lambda view: "new text") == "new text" and other.misses == 1
    other.save()
    assert other.path is not None and b"old code's text" not in other.path.read_bytes()
    again = BuildCache.open(tmp_path, project)
    assert again.unit("order", lambda view: "not rendered") == "new text"


def test_an_unwritable_cache_folder_only_costs_the_cache(tmp_path: Path) -> None:
    (tmp_path / FOLDER).write_text("a file where the folder would be")
    cache = BuildCache.open(tmp_path, _project(_entity("order")))
    assert cache.unit("order", lambda view: "text") == "text"
    cache.save()


def _steps() -> list[tuple[str, list[Path]]]:
    found = []
    for case in sorted(CASES.iterdir()):
        if (case / "spec").is_dir():
            found.append((case.name, [case]))
        elif (case / "steps").is_dir():
            found.append((case.name, sorted(p for p in (case / "steps").iterdir() if p.is_dir())))
    return found


def test_a_warm_cache_builds_every_golden_case_as_a_cold_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every golden case, evolution steps in order, built with ONE cache folder for all of them
    (the cases share project names and the `spec` label, so entries of other specs are met and
    must be refused by their reads), each built twice: the second with every unit warm and
    `GEN_EMIT_CACHE=verify`. Both equal the build without a cache."""
    cache_dir = tmp_path / "cache"
    counts = {"hits": 0, "verified": 0}
    save = BuildCache.save

    def counted_save(cache: BuildCache) -> None:
        counts["hits"] += cache.hits
        counts["verified"] += cache.verified
        save(cache)

    monkeypatch.setattr(BuildCache, "save", counted_save)
    for case, steps in _steps():
        out = tmp_path / case
        for step in steps:
            monkeypatch.chdir(step)
            allow = (step / "allow-destructive").exists()
            cold = build(Path("spec"), label_root="spec", out_dir=out, allow_destructive=allow)
            for mode in ("on", "on", "verify"):
                monkeypatch.setenv("GEN_EMIT_CACHE", mode)
                warm = build(
                    Path("spec"),
                    label_root="spec",
                    out_dir=out,
                    cache_dir=cache_dir,
                    allow_destructive=allow,
                )
                assert warm.files == cold.files, f"{case}/{step.name} ({mode})"
            monkeypatch.delenv("GEN_EMIT_CACHE")
            if cold.ok:
                write_output(out, cold.files, cold.once)
    assert counts["hits"] > 100 and counts["verified"] > 100, counts


def test_one_entity_changed_renders_what_reads_it(tmp_path: Path) -> None:
    """bench/synth.py's project (entities related in a ring), one field changed: the entities
    whose files read the changed one are rendered again, the others come from the cache, and
    the build equals one without a cache."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
    try:
        import synth  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    specs, out, cache_dir = tmp_path / "specs", tmp_path / "out", tmp_path / "cache"
    synth.write_specs(12, specs)
    first = build(specs, out_dir=out, cache_dir=cache_dir)
    write_output(out, first.files, first.once)
    synth.change_one_entity(specs, 5, bump=7)
    counts: list[tuple[int, int]] = []
    save = BuildCache.save

    def counted_save(cache: BuildCache) -> None:
        counts.append((cache.hits, cache.misses))
        save(cache)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BuildCache, "save", counted_save)
        warm = build(specs, out_dir=out, cache_dir=cache_dir)
    cold = build(specs, out_dir=out)
    assert warm.files == cold.files
    [(hits, misses)] = counts
    assert 0 < misses < hits


# --- the YAML of each spec file ------------------------------------------------------------------


def _loaded(spec_dir: Path, cache: FileCache | None) -> tuple[list[tuple[Any, ...]], list[str]]:
    diags = Diagnostics()
    files = load_specs(spec_dir, diags, "spec", cache)
    fields = [(f.label, f.rel, f.data, f.spans, f.key_spans, f.raw_scalars) for f in files]
    return fields, [d.render() for d in diags.items]


@pytest.mark.parametrize("case", ["shop", "blog", "weather"])
def test_a_spec_file_loads_from_the_cache_as_from_its_text(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir = Path(__file__).parent.parent / "specs" / case
    cold = _loaded(spec_dir, None)
    for mode in ("on", "on", "verify"):
        monkeypatch.setenv("GEN_EMIT_CACHE", mode)
        cache = FileCache.open(tmp_path, "specs")
        assert _loaded(spec_dir, cache) == cold
        cache.save()
    assert cache.get(f"yaml\0spec/{cold[0][0][1]}\0{(spec_dir / cold[0][0][1]).read_text()}")


def test_a_spec_file_with_problems_is_loaded_again(tmp_path: Path) -> None:
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "api.yaml").write_text("api: {name: a, name: b}\nlist: [1, 2]\n")
    (spec_dir / "when.yaml").write_text("when: 2024-01-01\n")  # a date: marshal cannot hold it
    for _ in range(2):
        cache = FileCache.open(tmp_path / "cache", "spec")
        _, problems = _loaded(spec_dir, cache)
        assert [p.split(": ", 1)[1] for p in problems] == [
            "error: duplicate key `name` (first defined at spec/api.yaml:1:7)"
        ]
        cache.save()
    assert not cache._new


# --- spec mutations ------------------------------------------------------------------------------

BLOG = Path(__file__).parent.parent / "specs" / "blog"
ENTITY_FILES = sorted(p.relative_to(BLOG).as_posix() for p in (BLOG / "entities").glob("*.yaml"))

mutations = st.tuples(
    st.sampled_from(ENTITY_FILES),
    st.integers(min_value=0, max_value=50),  # which entity, which field (modulo their count)
    st.integers(min_value=0, max_value=50),
    st.sampled_from(
        [
            ("description", "A changed description."),
            ("description", "Another one, longer: " + "words " * 20),
            ("max_length", 150),
            ("max_length", 400),
            ("searchable", True),
            ("sortable", False),
            ("filterable", True),
            ("nullable", True),
            ("entity description", "Changed."),
            ("soft_delete", True),
            ("versioned", True),
        ]
    ),
)


def _mutate(specs: Path, mutation: tuple[str, int, int, tuple[str, Any]]) -> None:
    name, entity_index, field_index, (key, value) = mutation
    path = specs / name
    data = yaml.safe_load(path.read_text())
    entities = data["entities"]
    entity = entities[sorted(entities)[entity_index % len(entities)]]
    if key == "entity description":
        entity["description"] = value
    elif key in ("soft_delete", "versioned"):
        entity[key] = value
    else:
        fields = entity.get("fields") or {}
        if fields:
            field = fields[sorted(fields)[field_index % len(fields)]]
            if isinstance(field, dict) and (key != "max_length" or "max_length" in field):
                field[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(mutations, min_size=1, max_size=3))
def test_spec_mutations_build_as_without_a_cache(
    tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    """specs/blog changed step by step (a field's limits, flags or description, an entity's
    options): each build with the cache warm from the step before equals a build without it."""
    root = tmp_path_factory.mktemp("mutations")
    specs, cache_dir = root / "blog", root / "cache"
    shutil.copytree(BLOG, specs)
    with pytest.MonkeyPatch.context() as patch:
        build(specs, cache_dir=cache_dir)
        for step in steps:
            _mutate(specs, step)
            patch.setenv("GEN_EMIT_CACHE", "on")
            warm = _outcome(specs, cache_dir)
            patch.setenv("GEN_EMIT_CACHE", "off")
            assert warm == _outcome(specs, cache_dir)


def _outcome(specs: Path, cache_dir: Path) -> tuple[Any, ...]:
    """What a build gives: its files and diagnostics, or the error it raises (a mutation may
    make a spec gen refuses late, such as a filter the client cannot name)."""
    try:
        result = build(specs, cache_dir=cache_dir)
    except Exception as exc:  # compared, not handled
        return (type(exc).__name__, str(exc))
    return (result.files, result.diagnostics)


def test_a_value_stored_again_is_written_only_when_it_changed(tmp_path: Path) -> None:
    """An equal value is not written again though marshal's bytes differ (objects shared or
    not); a value equal by `==` of another type (True for 1, -0.0 for 0.0) is."""
    project = _project(_entity("order"))
    word = "".join(["sha", "red"])
    cache = BuildCache.open(tmp_path, project)
    cache.store("k", [word, word, 1, 0.0])
    cache.save()
    again = BuildCache.open(tmp_path, project)
    again.store("k", ["shared", "".join(["sha", "red"]), 1, 0.0])
    assert not again.shared()[1] and again.shared()[0] == {"k"}
    for other in (["shared", "shared", True, 0.0], ["shared", "shared", 1, -0.0]):
        changed = BuildCache.open(tmp_path, project)
        changed.store("k", other)
        assert set(changed.shared()[1]) == {"k"}


def test_a_kept_value_is_there_for_the_next_build(tmp_path: Path) -> None:
    project = _project(_entity("order"))
    cache = BuildCache.open(tmp_path, project)
    cache.store("k", ["value"])
    cache.save()
    kept = BuildCache.open(tmp_path, project)
    assert kept.stored("k") == ["value"]
    kept.keep("k")
    assert kept.shared()[0] == {"k"} and not kept.shared()[1]
    kept.save()
    assert BuildCache.open(tmp_path, project).stored("k") == ["value"]
