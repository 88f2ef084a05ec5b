"""The typed client's models rendered from the component schemas (generator/client_models.py):
equal, once formatted, to every committed `client/models.py` (which datamodel-code-generator
wrote), and each rule of datamodel-code-generator it reproduces on its own."""

from __future__ import annotations

import json
import marshal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import stamp
from generator.client import ClientError, client_models
from generator.client_models import (
    ModelsMemo,
    Unsupported,
    class_name,
    enum_member,
    field_name,
    render_models,
    singular_name,
)
from generator.format import format_python
from generator.incremental import BuildCache

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted(
    [ROOT / "output" / e / "openapi.json" for e in ("blog", "shop", "weather")]
    + list((ROOT / "tests" / "cases").glob("**/expected/*/openapi.json"))
)


def _models_path(document: Path) -> Path:
    package = document.parent.name
    return document.parent / package / "client" / "models.py"


@pytest.fixture(scope="module")
def rendered_formatted() -> dict[str, str]:
    """Every committed document's rendered models, formatted by one ruff process."""
    rendered = {
        f"{i}/models.py": render_models(json.loads(doc.read_text())["components"]["schemas"])
        for i, doc in enumerate(DOCUMENTS)
    }
    return format_python(rendered, cache_dir=None)


@pytest.mark.parametrize(
    "index", range(len(DOCUMENTS)), ids=[d.parent.relative_to(ROOT).as_posix() for d in DOCUMENTS]
)
def test_rendered_models_equal_the_committed_ones(
    rendered_formatted: dict[str, str], index: int
) -> None:
    committed = _models_path(DOCUMENTS[index]).read_text(encoding="utf-8")
    assert rendered_formatted[f"{index}/models.py"] == committed


def test_every_golden_document_has_committed_models() -> None:
    assert len(DOCUMENTS) >= 47
    assert all(_models_path(d).is_file() for d in DOCUMENTS)


# --- pieces --------------------------------------------------------------------------------


