"""The pipeline: load -> validate -> compile -> emit -> format. Pure: it never writes.

A build uses two processes where it can (generator/aside.py): after compiling, a forked worker
renders openapi.json, the client and the emitters in `WORKER_EMITTERS`, and formats them, while
this process plans the migrations, emits the rest and formats it. Only this process needs
SQLAlchemy and Alembic (the plan, the migrations' emitter): they are imported after the fork,
so their imports run beside the worker instead of before it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator import ir
from generator.aside import aside
from generator.client import client_files
from generator.compile import compile_project
from generator.compile.smells import find_smells
from generator.compile_cache import CompileCache
from generator.diagnostics import Diagnostic, Diagnostics, Span
from generator.diff.snapshot import tables_from_snapshot, tables_since
from generator.emit import EMITTERS, ENTITY_EMITTERS, Emitter, emit_project
from generator.emit.base import RenderedFile, save_compiled_templates
from generator.emit.layers import emit as emit_layers
from generator.emit.schemas import emit as emit_schemas
from generator.format import format_python
from generator.incremental import BuildCache, FileCache, Shared
from generator.load import load_specs
from generator.load.previous import PreviousOutput, load_previous
from generator.openapi import openapi_mode, served_document
from generator.validate import validate_specs
from generator.write import text_digests

if TYPE_CHECKING:
    from generator.diff.compare import Change
    from generator.emit.migrations import MigrationInput


@dataclass(frozen=True)
class BuildResult:
    """Everything a build would write, and everything it found wrong or noteworthy."""

    files: dict[str, str] = field(default_factory=dict)
    once: frozenset[str] = frozenset()
    diagnostics: tuple[Diagnostic, ...] = ()
    projects: tuple[ir.Project, ...] = ()
    #: `write.text_digests` of some of the files, computed while this process waited.
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def compile_specs(
    spec_dir: Path, label_root: str | None = None, cache_dir: Path | None = None
) -> tuple[tuple[ir.Project, ...], Diagnostics]:
    """Load, validate and compile every spec set below spec_dir (the YAML of each file from
    the cache under cache_dir when it was loaded before)."""
    diags = Diagnostics()
    if not spec_dir.is_dir():
        diags.error("E000", f"no such spec folder: {spec_dir}")
        return (), diags
    name = f"{spec_dir.resolve()}\0{label_root}"
    loads = FileCache.open(cache_dir, name)
    files = load_specs(spec_dir, diags, label_root, loads)
    loads.save()
    if diags.has_errors:
        return (), diags
    if not files:
        diags.error("E000", f"no *.yaml or *.yml spec files below {spec_dir}")
    memo = CompileCache.open(cache_dir, name)
    spec_sets = validate_specs(files, diags, memo)
    if diags.has_errors:
        memo.save()
        return (), diags
    projects = tuple(compile_project(s, memo) for s in spec_sets)
    memo.save()
    _check_project_names(projects, diags)
    for project in projects:
        diags.extend(find_smells(project))
    return projects, diags


def _check_project_names(projects: tuple[ir.Project, ...], diags: Diagnostics) -> None:
    seen: dict[str, ir.Project] = {}
    for project in projects:
        first = seen.setdefault(project.api.name, project)
        if first is not project:
            diags.error(
                "E204",
                f"two spec sets are both named `{project.api.name}` "
                f"({first.source} and {project.source})",
            )


def plan_migrations(
    project: ir.Project,
    out_dir: Path | None,
    allow_destructive: bool,
    diags: Diagnostics,
    cache: BuildCache | None = None,
) -> MigrationInput:
    """Diff the snapshot the last build left against the new schema; refuse data loss. With a
    cache, the tables the snapshot holds unchanged are not parsed (`tables_since`)."""
    from generator.diff.compare import plan_migration
    from generator.emit.migrations import MigrationInput, snapshot_members

    previous = load_previous(out_dir / project.api.name) if out_dir else PreviousOutput()
    members = snapshot_members(project, cache)
    old: tuple[ir.Table, ...] = ()
    if previous.snapshot and members is not None:
        old = tables_since(previous.snapshot, project.tables, members)
    elif previous.snapshot:
        old = tables_from_snapshot(previous.snapshot)
    plan = plan_migration(old, project.tables)
    if not allow_destructive:
        for change in plan.destructive:
            diags.error(
                "E401",
                f"{change.summary}: this migration would lose data",
                change_span(project, change, out_dir),
                "change the spec, or run `gen build --allow-destructive` to accept it",
            )
    return MigrationInput(previous, plan, allow_destructive, members)


def change_span(project: ir.Project, change: Change, out_dir: Path | None) -> Span:
    """Where the spec defines what a change touches (the snapshot when the spec dropped it)."""
    for entity in project.entities:
        if entity.table != change.table:
            continue
        for f in entity.fields:
            if change.column in (f.name, f"{f.name}_id"):
                return f.span
        for r in entity.relations:
            if change.column == r.column:
                return r.span
        return entity.span
    where = (out_dir / project.api.name) if out_dir else Path(project.api.name)
    return Span((where / "migrations" / "schema.json").as_posix(), 1, 1)


def _plan(
    projects: tuple[ir.Project, ...],
    out_dir: Path | None,
    allow_destructive: bool,
    diags: Diagnostics,
    caches: Mapping[str, BuildCache],
) -> dict[str, MigrationInput]:
    return {
        p.api.name: plan_migrations(p, out_dir, allow_destructive, diags, caches[p.api.name])
        for p in projects
    }


def _emitted(
    projects: tuple[ir.Project, ...], emit: Callable[[ir.Project], list[RenderedFile]]
) -> tuple[dict[str, str], set[str]]:
    """The files ``emit`` renders for every project (unformatted) and the "once" paths."""
    files: dict[str, str] = {}
    once: set[str] = set()
    for project in projects:
        for rendered in emit(project):
            files[rendered.path] = rendered.content
            if rendered.once:
                once.add(rendered.path)
    return files, once


#: What the worker emits beside openapi.json and the client, so that both processes have about
#: the same work at N=200 (this one imports SQLAlchemy and Alembic, plans the migrations and
#: emits them and the rest). None of them may import SQLAlchemy or Alembic.
WORKER_EMITTERS: tuple[Emitter, ...] = (emit_schemas, emit_layers)


def _emit_with(
    emitters: tuple[Emitter, ...], project: ir.Project, cache: BuildCache | None
) -> list[RenderedFile]:
    files: list[RenderedFile] = []
    for emitter in emitters:
        with_cache = ENTITY_EMITTERS.get(emitter)
        files.extend(with_cache(project, cache) if with_cache else emitter(project))
    return files


def emit_here(
    project: ir.Project, migration: MigrationInput, cache: BuildCache | None = None
) -> list[RenderedFile]:
    """What this process emits (together with ``emit_aside``: what ``emit_project`` emits)."""
    from generator.emit import migrations

    here = tuple(e for e in EMITTERS if e not in WORKER_EMITTERS)
    return [*_emit_with(here, project, cache), *migrations.emit(project, migration, cache)]


def emit_aside(project: ir.Project, cache: BuildCache | None = None) -> list[RenderedFile]:
    """What the worker emits (see ``emit_here``)."""
    return _emit_with(WORKER_EMITTERS, project, cache)


def _documents_need_code() -> bool:
    """True when openapi.json is made by importing the generated (formatted) app."""
    return openapi_mode() != "ir"


def _documents(
    projects: tuple[ir.Project, ...],
    files: Mapping[str, str],
    caches: Mapping[str, BuildCache],
    cache_dir: Path | None,
) -> dict[str, str]:
    """openapi.json of each project and its typed client's modules (unformatted)."""
    documents: dict[str, str] = {}
    for project in projects:
        cache = caches[project.api.name]
        document = served_document(project, files, cache_dir, cache)
        documents[f"{project.api.name}/openapi.json"] = document
        documents.update(client_files(project, document, cache_dir, cache))
    return documents


