"""Rules on field definitions: types, options that mean something for the type, defaults."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from generator.compile.naming import enum_member
from generator.compile.types import (
    DEFAULT_DECIMAL,
    FIELD_TYPES,
    NUMERIC,
    STRING_LIKE,
    TEMPORAL,
    TYPES,
)
from generator.diagnostics import Diagnostic, Diagnostics, Span, did_you_mean
from generator.validate.rules_context import TO_ONE, Ctx, FieldSite
from generator.validate.rules_values import INT_RANGES, show, value_problem

INDEXABLE = frozenset(FIELD_TYPES) - {"list", "object", "json", "password"}
OPTION_TYPES: dict[str, frozenset[str]] = {
    "enum": frozenset({"enum"}),
    "values": frozenset({"enum"}),
    "of": frozenset({"list"}),
    "fields": frozenset({"object"}),
    "precision": frozenset({"decimal"}),
    "scale": frozenset({"decimal"}),
    "min_length": STRING_LIKE,
    "max_length": STRING_LIKE,
    "pattern": STRING_LIKE,
    "min": NUMERIC,
    "max": NUMERIC,
    "min_items": frozenset({"list"}),
    "max_items": frozenset({"list"}),
    "on_update": TEMPORAL,
    "searchable": STRING_LIKE - {"password"},
    "unique": INDEXABLE,
    "index": INDEXABLE,
    "sortable": INDEXABLE,
    "filterable": INDEXABLE,
    "default": frozenset(FIELD_TYPES) - {"list", "object", "password"},
}
# Options about a stored, queried entity field: meaningless on list items and request bodies.
_ROW_OPTIONS = (
    "unique",
    "index",
    "sortable",
    "filterable",
    "searchable",
    "read_only",
    "write_only",
    "immutable",
    "on_update",
    "denormalized",
    "renamed_from",
)
_PLACEMENT = {"item": (*_ROW_OPTIONS, "default"), "request": _ROW_OPTIONS}
_PLACE_NAMES = {"item": "list items (set it on the list field)", "request": "a request field"}
QUERY_PARAMS = ("page", "limit", "sort", "q", "include", "include_deleted")
_RANGES = (("min_length", "max_length"), ("min", "max"), ("min_items", "max_items"))
_CONFLICTS = {
    ("read_only", "write_only"): "nobody could ever write or read such a field",
    ("immutable", "read_only"): "`immutable` is about the value sent on create, and a read_only "
    "field is never sent",
}


def check_fields(ctx: Ctx) -> None:
    """Rules 3 and 4, for every field definition (entity fields, object members, list items,
    action request fields), and the values of the `enums:` block."""
    for _, group in itertools.groupby(ctx.sites, key=lambda site: site.entity):
        sites = list(group)
        if ctx.cache is None:
            _check_sites(ctx, sites)
            continue
        # One entity's definitions: they read its own file and the declared enums alone.
        inputs = ctx.cache.entity_inputs(sites[0].loc, ctx.spec)
        ctx.diags.extend(ctx.cache.value("fields", inputs, partial(_site_problems, ctx, sites)))
    for name, enum in ctx.spec.enums.items():
        check_enum_values(ctx, f"enum `{name}`", enum.value, enum.span, enum.span())


def _site_problems(ctx: Ctx, sites: list[FieldSite]) -> list[Diagnostic]:
    """What `_check_sites` reports, as a list."""
    found = Diagnostics()
    _check_sites(dataclasses.replace(ctx, diags=found), sites)
    return found.items


def _check_sites(ctx: Ctx, sites: list[FieldSite]) -> None:
    for site in sites:
        kind = site.spec.type
        if kind not in TYPES:
            ctx.error(
                "E316",
                f"{site.what}: unknown type `{kind}`",
                site.span("type"),
                did_you_mean(kind, FIELD_TYPES),
            )
            continue
        for rule in _FIELD_RULES:
            rule(ctx, site)


def _is_set(site: FieldSite, option: str) -> bool:
    value = getattr(site.spec, option)
    # the value first: most options are unset, and `has` builds a path and looks it up
    return value is not None and value is not False and site.has(option)


# --- enums, lists, objects ----------------------------------------------------------------------


def _check_enum_field(ctx: Ctx, site: FieldSite) -> None:
    spec = site.spec
    if spec.type != "enum":
        return
    if spec.enum is None and spec.values is None:
        ctx.error(
            "E317",
            f"{site.what}: an enum needs `enum:` (a declared enum) or `values:`",
            site.span("type"),
        )
    elif spec.enum is not None and spec.values is not None:
        ctx.error(
            "E317",
            f"{site.what}: an enum takes `enum:` or `values:`, not both",
            site.key_span("values"),
        )
    elif spec.enum is not None and spec.enum not in ctx.spec.enums:
        ctx.error(
            "E318",
            f"{site.what}: unknown enum `{spec.enum}`",
            site.span("enum"),
            did_you_mean(spec.enum, ctx.spec.enums),
        )
    elif spec.values is not None:
        values = spec.values
        check_enum_values(
            ctx, site.what, values, lambda i: site.span("values", i), site.span("values")
        )


def check_enum_values(
    ctx: Ctx, owner: str, values: list[str], span_of: Callable[[int], Span], span: Span
) -> None:
    """Non-empty; no two values equal under case folding or mapping to one Python name."""
    if not values:
        ctx.error("E319", f"{owner} has no values", span)
    folded: dict[str, str] = {}
    members: dict[str, str] = {}
    for i, value in enumerate(values):
        first = folded.get(value.casefold())
        member = enum_member(value)
        if first is not None:
            message = (
                f"value `{value}` appears twice"
                if first == value
                else f"values `{first}` and `{value}` differ only in case"
            )
            ctx.error("E320", f"{owner}: {message}", span_of(i), "keep one of them")
        elif member in members:
            ctx.error(
                "E320",
                f"{owner}: values `{members[member]}` and `{value}` both become "
                f"the Python name `{member}`",
                span_of(i),
                "keep one spelling",
            )
        folded.setdefault(value.casefold(), value)
        members.setdefault(member, value)


def _check_containers(ctx: Ctx, site: FieldSite) -> None:
    spec = site.spec
    if spec.type == "list" and spec.of is None:
        ctx.error(
            "E321",
            f"{site.what}: a list needs `of:` (the item type)",
            site.span("type"),
            "for example `of: string`",
        )
    elif spec.type == "list" and spec.of is not None and spec.of.type == "list":
        ctx.error(
            "E323",
            f"{site.what}: a list of lists is not supported",
            site.span("of"),
            "use `json` for nested arrays",
        )
    elif spec.type == "object" and not spec.fields:
        ctx.error(
            "E322",
            f"{site.what}: an object needs `fields:` with at least one member",
            site.span("fields") if site.has("fields") else site.span("type"),
        )


# --- options ------------------------------------------------------------------------------------


def _check_applicable(ctx: Ctx, site: FieldSite) -> None:
    kind = site.spec.type
    # An option the file writes is one the model was given: most are not, and asking the
    # model first spares looking each one up (a fifth of the rules at N=200).
    given = site.spec.model_fields_set
    for option, types in OPTION_TYPES.items():
        if option in given and kind not in types and _is_set(site, option):
            ctx.error(
                "E332" if (option, kind) == ("default", "password") else "E324",
                f"{site.what}: option `{option}` does not apply to type `{kind}`",
                site.key_span(option),
                _option_hint(option, kind),
            )


def _option_hint(option: str, kind: str) -> str | None:
    if option in ("min_length", "max_length") and kind in NUMERIC:
        return "use `min` / `max` for numbers"
    if option in ("min", "max", "min_items", "max_items") and kind in STRING_LIKE:
        return "use `min_length` / `max_length` for text"
    if option in ("min", "max", "min_length", "max_length") and kind == "list":
        return "use `min_items` / `max_items` for lists"
    if option == "default" and kind == "password":
        return "passwords are only stored as hashes of what is sent"
    wanted = {
        "enum": "enum",
        "values": "enum",
        "of": "list",
        "fields": "object",
        "precision": "decimal",
        "scale": "decimal",
    }.get(option)
    return f"did you mean `type: {wanted}`?" if wanted else None


def _check_placement(ctx: Ctx, site: FieldSite) -> None:
    given = site.spec.model_fields_set
    for option in _PLACEMENT.get(site.kind, ()):
        if option in given and _is_set(site, option):
            ctx.error(
                "E325",
                f"{site.what}: option `{option}` does not apply to {_PLACE_NAMES[site.kind]}",
                site.key_span(option),
            )


def _check_ranges(ctx: Ctx, site: FieldSite) -> None:
    spec, kind = site.spec, site.spec.type
    for low_key, high_key in _RANGES:
        low, high = getattr(spec, low_key), getattr(spec, high_key)
        if kind in OPTION_TYPES[low_key] and low is not None and high is not None and low > high:
            ctx.error(
                "E326",
                f"{site.what}: `{low_key}` ({show(low)}) is greater than "
                f"`{high_key}` ({show(high)})",
                site.key_span(low_key),
            )
    longest = TYPES[kind].default_length
    no_max = spec.max_length is None and kind in STRING_LIKE and kind != "password"
    if no_max and longest is not None and (spec.min_length or 0) > longest:
        ctx.error(
            "E326",
            f"{site.what}: `min_length` ({spec.min_length}) is greater than "
            f"the default `max_length` of `{kind}` ({longest})",
            site.key_span("min_length"),
            "set `max_length`",
        )
    if kind == "decimal" and spec.scale is not None:
        precision = spec.precision or DEFAULT_DECIMAL[0]
        which = "`precision`" if spec.precision else "the default `precision`"
        if spec.scale > precision:
            ctx.error(
                "E326",
                f"{site.what}: `scale` ({spec.scale}) is greater than {which} ({precision})",
                site.key_span("scale"),
            )


def _check_pattern(ctx: Ctx, site: FieldSite) -> None:
    pattern = site.spec.pattern
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        ctx.error(
            "E327",
            f"{site.what}: `pattern` is not a valid regular expression: {exc.msg}",
            site.span("pattern"),
        )


def _check_bounds(ctx: Ctx, site: FieldSite) -> None:
    kind = site.spec.type
    for option in ("min", "max"):
        value = getattr(site.spec, option)
        if isinstance(value, float) and not math.isfinite(value):
            ctx.error(
                "E328",
                f"{site.what}: `{option}` ({show(value)}) is not a finite number",
                site.span(option),
            )
        elif value is not None and kind in INT_RANGES:
            low, high = INT_RANGES[kind]
            if not low <= value <= high:
                ctx.error(
                    "E328",
                    f"{site.what}: `{option}` ({show(value)}) is outside the range "
                    f"of `{kind}` ({low} to {high})",
                    site.span(option),
                    "use `bigint`" if kind == "integer" else None,
                )


def _check_flags(ctx: Ctx, site: FieldSite) -> None:
    for (first, second), why in _CONFLICTS.items():
        if getattr(site.spec, first) and getattr(site.spec, second):
            ctx.error(
                "E333",
                f"{site.what}: `{first}` and `{second}` cannot be combined",
                site.key_span(second),
                why,
            )
    if site.kind == "field" and site.name in QUERY_PARAMS and site.spec.filterable:
        ctx.error(
            "E334",
            f"{site.what} cannot be filterable: `?{site.name}=` is a query "
            "parameter of every list route",
            site.key_span("filterable"),
            "rename the field, or drop `filterable`",
        )


# --- defaults -----------------------------------------------------------------------------------


def _check_default(ctx: Ctx, site: FieldSite) -> None:
    spec = site.spec
    written = "default" in spec.model_fields_set and site.has("default")
    if not written or site.kind == "item" or spec.type not in OPTION_TYPES["default"]:
        return  # reported by _check_placement / _check_applicable
    span, value = site.span("default"), spec.default
    # `now` is a keyword for date, datetime and time; on text types (and json) it is the
    # literal text "now", and on an enum it must be one of the values like any other string.
    if value == "now" and spec.type not in TEMPORAL | STRING_LIKE | {"json", "enum"}:
        ctx.error(
            "E331",
            f"{site.what}: default `now` is only for date, datetime and time "
            f"fields, not `{spec.type}`",
            span,
        )
        return
    problem = value_problem(spec, value, ctx.enum_values, allow_now=True)
    if problem is not None:
        raw = site.loc.file.raw_scalars.get((*site.loc.path, *site.path, "default"))
        hint = problem.hint or _quote_hint(site, value, raw)
        ctx.error(
            "E330" if problem.limit else "E329",
            f"{site.what}: default `{raw if raw is not None else show(value)}` {problem.text}",
            span,
            hint,
        )


def _quote_hint(site: FieldSite, value: Any, raw: str | None) -> str | None:
    """YAML 1.1 reads `no`, `1.0` or a bare date as something else than text: say so."""
    wants_text = site.spec.type in STRING_LIKE | TEMPORAL | {"enum", "uuid"}
    if not wants_text or raw is None or isinstance(value, str):
        return None
    kinds = ((bool, "boolean"), (dt.datetime, "timestamp"), (dt.date, "date"))
    what = next((name for cls, name in kinds if isinstance(value, cls)), "number")
    return f'YAML reads `{raw}` as a {what}; write "{raw}"'


# --- denormalized copies ------------------------------------------------------------------------


def copied_from(ctx: Ctx, entity: str, name: str) -> tuple[str, str] | None:
    """(relation, target field) when `name` is `<to-one relation>_<field of its target>`."""
    for rname, rel in ctx.relations.get(entity, {}).items():
        rest = name.removeprefix(f"{rname}_")
        if rel.type in TO_ONE and rest != name and rest in ctx.fields.get(rel.target, {}):
            return rname, rest
    return None


def check_denormalized(ctx: Ctx) -> None:
    """Rule 4: `denormalized` marks a copy of a related value; elsewhere it means nothing."""
    for site in ctx.sites:
        if site.kind != "field" or site.spec.denormalized is None:
            continue
        if copied_from(ctx, site.entity, site.name) is None:
            choices = [
                f"{r}_{f}"
                for r, rel in ctx.relations[site.entity].items()
                if rel.type in TO_ONE
                for f in ctx.fields.get(rel.target, {})
            ]
            ctx.warning(
                "W301",
                f"{site.what} is marked `denormalized` but does not copy a "
                "related value (`<relation>_<field>` after a many_to_one or one_to_one)",
                site.key_span("denormalized"),
                did_you_mean(site.name, choices),
            )


_FIELD_RULES: tuple[Callable[[Ctx, FieldSite], None], ...] = (
    _check_enum_field,
    _check_containers,
    _check_applicable,
    _check_placement,
    _check_ranges,
    _check_pattern,
    _check_bounds,
    _check_flags,
    _check_default,
)
