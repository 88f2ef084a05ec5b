"""Rules on entity-level column lists: `unique`, `indexes`, `checks` and `dependencies`."""

from __future__ import annotations

import math
import re

from generator.compile.types import TYPES
from generator.diagnostics import Span, did_you_mean
from generator.validate.models import EntitySpec
from generator.validate.rules_context import TO_ONE, Ctx
from generator.validate.rules_names import check_name
from generator.validate.specset import Located

CHECK_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|<|>|=)\s*(.+?)\s*$")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def column_problem(ctx: Ctx, entity: str, name: str, timestamps: bool) -> str | None:
    """Why `name` cannot stand for one comparable column of `entity`, or None."""
    field = ctx.fields[entity].get(name)
    if field is not None:
        info = TYPES.get(field.type)
        if info is None or info.comparable:
            return None
        return f"is a {field.type} field and has no comparable column"
    rel = ctx.relations[entity].get(name)
    if rel is not None:
        return None if rel.type in TO_ONE else f"is a {rel.type} relation and has no column"
    if timestamps and name in ctx.generated(entity):
        return None
    return f"is not a field or relation of `{entity}`"


def _column_hint(ctx: Ctx, entity: str, name: str, timestamps: bool) -> str | None:
    extra = ctx.generated(entity) if timestamps else ()
    known = [*ctx.members(entity), *extra]
    return None if name in known else did_you_mean(name, known)


def check_keys(ctx: Ctx) -> None:
    """Rule 7: `unique` and `indexes` entries name columns, once each."""
    for name, loc in ctx.spec.entities.items():
        for section in ("unique", "indexes"):
            for i, entry in enumerate(getattr(loc.value, section)):
                _check_key_entry(ctx, name, loc, section, i, entry)


def _check_key_entry(
    ctx: Ctx, entity: str, loc: Located[EntitySpec], section: str, i: int, entry: list[str]
) -> None:
    if not entry:
        ctx.error(
            "E344",
            f"entity `{entity}`: a `{section}` entry is empty",
            loc.span(section, i),
            "list at least one field",
        )
    seen: set[str] = set()
    for j, name in enumerate(entry):
        span = loc.span(section, i, j)
        problem = column_problem(ctx, entity, name, timestamps=True)
        if problem is not None:
            ctx.error(
                "E345",
                f"entity `{entity}`: `{section}` names `{name}`, which {problem}",
                span,
                _column_hint(ctx, entity, name, timestamps=True),
            )
        elif name in seen:
            ctx.error("E346", f"entity `{entity}`: a `{section}` entry names `{name}` twice", span)
        seen.add(name)


# --- checks -------------------------------------------------------------------------------------


def check_checks(ctx: Ctx) -> None:
    """Rule 7: each check reads `<field> <op> <field or literal>` over existing columns."""
    for name, loc in ctx.spec.entities.items():
        for i, text in enumerate(loc.value.checks):
            _check_check(ctx, name, loc.span("checks", i), text)


def _check_check(ctx: Ctx, entity: str, span: Span, text: str) -> None:
    match = CHECK_RE.match(text)
    right_ok = match is not None and (_IDENT.fullmatch(match[3]) or _is_literal(match[3]))
    if match is None or not right_ok:
        ctx.error(
            "E347",
            f"entity `{entity}`: check `{text}` must read `<field> <op> <field or literal>`",
            span,
            "op is one of < <= > >= = !=; a literal is a number, a "
            "quoted string, true, false or null",
        )
        return
    left, _, right = match.groups()
    names = [left] + ([right] if _IDENT.fullmatch(right) and not _is_literal(right) else [])
    for name in names:
        problem = column_problem(ctx, entity, name, timestamps=True)
        if problem is not None:
            ctx.error(
                "E348",
                f"entity `{entity}`: check `{text}` names `{name}`, which {problem}",
                span,
                _column_hint(ctx, entity, name, timestamps=True),
            )


def _is_literal(text: str) -> bool:
    if text in ("true", "false", "null"):
        return True
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return True
    try:
        number = float(text)
    except ValueError:
        return False
    return math.isfinite(number) and not _IDENT.fullmatch(text)


# --- dependencies -------------------------------------------------------------------------------

Sides = tuple[list[str], list[str]]


def parse_dependency(text: str) -> Sides | None:
    """`a, b -> c, d` -> (["a", "b"], ["c", "d"]); None when it does not read so."""
    if text.count("->") != 1:
        return None
    lhs, rhs = (side.split(",") for side in text.split("->"))
    left, right = [n.strip() for n in lhs], [n.strip() for n in rhs]
    return None if "" in left or "" in right else (left, right)


