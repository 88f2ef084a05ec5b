"""Strings that match a regular expression, always the same ones: factory values for fields
with a `pattern`. Walks the pattern as Python's own parser sees it; `variant` picks other
characters from classes and other branches, so several variants are usually distinct."""

from __future__ import annotations

import re
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

_CATEGORY_CHARS = {
    C.CATEGORY_DIGIT: "0123456789",
    C.CATEGORY_NOT_DIGIT: "abcdefghij",
    C.CATEGORY_WORD: "abcdefghij0123456789_",
    C.CATEGORY_NOT_WORD: "-.!+ ",
    C.CATEGORY_SPACE: " ",
    C.CATEGORY_NOT_SPACE: "abcdefghij",
}
_ANY = "abcdefghij"


class _Counter:
    """Mixed-radix digits of `variant`, handed out to each choice point in turn."""

    def __init__(self, variant: int) -> None:
        self.rest = variant

    def choose(self, options: int) -> int:
        if options <= 1:
            return 0
        choice = self.rest % options
        self.rest //= options
        return choice


def regex_sample(pattern: str, variant: int = 0) -> str | None:
    """A string that fully matches `pattern`, or None when this sampler cannot make one."""
    try:
        parsed = P.parse(pattern)
        text = _sequence(list(parsed), _Counter(variant), {})
    except (re.error, _Unsupported, RecursionError):
        return None
    return text if re.fullmatch(pattern, text) else None


def regex_samples(pattern: str, count: int) -> list[str]:
    """Up to `count` distinct matching strings (fewer when the pattern allows fewer)."""
    found: dict[str, None] = {}
    for variant in range(count * 8):
        text = regex_sample(pattern, variant)
        if text is not None:
            found.setdefault(text)
        if len(found) == count:
            break
    return list(found)


class _Unsupported(Exception):
    pass


def _sequence(items: list[tuple[Any, Any]], counter: _Counter, groups: dict[int, str]) -> str:
    return "".join(_node(op, av, counter, groups) for op, av in items)


def _node(op: Any, av: Any, counter: _Counter, groups: dict[int, str]) -> str:
    if op is C.LITERAL:
        return chr(av)
    if op is C.NOT_LITERAL:
        return "a" if chr(av) != "a" else "b"
    if op is C.ANY:
        return _ANY[counter.choose(len(_ANY))]
    if op is C.IN:
        chars = _class_chars(av)
        return chars[counter.choose(len(chars))]
    if op is C.BRANCH:
        branches = av[1]
        return _sequence(list(branches[counter.choose(len(branches))]), counter, groups)
    if op is C.SUBPATTERN:
        group, _, _, sub = av
        text = _sequence(list(sub), counter, groups)
        if group is not None:
            groups[group] = text
        return text
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        low, high, sub = av
        extra = 0 if high == low else counter.choose(2)
        times = low + extra if high is C.MAXREPEAT or low + extra <= high else low
        return "".join(_sequence(list(sub), counter, groups) for _ in range(max(times, 0)))
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        return ""
    if op is C.GROUPREF:
        return groups.get(av, "")
    if op is C.CATEGORY:
        return _CATEGORY_CHARS.get(av, "a")[0]
    raise _Unsupported(str(op))


def _class_chars(items: list[tuple[Any, Any]]) -> str:
    if items and items[0][0] is C.NEGATE:
        excluded = set(_class_chars(items[1:]))
        return "".join(c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in excluded)
    chars = []
    for op, av in items:
        if op is C.LITERAL:
            chars.append(chr(av))
        elif op is C.RANGE:
            low, high = av
            chars.extend(chr(c) for c in range(low, min(high, low + 25) + 1))
        elif op is C.CATEGORY:
            chars.extend(_CATEGORY_CHARS.get(av, "a"))
    if not chars:
        raise _Unsupported("empty class")
    return "".join(dict.fromkeys(chars))
