"""Compiled templates cached on disk (generator/emit/base.CompiledTemplates, one store file): a
template loaded from the cache renders what a freshly compiled one renders; an entry is keyed by
the template's source and the environment's options; a folder that cannot be written only costs
the cache. The build's store is beside the templates (``__pycache__``), else in the user cache."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from generator.cache_store import CacheStore
from generator.emit import base

TEMPLATE = "migrations/revision.py.j2"
FILE = base.CompiledTemplates.FILE
CONTEXT = {
    "header": "# header",
    "message": "Initial schema.",
    "revision": "0001_abc",
    "down_revision": None,
    "destructive": ["drop table `t`"],
    "imports": [],
    "alembic_names": "op",
    "uses_sa": True,
    "upgrade": "    pass",
    "downgrade": "    pass",
}


def environment(cache: Path, **options: object) -> jinja2.Environment:
    settings = {**base._ENVIRONMENT_OPTIONS, **options}
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(base.templates_dir())),
        bytecode_cache=base.CompiledTemplates(cache),
        **settings,
    )


def render(env: jinja2.Environment) -> str:
    """Render TEMPLATE, then save what was compiled (as a build does once at its end)."""
    env.filters.update(base.environment().filters)
    text = env.get_template(TEMPLATE).render(**CONTEXT)
    assert isinstance(env.bytecode_cache, base.CompiledTemplates)
    env.bytecode_cache.save()
    return text


def stored(cache: Path) -> int:
    """How many compiled templates the store in ``cache`` holds."""
    store = CacheStore(cache / base.CompiledTemplates.FILE, base.CompiledTemplates.MAX_BYTES)
    return len(store)


def test_a_cached_template_renders_as_a_compiled_one(tmp_path: Path) -> None:
    cache = tmp_path / "templates"
    fresh = render(environment(cache))
    assert sorted(p.name for p in cache.iterdir()) == [FILE, FILE + ".index", FILE + ".lock"]
    assert stored(cache) == 1
    written = (cache / base.CompiledTemplates.FILE).stat()
    assert render(environment(cache)) == fresh == base.render(TEMPLATE, **CONTEXT)
    again = (cache / base.CompiledTemplates.FILE).stat()
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)  # read only


def test_other_options_use_another_entry(tmp_path: Path) -> None:
    cache = tmp_path / "templates"
    trimmed = render(environment(cache))
    untrimmed = render(environment(cache, trim_blocks=False))
    assert stored(cache) == 2
    assert trimmed != untrimmed


def test_a_changed_template_is_compiled_again(tmp_path: Path) -> None:
    templates, cache = tmp_path / "t", tmp_path / "cache"
    templates.mkdir()
    (templates / "a.j2").write_text("one {{ x }}\n", encoding="utf-8")

    def env() -> jinja2.Environment:
        return jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates)),
            bytecode_cache=base.CompiledTemplates(cache),
            **base._ENVIRONMENT_OPTIONS,
        )

    assert env().get_template("a.j2").render(x=1) == "one 1\n"
    (templates / "a.j2").write_text("two {{ x }}\n", encoding="utf-8")
    assert env().get_template("a.j2").render(x=1) == "two 1\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a read-only folder")
def test_a_folder_that_cannot_be_written_only_costs_the_cache(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert render(environment(locked / "templates")) == base.render(TEMPLATE, **CONTEXT)
    finally:
        locked.chmod(0o700)


def test_a_path_that_is_a_file_only_costs_the_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert render(environment(blocker / "templates")) == base.render(TEMPLATE, **CONTEXT)


# The build's own environment (base.environment) on a templates folder of the test's: its
# compiled templates are kept beside it, in __pycache__, as CPython keeps .pyc files.


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A templates folder of one template that base.environment() loads, HOME a fresh one."""
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "a.j2").write_text("one {{ x }}\n", encoding="utf-8")
    monkeypatch.setattr(base, "templates_dir", lambda: folder)
    fresh_home(monkeypatch, tmp_path / "home")
    yield folder
    base.environment.cache_clear()


def fresh_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    """HOME a new empty folder, and a new environment, as in a new process; its user cache."""
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    base.environment.cache_clear()
    return home / ".cache" / "gen" / "templates"


def build() -> tuple[str, int]:
    """Render a.j2 and keep what was compiled, as a build does; and how many were compiled."""
    compiled = []
    real = jinja2.Environment.compile

    def counted(env: jinja2.Environment, *args: Any, **kwargs: Any) -> Any:
        compiled.append(args)
        return real(env, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jinja2.Environment, "compile", counted)
        text = base.render("a.j2", x=1)
    base.save_compiled_templates()
    return text, len(compiled)


def test_a_fresh_home_loads_the_templates_compiled_beside_them(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert build() == ("one 1\n", 1)
    assert (templates / "__pycache__" / FILE).stat().st_mode & 0o777 == 0o644  # as a .pyc
    user_cache = fresh_home(monkeypatch, tmp_path / "home2")
    assert build() == ("one 1\n", 0)
    assert not user_cache.exists()


def test_a_changed_template_is_compiled_again_not_loaded_stale(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert build() == ("one 1\n", 1)
    (templates / "a.j2").write_text("two {{ x }}\n", encoding="utf-8")
    fresh_home(monkeypatch, tmp_path / "home2")
    assert build() == ("two 1\n", 1)
    fresh_home(monkeypatch, tmp_path / "home3")
    assert build() == ("two 1\n", 0)


def test_a_read_only_templates_folder_falls_back_to_the_user_cache(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert build() == ("one 1\n", 1)  # filled while it could be written
    (templates / "b.j2").write_text("bee {{ x }}\n", encoding="utf-8")
    real = os.access
    # Read-only for any user but root, who writes whatever the mode: os.access says so to all.
    monkeypatch.setattr(
        os, "access", lambda p, m: not Path(p).is_relative_to(templates) and real(p, m)
    )
    for folder in (templates / "__pycache__", templates):
        folder.chmod(0o555)
    try:
        user_cache = fresh_home(monkeypatch, tmp_path / "home2")
        assert build() == ("one 1\n", 0)  # still read beside the templates
        assert base.render("b.j2", x=2) == "bee 2\n"
        base.save_compiled_templates()
        assert (user_cache / FILE).is_file()
        assert stored(user_cache) == 1 and stored(templates / "__pycache__") == 1
        fresh_home(monkeypatch, tmp_path / "home3")
        assert build() == ("one 1\n", 0)
    finally:
        for folder in (templates / "__pycache__", templates):
            folder.chmod(0o755)


@pytest.mark.parametrize("damage", ["garbage file", "garbage entry"])
def test_a_damaged_cache_is_compiled_again(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    assert build() == ("one 1\n", 1)
    store = templates / "__pycache__" / FILE
    if damage == "garbage file":
        store.write_bytes(os.urandom(store.stat().st_size))
    else:  # an entry intact as a record (its checksum right) but not a compiled template
        env = base.environment()
        cache = env.bytecode_cache
        assert isinstance(cache, base.CompiledTemplates)
        source = (templates / "a.j2").read_text(encoding="utf-8")
        key = cache.get_bucket(env, "a.j2", str(templates / "a.j2"), source).key
        cache.stores[-1].put(key, jinja2.bccache.bc_magic + b"\x80\x09garbage")
        cache.save()
    fresh_home(monkeypatch, tmp_path / "home2")
    assert build() == ("one 1\n", 1)
    fresh_home(monkeypatch, tmp_path / "home3")
    assert build() == ("one 1\n", 0)
