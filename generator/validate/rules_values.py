"""Does a literal fit a field? Shared by defaults, seed rows and row_filter constants."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator.compile.types import EMAIL_PATTERN, SLUG_PATTERN, STRING_LIKE, TEMPORAL, TYPES
from generator.diagnostics import did_you_mean
from generator.validate.models import FieldSpec

INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
_PARSERS: dict[str, Callable[[str], object]] = {
    "date": dt.date.fromisoformat,
    "datetime": dt.datetime.fromisoformat,
    "time": dt.time.fromisoformat,
}
_EXAMPLES = {"date": "2024-01-31", "datetime": "2024-01-31T12:00:00Z", "time": "12:30:00"}
EnumLookup = Callable[[FieldSpec], list[str] | None]


# Strings shown quoted, since written bare YAML would read them as something else.
_LOOKS_TYPED = re.compile(r"[-+]?[0-9][0-9._eE+-]*|true|false|yes|no|on|off|null|~|", re.I)


@dataclass(frozen=True)
class Problem:
    """Why a value does not fit: `text` continues "the value ..." (`is not an integer`)."""

    text: str
    hint: str | None = None
    limit: bool = False


def show(value: Any) -> str:
    """A value as the spec author would write it, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if _LOOKS_TYPED.fullmatch(value) else value
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, list | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def value_problem(
    spec: FieldSpec, value: Any, enums: EnumLookup, allow_now: bool = False
) -> Problem | None:
    """Type first, then limits (min/max, lengths, pattern, items)."""
    problem = type_problem(spec, value, enums, allow_now)
    return problem if problem is not None else limit_problem(spec, value)


def type_problem(
    spec: FieldSpec, value: Any, enums: EnumLookup, allow_now: bool = False
) -> Problem | None:
    kind = spec.type
    if value is None:
        return (
            None
            if spec.nullable
            else Problem("is null, but the field is not nullable", "add `nullable: true`")
        )
    if kind in STRING_LIKE:
        return _string_problem(kind, value)
    if kind in INT_RANGES:
        return _int_problem(kind, value)
    if kind in ("float", "decimal"):
        return _number_problem(value)
    if kind == "boolean":
        return None if isinstance(value, bool) else Problem("is not true or false")
    if kind == "enum":
        return _enum_problem(value, enums(spec))
    if kind in TEMPORAL:
        return _temporal_problem(kind, value, allow_now)
    if kind == "uuid":
        return _uuid_problem(value)
    if kind in ("list", "object"):
        return _container_problem(spec, value, enums)
    return None  # json takes anything; an unknown type is reported elsewhere


def _not_a(what: str) -> Problem:
    return Problem(f"is not {what}")


def _string_problem(kind: str, value: Any) -> Problem | None:
    if not isinstance(value, str):
        return _not_a("a string")
    checks = {"email": (EMAIL_PATTERN, "email address"), "slug": (SLUG_PATTERN, "slug")}
    if kind in checks and not re.match(checks[kind][0], value):
        return _not_a(f"a valid {checks[kind][1]}")
    return None


def _int_problem(kind: str, value: Any) -> Problem | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return _not_a("an integer")
    low, high = INT_RANGES[kind]
    if not low <= value <= high:
        return Problem(
            f"is outside the range of `{kind}` ({low} to {high})",
            "use `bigint`" if kind == "integer" else None,
        )
    return None


def _number_problem(value: Any) -> Problem | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _not_a("a number")
    if isinstance(value, float) and not math.isfinite(value):
        return _not_a("a finite number")
    return None


def _enum_problem(value: Any, values: list[str] | None) -> Problem | None:
    if not isinstance(value, str):
        return _not_a("a string")
    if values is not None and value not in values:
        listed = ", ".join(f"`{v}`" for v in values)
        return Problem(f"is not one of the enum values ({listed})", did_you_mean(value, values))
    return None


def _temporal_problem(kind: str, value: Any, allow_now: bool) -> Problem | None:
    if allow_now and value == "now":
        return None
    if isinstance(value, str):
        try:
            _PARSERS[kind](value)
            return None
        except ValueError:
            pass
    extra = "`now` or " if allow_now else ""
    return Problem(f"is not {extra}an ISO {kind} such as `{_EXAMPLES[kind]}`")


def _uuid_problem(value: Any) -> Problem | None:
    if isinstance(value, str):
        try:
            uuid.UUID(value)
            return None
        except ValueError:
            pass
    return _not_a("a UUID")


def _container_problem(spec: FieldSpec, value: Any, enums: EnumLookup) -> Problem | None:
    if spec.type == "list":
        if not isinstance(value, list):
            return _not_a("a list")
        for item in value:
            found = value_problem(spec.of, item, enums) if spec.of else None
            if found is not None:
                return Problem(f"has an item `{show(item)}` that {found.text}", found.hint)
        return None
    if not isinstance(value, dict):
        return _not_a("a mapping")
    members = spec.fields or {}
    for key, item in value.items():
        if key not in members:
            return Problem(f"has an unknown key `{key}`", did_you_mean(key, members))
        found = value_problem(members[key], item, enums)
        if found is not None:
            return Problem(f"has `{key}` `{show(item)}` that {found.text}", found.hint)
    return None


def limit_problem(spec: FieldSpec, value: Any) -> Problem | None:
    """Bounds a value of the right type breaks (the caller checked the type)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.min is not None and value < spec.min:
            return Problem(f"is below `min` ({show(spec.min)})", limit=True)
        if spec.max is not None and value > spec.max:
            return Problem(f"is above `max` ({show(spec.max)})", limit=True)
    if isinstance(value, str) and spec.type in STRING_LIKE:
        return _length_problem(spec, value)
    if isinstance(value, list):
        if spec.min_items is not None and len(value) < spec.min_items:
            return Problem(f"has fewer items than `min_items` ({spec.min_items})", limit=True)
        if spec.max_items is not None and len(value) > spec.max_items:
            return Problem(f"has more items than `max_items` ({spec.max_items})", limit=True)
    return None


def _length_problem(spec: FieldSpec, value: str) -> Problem | None:
    info = TYPES[spec.type]
    longest = spec.max_length or info.default_length
    if spec.min_length is not None and len(value) < spec.min_length:
        return Problem(f"is shorter than `min_length` ({spec.min_length})", limit=True)
    if longest is not None and len(value) > longest:
        which = "`max_length`" if spec.max_length else f"the default length of `{spec.type}`"
        return Problem(f"is longer than {which} ({longest})", limit=True)
    if spec.pattern is not None:
        try:
            matched = re.search(spec.pattern, value)
        except re.error:
            return None  # the pattern itself is reported
        if not matched:
            return Problem("does not match `pattern`", limit=True)
    return None