def _obj(properties: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> Any:
    return {"properties": properties, "type": "object", "required": list(required), **extra}


def _classes(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("class ")]


def _field(schema: dict[str, Any], required: bool = True, key: str = "value") -> str:
    """The line of one property of one model."""
    text = render_models({"M": _obj({key: schema}, (key,) if required else ())})
    (line,) = [ln for ln in text.splitlines() if ln.startswith(f"    {field_name(key)[0]}:")]
    return line.strip()


def test_class_names_join_the_alphanumeric_parts_of_the_schema_name() -> None:
    assert class_name("Envelope_PostRead_") == "EnvelopePostRead"
    assert class_name("ListEnvelope_PostRead_") == "ListEnvelopePostRead"
    assert class_name("reply_to_id") == "ReplyToId"


def test_scalar_types_and_formats() -> None:
    assert _field({"type": "string", "title": "V"}) == 'value: Annotated[str, Field(title="V")]'
    assert _field({"type": "integer"}) == "value: int"
    assert _field({"type": "number"}) == "value: float"
    assert _field({"type": "boolean"}) == "value: bool"
    assert _field({"type": "null", "title": "V"}) == 'value: Annotated[None, Field(title="V")]'
    formats = {"date-time": "AwareDatetime", "date": "date", "time": "time", "uuid": "UUID"}
    for fmt, annotation in formats.items():
        assert _field({"type": "string", "format": fmt}) == f"value: {annotation}"
    with pytest.raises(Unsupported, match="format"):
        _field({"type": "string", "format": "email"})


def test_a_partial_time_is_a_time_without_its_pattern() -> None:
    """As datamodel-code-generator reads `core.types.LocalTime`'s schema."""
    schema = {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$", "format": "time-local"}
    assert _field(schema) == "value: time"


def test_constraints_are_field_arguments_in_keyword_order_with_integer_bounds_as_integers() -> None:
    line = _field(
        {"type": "string", "maxLength": 80, "minLength": 1, "pattern": "^[^\\x00]*$", "title": "N"}
    )
    assert line == (
        'value: Annotated[str, Field(max_length=80, min_length=1, pattern="^[^\\\\x00]*$", '
        'title="N")]'
    )
    assert _field({"type": "integer", "maximum": 1000.0, "minimum": 0.0}) == (
        "value: Annotated[int, Field(ge=0, le=1000)]"
    )
    assert _field({"type": "number", "maximum": 9.5, "minimum": 0.0}) == (
        "value: Annotated[float, Field(ge=0.0, le=9.5)]"
    )
    assert _field({"type": "array", "items": {"type": "integer"}, "maxItems": 3}) == (
        "value: Annotated[list[int], Field(max_length=3)]"
    )


def test_optional_properties_are_none_by_default_and_schema_defaults_are_ignored() -> None:
    assert _field({"type": "integer", "default": 5}, required=False) == "value: int | None = None"
    assert _field({"$ref": "#/components/schemas/M", "default": "x"}, required=False) == (
        "value: M | None = None"
    )
    assert _field({"anyOf": [{"type": "string"}, {"type": "null"}], "title": "V"}) == (
        'value: Annotated[str | None, Field(title="V")]'
    )


def test_const_values_are_literals() -> None:
    assert _field({"type": "boolean", "const": True, "title": "S"}) == (
        'value: Annotated[Literal[True], Field(title="S")]'
    )
    assert _field({"type": "string", "const": "bearer"}, required=False) == (
        'value: Literal["bearer"] | None = None'
    )


def test_keywords_and_base_model_attributes_get_a_trailing_underscore_and_an_alias() -> None:
    assert field_name("class") == ("class_", "class")
    assert field_name("model_config") == ("model_config_", "model_config")
    assert field_name("schema") == ("schema_", "schema")
    assert field_name("title") == ("title", None)
    assert _field({"type": "string", "title": "From"}, key="from") == (
        'from_: Annotated[str, Field(alias="from", title="From")]'
    )
    with pytest.raises(Unsupported):
        field_name("_private")


def test_description_comes_before_title() -> None:
    assert _field({"type": "integer", "title": "E", "description": "Seconds."}) == (
        'value: Annotated[int, Field(description="Seconds.", title="E")]'
    )


def test_a_constrained_value_in_an_any_of_becomes_a_root_model_named_after_the_property() -> None:
    schema = {"anyOf": [{"type": "integer", "minimum": 1.0}, {"type": "null"}], "title": "Reply"}
    text = render_models({"M": _obj({"reply_to_id": schema})})
    assert _classes(text) == ["class ReplyToId(RootModel[int]):", "class M(BaseModel):"]
    assert '    root: Annotated[int, Field(ge=1, title="Reply")]' in text
    assert '    reply_to_id: Annotated[ReplyToId | None, Field(title="Reply")] = None' in text


def test_union_members_are_numbered_and_only_a_repeat_of_the_last_model_of_a_name_is_reused() -> (
    None
):
    number = {"type": "number", "maximum": 99.5}
    text14 = {"type": "string", "maxLength": 14}
    text15 = {"type": "string", "maxLength": 15}
    union = {"anyOf": [number, text14], "title": "P"}

    def nullable(member: Any) -> Any:
        return {"anyOf": [member, {"type": "null"}], "title": "P"}

    text = render_models(
        {
            "A": _obj({"p": union}),
            "B": _obj({"p": union}),
            "C": _obj({"p": nullable(text14)}),  # renders like P3, the last `P`: reused
            "D": _obj({"p": nullable(text15)}),  # P5 (P4 was requested and dropped)
            "E": _obj({"p": nullable(text14)}),  # the last `P` is P5 now: a new P6
        }
    )
    assert "    p: Annotated[P2 | P3 | None" in text
    assert "class P4(" not in text
    fields = [
        ln.split("[")[1].split(" |")[0] for ln in text.splitlines() if ln.startswith("    p:")
    ]
    assert fields == ["P", "P2", "P3", "P5", "P6"]


def test_list_items_with_constraints_take_the_singular_of_the_property() -> None:
    schema = {"items": {"type": "string", "maxLength": 255}, "type": "array", "maxItems": 20}
    text = render_models({"M": _obj({"keywords": schema})})
    assert "class Keyword(RootModel[str]):\n    root: Annotated[str, Field(max_length=255)]" in text
    assert "    keywords: Annotated[list[Keyword] | None, Field(max_length=20)] = None" in text


def test_singular_names() -> None:
    assert singular_name("Tags") == "Tag"
    assert singular_name("ImageUrls") == "ImageUrl"
    assert singular_name("Categories") == "Category"
    assert singular_name("Boxes") == "Box"
    assert singular_name("Status") == "StatusItem"
    assert singular_name("Days") == "Day"
    with pytest.raises(Unsupported):
        singular_name("Criteria")


def test_enums_are_str_enums_with_member_names_from_their_values() -> None:
    enum = {"type": "string", "enum": ["PG-13", "not rated", "2fa"], "description": "Values."}
    text = render_models({"Rating": enum})
    assert text.endswith(
        'class Rating(StrEnum):\n    """\n    Values.\n    """\n\n'
        '    PG_13 = "PG-13"\n    not_rated = "not rated"\n    field_2fa = "2fa"\n'
    )
    assert enum_member("pop-up") == "pop_up"
    with pytest.raises(Unsupported):
        enum_member("count")  # a `str` method: not reproduced


def test_an_inline_enum_is_a_class_named_after_the_property_without_docstring() -> None:
    status = {"type": "string", "enum": ["ok", "ready"], "title": "Status"}
    text = render_models({"HealthStatus": _obj({"status": status}, ("status",))})
    assert 'class Status(StrEnum):\n    ok = "ok"\n    ready = "ready"' in text
    assert '    status: Annotated[Status, Field(title="Status")]' in text


def test_an_inline_model_may_not_take_a_component_name() -> None:
    """datamodel-code-generator names the two by which it meets first, a reference to the
    component or the inline value (`Status`, `Status1`, `StatusModel`); not reproduced."""
    status = {"type": "string", "enum": ["ok"], "title": "Status"}
    with pytest.raises(Unsupported, match="component's name"):
        render_models({"Holder": _obj({"status": status}), "Status": {"type": "string"}})
    with pytest.raises(Unsupported, match="component's name"):
        render_models({"Holder": _obj({"status": status}), "Status2": {"type": "string"}})


def test_models_follow_their_references_and_cycles_are_ordered_by_schema_path() -> None:
    def ref(name: str) -> Any:
        return {"$ref": f"#/components/schemas/{name}"}

    text = render_models(
        {
            "A": _obj({"b": ref("B")}),
            "B": _obj({"x": {"type": "integer"}}),
            "Envelope_Post_": _obj({"data": ref("Post")}),
            "Post": _obj({"author": ref("User"), "parent": ref("Post")}),
            "User": _obj({"posts": {"type": "array", "items": ref("Post")}}),
            "Tree": _obj({"children": {"type": "array", "items": ref("Tree")}}),
        }
    )
    assert _classes(text) == [
        "class B(BaseModel):",
        "class Tree(BaseModel):",
        "class A(BaseModel):",
        "class EnvelopePost(BaseModel):",
        "class Post(BaseModel):",
        "class User(BaseModel):",
    ]
    assert text.endswith(
        "\n\n\nTree.model_rebuild()\nEnvelopePost.model_rebuild()\nPost.model_rebuild()\n"
    )


def test_imports_name_only_what_the_models_use() -> None:
    text = render_models({"M": _obj({"at": {"type": "string", "format": "date"}})})
    assert text.startswith(
        "# Generated by gen from openapi.json through datamodel-code-generator. Do not edit.\n\n"
        "from __future__ import annotations\n\nfrom datetime import date\n\n"
        "from pydantic import BaseModel, ConfigDict\n\n\nclass M(BaseModel):\n"
    )


def test_unknown_constructs_are_refused() -> None:
    with pytest.raises(Unsupported, match="additionalProperties"):
        render_models({"M": _obj({}, additionalProperties={"type": "string"})})
    with pytest.raises(Unsupported, match="oneOf"):
        render_models({"M": _obj({"v": {"oneOf": [{"type": "string"}]}})})


def test_client_mode_must_be_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEN_CLIENT", "fast")
    with pytest.raises(ClientError, match="GEN_CLIENT='fast'"):
        client_models("{}", None)


def test_the_client_mode_is_a_build_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GEN_CLIENT", raising=False)
    plain = stamp.input_digest(tmp_path, [], tmp_path / "out")
    monkeypatch.setenv("GEN_CLIENT", "verify")
    assert stamp.input_digest(tmp_path, [], tmp_path / "out") != plain


# --- reusing components across builds (ModelsMemo) ------------------------------------------


def _memo_render(schemas: dict[str, Any], old: dict[str, Any]) -> tuple[str, ModelsMemo]:
    keys = {
        name: f"{name}\0{json.dumps(schema, sort_keys=True)}" for name, schema in schemas.items()
    }
    memo = ModelsMemo(keys, marshal.loads(marshal.dumps(old)).get)
    return render_models(schemas, memo), memo


@pytest.mark.parametrize(
    "document", DOCUMENTS[:12], ids=lambda d: d.parent.relative_to(ROOT).as_posix()
)
def test_a_memo_of_every_component_renders_the_same_module(document: Path) -> None:
    schemas = json.loads(document.read_text())["components"]["schemas"]
    plain = render_models(schemas)
    first, memo = _memo_render(schemas, {})
    assert first == plain and memo.hits == 0
    again, reused = _memo_render(schemas, memo.new)
    assert again == plain and reused.hits == len(schemas)


def _pool() -> dict[str, Any]:
    number = {"type": "number", "maximum": 99.5}
    text14 = {"type": "string", "maxLength": 14}
    text15 = {"type": "string", "maxLength": 15}

    def nullable(member: Any) -> Any:
        return {"anyOf": [member, {"type": "null"}], "title": "P"}

    tags = {"items": {"type": "string", "maxLength": 20}, "type": "array"}
    kind = {"enum": ["a", "b"], "type": "string"}
    return {
        "A": _obj({"p": {"anyOf": [number, text14], "title": "P"}}),
        "B": _obj({"p": {"anyOf": [number, text14], "title": "P"}, "tags": tags}),
        "C": _obj({"p": nullable(text14), "kind": kind}),
        "D": _obj({"p": nullable(text15)}),
        "E": _obj({"p": nullable(text14), "ref": {"$ref": "#/components/schemas/A"}}),
        "F": _obj({"tags": {**tags, "items": {"type": "string", "maxLength": 21}}}),
        "G": _obj({"kind": {**kind, "enum": ["a", "c"]}, "p": nullable(number)}),
        "P1": _obj({"x": {"type": "integer"}}),
        "Tag": {"enum": ["x"], "type": "string"},
    }


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_memo_of_other_components_renders_what_rendering_them_all_gives(data: Any) -> None:
    pool = _pool()
    names = st.lists(st.sampled_from(sorted(pool)), unique=True, max_size=len(pool))
    before = {name: pool[name] for name in data.draw(names)}
    after = {name: pool[name] for name in data.draw(names)}
    try:
        plain = render_models(after)
    except Unsupported:
        return
    try:
        _, memo = _memo_render(before, {})
    except Unsupported:
        memo = ModelsMemo({}, {}.get)
    rendered, _ = _memo_render(after, memo.new)
    assert rendered == plain


def test_a_component_whose_answers_changed_is_rendered_again() -> None:
    pool = _pool()
    _, memo = _memo_render({n: pool[n] for n in "ABCDE"}, {})
    # without C, D's `P` is numbered and E's compared against another last `P`
    rendered, reused = _memo_render({n: pool[n] for n in "ABDE"}, memo.new)
    assert rendered == render_models({n: pool[n] for n in "ABDE"})
    assert 0 < reused.hits < 4


def test_a_component_is_rendered_again_when_the_last_model_of_a_name_changed() -> None:
    pool = _pool()
    # E's `P` is numbered P1 either way; it repeats C's `P` (reused) but not D's (kept)
    _, memo = _memo_render({"C": pool["C"], "E": pool["E"], "A": pool["A"]}, {})
    after = {"D": pool["D"], "E": pool["E"], "A": pool["A"]}
    rendered, reused = _memo_render(after, memo.new)
    assert rendered == render_models(after)
    assert reused.hits == 1  # A


def _models_with_cache(path: Path, schemas: dict[str, Any]) -> tuple[str, BuildCache]:
    """The client models of a document of schemas, rendered with the build cache at path."""
    from generator import ir
    from generator.client import OpenApiText, _rendered_models

    api = ir.Api(
        "blog", "Blog", "1", None, "/", ("en",), "integer", True, 20, 100, "", "", (), None, None
    )
    cache = BuildCache(ir.Project("specs", api), path)
    text = json.dumps({"openapi": "3.1.0", "components": {"schemas": schemas}}, indent=2) + "\n"
    rendered = _rendered_models(OpenApiText(text), cache)
    cache.save()
    return rendered, cache


def test_a_warm_build_stores_the_components_that_changed_and_keeps_the_others(
    tmp_path: Path,
) -> None:
    """Only a changed component's rendering is written to the store again; every other one is
    kept, and the models are those rendered without a cache, build after build."""
    schemas = json.loads((ROOT / "output" / "blog" / "openapi.json").read_text())
    schemas = schemas["components"]["schemas"]
    store = tmp_path / "units.store"
    first, cache = _models_with_cache(store, schemas)
    assert first == render_models(schemas) and len(cache.shared()[1]) == len(schemas)
    changed = json.loads(json.dumps(schemas))
    changed["CategoryCreate"]["description"] = "Changed."
    second, cache = _models_with_cache(store, changed)
    fresh, used = cache.shared()[1], cache.shared()[0]
    assert second == render_models(changed)
    assert len(fresh) == 1 and len(used) == len(schemas)
    third, cache = _models_with_cache(store, changed)
    assert third == second and not cache.shared()[1] and len(cache.shared()[0]) == len(schemas)
    assert _models_with_cache(store, schemas)[0] == first
