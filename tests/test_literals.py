"""The literal emitter: whatever a spec holds, generated code parses and reads it back exactly."""

from __future__ import annotations

import ast
import math
import textwrap
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.emit.literals import comment_text, docstring_text, docstring_wrapped, py_literal

NASTY = st.sampled_from(
    [
        '"',
        "'",
        '"""',
        "\\",
        "{}",
        "%s",
        "\x00",
        "\n",
        "\r",
        "\u2028",
        "\u2029",
        "class",
        "match",
        "__init__",
        "ﬁ",
        "\ufeff",
        "\t",
        "\x1b",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=8), NASTY), max_size=8).map("".join)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(JSONISH)
def test_py_literal_round_trips_every_json_value(value: object) -> None:
    """eval(py_literal(v)) == v for strings with quotes, NUL, CR, U+2028, nan, inf, nesting."""
    source = py_literal(value)
    ast.parse(source, mode="eval")
    assert _same(eval(source, {"float": float}), value)


def test_decimal_literal() -> None:
    assert py_literal(Decimal("10.50")) == "Decimal('10.50')"


@given(TEXT)
def test_docstring_text_cannot_close_or_escape_its_docstring(text: str) -> None:
    """A docstring built from any text parses, and reads back as the text, whitespace folded."""
    source = f'def f():\n    """{docstring_text(text)}"""\n'
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    doc = ast.get_docstring(function, clean=False)
    assert doc is not None
    assert doc.rstrip(" ") == " ".join(text.split()).rstrip(" ")


@given(TEXT)
def test_comment_text_stays_on_one_comment_line(text: str) -> None:
    """A comment made from any text is one line: the next line of code still runs."""
    source = f"# {comment_text(text)}\nx = 1\n"
    tree = ast.parse(source)
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Assign)
    assert len(source.splitlines()) == 2


@given(TEXT, st.integers(min_value=0, max_value=40))
def test_wrapped_string_literal_keeps_its_value_and_fits_the_line(text: str, indent: int) -> None:
    """Long strings become adjacent literals: same value, and lines fit when words allow."""
    from generator.emit.literals import py_string_wrapped

    source = py_string_wrapped(text, indent)
    assert eval(source) == text


def test_a_docstring_that_fits_one_line_is_not_wrapped_by_textwrap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """textwrap's answer for text no longer than the width, without its work (thousands of
    docstrings per build)."""
    monkeypatch.setattr(textwrap, "wrap", lambda *a, **k: pytest.fail("textwrap called"))
    assert docstring_wrapped("A post as the API returns it.") == "A post as the API returns it."
    assert docstring_wrapped('ends with "x"', indent=0, width=20) == 'ends with "x" '


@given(st.text(max_size=120), st.integers(0, 20))
def test_wrapped_docstrings_are_textwraps(text: str, indent: int) -> None:
    body = docstring_text(text)
    lines = textwrap.wrap(
        body, width=100 - indent - 6, break_long_words=False, break_on_hyphens=False
    )
    expected = body if len(lines) <= 1 else ("\n" + " " * indent).join(lines) + "\n" + " " * indent
    assert docstring_wrapped(text, indent) == expected
