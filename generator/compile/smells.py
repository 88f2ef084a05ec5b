"""Design smells: located warnings with a suggested fix; the build goes on."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from generator import ir
from generator.compile import naming
from generator.diagnostics import Diagnostic

_NUMBERED = re.compile(r"^(?P<stem>[a-z][a-z0-9_]*?)_?(?P<number>\d+)$")


def find_smells(project: ir.Project) -> list[Diagnostic]:
    """Every smell in the project's declared entities."""
    found: list[Diagnostic] = []
    for entity in project.entities:
        if entity.synthesized_from:
            continue
        found += repeating_groups(entity)
        found += relation_values(project, entity)
    return found


def repeating_groups(entity: ir.Entity) -> Iterator[Diagnostic]:
    """`phone1, phone2` or `address_line_1, address_line_2`: a list in disguise."""
    groups: dict[str, list[ir.Field]] = defaultdict(list)
    for f in entity.fields:
        match = _NUMBERED.match(f.name)
        if match:
            groups[match["stem"].rstrip("_")].append(f)
    for stem, fields in sorted(groups.items()):
        if len(fields) < 2:
            continue
        names = ", ".join(f"`{f.name}`" for f in fields)
        plural = naming.pluralize(stem)
        yield Diagnostic(
            "warning",
            "W501",
            f"entity `{entity.name}`: fields {names} look like a repeating group "
            "(a first-normal-form violation)",
            fields[0].span,
            f"use one list field: `{plural}: {{type: list, of: {fields[0].type.kind}, "
            f"max_items: {len(fields)}}}`",
        )


def relation_values(project: ir.Project, entity: ir.Entity) -> Iterator[Diagnostic]:
    """`author_name` beside `author`, when `author`'s target has no `name` to copy."""
    for f in entity.fields:
        if f.storage != "column" or f.type.kind not in ("string", "text", "email"):
            continue
        for r in entity.relations:
            if r.kind not in ("many_to_one", "one_to_one") or not f.name.startswith(r.name + "_"):
                continue
            suffix = f.name[len(r.name) + 1 :]
            if suffix in ("id", "ids"):
                continue
            yield Diagnostic(
                "warning",
                "W502",
                f"field `{entity.name}.{f.name}` looks like a value of the related "
                f"`{r.target}` (through `{r.name}`), stored again here",
                f.span,
                f"read it through the relation (`?include={r.name}`), or add `{suffix}` to "
                f"`{r.target}` so gen reads it through `{r.name}` (normalization rule 4)",
            )
