"""generator/jsontext.dumps writes exactly what `json.dumps(value, indent=2, ...)` writes: on
every committed openapi.json, on random trees (with what orjson writes otherwise than json:
floats below 1e-4, NaN, big ints, non-ASCII, subclasses, Enum members), and, through json
itself, on what it leaves to json (other key types, NaN, cycles, unknown objects)."""

from __future__ import annotations

import enum
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import jsontext

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted(
    [*(ROOT / "output").glob("*/openapi.json"), *(ROOT / "tests" / "cases").rglob("openapi.json")]
)


def expected(value: Any, sort_keys: bool = False, ensure_ascii: bool = True) -> str:
    return json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=ensure_ascii)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_committed_document_is_written_byte_for_byte(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert jsontext.dumps(json.loads(text)) + "\n" == text


def test_there_are_committed_documents() -> None:
    assert len(DOCUMENTS) >= 3


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
trees = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Plain(enum.Enum):
    A = "a"


# --- the orjson path: json's text, or the value is left to the Python encoder ------------------

special_characters = st.sampled_from('\x00\x1f\x7f\x80"\\é\u2028\ufffe\U0001f600')
lone_surrogates = st.sampled_from("\ud800\udfff")
tricky_text = st.text(
    st.characters(exclude_categories=()) | special_characters | lone_surrogates, max_size=8
)
tricky_floats = (
    st.floats()
    | st.floats(min_value=1e-10, max_value=1e-3)
    | st.floats(min_value=-1e-3, max_value=-1e-10)
    | st.sampled_from([1e16, -1e22, 1.5e300, 5e-324, 1e-7, 0.00001, 9007199254740991.0, -0.0])
)
tricky_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64 + 2)
    | st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2)
    | tricky_floats
    | tricky_text
    | st.sampled_from([Colour.RED, Level.HIGH, Plain.A, uuid.UUID(int=7)])
)
tricky_keys = tricky_text | st.sampled_from([Colour.RED, 1, None, True, 1.5])
tricky_trees = st.recursive(
    tricky_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(tricky_text, inner, max_size=4)
        | st.dictionaries(tricky_text, inner, max_size=3).map(OrderedDict)
        | st.dictionaries(tricky_keys, inner, max_size=2)
    ),
    max_leaves=20,
)


def outcome(write: Callable[[], str]) -> str | tuple[type[Exception], str]:
    """The text written, or the error raised."""
    try:
        return write()
    except (TypeError, ValueError) as error:
        return type(error), str(error)


@settings(max_examples=250, deadline=None)
@given(tricky_trees, st.booleans(), st.booleans())
def test_random_trees(value: Any, sort_keys: bool, ensure_ascii: bool) -> None:
    options = {"sort_keys": sort_keys, "ensure_ascii": ensure_ascii}
    assert outcome(lambda: jsontext.dumps(value, **options)) == outcome(
        lambda: json.dumps(value, indent=2, **options)
    )