def derived_entity_name(determinant: list[str]) -> str:
    """The name a dependency's new entity gets without `entity:` (an assumption shared with the
    normalizer: its determinant's names joined by `_`)."""
    return "_".join(determinant)


def check_dependencies(ctx: Ctx) -> None:
    """Rule 7: dependencies parse, name columns, have disjoint sides and distinct entities."""
    derived: dict[str, tuple[str, frozenset[str], Span]] = {}
    for name, loc in ctx.spec.entities.items():
        for i, dep in enumerate(loc.value.dependencies):
            span = (
                loc.span("dependencies", i, "fd")
                if loc.has("dependencies", i, "fd")
                else loc.span("dependencies", i)
            )
            sides = parse_dependency(dep.fd)
            if sides is None:
                ctx.error(
                    "E349",
                    f"entity `{name}`: dependency `{dep.fd}` must read `a, b -> c, d`",
                    span,
                    "names separated by commas, one `->`",
                )
                continue
            _check_sides(ctx, name, span, dep.fd, sides)
            _check_derived(ctx, name, loc, i, sides[0], derived)
        _check_chains(ctx, name, loc)


def _check_chains(ctx: Ctx, entity: str, loc: Located[EntitySpec]) -> None:
    """A chain (`zip -> city, state`, `city -> country`) is synthesized; a determinant that
    several dependencies move, that is only partly moved, or a cycle, is not."""
    parsed = [(i, parse_dependency(dep.fd)) for i, dep in enumerate(loc.value.dependencies)]
    sides = [(i, s) for i, s in parsed if s is not None]
    for i, (left, right) in sides:
        movers = [(j, ol, orr) for j, (ol, orr) in sides if j != i and set(left) & set(orr)]
        if not movers:
            continue
        j, other_left, other_right = movers[0]
        partly = not set(left) <= set(other_left) | set(other_right)
        cycle = bool(set(other_left) & set(right))
        if len(movers) > 1 or partly or cycle:
            ctx.error(
                "E388",
                f"entity `{entity}`: dependency `{loc.value.dependencies[i].fd}` starts from "
                f"names that `{loc.value.dependencies[j].fd}` moves to another table, in a "
                "way gen cannot synthesize (several sources, part of the left side, or a cycle)",
                loc.span("dependencies", i),
                "make the left side one dependency's right side, without a cycle",
            )


def _check_sides(ctx: Ctx, entity: str, span: Span, text: str, sides: Sides) -> None:
    left, right = sides
    for name in dict.fromkeys([*left, *right]):
        problem = column_problem(ctx, entity, name, timestamps=False)
        if problem is not None:
            ctx.error(
                "E350",
                f"entity `{entity}`: dependency `{text}` names `{name}`, which {problem}",
                span,
                _column_hint(ctx, entity, name, timestamps=False),
            )
    for name in dict.fromkeys(n for n in left if n in right):
        ctx.error(
            "E351", f"entity `{entity}`: dependency `{text}` has `{name}` on both sides", span
        )


_NAME_IT = 'name its entity: `{fd: "...", entity: other_name}`'


def _is_an_entity(ctx: Ctx, entity: str, name: str, explicit: bool, span: Span) -> bool:
    """The contract names explicit `entity:` names; a derived name that is an entity's is the
    same clash for the normalizer, so it is reported the same way."""
    if name not in ctx.spec.entities:
        return False
    where = ctx.spec.entities[name].key_span()
    ctx.error(
        "E352",
        f"entity `{entity}`: the dependency's entity `{name}` is already an entity (at {where})",
        span,
        "choose another `entity:` name" if explicit else _NAME_IT,
    )
    return True


def _check_derived(
    ctx: Ctx,
    entity: str,
    loc: Located[EntitySpec],
    i: int,
    determinant: list[str],
    derived: dict[str, tuple[str, frozenset[str], Span]],
) -> None:
    dep = loc.value.dependencies[i]
    span = loc.span("dependencies", i, "entity") if dep.entity else loc.span("dependencies", i)
    if dep.entity is not None and not check_name(ctx, "dependency entity", dep.entity, span):
        return
    name = dep.entity or derived_entity_name(determinant)
    if _is_an_entity(ctx, entity, name, dep.entity is not None, span):
        return
    first = derived.setdefault(name, (entity, frozenset(determinant), span))
    # Dependencies of one entity with the same left side are one table (the normalizer takes a
    # canonical cover); any other two dependencies deriving one name clash.
    if first[2] != span and (first[0], first[1]) != (entity, frozenset(determinant)):
        ctx.error(
            "E352",
            f"entity `{entity}`: this dependency derives entity `{name}`, as does "
            f"the one at {first[2]}",
            span,
            _NAME_IT,
        )
