"""The compile stage's per-entity cache (generator/compile_cache.py): over any sequence of edits,
a compile that reuses what earlier ones stored gives exactly the projects and diagnostics of a
compile without the cache."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import ir
from generator.compile_cache import CompileCache
from generator.incremental import FOLDER, CacheMismatch
from generator.pipeline import compile_specs

SPECS = Path(__file__).parent.parent / "specs"

API = """api:
  name: shop
  version: 1.0.0
  timestamps: true
enums:
  state: [open, closed]
"""


def _entity(name: str, parent: str | None, length: int = 40, extra: str = "") -> str:
    relations = (
        f"    relations:\n      parent: {{type: many_to_one, target: {parent}, required: false}}\n"
        if parent
        else ""
    )
    return (
        f"entities:\n  {name}:\n    fields:\n"
        f"      title: {{type: string, max_length: {length}}}\n"
        "      state: {type: enum, enum: state, default: open}\n"
        f"{extra}{relations}"
        "    permissions: {list: [anonymous], read: [anonymous]}\n"
    )


def _write_set(spec_dir: Path) -> None:
    spec_dir.mkdir(parents=True)
    (spec_dir / "api.yaml").write_text(API)
    parent = None
    for name in ("alpha", "beta", "gamma", "delta"):
        (spec_dir / f"{name}.yaml").write_text(_entity(name, parent))
        parent = name


Edit = Callable[[Path, random.Random], None]


def _pick(spec_dir: Path, rng: random.Random) -> Path:
    return rng.choice(sorted(p for p in spec_dir.glob("*.yaml") if p.name != "api.yaml"))


def _replace(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new, 1))


def _bump_max_length(spec_dir: Path, rng: random.Random) -> None:
    path = _pick(spec_dir, rng)
    text = path.read_text()
    start = text.index("max_length: ") + len("max_length: ")
    end = text.index("}", start)
    path.write_text(f"{text[:start]}{int(text[start:end]) + rng.randint(1, 3)}{text[end:]}")


def _add_field(spec_dir: Path, rng: random.Random) -> None:
    name = f"note_{rng.randint(0, 9)}"
    path = _pick(spec_dir, rng)
    if f"      {name}:" not in path.read_text():
        kind = rng.choice(["text", "{type: integer, min: 0}", "{type: enum, values: [a, b]}"])
        _replace(path, "    fields:\n", f"    fields:\n      {name}: {kind}\n")


def _remove_field(spec_dir: Path, rng: random.Random) -> None:
    path = _pick(spec_dir, rng)
    lines = path.read_text().splitlines(keepends=True)
    notes = [i for i, line in enumerate(lines) if line.startswith("      note_")]
    if notes:
        del lines[rng.choice(notes)]
        path.write_text("".join(lines))


def _rename_entity(spec_dir: Path, rng: random.Random) -> None:
    """Rename an entity; the relations that target it follow on the next edit half the time
    (until then: an unknown target, an error)."""
    path = _pick(spec_dir, rng)
    old = path.read_text().split("\n")[1].strip().rstrip(":")
    new = f"{old.split('_')[0]}_{rng.randint(0, 99)}"
    _replace(path, f"  {old}:", f"  {new}:")
    if rng.random() < 0.5:
        for other in spec_dir.glob("*.yaml"):
            _replace(other, f"target: {old},", f"target: {new},")


def _fix_targets(spec_dir: Path, rng: random.Random) -> None:
    """Point every relation at an entity that exists (fixes what a rename broke)."""
    files = sorted(p for p in spec_dir.glob("*.yaml") if p.name != "api.yaml")
    names = [p.read_text().split("\n")[1].strip().rstrip(":") for p in files]
    for i, path in enumerate(files[1:], start=1):
        text = path.read_text()
        if "target: " in text:
            start = text.index("target: ") + len("target: ")
            end = text.index(",", start)
            path.write_text(f"{text[:start]}{names[i - 1]}{text[end:]}")


def _break_type(spec_dir: Path, rng: random.Random) -> None:
    _replace(_pick(spec_dir, rng), "type: string", "type: strng")


def _fix_types(spec_dir: Path, rng: random.Random) -> None:
    for path in spec_dir.glob("*.yaml"):
        path.write_text(path.read_text().replace("type: strng", "type: string"))


def _change_enum(spec_dir: Path, rng: random.Random) -> None:
    values = rng.choice(["[open, closed]", "[open, closed, held]", "[closed, open]", "[a, b]"])
    api = spec_dir / "api.yaml"
    text = api.read_text()
    start = text.index("state: ") + len("state: ")
    api.write_text(text[:start] + values + "\n")


def _move_file(spec_dir: Path, rng: random.Random) -> None:
    """The same text under another name: every span of it changes."""
    path = _pick(spec_dir, rng)
    path.rename(spec_dir / f"{path.stem}_{rng.randint(0, 9)}.yaml")


EDITS: tuple[Edit, ...] = (
    _bump_max_length,
    _bump_max_length,
    _add_field,
    _remove_field,
    _rename_entity,
    _fix_targets,
    _break_type,
    _fix_types,
    _change_enum,
    _move_file,
)


def _compile(
    spec_dir: Path, cache_dir: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[ir.Project, ...], list[str]]:
    monkeypatch.setenv("GEN_EMIT_CACHE", mode)
    projects, diags = compile_specs(spec_dir, "spec", cache_dir)
    return projects, [d.render() for d in diags.items]


def _assert_same(
    spec_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, mode: str = "on"
) -> None:
    cached = _compile(spec_dir, cache_dir, mode, monkeypatch)
    full = _compile(spec_dir, cache_dir, "off", monkeypatch)
    assert cached[1] == full[1]
    assert cached[0] == full[0]
    assert repr(cached[0]) == repr(full[0])


@pytest.mark.parametrize("seed", range(4))
def test_a_compile_with_the_cache_equals_one_without_over_any_edits(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    spec_dir, cache_dir = tmp_path / "spec", tmp_path / "cache"
    _write_set(spec_dir)
    _assert_same(spec_dir, cache_dir, monkeypatch)
    for _ in range(12):
        rng.choice(EDITS)(spec_dir, rng)
        _assert_same(spec_dir, cache_dir, monkeypatch)
    _fix_types(spec_dir, rng)
    _fix_targets(spec_dir, rng)
    _assert_same(spec_dir, cache_dir, monkeypatch, "verify")
    assert list((cache_dir / FOLDER).glob("compile-*.store"))


@pytest.mark.parametrize("case", ["shop", "blog", "weather"])
def test_the_repos_specs_compile_alike_with_and_without_the_cache(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir = tmp_path / case
    shutil.copytree(SPECS / case, spec_dir)
    for mode in ("on", "on", "verify"):
        _assert_same(spec_dir, tmp_path / "cache", monkeypatch, mode)


def test_an_entitys_results_come_from_the_cache_after_another_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir, cache_dir = tmp_path / "spec", tmp_path / "cache"
    _write_set(spec_dir)
    _compile(spec_dir, cache_dir, "on", monkeypatch)
    _replace(spec_dir / "beta.yaml", "max_length: 40", "max_length: 41")
    counts: list[tuple[int, int]] = []
    save = CompileCache.save

    def counted_save(cache: CompileCache) -> None:
        counts.append((cache.hits, cache.misses))
        save(cache)

    monkeypatch.setattr(CompileCache, "save", counted_save)
    _compile(spec_dir, cache_dir, "on", monkeypatch)
    assert counts == [(6, 2)]  # resolved and checked: beta's anew, the three others' reused


def test_an_entity_with_dates_is_cached_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir, cache_dir = tmp_path / "spec", tmp_path / "cache"
    _write_set(spec_dir)
    extra = (
        "      due: {type: datetime, example: 2024-01-02T03:04:05Z}\n"
        "      day: {type: date, example: 2024-01-02}\n"
    )
    (spec_dir / "alpha.yaml").write_text(_entity("alpha", None, extra=extra))
    hits: list[int] = []
    save = CompileCache.save
    monkeypatch.setattr(CompileCache, "save", lambda c: (hits.append(c.hits), save(c))[1])
    _assert_same(spec_dir, cache_dir, monkeypatch)
    _assert_same(spec_dir, cache_dir, monkeypatch)
    assert hits == [0, 0, 8, 0]  # (the second of each pair: the cache is off)


def test_verify_fails_on_a_stored_result_that_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir, cache_dir = tmp_path / "spec", tmp_path / "cache"
    _write_set(spec_dir)
    _compile(spec_dir, cache_dir, "on", monkeypatch)
    # What a change of gen's resolver that the code identity missed would leave behind.
    from generator.compile import resolve

    real = resolve.Resolver.entity

    def other(self: resolve.Resolver, name: str, loc: object) -> ir.Entity:
        entity = real(self, name, loc)  # type: ignore[arg-type]
        return ir.Entity(**{**entity.__dict__, "description": "stale"})

    monkeypatch.setattr(resolve.Resolver, "entity", other)
    monkeypatch.setattr(CompileCache, "save", lambda cache: None)
    with pytest.raises(CacheMismatch):
        _compile(spec_dir, cache_dir, "verify", monkeypatch)


def test_no_cache_is_written_when_it_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir, cache_dir = tmp_path / "spec", tmp_path / "cache"
    _write_set(spec_dir)
    _compile(spec_dir, cache_dir, "off", monkeypatch)
    assert not list(cache_dir.rglob("compile-*.store"))


def test_a_store_of_other_code_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec_dir, cache_dir = tmp_path / "spec", tmp_path / "cache"
    _write_set(spec_dir)
    _compile(spec_dir, cache_dir, "on", monkeypatch)
    monkeypatch.setattr("generator.compile_cache.code_identity", lambda: "other code")
    counts: list[int] = []
    save = CompileCache.save
    monkeypatch.setattr(CompileCache, "save", lambda c: (counts.append(c.hits), save(c))[1])
    _compile(spec_dir, cache_dir, "on", monkeypatch)
    _compile(spec_dir, cache_dir, "on", monkeypatch)
    assert counts == [0, 8]
