"""Compiled templates cached on disk (generator/emit/base.CompiledTemplates, one store file): a
template loaded from the cache renders what a freshly compiled one renders; an entry is keyed by
the template's source and the environment's options; a folder that cannot be written only costs
the cache."""

from __future__ import annotations

import os
from pathlib import Path

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
        bytecode_cache=base.CompiledTemplates(str(cache)),
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
            bytecode_cache=base.CompiledTemplates(str(cache)),
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
