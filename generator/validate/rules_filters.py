"""Rules on `row_filter`: keys are relation paths ending in a column, values fit them."""

from __future__ import annotations

import uuid
from typing import Any

from generator.diagnostics import Span, did_you_mean
from generator.load import Path_
from generator.validate.models import EntitySpec, FieldSpec, RelationSpec
from generator.validate.rules_context import Ctx
from generator.validate.rules_values import Problem, show, type_problem
from generator.validate.specset import Located

FILTER_OPS = ("in", "gte", "lte", "ne")
_SCALAR_TYPES = ("list", "object", "json")  # values of these are not compared as one constant
End = FieldSpec | RelationSpec | str  # a str is a generated column (`id`, timestamps)


def check_row_filters(ctx: Ctx) -> None:
    """Rule 9, for every condition of every filter of every role."""
    for name, loc in ctx.spec.entities.items():
        for role, alternatives in loc.value.row_filter.items():
            as_list = loc.has("row_filter", role, 0)
            for i, conditions in enumerate(alternatives):
                base: Path_ = ("row_filter", role, i) if as_list else ("row_filter", role)
                for key, value in conditions.items():
                    _check_condition(ctx, name, loc, role, (*base, key), value)


def _check_condition(
    ctx: Ctx, entity: str, loc: Located[EntitySpec], role: str, path: Path_, value: Any
) -> None:
    key = str(path[-1])
    resolved = _resolve_key(ctx, entity, role, key, loc.key_span(*path))
    if resolved is None:
        return
    end, op = resolved
    where = f"entity `{entity}`: row_filter `{role}`: `{key}`"
    if op == "in" and not isinstance(value, list):
        ctx.error("E360", f"{where} takes a list", loc.span(*path), f"write `[{show(value)}]`")
    elif op != "in" and isinstance(value, list):
        ctx.error(
            "E360",
            f"{where} takes one value, not a list",
            loc.span(*path),
            f"use `{key}__in` for a list" if op is None else None,
        )
    else:
        values = value if isinstance(value, list) else [value]
        for j, item in enumerate(values):
            span = loc.span(*path, j) if isinstance(value, list) else loc.span(*path)
            _check_value(ctx, where, role, end, item, span)


def _resolve_key(
    ctx: Ctx, entity: str, role: str, key: str, span: Span
) -> tuple[End, str | None] | None:
    """What a key ends at, and its operator; None (reported) when it names nothing."""
    parts = key.split("__")
    op = parts.pop() if len(parts) > 1 and parts[-1] in FILTER_OPS else None
    prefix = f"entity `{entity}`: row_filter `{role}`: key `{key}`"
    if "" in parts:
        ctx.error("E357", f"{prefix} is not a path of names joined by `__`", span)
        return None
    current = _walk(ctx, entity, parts[:-1], prefix, span)
    if current is None:
        return None
    last = parts[-1]
    end: End | None = ctx.fields[current].get(last) or ctx.relations[current].get(last)
    if end is None and last in ctx.generated(current):
        end = last
    if end is None:
        choices = [*ctx.members(current), *ctx.generated(current)]
        ctx.error(
            "E357",
            f"{prefix}: `{last}` is not a field or relation of `{current}`",
            span,
            did_you_mean(last, choices),
        )
        return None
    return end, op


def _walk(ctx: Ctx, entity: str, steps: list[str], prefix: str, span: Span) -> str | None:
    """The entity a path of relations leads to; None when a step is not a relation."""
    current = entity
    for step in steps:
        rel = ctx.relations.get(current, {}).get(step)
        if rel is None:
            ctx.error(
                "E357",
                f"{prefix}: `{step}` is not a relation of `{current}`",
                span,
                did_you_mean(step, ctx.relations.get(current, {})),
            )
            return None
        if rel.target not in ctx.fields:
            return None  # unknown target, reported by the relation rules
        current = rel.target
    return current


def _check_value(ctx: Ctx, where: str, role: str, end: End, value: Any, span: Span) -> None:
    if isinstance(value, str) and value.startswith("$"):
        _check_variable(ctx, where, role, value, span)
        return
    problem: Problem | None = None
    if isinstance(end, FieldSpec) and end.type not in _SCALAR_TYPES:
        problem = type_problem(end, value, ctx.enum_values)
    elif isinstance(end, RelationSpec) or end == "id":
        problem = _id_problem(ctx, value)
    if problem is not None:
        ctx.error("E361", f"{where}: value `{show(value)}` {problem.text}", span, problem.hint)


def _id_problem(ctx: Ctx, value: Any) -> Problem | None:
    if value is None:
        return None
    if ctx.spec.api.value.id_type == "uuid":
        try:
            uuid.UUID(value if isinstance(value, str) else "")
            return None
        except ValueError:
            return Problem("is not a UUID (ids are UUIDs: `api.id_type: uuid`)")
    if isinstance(value, bool) or not isinstance(value, int):
        return Problem("is not an integer id")
    return None


def _check_variable(ctx: Ctx, where: str, role: str, value: str, span: Span) -> None:
    if value != "$me" and not value.startswith("$me."):
        ctx.error(
            "E358",
            f"{where}: unknown variable `{value}`",
            span,
            "use `$me` (the caller's user id) or `$me.<field>`",
        )
    elif ctx.auth is None:
        ctx.error("E358", f"{where}: `{value}` needs an `auth` block (a caller)", span)
    elif role == "anonymous":
        ctx.error("E358", f"{where}: `{value}` needs a caller, and `anonymous` has none", span)
    elif value.startswith("$me.") and ctx.user_entity is not None:
        user, name = ctx.user_entity, value.removeprefix("$me.")
        rel = ctx.relations[user].get(name)
        if (
            name != "id"
            and name not in ctx.fields[user]
            and not (rel is not None and rel.type == "many_to_one")
        ):
            choices = [
                *ctx.fields[user],
                *(n for n, r in ctx.relations[user].items() if r.type == "many_to_one"),
            ]
            ctx.error(
                "E359",
                f"{where}: `{value}`: `{name}` is not a field or many_to_one of "
                f"the user entity `{user}`",
                span,
                did_you_mean(name, choices),
            )
