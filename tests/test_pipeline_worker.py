"""generator/pipeline.py with its worker process: the split emits what emit_project emits, the
build equals the one made in a single process, and a failure in the worker fails the build."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generator import pipeline
from generator.aside import aside
from generator.client import ClientError
from generator.diagnostics import Diagnostics
from generator.emit import emit_project

SPECS = Path(__file__).resolve().parent.parent / "specs"


def test_the_split_emits_what_emit_project_emits() -> None:
    projects, diags = pipeline.compile_specs(SPECS)
    assert not diags.has_errors
    for project in projects:
        plan = pipeline.plan_migrations(project, None, False, Diagnostics())
        whole = emit_project(project, plan)
        split = [*pipeline.emit_here(project, plan), *pipeline.emit_aside(project)]
        assert sorted(whole, key=lambda f: f.path) == sorted(split, key=lambda f: f.path)


def test_the_build_with_a_worker_equals_the_build_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_worker = pipeline.build(SPECS / "blog", cache_dir=tmp_path / "cache")
    monkeypatch.setattr(pipeline, "aside", lambda f: aside(f, fork=False))
    alone = pipeline.build(SPECS / "blog")
    assert with_worker.files == alone.files
    assert with_worker.once == alone.once
    assert with_worker.diagnostics == alone.diagnostics


def test_the_collector_is_paused_while_this_process_plans_and_emits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    plan = pipeline._plan

    def watched(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return plan(*args)

    monkeypatch.setattr(pipeline, "_plan", watched)
    assert gc.isenabled()
    pipeline.build(SPECS / "blog")
    assert seen == [False]
    assert gc.isenabled()


def test_an_error_in_the_worker_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> dict[str, str]:
        raise ClientError("client models lack the classes Post")

    monkeypatch.setattr(pipeline, "client_files", broken)
    with pytest.raises(ClientError, match="lack the classes Post"):
        pipeline.build(SPECS / "blog")


#: Builds the blog spec set in a fresh interpreter and prints which of SQLAlchemy and Alembic
#: were loaded when the worker was forked, and after the worker's share ran alone.
_IMPORTS_SCRIPT = """
import json, sys
from pathlib import Path
from generator import pipeline
from generator.incremental import BuildCache

HEAVY = ("sqlalchemy", "alembic")
specs = Path(sys.argv[1])
projects, _ = pipeline.compile_specs(specs)
caches = {p.api.name: BuildCache.open(None, p) for p in projects}
pipeline._worker_share(projects, caches, None)
after_worker = [m for m in HEAVY if m in sys.modules]
at_fork = []
real_aside = pipeline.aside
def spy(function):
    at_fork.append([m for m in HEAVY if m in sys.modules])
    return real_aside(function)
pipeline.aside = spy
pipeline.build(specs)
print(json.dumps({"after_worker": after_worker, "at_fork": at_fork,
                  "after_build": [m for m in HEAVY if m in sys.modules]}))
"""


def test_only_this_process_imports_sqlalchemy_and_alembic_after_the_fork() -> None:
    """The worker's share needs neither, and the build forks before importing them (their
    imports then run beside the worker); the plan imports them in this process."""
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTS_SCRIPT, str(SPECS / "blog")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    seen = json.loads(out)
    assert seen == {"after_worker": [], "at_fork": [[]], "after_build": ["sqlalchemy", "alembic"]}
