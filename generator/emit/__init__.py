"""Emit stage: one emitter per target, each `emit(project) -> list[RenderedFile]`.

The migrations' emitter (generator/emit/migrations.py) is imported when a project's files are
emitted, not with this package: it needs Alembic and SQLAlchemy, which the build's worker
process never imports (generator/pipeline.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from generator import ir
from generator.emit.app import emit as emit_app
from generator.emit.auth import emit as emit_auth
from generator.emit.base import RenderedFile
from generator.emit.cache_tests import emit as emit_cache_tests
from generator.emit.docs import emit as emit_docs
from generator.emit.enums import emit as emit_enums
from generator.emit.fuzz import emit as emit_fuzz
from generator.emit.layers import emit as emit_layers
from generator.emit.models import emit as emit_models
from generator.emit.schemas import emit as emit_schemas
from generator.emit.tests import emit as emit_tests
from generator.incremental import BuildCache

if TYPE_CHECKING:
    from generator.emit.migrations import MigrationInput

Emitter = Callable[[ir.Project], list[RenderedFile]]

EMITTERS: tuple[Emitter, ...] = (
    emit_app,
    emit_auth,
    emit_docs,
    emit_enums,
    emit_fuzz,
    emit_models,
    emit_schemas,
    emit_layers,
    emit_tests,
    emit_cache_tests,
)

__all__ = ["EMITTERS", "Emitter", "RenderedFile", "emit_project"]


CachedEmitter = Callable[[ir.Project, BuildCache | None], list[RenderedFile]]

#: The emitters whose per-entity files go through the build's cache (generator/incremental),
#: each mapped to itself as the function that also takes the cache.
ENTITY_EMITTERS: dict[Emitter, CachedEmitter] = {
    e: e for e in (emit_models, emit_schemas, emit_layers, emit_tests)
}


def emit_project(
    project: ir.Project, migration: MigrationInput, cache: BuildCache | None = None
) -> list[RenderedFile]:
    """Every file of one project, paths relative to the output folder (under <api.name>/);
    with a cache, the per-entity files whose inputs are unchanged come from it."""
    from generator.emit import migrations

    files: list[RenderedFile] = []
    for emitter in EMITTERS:
        with_cache = ENTITY_EMITTERS.get(emitter)
        files.extend(with_cache(project, cache) if with_cache else emitter(project))
    files.extend(migrations.emit(project, migration, cache))
    return files
