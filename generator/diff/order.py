"""The order tables are created in, and the foreign keys that close a cycle: plain IR work,
importable without SQLAlchemy or Alembic (the models' emitter needs it in a process that never
imports them: generator/pipeline.py)."""

from __future__ import annotations

from generator import ir


def deferred_foreign_keys(tables: list[ir.Table] | tuple[ir.Table, ...]) -> frozenset[str]:
    """Foreign keys that close a cycle: added after their tables exist (`use_alter`)."""
    order = creation_order(list(tables))
    created: set[str] = set()
    deferred = set()
    names = {t.name for t in tables}
    for table in order:
        for fk in table.foreign_keys:
            if fk.ref_table in names and fk.ref_table not in created and fk.ref_table != table.name:
                deferred.add(fk.name)
        created.add(table.name)
    return frozenset(deferred)


def creation_order(tables: list[ir.Table]) -> list[ir.Table]:
    """Tables ordered so that each comes after the tables its foreign keys point at.

    Level by level (Kahn's algorithm), names sorted within a level; a cycle is broken at its
    first table by name. Linear in tables and foreign keys.
    """
    by_name = {t.name: t for t in sorted(tables, key=lambda t: t.name)}
    needs = {
        name: {fk.ref_table for fk in t.foreign_keys if fk.ref_table in by_name} - {name}
        for name, t in by_name.items()
    }
    dependents: dict[str, set[str]] = {name: set() for name in by_name}
    for name, refs in needs.items():
        for ref in refs:
            dependents[ref].add(name)
    pending = dict.fromkeys(by_name)
    ordered: list[ir.Table] = []
    ready = [name for name in pending if not needs[name]]
    while pending:
        level = ready or [next(iter(pending))]  # a cycle: break it deterministically
        for name in level:
            del pending[name]
            ordered.append(by_name[name])
        freed = {d for name in level for d in dependents[name] if d in pending}
        for name in level:
            for d in dependents[name]:
                needs[d].discard(name)
        ready = sorted(d for d in freed if not needs[d])
    return ordered
