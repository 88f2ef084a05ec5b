"""The one way spec values reach generated code: as Python literals, docstrings or comments.

Every function returns text that parses back to exactly the input (literals, docstrings) or that
cannot end or escape its comment line (comments). Tested with hypothesis in tests/test_literals.py.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any


def py_literal(value: Any) -> str:
    """Python source for a JSON-like value; round-trips through `eval` exactly."""
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, Decimal):
        return f"Decimal({str(value)!r})"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        items = ", ".join(py_literal(v) for v in value)
        return (
            f"[{items}]"
            if isinstance(value, list)
            else f"({items}{',' if len(value) == 1 else ''})"
        )
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for {type(value).__name__}")


def _string(value: str) -> str:
    """repr() with double quotes (the formatter's style) and every non-printable escaped."""
    text = repr(value)
    if text.startswith("'") and '"' not in value:
        text = '"' + text[1:-1].replace("\\'", "'") + '"'
    return text


def py_string_wrapped(value: str, indent: int, width: int = 100) -> str:
    """A string literal that fits the line: long text becomes adjacent literals in parentheses
    (split between words, each piece a py_literal, so the value is unchanged)."""
    single = py_literal(value)
    if indent + len(single) + 1 <= width:
        return single
    pieces: list[str] = []
    current = ""
    for word in value.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and indent + 4 + len(py_literal(candidate + " ")) > width:
            pieces.append(current + " ")
            current = word
        else:
            current = candidate
    pieces.append(current)
    inner = "\n".join(" " * (indent + 4) + py_literal(p) for p in pieces)
    return "(\n" + inner + "\n" + " " * indent + ")"


def docstring_text(text: str) -> str:
    """Text safe inside a triple-double-quoted docstring: no closing quotes, no escapes."""
    body = _escape_nonprintable(" ".join(text.split()))
    body = body.replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body += " "
    return body


def docstring_wrapped(text: str, indent: int = 4, width: int = 100) -> str:
    """docstring_text, wrapped to fit `width` when it starts `indent` columns in (after quotes)."""
    import textwrap

    body = docstring_text(text)
    if len(body) <= width - indent - 6:  # one line (textwrap's answer, without its work)
        return body
    lines = textwrap.wrap(
        body, width=width - indent - 6, break_long_words=False, break_on_hyphens=False
    )
    if len(lines) <= 1:
        return body
    return ("\n" + " " * indent).join(lines) + "\n" + " " * indent


def comment_text(text: str) -> str:
    """One line of comment text: whitespace folded, nothing that ends a line survives."""
    return _escape_nonprintable(" ".join(text.split()))


def _escape_nonprintable(text: str) -> str:
    if text.isprintable() and "\\" not in text:  # most text: nothing to escape
        return text
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)
