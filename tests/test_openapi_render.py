"""openapi.json rendered from the IR (generator/openapi_document.py): byte-identical to the
committed documents, which the generated apps' own tests compare with what they serve, and the
pieces it is made of follow Pydantic's and FastAPI's rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field, ValidationError

from generator import ir
from generator.diagnostics import Span
from generator.openapi_document import (
    Param,
    _as_served,
    _schema_plan,
    header_param,
    if_match,
    parameter,
    render_openapi_text,
    served_schema,
)
from generator.openapi_schema import (
    NO_DEFAULT,
    Components,
    class_description,
    input_prop,
    input_schema,
    nullable,
    plain_schema,
    read_schema,
    title_of,
)
from generator.pipeline import compile_specs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("blog", "shop", "weather")
CASE_DOCUMENTS = sorted((ROOT / "tests" / "cases").glob("**/expected/*/openapi.json"))


def documents() -> list[tuple[Path, Path]]:
    """(spec folder, committed openapi.json) of every example and golden case."""
    found = [(ROOT / "specs" / e, ROOT / "output" / e / "openapi.json") for e in EXAMPLES]
    found += [(path.parent.parent.parent / "spec", path) for path in CASE_DOCUMENTS]
    return found


def _id(item: tuple[Path, Path]) -> str:
    return item[1].parent.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("spec_and_document", documents(), ids=_id)
def test_rendered_document_equals_the_committed_one(spec_and_document: tuple[Path, Path]) -> None:
    spec, document = spec_and_document
    projects, diags = compile_specs(spec)
    assert not diags.has_errors
    (project,) = [p for p in projects if p.api.name == document.parent.name]
    assert render_openapi_text(project) == document.read_text(encoding="utf-8")


def _project(**api: object) -> ir.Project:
    settings: dict[str, object] = {
        "name": "kinds",
        "title": "Kinds",
        "version": "1.0.0",
        "description": None,
        "base_path": "/",
        "locales": ("en",),
        "id_type": "integer",
        "timestamps": False,
        "default_limit": 20,
        "max_limit": 100,
        "rate_limit_anonymous": "60/minute",
        "rate_limit_authenticated": "600/minute",
        "cors_origins": (),
        "cache_ttl_seconds": None,
        "tenant_entity": None,
    }
    settings.update(api)
    return ir.Project(source="specs/kinds", api=ir.Api(**settings))  # type: ignore[arg-type]


def _field(kind: str, **options: object) -> ir.Field:
    type_options = {k: options.pop(k) for k in ("precision", "scale") if k in options}
    return ir.Field(
        name="a_field",
        attr="a_field",
        type=ir.TypeRef(kind, **type_options),  # type: ignore[arg-type]
        span=Span("kinds.yaml", 1, 1),
        **options,  # type: ignore[arg-type]
    )


def test_titles_are_the_name_title_cased_with_spaces() -> None:
    assert title_of("id__in") == "Id  In"
    assert title_of("a_field") == "A Field"
    assert title_of("If-Match") == "If-Match"


def test_nullable_flattens_a_bare_any_of() -> None:
    decimal = {"anyOf": [{"type": "number"}, {"type": "string"}]}
    assert nullable(decimal) == {
        "anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]
    }
    assert nullable({"type": "string"}) == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_integer_input_is_clamped_to_the_column_range() -> None:
    c = Components(_project())
    assert input_schema(c, _field("integer", min=1)) == {
        "type": "integer",
        "maximum": 2**31 - 1,
        "minimum": 1,
    }
    assert input_schema(c, _field("bigint", max=2**60)) == {
        "type": "integer",
        "maximum": 2**53 - 1,
        "minimum": -(2**53 - 1),
    }


def test_strings_are_bounded_and_refuse_nul_without_a_pattern() -> None:
    c = Components(_project())
    assert input_schema(c, _field("text")) == {
        "type": "string",
        "maxLength": 65_535,
        "pattern": r"^[^\x00]*$",
    }
    assert input_schema(c, _field("string", min_length=2, pattern="^a+$")) == {
        "type": "string",
        "minLength": 2,
        "maxLength": 255,
        "pattern": "^a+$",
    }


def test_decimals_are_a_number_or_a_numeric_string_on_input_and_a_string_on_output() -> None:
    c = Components(_project())
    f = _field("decimal", precision=6, scale=2)
    number, text = input_schema(c, f)["anyOf"]
    assert number == {"type": "number", "minimum": -9999.99, "maximum": 9999.99}
    assert text["type"] == "string"
    assert read_schema(c, f) == {"type": "string"}


def test_json_values_reference_a_shared_empty_schema() -> None:
    c = Components(_project())
    assert read_schema(c, _field("json")) == {"$ref": "#/components/schemas/JsonValue"}
    assert c.schemas == {"JsonValue": {}}


def test_input_defaults_and_requiredness() -> None:
    c = Components(_project())
    required = input_prop(c, _field("string"))
    assert required.required and required.default is NO_DEFAULT
    optional = input_prop(c, _field("string", nullable=True))
    assert not optional.required and optional.default is None
    now = input_prop(c, _field("datetime", default=ir.Default(now=True)))
    assert not now.required and now.default is NO_DEFAULT
    listed = input_prop(c, _field("list", item=_field("string")))
    assert not listed.required
    valued = input_prop(c, _field("decimal", precision=5, scale=2, default=ir.Default(value=1.5)))
    assert valued.default == "1.5"
    update = input_prop(c, _field("string"), update=True)
    assert not update.required and update.default is NO_DEFAULT


def test_component_schemas_take_fastapi_key_order_and_float_bounds() -> None:
    natural = {
        "type": "array",
        "items": {"type": "integer", "maximum": 5, "minimum": 1},
        "title": "X",
    }
    served = served_schema(natural)
    assert list(served) == ["items", "type", "title"]
    assert served["items"] == {"type": "integer", "maximum": 5.0, "minimum": 1.0}
    assert isinstance(served["items"]["maximum"], float)


def test_schemas_with_the_same_keys_share_one_plan_of_their_order() -> None:
    _schema_plan.cache_clear()
    first = served_schema({"title": "A", "type": "string", "x-extra": 1, "maxLength": 3})
    second = served_schema({"title": "B", "type": "string", "x-extra": 2, "maxLength": 4})
    assert list(first) == list(second) == ["type", "maxLength", "title", "x-extra"]
    assert _schema_plan.cache_info().hits == 1


def test_parameters_are_titled_unless_they_are_a_reference() -> None:
    plain = parameter(Param("page", "query", {"type": "integer"}, False))
    assert plain == {
        "name": "page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "title": "Page"},
    }
    referenced = parameter(Param("status", "query", {"$ref": "#/components/schemas/S"}, True))
    assert referenced["schema"] == {"$ref": "#/components/schemas/S"}


def test_headers_carry_their_description_on_the_parameter_and_its_schema() -> None:
    header = header_param("X-Thing", {"type": "string"}, "A thing.", required=True)
    assert parameter(header) == {
        "name": "X-Thing",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "description": "A thing.", "title": "X-Thing"},
        "description": "A thing.",
    }
    assert if_match().where == "header"


def test_if_match_is_declared_required_although_a_missing_one_is_a_428() -> None:
    """The handler takes it optional (428 after 401/403/404); the document says it is needed."""
    entry = parameter(if_match())
    assert entry["required"] is True
    assert entry["schema"]["type"] == "string" and "anyOf" not in entry["schema"]


def test_times_of_day_are_partial_times_with_their_pattern() -> None:
    schema = plain_schema(Components(_project()), "time")
    assert schema["format"] == "time-local"
    assert re.fullmatch(schema["pattern"][1:-1], "09:30:00.123456")
    assert not re.fullmatch(schema["pattern"][1:-1], "09:30:00+02:00")


def test_class_descriptions_are_the_cleaned_docstring() -> None:
    long = "Body of `POST /orders`. " + "word " * 30
    assert class_description(long) == "\n".join(
        line.strip() for line in class_description(long).splitlines()
    )
    assert "\n" in class_description(long)
    assert class_description("A failed answer.") == "A failed answer."


def test_path_items_with_parameters_are_served_as_built() -> None:
    """FastAPI's smart union keeps a path item whose operations have parameters as a plain dict
    (no reordering, integer bounds stay integers); others go through its models."""
    with_params = {
        "get": {
            "tags": ["t"],
            "operationId": "x",
            "security": [],
            "parameters": [{"name": "id", "in": "path", "schema": {"minimum": 1}}],
            "responses": {},
        }
    }
    without = {
        "get": {
            "tags": ["t"],
            "security": [],
            "responses": {"200": {"content": {}, "description": "d"}},
        }
    }
    document = {
        "info": {"version": "1", "title": "t"},
        "paths": {"/a": with_params, "/b": without},
        "components": {"schemas": {}},
    }
    served = _as_served(document)
    assert served["paths"]["/a"] == with_params
    assert list(served["paths"]["/b"]["get"]) == ["tags", "responses", "security"]
    assert list(served["paths"]["/b"]["get"]["responses"]["200"]) == ["description", "content"]
    assert list(served["info"]) == ["title", "version"]


def test_an_email_refuses_nul_as_postgresql_text_does() -> None:
    """Found by Schemathesis' stateful phase on PostgreSQL: `0@0.\\x00` passed the pattern and
    the insert failed (a 500)."""
    from generator.compile.types import EMAIL_PATTERN

    assert re.fullmatch(EMAIL_PATTERN, "ana@example.com")
    assert not re.fullmatch(EMAIL_PATTERN, "0@0.\x00")
    assert not re.fullmatch(EMAIL_PATTERN, "a\x00@example.com")


@pytest.mark.parametrize("kind", ["email", "url"])
def test_the_email_and_url_patterns_read_alike_in_every_engine(kind: str) -> None:
    """Found by Schemathesis' stateful phase: it drew an email holding \\x85 as valid (it reads
    `\\s` as ASCII) and the app refused it (pydantic-core reads `\\s` over Unicode). Each
    character of the Basic Multilingual Plane is accepted or refused by all three engines."""
    from pydantic import TypeAdapter
    from schemathesis.core.jsonschema.patterns import compile_ecma_pattern

    from generator.compile.types import EMAIL_PATTERN
    from generator.emit.schemas import URL_PATTERN

    pattern, template = {
        "email": (EMAIL_PATTERN, "a{}b@example.com"),
        "url": (URL_PATTERN, "https://a{}b.example"),
    }[kind]
    python = re.compile(pattern)
    schemathesis = compile_ecma_pattern(pattern)
    assert schemathesis is not None
    app = TypeAdapter(Annotated[str, Field(pattern=pattern)])

    def app_accepts(value: str) -> bool:
        try:
            app.validate_python(value)
        except ValidationError:
            return False
        return True

    disagreements = []
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates are no JSON text
        value = template.format(chr(code))
        readings = {
            bool(python.search(value)),
            bool(schemathesis.search(value)),
            app_accepts(value),
        }
        if len(readings) > 1:
            disagreements.append(hex(code))
    assert disagreements == []
