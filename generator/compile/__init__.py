"""Compile stage: a validated spec set -> one frozen, normalized ir.Project."""

from __future__ import annotations

from generator import ir
from generator.compile.normalize import normalize_to_3nf
from generator.compile.resolve import Resolver
from generator.compile.tokens import refresh_token_table
from generator.compile_cache import CompileCache
from generator.validate.specset import SpecSet

__all__ = ["compile_project"]


def compile_project(spec: SpecSet, cache: CompileCache | None = None) -> ir.Project:
    """Resolve names and references, then normalize; the spec set must be valid. With a
    cache, each entity's resolution is taken from it when its inputs are unchanged."""
    resolver = Resolver(spec, cache)
    api = resolver.api()
    resolved = resolver.entities()
    enums = resolver.enums()
    entities, tables, decisions = normalize_to_3nf(resolved, api, spec, enums)
    auth = resolver.auth()
    if auth is not None:
        user_table = next(e.table for e in entities if e.name == auth.user_entity)
        tables = tuple(
            sorted((*tables, refresh_token_table(api, user_table)), key=lambda t: t.name)
        )
    return ir.Project(
        source=spec.root,
        api=api,
        roles=resolver.roles(),
        auth=auth,
        enums=enums,
        entities=entities,
        tables=tables,
        decisions=tuple(sorted(decisions, key=lambda d: (d.span, d.rule, d.summary))),
        seeds=resolver.seeds(),
    )
