"""`json.dumps(value, indent=2)`, the same bytes, many times faster.

With `indent` set, the standard library encodes with its pure-Python encoder: a generator per
container and one `yield` per token (about 0.2 s of CPU for the 6 MB openapi.json of 200
entities). `dumps` has orjson write the text (0.004 s for that document, against 0.1 s for this
module's encoder below), then checks that it is json's (`_orjson_text`: the checks cost about
twice orjson's time). Where it may not be, this module's encoder writes it: one walk of the
tree, appending to one list, strings escaped by the C function the standard encoder uses. That
one handles what the build's documents hold (dict with str keys, list, tuple, str, int, float,
bool, None, and their subclasses); anything else (another key type, an object `json` would
reject, a cycle) is handed to `json.dumps`, so the result, or the error, is always the standard
library's.
"""

from __future__ import annotations

import json
import marshal
import re
from collections.abc import Iterable
from json.decoder import scanstring  # type: ignore[attr-defined]
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

import orjson

INDENT = "  "


class _Unsupported(Exception):
    """A value this encoder leaves to `json.dumps`."""


def dumps(value: Any, *, sort_keys: bool = False, ensure_ascii: bool = True) -> str:
    """Exactly `json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=ensure_ascii)`."""
    text = _orjson_text(value, sort_keys, ensure_ascii)
    return text if text is not None else _python_text(value, sort_keys, ensure_ascii)