def _worker_share(
    projects: tuple[ir.Project, ...], caches: Mapping[str, BuildCache], cache_dir: Path | None
) -> tuple[dict[str, str], set[str], dict[str, Shared]]:
    """The worker's part of a build, formatted: openapi.json, the client and ``emit_aside``;
    and the units it took from or added to each project's build cache (this process saves
    them: generator/incremental.py)."""
    files, once = _emitted(projects, lambda p: emit_aside(p, caches[p.api.name]))
    files.update(_documents(projects, {}, caches, cache_dir))
    files = format_python(files, cache_dir=cache_dir)
    save_compiled_templates()
    return files, once, {name: cache.shared() for name, cache in caches.items()}


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """The cycle collector off while this process plans and emits beside the worker. What it
    allocates then (SQLAlchemy tables, Alembic operations, rendered text) lives until the build
    ends, so the collections only rescanned it: 24 young and 3 middle collections, 0.08 s CPU
    of a cold build at N=200, the peak memory unchanged. Entered after the fork: the worker
    keeps collecting. At the end, all of it joins the oldest generation unscanned (frozen, then
    unfrozen): re-enabled as it was, the collector would scan it all in its next young
    collection (0.065 s). A later full collection still frees what of it is garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def build(
    spec_dir: Path,
    *,
    out_dir: Path | None = None,
    label_root: str | None = None,
    format_code: bool = True,
    cache_dir: Path | None = None,
    allow_destructive: bool = False,
) -> BuildResult:
    """What `gen build` would write for spec_dir, as {path: text}; nothing touches the disk.

    out_dir is read (never written) for what earlier builds left that later ones must keep:
    the schema snapshot and the migration revisions.
    """
    projects, diags = compile_specs(spec_dir, label_root, cache_dir)
    if diags.has_errors:
        return BuildResult(diagnostics=tuple(diags.sorted()))
    caches = {p.api.name: BuildCache.open(cache_dir, p) for p in projects}
    if format_code and not _documents_need_code():
        # openapi.json and the client come from the IR alone: a worker process renders them and
        # a share of the code (and formats its files) while this one plans and emits the rest.
        with (
            aside(lambda: _worker_share(projects, caches, cache_dir)) as worker,
            _collection_paused(),
        ):
            plans = _plan(projects, out_dir, allow_destructive, diags, caches)
            if diags.has_errors:
                return BuildResult(diagnostics=tuple(diags.sorted()))
            files, once = _emitted(
                projects, lambda p: emit_here(p, plans[p.api.name], caches[p.api.name])
            )
            files = format_python(files, cache_dir=cache_dir)
            digests = text_digests(files)  # the worker is likely still at work
            their_files, their_once, their_units = worker.result()
        files.update(their_files)
        for path in their_files.keys() & digests.keys():
            del digests[path]
        once |= their_once
        for name, units in their_units.items():
            caches[name].adopt(units)
    else:
        digests = {}
        plans = _plan(projects, out_dir, allow_destructive, diags, caches)
        if diags.has_errors:
            return BuildResult(diagnostics=tuple(diags.sorted()))
        files, once = _emitted(
            projects, lambda p: emit_project(p, plans[p.api.name], caches[p.api.name])
        )
        if format_code:
            files = format_python(files, cache_dir=cache_dir)
            documents = _documents(projects, files, caches, cache_dir)
            files.update(format_python(documents, cache_dir=cache_dir))
    for cache in caches.values():
        cache.save()
    save_compiled_templates()
    return BuildResult(
        files=dict(sorted(files.items())),
        once=frozenset(once),
        diagnostics=tuple(diags.sorted()),
        projects=projects,
        digests=digests,
    )
