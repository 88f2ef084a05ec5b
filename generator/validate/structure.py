"""Structural validation: each file against the pydantic models, errors located and explained."""

from __future__ import annotations

import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from generator.diagnostics import Diagnostics, did_you_mean
from generator.load import LoadedFile, Path_
from generator.validate.models import SpecFile

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def validate_file(loaded: LoadedFile, diags: Diagnostics) -> SpecFile | None:
    """Validate one loaded file's structure; None (with diagnostics) when it does not fit."""
    data = {} if loaded.data is None else loaded.data
    try:
        return SpecFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            _report(loaded, error, diags)
        return None


def _report(loaded: LoadedFile, error: ErrorDetails, diags: Diagnostics) -> None:
    loc: Path_ = tuple(error["loc"])
    kind = error["type"]
    where = ".".join(str(p) for p in loc) or "the file"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        hint = did_you_mean(key, allowed_keys(loc[:-1]))
        diags.error("E101", f"unknown key `{key}` in {_parent(loc)}", loaded.key_span(loc), hint)
    elif kind == "missing":
        diags.error(
            "E102", f"missing required key `{loc[-1]}` in {_parent(loc)}", loaded.span(loc[:-1])
        )
    elif kind in _TYPE_NAMES:
        diags.error(
            "E103",
            f"`{where}` must be {_TYPE_NAMES[kind]}, not {_describe(loaded, loc)}",
            loaded.span(loc),
            _quote_hint(loaded, loc, kind),
        )
    elif kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", ""))
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",")]
        got = error.get("input")
        hint = did_you_mean(str(got), choices) if isinstance(got, str) else None
        diags.error(
            "E104",
            f"`{where}` must be one of {expected}, not {_describe(loaded, loc)}",
            loaded.span(loc),
            hint,
        )
    else:
        diags.error(
            "E105", f"`{where}`: {error['msg'][0].lower()}{error['msg'][1:]}", loaded.span(loc)
        )


def _parent(loc: Path_) -> str:
    return "`" + ".".join(str(p) for p in loc[:-1]) + "`" if len(loc) > 1 else "the file"


def _describe(loaded: LoadedFile, loc: Path_) -> str:
    value = _value_at(loaded.data, loc)
    raw = loaded.raw_scalars.get(loc)
    if isinstance(value, bool):
        return f"the boolean `{raw}`" if raw else f"the boolean `{value}`"
    if isinstance(value, int | float):
        return f"the number `{raw or value}`"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "an empty value"
    if isinstance(value, str):
        return "a string"
    return f"the {type(value).__name__} `{raw or value}`"


def _quote_hint(loaded: LoadedFile, loc: Path_, kind: str) -> str | None:
    """YAML 1.1 reads `no`, `on`, `0755` and bare dates as other types: say so."""
    raw = loaded.raw_scalars.get(loc)
    if kind == "string_type" and raw is not None:
        return f'YAML reads `{raw}` as a {_yaml_type(_value_at(loaded.data, loc))}; write "{raw}"'
    return None


def _yaml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _value_at(data: Any, loc: Path_) -> Any:
    for part in loc:
        if not _has_part(data, part):
            return None
        data = data[part]
    return data


def _has_part(data: Any, part: str | int) -> bool:
    if isinstance(data, dict):
        return part in data
    return isinstance(data, list) and isinstance(part, int) and part < len(data)


def allowed_keys(loc: Path_) -> list[str]:
    """The keys the language allows at a mapping path (for "did you mean")."""
    models = _models_at(SpecFile, loc)
    return sorted({name for model in models for name in model.model_fields})


def _models_at(annotation: Any, loc: Path_) -> list[type[BaseModel]]:
    if not loc:
        return [m for m in _unwrap(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
    found: list[type[BaseModel]] = []
    for candidate in _unwrap(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            info = candidate.model_fields.get(str(loc[0]))
            if info is not None:
                found += _models_at(info.annotation, loc[1:])
        elif get_origin(candidate) in (dict, list):
            args = get_args(candidate)
            found += _models_at(args[-1], loc[1:])
    return found


def _unwrap(annotation: Any) -> list[Any]:
    """The alternatives inside Optional / Union / Annotated."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [alt for arg in get_args(annotation) for alt in _unwrap(arg)]
    return [annotation]
