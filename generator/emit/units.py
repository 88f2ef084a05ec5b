"""The files one emitter makes for one entity, through the build's cache (generator/incremental)."""

from __future__ import annotations

from collections.abc import Callable

from generator import ir
from generator.emit.base import RenderedFile
from generator.incremental import BuildCache


def entity_files(
    cache: BuildCache | None,
    project: ir.Project,
    emitter: str,
    entity: ir.Entity,
    produce: Callable[[ir.Project, ir.Entity], list[RenderedFile]],
    inputs: str = "",
) -> list[RenderedFile]:
    """produce(project, entity), reused from the cache when what it read is unchanged.

    produce must read the project only through the project it is given (the entity is looked
    up through it, so its own content is a read too); `inputs` names, as text, everything else
    it takes (a value computed from the whole project outside it).
    """
    if cache is None:
        return produce(project, entity)
    name = entity.name

    def run(view: ir.Project) -> tuple[tuple[str, str, bool], ...]:
        return tuple((f.path, f.content, f.once) for f in produce(view, view.entity(name)))

    key = f"emit\0{emitter}\0{name}\0{inputs}"
    return [RenderedFile(path, content, once) for path, content, once in cache.unit(key, run)]
