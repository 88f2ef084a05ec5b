"""Tests emitter: factories that build valid bodies from the spec's constraints, and one test
module per entity that drives its routes over HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator import ir
from generator.compile import naming
from generator.emit.base import RenderedFile, header, render
from generator.emit.entity_context import module_name
from generator.emit.imports import Import, render_imports
from generator.emit.literals import py_literal
from generator.emit.regex_sample import regex_samples
from generator.emit.schemas import includable, sort_fields, writable_fields, writable_relations

SAMPLES = 24


@dataclass(frozen=True)
class FactoryField:
    """One body key and the Python expression (over `number`) of a valid value for it."""

    key: str
    expression: str


def value_expression(f: ir.Field, project: ir.Project) -> str:
    """An expression giving a valid, fresh value of field f for call number `number`."""
    kind = f.type.kind
    if f.pattern and kind in ("string", "text", "slug", "email", "url", "password"):
        samples = _fitting(tuple(regex_samples(f.pattern, SAMPLES)), f)
        if samples:
            return f"pick({py_literal(list(samples))}, number)"
    low = f.min_length or 0
    high = f.max_length or f.type.max_length or 255
    simple = {
        "string": f"text({py_literal(f.name)}, number, {low}, {high})",
        "text": f"text({py_literal(f.name)}, number, {low}, {high})",
        "password": f"text('secret-password', number, {max(low, 12)}, {min(high, 1024)})",
        "email": 'f"user{number}@example.com"',
        "url": 'f"https://example.com/{number}"',
        "slug": f"slug({py_literal(naming.kebab(f.name))}, number, {high})",
        "boolean": "number % 2 == 0",
        "date": 'f"2024-01-{number % 28 + 1:02d}"',
        "datetime": 'f"2024-01-{number % 28 + 1:02d}T12:00:00+00:00"',
        "time": 'f"{number % 24:02d}:30:00"',
        "uuid": 'f"00000000-0000-4000-8000-{number:012d}"',
        "json": '{"number": number}',
    }
    if kind in simple:
        return simple[kind]
    if kind in ("integer", "bigint", "float", "decimal"):
        return _number(f)
    if kind == "enum":
        enum = next(e for e in project.enums if e.name == f.type.enum)
        return f"pick({py_literal(list(enum.values))}, number)"
    if kind == "list" and f.item is not None:
        count = max(f.min_items or 0, 1)
        if f.max_items is not None:
            count = min(count, f.max_items)
        item = value_expression(f.item, project)
        return f"[{item} for _ in range({count})]"
    if kind == "object":
        pairs = ", ".join(
            f"{py_literal(s.name)}: {value_expression(s, project)}" for s in f.subfields
        )
        return "{" + pairs + "}"
    return "None"


def _fitting(samples: tuple[str, ...], f: ir.Field) -> tuple[str, ...]:
    high = f.max_length or f.type.max_length or 10**9
    return tuple(s for s in samples if (f.min_length or 0) <= len(s) <= high) or samples


def _number(f: ir.Field) -> str:
    low = f.min if f.min is not None else 0
    high = f.max if f.max is not None else None
    if f.type.kind in ("integer", "bigint"):
        span = int(high - low) + 1 if high is not None else 1_000_000
        return f"{int(low) if float(low).is_integer() else int(low) + 1} + number % {max(span, 1)}"
    top = high if high is not None else low + 1000
    middle = low + (top - low) / 2
    if f.type.kind == "decimal":
        scale = f.type.scale or 0
        return py_literal(f"{middle:.{scale}f}")
    return py_literal(float(middle))


def emit(project: ir.Project) -> list[RenderedFile]:
    """tests/factories.py and tests/test_<plural>.py for every entity with routes."""
    package = project.api.name
    entities = [e for e in project.entities if creatable(project, e)]
    files = [
        RenderedFile(
            f"{package}/tests/factories.py",
            render(
                "tests/factories.py.j2",
                header=header(project),
                package=package,
                factories=[_factory(project, e) for e in entities],
            ),
        )
    ]
    for e in entities:
        if "read" in e.crud:
            files.append(
                RenderedFile(
                    f"{package}/tests/test_{naming.py_attr(e.plural)}.py", _test_module(project, e)
                )
            )
    return files


def creatable(project: ir.Project, entity: ir.Entity, seen: frozenset[str] = frozenset()) -> bool:
    """True when a row, and every row it requires, can be created through the API."""
    if entity.synthesized_from or "create" not in entity.crud or entity.name in seen:
        return False
    return all(
        r.target == entity.name
        or creatable(project, project.entity(r.target), seen | {entity.name})
        for r in writable_relations(entity)
        if r.column and r.required
    )


def _factory(project: ir.Project, entity: ir.Entity) -> dict[str, object]:
    fields = [
        FactoryField(f.name, value_expression(f, project))
        for f in writable_fields(entity)
        if not f.nullable or f.default is None
    ]
    parents = []
    for r in writable_relations(entity):
        if r.column and r.required and r.target != entity.name:
            target = project.entity(r.target)
            parents.append({"key": r.wire_name, "create": f"create_{module_name(target)}"})
    return {
        "name": module_name(entity),
        "path": entity.path,
        "fields": fields,
        "uses_number": any("number" in f.expression for f in fields),
        "parents": parents,
        "constant": naming.py_attr(entity.plural).upper(),
    }


def _dependency_checks(project: ir.Project, entity: ir.Entity) -> list[dict[str, Any]]:
    """For each declared dependency with a text dependent: the keys that select its row, and
    a different value for that dependent."""
    checks = []
    fields = {f.name: f for f in entity.fields}
    wire = {r.name: r.wire_name for r in entity.relations}
    for link in entity.dependencies:
        dependent = next(
            (
                fields[n]
                for n in link.dependents
                if n in fields
                and fields[n].type.kind in ("string", "text")
                and not fields[n].pattern
            ),
            None,
        )
        if dependent is None:
            continue
        length = dependent.max_length or dependent.type.max_length or 255
        checks.append(
            {
                "name": link.entity,
                "fd": link.fd,
                "dependent": dependent.name,
                "selectors": [wire.get(n, n) for n in link.determinant],
                "other": py_literal("zz-other"[: max(length, 1)]),
            }
        )
    return checks


def _test_module(project: ir.Project, entity: ir.Entity) -> str:
    name = module_name(entity)
    writable = writable_fields(entity)
    tweakable = next(
        (
            f
            for f in writable
            if f.type.kind in ("string", "text")
            and not f.pattern
            and not f.immutable
            and not f.unique
        ),
        None,
    )
    too_long = [
        f for f in writable if f.type.kind in ("string", "email", "slug", "url") and not f.pattern
    ]
    constant = naming.py_attr(entity.plural).upper()
    action_code = " ".join(
        value_expression(f, project)
        for a in entity.actions
        if "{id}" in a.path and a.response == entity.name and a.method != "GET"
        for f in a.request or ()
    )
    helpers = {
        Import("tests.factories", helper)
        for helper in ("text", "slug", "pick")
        if f"{helper}(" in action_code
    }
    imports = render_imports(
        helpers
        | {
            Import("typing", "Any"),
            Import("httpx", "AsyncClient"),
            Import("tests.factories", constant),
            Import("tests.factories", f"create_{name}"),
            Import("tests.factories", f"{name}_body"),
        }
        | (
            {Import("tests.factories", "count_statements")}
            if includable(project, entity) and "list" in entity.crud
            else set()
        ),
        project.api.name,
    )
    return render(
        "tests/test_entity.py.j2",
        imports=imports,
        header=header(project),
        e=entity,
        name=name,
        constant=constant,
        crud=entity.crud,
        tweak=tweakable,
        moving=sorted(
            {
                "updated_at",
                "version",
                *(f.name for f in entity.fields if f.on_update_now),
                *([tweakable.name] if tweakable else []),
            }
        ),
        too_long=too_long[0] if too_long else None,
        too_long_length=(too_long[0].type.max_length or 255) + 1 if too_long else 0,
        below_min=next(
            (f for f in writable if f.min is not None and f.type.kind in ("integer", "bigint")),
            None,
        ),
        bad_enum=next((f for f in writable if f.type.kind == "enum"), None),
        unique=next(
            (
                f
                for f in writable
                if f.unique
                and f.storage == "column"
                and not f.write_only
                and f.type.kind != "password"
            ),
            None,
        ),
        sortable=sort_fields(entity, project.api.timestamps),
        searchable=next(
            (
                f
                for f in writable
                if f.searchable and f.type.kind in ("string", "text") and not f.pattern
            ),
            None,
        ),
        server_set=["id"] + (["created_at"] if project.api.timestamps else []),
        dependency_checks=_dependency_checks(project, entity),
        row_actions=[
            {
                "name": a.name,
                "path": a.path,
                "method": a.method,
                "body": [
                    (f.name, value_expression(f, project).replace("number", "1"))
                    for f in a.request or ()
                    if not f.nullable or f.default is None
                ],
            }
            for a in entity.actions
            if "{id}" in a.path and a.response == entity.name and a.method != "GET"
        ],
        copies=[
            f
            for f in entity.fields
            if (
                f.storage == "derived"
                and f.derived_from
                and any(r.name == f.derived_from[0] for r in entity.relations)
            )
            or f.denormalized_reason
        ],
        include=[r.name for r in includable(project, entity)],
        embedded_to_one=[r for r in includable(project, entity) if r.column and r.required],
        uuid_ids=project.api.id_type == "uuid",
        plural_words=entity.plural.replace("_", " "),
        _re=re,
    )
