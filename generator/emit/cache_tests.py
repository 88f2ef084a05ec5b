"""The generated tests/test_cache.py: the response cache, ETags and metrics, proven on one entity.

The cache works the same way for every entity (one dependency, table generations bumped by
every write), so the tests exercise it through one subject: the entity whose rows the
factories can create and whose reads, updates and deletes the writing role may do; a second
entity related to it proves that writes to what a response embeds invalidate it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator import ir
from generator.compile import naming
from generator.emit.base import RenderedFile, header, render
from generator.emit.entity_context import module_name
from generator.emit.imports import Import, render_imports
from generator.emit.literals import py_literal
from generator.emit.policy import entity_policy, scope
from generator.emit.schemas import includable, writable_fields
from generator.emit.tests import creatable, creator, writer_operations


@dataclass(frozen=True)
class CacheSubject:
    """The entity the cache tests act on, and what they may do with it."""

    name: str  # module name: create_<name>, <name>_body
    constant: str  # the factories' path constant
    writer: str | None  # the role the tests act as (None: anonymous)
    operations: tuple[str, ...]
    tweak: str | None  # a plain text field an update may change
    versioned: bool
    soft_delete: bool
    include: str | None  # a relation `?include=` embeds
    related: str | None  # module name of an entity whose writes the subject's reads see
    related_role: str | None
    anonymous_lists: bool  # anonymous callers may list every row


def tweakable(entity: ir.Entity) -> ir.Field | None:
    """A writable text field without a pattern, unique or immutable rule: any text will do."""
    return next(
        (
            f
            for f in writable_fields(entity)
            if f.type.kind in ("string", "text")
            and not f.pattern
            and not f.immutable
            and not f.unique
            and not f.write_only
        ),
        None,
    )


def cache_subject(project: ir.Project) -> CacheSubject | None:
    """The entity that shows the most of the cache (reads, update, delete, an embedded
    relation), first by name among equals; None when no entity can be listed and read."""
    candidates: list[tuple[int, str, CacheSubject]] = []
    for entity in project.entities:
        if not creatable(project, entity):
            continue
        writer, allowed = writer_operations(project, entity)
        if not {"list", "read"} <= set(allowed):
            continue
        subject = _subject(project, entity, writer, tuple(allowed))
        score = sum(
            (
                subject.tweak is not None and "update" in allowed,
                "delete" in allowed,
                subject.related is not None,
            )
        )
        candidates.append((-score, entity.name, subject))
    return min(candidates, key=lambda c: c[:2])[2] if candidates else None


def _subject(
    project: ir.Project, entity: ir.Entity, writer: str | None, allowed: tuple[str, ...]
) -> CacheSubject:
    tweak = tweakable(entity)
    related = next(
        (
            (r, project.entity(r.target))
            for r in includable(project, entity)
            if r.target != entity.name and creatable(project, project.entity(r.target))
        ),
        None,
    )
    return CacheSubject(
        name=module_name(entity),
        constant=naming.py_attr(entity.plural).upper(),
        writer=writer,
        operations=allowed,
        tweak=tweak.name if tweak is not None and "update" in allowed else None,
        versioned=entity.versioned,
        soft_delete=entity.soft_delete,
        include=related[0].name if related else None,
        related=module_name(related[1]) if related else None,
        related_role=creator(project, related[1]) if related else None,
        anonymous_lists=anonymous_lists(project, entity),
    )


def anonymous_lists(project: ir.Project, entity: ir.Entity) -> bool:
    """Whether anonymous callers may list every row of `entity` (the cache answers them before
    routing)."""
    if project.auth is None:
        return True
    return scope(project, entity_policy(project, entity).roles("list"), None) == "all"


def principal_statements(project: ir.Project) -> int:
    """Statements a cache hit still runs: it looks the caller up (a deleted user is refused),
    the roles of a user who may hold several in the same statement."""
    return 0 if project.auth is None else 1


def emit(project: ir.Project) -> list[RenderedFile]:
    """tests/test_cache.py, when the spec caches (`api.cache`) and some entity can be listed
    and read."""
    subject = cache_subject(project)
    if subject is None or not project.api.cache_ttl_seconds:
        return []
    package = project.api.name
    return [
        RenderedFile(
            f"{package}/tests/test_cache.py",
            render(
                "tests/test_cache.py.j2",
                header=header(project),
                imports=render_imports(_imports(package, subject), package),
                package=package,
                auth=project.auth is not None,
                s=subject,
                writer=py_literal(subject.writer),
                related_role=py_literal(subject.related_role),
                hit_statements=principal_statements(project) if subject.writer else 0,
                ttl=project.api.cache_ttl_seconds or 0,
            ),
        )
    ]


def _imports(package: str, s: CacheSubject) -> set[Import]:
    factories = {s.constant, "count_statements", f"create_{s.name}", f"{s.name}_body"}
    if s.related:
        factories.add(f"create_{s.related}")
    if s.versioned and (s.tweak or "delete" in s.operations):
        factories.add("if_match")
    return {
        *(Import(module) for module in ("logging", "re", "pytest")),
        Import("collections.abc", "AsyncIterator"),
        Import("contextlib", "asynccontextmanager"),
        Import("typing", "Any"),
        Import("fastapi", "FastAPI"),
        *(Import("httpx", name) for name in ("ASGITransport", "AsyncClient", "Response")),
        Import("sqlalchemy.ext.asyncio", "AsyncEngine"),
        *(
            Import(f"{package}.core.cache", name)
            for name in (
                "CacheStore",
                "MemoryStore",
                "RedisStore",
                "etag_matches",
                "normalized_query",
            )
        ),
        Import(f"{package}.core.config", "Settings"),
        Import(f"{package}.main", "create_app"),
        *(Import("tests.conftest", name) for name in ("TEST_REDIS_URL", "Actors", "settings_for")),
        *(Import("tests.factories", name) for name in factories),
    }
