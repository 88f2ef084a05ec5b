"""Imports as data: collected while a module is built, printed sorted as ruff's isort would."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Import:
    """`from module import name` (or `import module` when name is None)."""

    module: str
    name: str | None = None
    alias: str | None = None


def _section(module: str, first_party: frozenset[str]) -> int:
    top = module.split(".")[0]
    if top == "__future__":
        return 0
    if top in sys.stdlib_module_names:
        return 1
    if top in first_party:
        return 3
    return 2


def _member_key(name: str) -> tuple[int, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then functions and variables."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def render_imports(imports: Iterable[Import], package: str) -> str:
    """The import block: sections separated by a blank line, `import x` before `from x`.

    The generated package and its `tests` package are first-party, as ruff sees them from
    the project's root.
    """
    first_party = frozenset({package, "tests"})
    plain: dict[int, set[str]] = defaultdict(set)
    members: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    aliased: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for imp in imports:
        section = _section(imp.module, first_party)
        if imp.name is None:
            plain[section].add(imp.module)
        elif imp.alias:
            aliased[section].add((imp.module, f"{imp.name} as {imp.alias}"))
        else:
            members[section][imp.module].add(imp.name)
    blocks = []
    for section in sorted(set(plain) | set(members) | set(aliased)):
        lines = [f"import {m}" for m in sorted(plain[section], key=str.lower)]
        froms = [
            (
                module.lower(),
                0,
                f"from {module} import "
                + ", ".join(sorted(members[section][module], key=_member_key)),
            )
            for module in members[section]
        ]
        froms += [
            (module.lower(), 1, f"from {module} import {what}") for module, what in aliased[section]
        ]
        lines += [line for _, _, line in sorted(froms)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
