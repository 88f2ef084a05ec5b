"""JSON Schema of the generated Pydantic models, computed from the IR.

Each function mirrors one annotation the schemas emitter (`generator/emit/schemas.py`) writes,
and follows Pydantic's JSON Schema rules for it: `anyOf` with `null` for optional values, a
`title` from the wire name unless the value is a `$ref`, no `default` for factories, `MISSING`
or `None` (FastAPI drops `None` values). The key order here is Pydantic's own ("natural"); the
document renderer reorders component schemas the way FastAPI's `Schema` model dumps them.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from generator import ir
from generator.emit import schemas as emit_schemas
from generator.emit import tenancy as emit_tenancy
from generator.emit.literals import docstring_wrapped

Schema = dict[str, Any]

REF = "#/components/schemas/"
NULL: Schema = {"type": "null"}
NO_NUL = r"^[^\x00]*$"
MAX_ID = 2**53 - 1
MAX_IN_ITEMS = 100
MAX_SEARCH_LENGTH = 200
MAX_PAGE = 1_000_000
TEXT_MAX_LENGTH = 65_535
JSON_VALUE = "JsonValue"


class _NoDefault:
    """A field without a default: required (or a factory's, which the schema does not show)."""


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Prop:
    """One property of a model: its wire name, value schema, and what Pydantic adds to it."""

    key: str
    schema: Schema
    required: bool
    default: Any = NO_DEFAULT
    description: str | None = None


@dataclass
class Components:
    """The component schemas a document references, built on first reference."""

    project: ir.Project
    schemas: dict[str, Schema] = field(default_factory=dict)

    def ref(self, name: str, build: Any = None) -> Schema:
        """`{"$ref": ...}` to `name`, whose schema `build()` gives the first time."""
        if name not in self.schemas and build is not None:
            self.schemas[name] = {}  # a placeholder first: models may reference themselves
            self.schemas[name] = build()
        return {"$ref": REF + name}


def ref(name: str) -> Schema:
    return {"$ref": REF + name}


def is_ref(schema: Schema) -> bool:
    return "$ref" in schema


def nullable(schema: Schema) -> Schema:
    """`X | None`: Pydantic flattens an inner bare `anyOf` into the outer one."""
    members = schema["anyOf"] if set(schema) == {"anyOf"} else [schema]
    return {"anyOf": [*members, NULL]}


def title_of(name: str) -> str:
    """Pydantic's (and FastAPI's) title of a field or parameter named `name`."""
    return name.title().replace("_", " ")


def description_of_docstring(wrapped: str) -> str:
    """What `inspect.cleandoc(cls.__doc__)` gives for a docstring the emitters wrote."""
    text = ast.literal_eval('"""' + wrapped + '"""')
    return inspect.cleandoc(text)


def class_description(text: str) -> str:
    """The description of a class whose docstring is `docstring_wrapped(text)`."""
    return description_of_docstring(docstring_wrapped(text))


def property_schema(prop: Prop, *, titled: bool) -> Schema:
    """A property as Pydantic writes it: the value, then description, default, title."""
    schema = dict(prop.schema)
    if prop.description is not None:
        schema["description"] = prop.description
    if prop.default is not NO_DEFAULT and prop.default is not None:
        schema["default"] = prop.default
    if titled:
        schema["title"] = title_of(prop.key)
    return schema


def wants_title(schema: Schema) -> bool:
    """Pydantic titles a field unless its value (optional or not) is a reference."""
    members = [m for m in schema.get("anyOf", [schema]) if m != NULL]
    return not (len(members) == 1 and is_ref(members[0]))


def model(
    name: str,
    props: list[Prop],
    *,
    description: str | None = None,
    forbid: bool = False,
    title: str | None = None,
) -> Schema:
    """An object schema of a Pydantic model."""
    schema: Schema = {
        "properties": {p.key: property_schema(p, titled=wants_title(p.schema)) for p in props},
        "type": "object",
    }
    if forbid:
        schema["additionalProperties"] = False
    required = [p.key for p in props if p.required]
    if required:
        schema["required"] = required
    schema["title"] = title or name
    if description:
        schema["description"] = description
    return schema


# --- field types -------------------------------------------------------------------------------


def string_schema(f: ir.Field) -> Schema:
    """A string input (`_string` in the schemas emitter)."""
    min_length, max_length, pattern = emit_schemas.string_limits(f)
    return _string(min_length, max_length, pattern or NO_NUL)


def _string(min_length: int | None, max_length: int | None, pattern: str | None) -> Schema:
    schema: Schema = {"type": "string"}
    if min_length is not None:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    if pattern is not None:
        schema["pattern"] = pattern
    return schema


def _number(kind: str, low: float | None, high: float | None) -> Schema:
    schema: Schema = {"type": kind}
    if high is not None:
        schema["maximum"] = high
    if low is not None:
        schema["minimum"] = low
    return schema


def integer_schema(f: ir.Field) -> Schema:
    low, high = emit_schemas.integer_bounds(f)
    return _number("integer", low, high)


def input_schema(c: Components, f: ir.Field, *, query: bool = False) -> Schema:
    """The schema of `input_type(f)`: the value a client sends, every constraint included."""
    kind = f.type.kind
    if kind == "list" and f.item is not None:
        schema: Schema = {"type": "array", "items": input_schema(c, f.item)}
        if f.min_items is not None:
            schema["minItems"] = f.min_items
        schema["maxItems"] = f.max_items or emit_schemas.MAX_LIST_ITEMS
        return schema
    if kind == "object":
        return nested_model(c, f, read=False)
    if kind == "enum":
        return enum_ref(c, f)
    if kind in ("string", "text", "email", "url", "slug", "password"):
        return string_schema(f)
    if kind in ("integer", "bigint"):
        return integer_schema(f)
    if kind == "float":
        return _number("number", f.min, f.max)
    if kind == "decimal":
        return emit_schemas.decimal_json_schema(f)
    return plain_schema(c, kind)


# `PARTIAL_TIME` of the generated `core/types.py`: HH:MM:SS with up to six decimals.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$"


def plain_schema(c: Components, kind: str) -> Schema:
    """Types whose schema is the same on input and output."""
    if kind == "time":  # `core.types.LocalTime`: a partial-time, without an offset
        return {"type": "string", "pattern": LOCAL_TIME_PATTERN, "format": "time-local"}
    formats = {"datetime": "date-time", "date": "date", "uuid": "uuid"}
    if kind in formats:
        return {"type": "string", "format": formats[kind]}
    if kind == "json":
        return c.ref(JSON_VALUE, dict)
    if kind == "boolean":
        return {"type": "boolean"}
    return {"type": "string"}


def read_schema(c: Components, f: ir.Field) -> Schema:
    """The schema of `read_type(f)`: a value in a response."""
    kind = f.type.kind
    if kind == "list" and f.item is not None:
        return {"type": "array", "items": read_schema(c, f.item)}
    if kind == "object":
        return nested_model(c, f, read=True)
    if kind == "enum":
        return enum_ref(c, f)
    if kind in ("integer", "bigint"):
        return {"type": "integer"}
    if kind == "float":
        return {"type": "number"}
    if kind == "decimal":
        return {"type": "string"}
    return plain_schema(c, kind)


def enum_ref(c: Components, f: ir.Field) -> Schema:
    enum = next(e for e in c.project.enums if e.name == f.type.enum)
    return c.ref(
        enum.class_name,
        lambda: {
            "type": "string",
            "enum": list(enum.values),
            "title": enum.class_name,
            "description": class_description(f"Values of `{enum.name}`."),
        },
    )


def nested_model(c: Components, f: ir.Field, *, read: bool) -> Schema:
    """An object field's own small model (`Dimensions`, `DimensionsRead`)."""
    name = emit_schemas.nested_model_name(f, read=read)

    def build() -> Schema:
        if read:
            props = [
                Prop(sub.attr, _optional(read_schema(c, sub), sub.nullable), True)
                for sub in f.subfields
            ]
            return model(name, props)
        return model(name, [input_prop(c, sub) for sub in f.subfields], forbid=True)

    return c.ref(name, build)


def _optional(schema: Schema, optional: bool) -> Schema:
    return nullable(schema) if optional else schema


def default_value(c: Components, f: ir.Field) -> Any:
    """The JSON default of an optional input field (`_default_suffix`); NO_DEFAULT when it is
    required or its default comes from a factory, None when it defaults to null."""
    if f.default is not None:
        value = f.default.value
        if f.default.now:
            return NO_DEFAULT
        if f.type.kind == "decimal" and value is not None:
            return str(Decimal(str(value)))
        if f.type.kind in ("date", "time", "datetime") and isinstance(value, str):
            return _temporal_json(f.type.kind, value)
        return value
    if f.nullable:
        return None
    return NO_DEFAULT


def _temporal_json(kind: str, text: str) -> str:
    parsed: date | time | datetime
    if kind == "date":
        parsed = date.fromisoformat(text)
    elif kind == "time":
        parsed = time.fromisoformat(text)
    else:
        parsed = datetime.fromisoformat(text)
    result = parsed.isoformat()
    if isinstance(parsed, datetime | time) and parsed.utcoffset() is not None:
        offset = parsed.utcoffset()
        if offset is not None and offset.total_seconds() == 0:
            result = result.removesuffix("+00:00") + "Z"
    return result


def input_prop(c: Components, f: ir.Field, *, update: bool = False) -> Prop:
    """A field of a create, update, register, action or nested input model."""
    key = f.name if f.attr != f.name else f.attr
    schema = _optional(input_schema(c, f), f.nullable)
    if update:
        return Prop(key, schema, required=False)
    default = default_value(c, f)
    factory = f.type.kind == "list" and not f.nullable and f.default is None
    required = default is NO_DEFAULT and not factory and not (f.default and f.default.now)
    return Prop(key, schema, required=required, default=default)


def read_prop(c: Components, f: ir.Field, *, restricted: bool) -> Prop:
    key = f.name if f.attr != f.name else f.attr
    return Prop(key, _optional(read_schema(c, f), f.nullable), required=not restricted)


def id_input(c: Components, *, query: bool = False) -> Schema:
    """`IdInput`/`IdQuery`: an id a client sends."""
    if c.project.api.id_type == "uuid":
        return {"type": "string", "format": "uuid"}
    return _number("integer", 1, MAX_ID)


def id_read(c: Components) -> Schema:
    if c.project.api.id_type == "uuid":
        return {"type": "string", "format": "uuid"}
    return {"type": "integer"}


def relation_input(c: Components, r: ir.Relation, *, update: bool, optional: bool) -> Prop:
    """`_relation_input`: `<name>_id` or `<singular>_ids`."""
    ident = id_input(c)
    if r.kind == "many_to_many":
        schema = {"type": "array", "items": ident, "maxItems": emit_schemas.MAX_RELATED_IDS}
        return Prop(r.wire_name, schema, required=False)
    if optional and not update:
        return Prop(r.wire_name, nullable(ident), required=False)
    schema = ident if r.required else nullable(ident)
    return Prop(r.wire_name, schema, required=r.required and not update)


def relation_read(c: Components, r: ir.Relation, *, restricted: bool) -> Prop:
    ident = id_read(c)
    if r.kind == "many_to_many":
        return Prop(r.wire_name, {"type": "array", "items": ident}, required=not restricted)
    return Prop(r.wire_name, _optional(ident, not r.required), required=not restricted)


def registration_tenant_fields(project: ir.Project, entity: ir.Entity) -> list[ir.Field]:
    """The tenant's fields a sign-up that creates the tenant carries (`organization_name`)."""
    return [
        dataclasses.replace(f, name=key, attr=key)
        for key, f in emit_tenancy.registration_tenant_fields(project)
    ]