#: The end of a value's line (a value's last token ends its line; strings hold no line break).
_LINE_END = rb"(?=,?\n|\Z)"
#: Where orjson's numbers and json's may differ: orjson writes NaN and the infinities as null,
#: and floats below 1e-4 as `0.00001` or `1e-7` (json: `1e-05`, `1e-07`). Each has a literal
#: start, so that `re` searches it as fast as `bytes.find`.
_NULL = re.compile(rb"null" + _LINE_END)
_NEGATIVE_EXPONENT = re.compile(rb"e-[0-9]+" + _LINE_END)
_TINY_DECIMAL = re.compile(rb"0\.0000[0-9]*" + _LINE_END)
#: orjson's options, without and with sort_keys (orjson sorts by code point, as Python does).
_OPTIONS = (orjson.OPT_INDENT_2, orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
#: What json escapes with ensure_ascii and orjson writes as it is (only inside strings).
_NOT_ASCII = re.compile("[\x7f-\U0010ffff]+")


def _orjson_text(value: Any, sort_keys: bool, ensure_ascii: bool) -> str | None:
    """orjson's text of value when it is json's, else None (value is left to `_python_text`)."""
    try:
        # marshal writes exact built-in types alone: a walk in C that refuses what orjson writes
        # and json does not, or otherwise (Enum members, UUIDs, dataclasses, subclasses).
        marshal.dumps(value)
        data = orjson.dumps(value, option=_OPTIONS[sort_keys])
    except (ValueError, TypeError):  # orjson's errors: big ints, other keys, surrogates, depth
        return None
    if _NEGATIVE_EXPONENT.search(data) or _TINY_DECIMAL.search(data):
        return None
    if _NULL.search(data) and orjson.loads(data) != value:  # a NaN or an infinity was null
        return None
    if not ensure_ascii or (data.isascii() and b"\x7f" not in data):
        return data.decode()
    return _NOT_ASCII.sub(_ascii_escapes, data.decode())


def _ascii_escapes(match: re.Match[str]) -> str:
    return encode_basestring_ascii(match.group())[1:-1]


def _python_text(value: Any, sort_keys: bool, ensure_ascii: bool) -> str:
    """`dumps` by this module's encoder, or by json's for what that one leaves to it."""
    escape = encode_basestring_ascii if ensure_ascii else encode_basestring
    out: list[str] = []
    try:
        _encode(value, "\n", out, escape, sort_keys, set())
    except (_Unsupported, RecursionError):
        return json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    return "".join(out)


def _scalar(value: Any, escape: Any) -> str | None:
    """The text of a scalar as `json` writes it, None for a container."""
    if isinstance(value, str):
        return str(escape(value))
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unsupported  # NaN and the infinities: json's own spelling, by json
        return float.__repr__(value)
    if isinstance(value, list | tuple | dict):
        return None
    raise _Unsupported


def _encode(
    value: Any, newline: str, out: list[str], escape: Any, sort_keys: bool, open_ids: set[int]
) -> None:
    text = _scalar(value, escape)
    if text is not None:
        out.append(text)
        return
    if not value:
        out.append("{}" if isinstance(value, dict) else "[]")
        return
    if id(value) in open_ids:
        raise _Unsupported  # a cycle: json raises its own ValueError
    open_ids.add(id(value))
    inner = newline + INDENT
    separator = "," + inner
    append = out.append
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
        if sort_keys:
            if not all(isinstance(k, str) for k in value):
                raise _Unsupported
            items = sorted(items)
        append("{" + inner)
        first = True
        for key, item in items:
            if not isinstance(key, str):
                raise _Unsupported
            if first:
                first = False
            else:
                append(separator)
            kind = type(item)
            # The frequent exact types inline; the rest (containers, subclasses) by _encode.
            if kind is str:
                append(escape(key) + ": " + escape(item))
            elif kind is bool:
                append(escape(key) + (": true" if item else ": false"))
            elif kind is int:
                append(escape(key) + ": " + int.__repr__(item))
            else:
                append(escape(key) + ": ")
                _encode(item, inner, out, escape, sort_keys, open_ids)
        append(newline + "}")
    else:
        append("[" + inner)
        first = True
        for item in value:
            if first:
                first = False
            else:
                append(separator)
            if type(item) is str:
                append(escape(item))
            else:
                _encode(item, inner, out, escape, sort_keys, open_ids)
        append(newline + "]")
    open_ids.discard(id(value))


#: Stands for a member's text in the skeleton's text (`"\u0000piece 12"`).
_PIECE_MARK = "\x00piece "
_PIECE_MARKS = re.compile(rf'"{re.escape(encode_basestring_ascii(_PIECE_MARK)[1:-1])}(\d+)"')


def indented(text: str, depth: int) -> str:
    """The text of a value at depth 0 as it reads `depth` deep in a document: every line break
    followed by 2 * depth more spaces."""
    return text.replace("\n", "\n" + INDENT * depth)


def dumps_placed(
    skeleton: dict[str, Any],
    containers: Iterable[tuple[str, ...]],
    *,
    sort_keys: bool = False,
    at_depth: bool = False,
    end: str = "",
) -> str:
    """`dumps` (indent 2, ASCII) of skeleton, where each member of the dicts or lists at
    `containers` (key paths from the top) is already the text of its value at depth 0
    (`dumps(member, sort_keys=sort_keys)`), placed `indented` at its depth; with `at_depth`,
    each member's text is that already (`indented(text, len(container) + 1)`), placed as is.
    `end` follows the text (no copy of a large text to add a line break). Raises ValueError
    when skeleton's own text holds what marks a member."""
    skeleton = dict(skeleton)
    placed: list[tuple[int, str]] = []

    def mark(text: str) -> str:
        placed.append((len(path) + 1, text))
        return f"{_PIECE_MARK}{len(placed) - 1}"

    for path in containers:
        parent: dict[str, Any] = skeleton
        for key in path[:-1]:
            if not isinstance(parent.get(key), dict):
                break
            parent[key] = dict(parent[key])
            parent = parent[key]
        else:
            members = parent.get(path[-1])
            if isinstance(members, dict):
                parent[path[-1]] = {name: mark(text) for name, text in members.items()}
            elif isinstance(members, list):
                parent[path[-1]] = [mark(text) for text in members]
    text = dumps(skeleton, sort_keys=sort_keys)
    if len(_PIECE_MARKS.findall(text)) != len(placed):
        raise ValueError("the skeleton holds a member mark of its own")

    def member(match: re.Match[str]) -> str:
        depth, member_text = placed[int(match.group(1))]
        return member_text if at_depth else indented(member_text, depth)

    return _PIECE_MARKS.sub(member, text + end)


def member_texts(text: str, depth: int = 0) -> dict[str, str] | None:
    """The members of the object `text`, written with indent 2 at `depth` (as `dumps` writes
    a value that deep: `dumps(value).replace("\n", "\n" + "  " * depth)`): each key and the
    text of its value, which `json.loads` reads back. None when text is not such an object or
    holds a key twice. Two members with equal texts at one depth have equal values."""
    if text == "{}":
        return {}
    indent = "\n" + INDENT * (depth + 1)
    closing = "\n" + INDENT * depth + "}"
    if not (text.startswith("{" + indent + '"') and text.endswith(closing)):
        return None
    # Strings hold no line break and deeper lines are indented more: each line at this indent
    # that starts with a quote starts a member. (Positions, not slices: no copy of the text.)
    separator = indent + '"'
    stop = len(text) - len(closing)
    members: dict[str, str] = {}
    start = len(separator) + 1  # after the first key's quote
    while True:
        try:
            key, end = scanstring(text, start)
        except ValueError:
            return None
        if key in members or text[end : end + 2] != ": ":
            return None
        following = text.find(separator, end, stop)
        if following < 0:
            members[key] = text[end + 2 : stop]
            return None if members[key].endswith(",") else members
        if text[following - 1] != ",":
            return None
        members[key] = text[end + 2 : following - 1]
        start = following + len(separator)