plain_text = st.text(st.characters(exclude_categories=["Cs"]) | special_characters, max_size=8)
plain_trees = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(min_value=1e-4, allow_infinity=False)
    | st.floats(max_value=-1e-4, allow_infinity=False)
    | plain_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(plain_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(plain_trees, st.booleans(), st.booleans())
def test_random_plain_trees_are_written_by_orjson(
    value: Any, sort_keys: bool, ensure_ascii: bool
) -> None:
    text = jsontext._orjson_text(value, sort_keys, ensure_ascii)
    assert text == expected(value, sort_keys, ensure_ascii)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_committed_documents_are_written_by_orjson(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    for sort_keys, ensure_ascii in [(False, True), (True, False)]:
        text = jsontext._orjson_text(document, sort_keys, ensure_ascii)
        assert text == expected(document, sort_keys, ensure_ascii)


FLOATS = [m * 10.0**e for e in range(-4, 300) for m in (1, -1.5, 1.2345678901234567)]


@pytest.mark.parametrize(
    "value",
    [
        {"a": FLOATS, "b": [None, True, 2**64 - 1, -(2**63), [], {}, '\x00\n"']},
        {"é\x7f\U0001f600": [1, "\u2028"], "z": "ü"},
        ["\x7f"],  # ASCII, yet json escapes it
    ],
)
def test_what_orjson_writes_as_json_does(value: Any) -> None:
    for sort_keys, ensure_ascii in [(False, True), (True, False)]:
        text = jsontext._orjson_text(value, sort_keys, ensure_ascii)
        assert text == expected(value, sort_keys, ensure_ascii)


@pytest.mark.parametrize(
    "value",
    [
        [1e-5, 2.5e-7, -1e-9],  # orjson: 0.00001, 2.5e-7, -1e-9
        [None, float("nan")],  # orjson: null, null
        [None, float("-inf")],
        [None, ()],  # null: orjson's text read back is compared, and a tuple reads as a list
        [2**64],  # orjson refuses it
        ["\ud800"],
        [Colour.RED, Level.HIGH],  # orjson writes them (as json does), marshal does not
        {"a": Plain.A},  # json refuses them, orjson writes them
        [uuid.UUID(int=7)],
        OrderedDict(a=1),
    ],
)
def test_what_orjson_writes_otherwise_is_left_to_the_encoder(value: Any) -> None:
    assert jsontext._orjson_text(value, False, True) is None
    assert outcome(lambda: jsontext.dumps(value)) == outcome(lambda: expected(value))


def test_subclasses_of_str_and_int_and_empty_containers() -> None:
    value = {"a": Colour.RED, "b": [Level.HIGH, {}, [], ()], "c": {"d": (1.5, -0.0, 10**30)}}
    assert jsontext.dumps(value) == expected(value)
    assert jsontext.dumps([]) == "[]" and jsontext.dumps("é") == '"\\u00e9"'
    assert jsontext.dumps({"é": "ü"}, ensure_ascii=False) == '{\n  "é": "ü"\n}'


@pytest.mark.parametrize(
    "value",
    [
        {1: "a", "b": 2},
        {None: 1, True: 2, 1.5: 3},
        [float("nan"), float("inf"), float("-inf")],
    ],
)
def test_what_json_converts_is_left_to_json(value: Any) -> None:
    assert jsontext.dumps(value) == expected(value)


def test_sort_keys_with_other_key_types_fails_as_json_does() -> None:
    with pytest.raises(TypeError):
        json.dumps({1: "a", "b": 2}, indent=2, sort_keys=True)
    with pytest.raises(TypeError):
        jsontext.dumps({1: "a", "b": 2}, sort_keys=True)


def test_a_cycle_and_an_unknown_object_fail_as_json_does() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        jsontext.dumps(cycle)
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsontext.dumps({"a": object()})


def test_a_shared_subtree_is_not_a_cycle() -> None:
    shared = {"x": [1]}
    value = [shared, shared, {"y": shared}]
    assert jsontext.dumps(value) == expected(value)


# --- dumps_placed: members' texts encoded apart, placed at their depth -------------------------


def _placed(value: dict[str, Any], containers: list[tuple[str, ...]]) -> str:
    """dumps_placed of value, each member at containers replaced by its text; the same as
    placing each member's text already at its depth."""
    skeleton = json.loads(json.dumps(value))  # a copy
    at_depth = json.loads(json.dumps(value))
    for path in containers:
        parent, deep = skeleton, at_depth
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
            deep = deep.get(key) if isinstance(deep, dict) else None
        if isinstance(parent, dict) and isinstance(parent.get(path[-1]), dict):
            members = parent[path[-1]]
            parent[path[-1]] = {k: jsontext.dumps(v) for k, v in members.items()}
            depth = len(path) + 1
            deep[path[-1]] = {k: jsontext.indented(t, depth) for k, t in parent[path[-1]].items()}
    text = jsontext.dumps_placed(skeleton, containers)
    assert jsontext.dumps_placed(at_depth, containers, at_depth=True) == text
    assert jsontext.dumps_placed(skeleton, containers, end="\n") == text + "\n"
    return text


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_committed_document_placed(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert _placed(json.loads(text), [("paths",), ("components", "schemas")]) + "\n" == text


json_trees = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=4), json_trees, max_size=3), json_trees)
def test_random_placed(members: dict[str, Any], rest: Any) -> None:
    value = {"a": {"b": members, "c": rest}, "d": members, "e": rest}
    containers = [("a", "b"), ("d",), ("missing",), ("e", "x")]
    assert _placed(value, containers) == expected(value)


def test_a_skeleton_holding_the_member_mark_is_refused() -> None:
    with pytest.raises(ValueError):
        jsontext.dumps_placed({"d": {"x": "1"}, "e": "\x00piece 0"}, [("d",)])


@settings(max_examples=100, deadline=None)
@given(st.lists(json_trees, max_size=4), json_trees)
def test_random_placed_list_members_sorted(items: list[Any], rest: Any) -> None:
    value = {"z": items, "a": rest}
    skeleton = {"z": [jsontext.dumps(i, sort_keys=True) for i in items], "a": rest}
    placed = jsontext.dumps_placed(skeleton, [("z",)], sort_keys=True)
    assert placed == expected(value, sort_keys=True)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_trees, max_size=4), st.integers(0, 3))
def test_the_member_texts_of_an_object_are_its_values_texts(
    value: dict[str, Any], depth: int
) -> None:
    text = jsontext.dumps(value).replace("\n", "\n" + "  " * depth)
    members = jsontext.member_texts(text, depth)
    assert members is not None and list(members) == list(value)
    for key, member in members.items():
        assert member == jsontext.dumps(value[key]).replace("\n", "\n" + "  " * (depth + 1))
        assert json.loads(member) == value[key]


def test_member_texts_only_of_an_object_written_at_that_depth() -> None:
    value = {"x": {"paths": 1}, "paths": {"a": [1, 2]}, "z": None}
    text = jsontext.dumps(value)
    assert jsontext.member_texts(text) == {
        "x": '{\n    "paths": 1\n  }',
        "paths": '{\n    "a": [\n      1,\n      2\n    ]\n  }',
        "z": "null",
    }
    assert jsontext.member_texts(text, 1) is None
    assert jsontext.member_texts(json.dumps(value, indent=1)) is None
    assert jsontext.member_texts(json.dumps(value, indent=4)) is None
    assert jsontext.member_texts(json.dumps(value)) is None
    assert jsontext.member_texts(jsontext.dumps([value])) is None
    assert jsontext.member_texts('{\n  "paths": 1,\n  "paths": 2\n}') is None
    assert jsontext.member_texts('{\n  "a": 1\n  "b": 2\n}') is None


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_component_schema_texts_of_every_committed_document(path: Path) -> None:
    text = path.read_text(encoding="utf-8").removesuffix("\n")
    document = json.loads(text)
    top = jsontext.member_texts(text)
    assert top is not None and json.loads(top["paths"]) == document["paths"]
    components = jsontext.member_texts(top["components"], 1)
    assert components is not None
    schemas = jsontext.member_texts(components["schemas"], 2)
    assert schemas is not None and list(schemas) == list(document["components"]["schemas"])
    for name, schema in schemas.items():
        assert json.loads(schema) == document["components"]["schemas"][name]
