"""Tests emitter: factories that build valid bodies from the spec's constraints, and one test
module per entity that drives its routes over HTTP."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, cast

from generator import ir
from generator.compile import naming
from generator.compile.normalize import carried_tenant_key
from generator.emit.base import RenderedFile, header, render
from generator.emit.entity_context import entity_context, module_name
from generator.emit.imports import Import, render_imports
from generator.emit.literals import docstring_wrapped, py_literal
from generator.emit.policy import (
    acting_role,
    can_create,
    creator_role,
    entity_policy,
    scope,
    writer_role,
)
from generator.emit.regex_sample import regex_samples
from generator.emit.schemas import (
    filter_operators,
    includable,
    input_relations,
    list_filters,
    owner_relation,
    sort_fields,
    writable_fields,
)
from generator.emit.tenancy import (
    tenant_entity,
    tenant_path,
    tenant_relation,
    user_tenant_relation,
)
from generator.emit.units import entity_files
from generator.format import ModuleParts
from generator.incremental import BuildCache

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


def emit(project: ir.Project, cache: BuildCache | None = None) -> list[RenderedFile]:
    """tests/factories.py and tests/test_<plural>.py for every entity with routes."""
    package = project.api.name
    entities = [e for e in project.entities if creatable(project, e)]
    factories = [_cached_factory(cache, project, e) for e in entities]
    files = [
        RenderedFile(
            f"{package}/tests/factories.py",
            _in_parts(
                render(
                    "tests/factories.py.j2",
                    header=header(project),
                    package=package,
                    auth=project.auth is not None,
                    factories=factories,
                    tenant_fields=tenant_factory_fields(project),
                ),
                [str(f["name"]) for f in factories],
            ),
        ),
        RenderedFile(
            f"{package}/tests/filtering.py",
            render("tests/filtering.py.j2", header=header(project)),
        ),
    ]
    for e in entities:
        files += entity_files(cache, project, "tests", e, entity_tests)
    tenant = tenant_entity(project)
    if tenant is not None and user_tenant_relation(project) and "list" in tenant.crud:
        files.append(
            RenderedFile(
                f"{package}/tests/test_{naming.py_attr(tenant.plural)}_tenancy.py",
                _tenant_module(project, tenant),
            )
        )
    return files


def entity_tests(project: ir.Project, e: ir.Entity) -> list[RenderedFile]:
    """tests/test_<plural>.py, and its access and tenancy tests, of one entity with routes."""
    package = project.api.name
    files = []
    if "read" in e.crud:
        files.append(
            RenderedFile(
                f"{package}/tests/test_{naming.py_attr(e.plural)}.py", _test_module(project, e)
            )
        )
    if project.auth is not None:
        files.append(
            RenderedFile(
                f"{package}/tests/test_{naming.py_attr(e.plural)}_access.py",
                _access_module(project, e),
            )
        )
    if "read" in e.crud and tenant_path(project, e) is not None:
        files.append(
            RenderedFile(
                f"{package}/tests/test_{naming.py_attr(e.plural)}_tenancy.py",
                _tenancy_module(project, e),
            )
        )
    return files


def _filter_imports(cases: list[tuple[str, str, str, str]]) -> set[Import]:
    if not cases:
        return set()
    names = ["matches", "wire"] + (["SAMPLES"] if any("SAMPLES" in c[3] for c in cases) else [])
    return {Import("pytest"), Import("typing", "Any")} | {
        Import("tests.filtering", name) for name in names
    }


def filter_cases(project: ir.Project, entity: ir.Entity) -> list[tuple[str, str, str, str]]:
    """(field, operator, kind, sample literal) for every list filter of the entity: the
    generated test filters by a created row's value, or by the sample when none has one."""
    cases = []
    for name, kind in list_filters(entity, project.api.timestamps):
        f = next((f for f in entity.fields if f.name == name), None)
        values = _enum_values(project, f) if f is not None and kind == "enum" else ()
        sample = py_literal(values[0]) if values else f"SAMPLES.get({py_literal(kind)})"
        cases += [(name, op, kind, sample) for op in filter_operators(kind)]
    return cases


def _tenant_module(project: ir.Project, tenant: ir.Entity) -> str:
    """tests/test_<tenant plural>_tenancy.py: each caller sees only its own tenant row."""
    imports = {Import("tests.conftest", "Actors"), Import("tests.conftest", "Users")}
    imports.add(Import(f"{project.api.name}.routes", "BASE_PATH"))
    if tenant.versioned:
        imports.add(Import("tests.factories", "if_match"))
    return render(
        "tests/test_tenant.py.j2",
        header=header(project),
        imports=render_imports(imports, project.api.name),
        tenant=tenant.name.replace("_", " "),
        tenant_var=naming.py_attr(tenant.name),
        constant=naming.py_attr(tenant.plural).upper(),
        path=tenant.path,
        crud=tenant.crud,
        versioned=tenant.versioned,
        top=top_role(project),
        uuid_ids=project.api.id_type == "uuid",
    )


def top_role(project: ir.Project) -> str:
    """The role that inherits the most: the generated tenancy tests act as it."""
    return max(project.roles, key=lambda r: (len(r.closure), r.name)).name


def _tenancy_module(project: ir.Project, entity: ir.Entity) -> str:
    """tests/test_<plural>_tenancy.py: another tenant's users against this tenant's rows."""
    tenant = tenant_entity(project)
    assert tenant is not None
    name = module_name(entity)
    constant = naming.py_attr(entity.plural).upper()
    own_key = tenant_relation(project, entity)
    parents = [
        {"key": r.wire_name, "target": module_name(project.entity(r.target))}
        for r in required_parents(project, entity)
        if r.target != entity.name and tenant_path(project, project.entity(r.target))
    ]
    searchable = [f.name for f in entity.fields if f.searchable and f.storage == "column"]
    unique = [
        f.name
        for f in writable_fields(entity)
        if f.unique
        and f.storage == "column"
        and own_key is not None
        and not (
            project.auth
            and entity.name == project.auth.user_entity
            and f.name == project.auth.username_field
        )
    ]
    actions: list[dict[str, Any]] = [
        {
            "method": a.method.lower(),
            "path": a.path.removeprefix("/{id}"),
            "body": None
            if a.request is None
            else [
                (f.name, value_expression(f, project).replace("number", "1"))
                for f in a.request
                if not f.nullable or f.default is None
            ],
        }
        for a in entity.actions
        if a.path.startswith("/{id}") and a.method in ("POST", "PUT", "PATCH", "DELETE")
    ]
    code = " ".join(value for a in actions for _, value in a["body"] or ())
    helpers = {constant, f"create_{name}", f"{name}_body"}
    helpers |= {h for h in ("text", "slug", "pick") if f"{h}(" in code}
    helpers |= {f"create_{p['target']}" for p in parents}
    if entity.versioned:
        helpers.add("if_match")
    imports = {Import("tests.factories", h) for h in helpers}
    imports |= {Import("tests.conftest", "Actors"), Import("tests.conftest", "Users")}
    dependencies = _tenant_dependency_checks(project, entity)
    if dependencies:
        imports.add(Import(f"{project.api.name}.routes", "BASE_PATH"))
    return render(
        "tests/test_tenancy.py.j2",
        header=header(project),
        imports=render_imports(imports, project.api.name),
        entity=entity.name,
        tenant=tenant.name.replace("_", " "),
        tenant_var=naming.py_attr(tenant.name),
        name=name,
        constant=constant,
        crud=entity.crud,
        versioned=entity.versioned,
        top=top_role(project),
        creator=creator(project, entity),
        limit=project.api.max_limit,
        search=searchable[0] if searchable else None,
        includes=",".join(r.name for r in includable(project, entity)),
        uuid_ids=project.api.id_type == "uuid",
        parents=parents,
        # A carried key (storage only) is refused like any unknown key: no test of its own.
        tenant_key=own_key.wire_name
        if own_key and own_key is not carried_tenant_key(entity, project.api)
        else None,
        soft_delete=entity.soft_delete and "delete" in entity.crud,
        actions=actions,
        unique=unique,
        dependencies=dependencies,
    )


def _tenant_dependency_checks(project: ir.Project, entity: ir.Entity) -> list[dict[str, Any]]:
    """The rows split out of the entity by its declared dependencies, which belong to one
    tenant each: where they are listed, and whether the determinant is plain fields (so
    another tenant can send the same one)."""
    fields = {f.name for f in entity.fields}
    checks = {c["name"]: c for c in _dependency_checks(project, entity)}
    found = []
    for link in entity.dependencies:
        target = project.entity(link.entity)
        if "list" not in target.crud:
            continue
        check = checks.get(link.entity)
        shared = check if check and set(link.determinant) <= fields else None
        tenant = (project.api.tenant_entity or "").replace("_", " ")
        sent = (
            f"another {tenant} may send the same {', '.join(shared['selectors'])} with another "
            f"`{shared['dependent']}`, kept in a row of its own, and neither"
            if shared
            else "each one's rows are its own: neither"
        )
        found.append(
            {
                "name": link.entity,
                "url": target.path,
                "check": shared,
                "doc": docstring_wrapped(
                    f"`{link.fd}` holds within one {tenant}: {sent} lists the other's rows."
                ),
            }
        )
    return found


def tenant_factory_fields(project: ir.Project) -> list[FactoryField] | None:
    """The fields of a new tenant row the tests' users belong to; None without tenancy."""
    tenant = tenant_entity(project)
    if tenant is None or user_tenant_relation(project) is None:
        return None
    return [
        FactoryField(f.name, value_expression(f, project))
        for f in tenant.fields
        if f.storage == "column" and not f.read_only and not f.nullable and f.default is None
    ]


# Longer strings would trip the generated suite's body cap (413) before the validator (422).
LONGEST_TESTED_STRING = 16_000
_TEXT_KINDS = ("string", "text", "email", "url", "slug", "password")
_NUMBER_KINDS = ("integer", "bigint", "float", "decimal")
# A value of the kind's format that its validator must refuse.
_MALFORMED = {"email": "not-an-email", "url": "not a url", "slug": "Not A Slug"}


def constraint_cases(fields: list[ir.Field]) -> list[tuple[str, str, str]]:
    """(field, case id, Python expression of a value it must refuse): one case per constraint
    of every field a create body carries, each just outside its bound."""
    cases = []
    for f in fields:
        if f.storage != "column":
            continue
        kind = f.type.kind
        if kind in _TEXT_KINDS:
            if f.min_length:
                cases.append((f.name, "too-short", f'"x" * {f.min_length - 1}'))
            longest = f.max_length or f.type.max_length
            if longest and longest < LONGEST_TESTED_STRING:
                cases.append((f.name, "too-long", f'"x" * {longest + 1}'))
            if kind in _MALFORMED:
                cases.append((f.name, "malformed", repr(_MALFORMED[kind])))
        elif kind in _NUMBER_KINDS:
            step = 1 if kind in ("integer", "bigint") else 0.5
            if f.min is not None:
                cases.append((f.name, "below-minimum", repr(f.min - step)))
            if f.max is not None:
                cases.append((f.name, "above-maximum", repr(f.max + step)))
        elif kind == "enum":
            cases.append((f.name, "not-a-value", repr("not one of the values")))
    return cases


def signed_in_role(project: ir.Project) -> str | None:
    """The role of the users the generated auth tests sign in as: the sign-up role, else the
    first declared one."""
    if project.auth is None:
        return None
    return project.auth.default_role or project.roles[0].name


def creatable(project: ir.Project, entity: ir.Entity, seen: frozenset[str] = frozenset()) -> bool:
    """True when a row, and every row it requires, can be created through the API."""
    if entity.synthesized_from or "create" not in entity.crud or entity.name in seen:
        return False
    return all(
        r.target == entity.name
        or creatable(project, project.entity(r.target), seen | {entity.name})
        for r in required_parents(project, entity)
    )


def required_parents(project: ir.Project, entity: ir.Entity) -> list[ir.Relation]:
    """The to-one relations a create body must fill in (the owner comes from the caller)."""
    owner = owner_relation(project, entity)
    return [
        r
        for r in input_relations(project, entity)
        if r.column and r.required and (owner is None or r.name != owner.name)
    ]


def _parent_entities(project: ir.Project, entity: ir.Entity) -> list[ir.Entity]:
    found: dict[str, ir.Entity] = {}
    stack = [entity]
    while stack:
        for r in required_parents(project, stack.pop()):
            if r.target not in found and r.target != entity.name:
                found[r.target] = project.entity(r.target)
                stack.append(found[r.target])
    return list(found.values())


def creator(project: ir.Project, entity: ir.Entity) -> str | None:
    """The role the factories create rows of `entity` as (None: anonymous)."""
    return creator_role(project, entity, _parent_entities(project, entity))


def _in_parts(text: str, names: list[str]) -> str:
    """factories.py as a `ModuleParts`: its head, then one part per factory (its three
    functions), so that a change to one factory formats one group of parts, not the module.

    The template starts each factory's functions with `def <name>_payload(` after two blank
    lines, at the top level; the text is kept as it is when a part would not be where it
    starts (the parts must give the text back exactly).
    """
    starts: list[int] = []
    for name in names:
        found = text.find(f"\n\n\ndef {name}_payload(", starts[-1] + 1 if starts else 0)
        if found < 0:
            return text
        starts.append(found)
    if not starts or not text.endswith("\n"):
        return text
    ends = [*starts[1:], len(text) - 1]
    parts = [
        text[: starts[0]],
        *(text[start + 3 : end] for start, end in zip(starts, ends, strict=True)),
    ]
    if any(not part.strip() for part in parts):
        return text
    module = ModuleParts(parts)
    return module if module == text else text


def _cached_factory(
    cache: BuildCache | None, project: ir.Project, entity: ir.Entity
) -> dict[str, object]:
    """`_factory` of entity, from the cache while what it read is unchanged."""
    if cache is None:
        return _factory(project, entity)
    name = entity.name

    def produce(view: ir.Project) -> dict[str, object]:
        factory = _factory(view, view.entity(name))
        fields = cast(list[FactoryField], factory["fields"])
        return {**factory, "fields": [(f.key, f.expression) for f in fields]}

    stored = cache.unit(f"factory\0{name}", produce)
    pairs = cast(list[tuple[str, str]], stored["fields"])
    return {**stored, "fields": [FactoryField(key, expression) for key, expression in pairs]}


def _factory(project: ir.Project, entity: ir.Entity) -> dict[str, object]:
    role = creator(project, entity)
    denied = _unwritable(project, entity, role)
    defaulted, later = checked_fields(entity)
    fields = [
        FactoryField(f.name, _later(value_expression(f, project), f.name in later))
        for f in writable_fields(entity)
        if (not f.nullable or f.default is None)
        and f.attr not in denied
        and f.name not in defaulted
    ]
    parents = []
    for r in required_parents(project, entity):
        if r.target != entity.name:
            target = project.entity(r.target)
            parent_role = (
                role if project.auth is None or can_create(project, target, role) else None
            )
            if project.auth is not None and parent_role is None:
                parent_role = creator(project, target)
            parents.append(
                {
                    "key": r.wire_name,
                    "create": f"create_{module_name(target)}",
                    "role": py_literal(parent_role),
                }
            )
    return {
        "name": module_name(entity),
        "path": entity.path,
        "fields": fields,
        "uses_number": any("number" in f.expression for f in fields),
        "parents": parents,
        "constant": naming.py_attr(entity.plural).upper(),
        "role": py_literal(role),
    }


def checked_fields(entity: ir.Entity) -> tuple[set[str], set[str]]:
    """Fields of two-field `checks` the factories treat with care: those with a default or
    nullable are left out (the defaults, or NULL, satisfy the check), and the greater of a
    pair with a defaulted field (`due_on >= issued_on`, issued today) gets a late value."""
    fields = {f.name: f for f in entity.fields}
    defaulted: set[str] = set()
    later: set[str] = set()
    for check in entity.checks:
        if check.right_field is None:
            continue
        pair = (check.left, check.right_field)
        defaulted |= {
            n for n in pair if n in fields and (fields[n].default is not None or fields[n].nullable)
        }
        greater = check.left if check.op in (">", ">=") else check.right_field
        if greater not in defaulted and greater in fields:
            later.add(greater)
    return defaulted, later


def _later(expression: str, later: bool) -> str:
    """`expression` moved to the year 2099 (dates and datetimes written as 2024-...)."""
    return expression.replace('f"2024-', 'f"2099-') if later else expression


def _unwritable(project: ir.Project, entity: ir.Entity, role: str | None) -> set[str]:
    """Fields a caller holding `role` may not write (`field_permissions`)."""
    if project.auth is None:
        return set()
    held = None if role is None else (role,)
    return {
        name
        for name, roles in entity_policy(project, entity).write_rules
        if scope(project, roles, held) != "all"
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
                "doc": docstring_wrapped(
                    f"`{link.fd}`: the same determinant with another `{dependent.name}` is a "
                    "conflict."
                ),
                "dependent": dependent.name,
                "selectors": [wire.get(n, n) for n in link.determinant],
                "other": py_literal("zz-other"[: max(length, 1)]),
            }
        )
    return checks


def writer_operations(project: ir.Project, entity: ir.Entity) -> tuple[str | None, list[str]]:
    """The role the CRUD tests act as, and the operations it may do on the factories' rows."""
    made_by = creator(project, entity)
    writer = writer_role(project, entity, made_by)
    if project.auth is None:
        return writer, list(entity.crud)
    policy = entity_policy(project, entity)
    held = None if writer is None else (writer,)
    ops = []
    for op in entity.crud:
        reach = scope(project, policy.roles(op), held)
        if reach == "all" or (reach == "own" and writer == made_by and entity.owner != "self"):
            ops.append(op)
    return writer, ops


def _test_module(project: ir.Project, entity: ir.Entity) -> str:
    name = module_name(entity)
    writer, allowed = writer_operations(project, entity)
    made_by = creator(project, entity)
    policy = entity_policy(project, entity) if project.auth else None
    writable = writable_fields(entity)
    tweakable = next(
        (
            f
            for f in writable
            if f.type.kind in ("string", "text")
            and not f.pattern
            and not f.immutable
            and not f.unique
            and not any(f.name in link.dependents for link in entity.dependencies)
        ),
        None,
    )
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
            Import("tests.conftest", "Actors"),
            Import("tests.factories", constant),
            Import("tests.factories", f"create_{name}"),
            Import("tests.factories", f"{name}_body"),
        }
        | (
            {Import("tests.factories", "count_statements")}
            if includable(project, entity) and {"list", "read"} & set(allowed)
            else set()
        )
        | (
            {Import("pytest")}
            if writer is not None or ("create" in allowed and constraint_cases(writable))
            else set()
        )
        | ({Import("tests.factories", "if_match")} if entity.versioned else set())
        | _filter_imports(filter_cases(project, entity) if "list" in allowed else [])
        | (
            {Import("asyncio")} if entity.versioned and "update" in allowed and tweakable else set()
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
        crud=allowed,
        writer=writer,
        audit_role=made_by,
        tweak=tweakable,
        moving=sorted(
            {
                "updated_at",
                "version",
                *(["updated_by"] if entity.audit else []),
                *(f.name for f in entity.fields if f.on_update_now),
                *([tweakable.name] if tweakable else []),
            }
        ),
        constraint_cases=constraint_cases(writable),
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
        filters=filter_cases(project, entity),
        max_limit=project.api.max_limit,
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
                "role": acting_role(project, entity, a.roles, made_by) if policy else None,
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
            if "{id}" in a.path
            and a.response == entity.name
            and a.method != "GET"
            and (policy is None or acting_role(project, entity, a.roles, made_by) is not False)
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
        include_statements=sum(
            load.count("selectinload(") for _, load in entity_context(project, entity).includes
        ),
        uuid_ids=project.api.id_type == "uuid",
        plural_words=entity.plural.replace("_", " "),
        _re=re,
    )


def _verdict(
    project: ir.Project, listed: tuple[str, ...], role: str | None, creator: str | None, kind: str
) -> str:
    """What the access matrix expects of `role` on an operation open to `listed` (`creator`:
    the role whose rows the factories' rows are; None with `owner: self`, where a created user
    is its own owner)."""
    reach = scope(project, listed, None if role is None else (role,))
    if reach == "all" or (reach == "own" and (role == creator or kind in ("list", "create"))):
        return "allowed"
    if reach == "own":
        return "own"
    return "401" if role is None else "403"


def _access_module(project: ir.Project, entity: ir.Entity) -> str:
    """tests/test_<plural>_access.py: the permission matrix, BOLA, mass assignment, field rules."""
    name = module_name(entity)
    constant = naming.py_attr(entity.plural).upper()
    policy = entity_policy(project, entity)
    made_by = creator(project, entity)
    owning = None if entity.owner == "self" else made_by
    roles: list[str | None] = [None, *sorted(r.name for r in project.roles)]
    held = None if made_by is None else (made_by,)
    matrix: list[dict[str, Any]] = []
    for op in entity.crud:
        listed = policy.roles(op)
        matrix.append(
            {
                "name": op,
                "kind": op,
                "needs_row": op in ("read", "update", "delete"),
                "cases": [(r, _verdict(project, listed, r, owning, op)) for r in roles],
            }
        )
    for a in entity.actions:
        if "{id}" not in a.path or a.method == "GET":
            continue
        body = [
            (f.name, value_expression(f, project).replace("number", "1"))
            for f in a.request or ()
            if not f.nullable or f.default is None
        ]
        matrix.append(
            {
                "name": f"action_{a.name}",
                "kind": "action",
                "needs_row": True,
                "method": a.method,
                "path": a.path,
                "body": body,
                "cases": [(r, _verdict(project, a.roles, r, owning, "action")) for r in roles],
            }
        )
    own = {op for op in entity.crud if scope(project, policy.roles(op), held) == "own"}
    tweak = next(
        (
            f
            for f in writable_fields(entity)
            if f.type.kind in ("string", "text")
            and not f.pattern
            and not f.immutable
            and not f.unique
            and f.attr not in _unwritable(project, entity, made_by)
        ),
        None,
    )
    bola = None
    if (
        entity.owner
        and made_by is not None
        and own & {"read", "update", "delete", "list"}
        and "read" in entity.crud
        and scope(project, policy.roles("read"), held)
    ):
        bola = {
            "read": "read" in own,
            "update": "update" in own,
            "delete": "delete" in own,
            "list": "list" in own,
            "change": "{"
            + (f"{py_literal(tweak.name)}: 'changed by another user'" if tweak else "")
            + "}",
        }
    owner = owner_relation(project, entity)
    owner_field = None
    if (
        owner is not None
        and not policy.owner_writable
        and "read" in entity.crud
        and scope(project, policy.roles("read"), held)
    ):
        owner_field = owner.wire_name
    can_update_own = (
        "update" in entity.crud and scope(project, policy.roles("update"), held) is not None
    )
    can_read = "read" in entity.crud and scope(project, policy.roles("read"), held) is not None
    server_fields = []
    if can_update_own and can_read:
        server_fields = [("id", "12345")]
        if project.api.timestamps:
            server_fields.append(("created_at", py_literal("2000-01-01T00:00:00Z")))
    write_rules = _write_rule_tests(project, entity, policy, made_by)
    read_rules = _read_rule_tests(project, entity, policy, made_by) if can_read else []
    code = " ".join(str(r["value"]) for r in write_rules) + " ".join(
        str(v) for op in matrix for _, v in op.get("body", [])
    )
    helpers = {
        Import("tests.factories", helper)
        for helper in ("text", "slug", "pick")
        if f"{helper}(" in code
    }
    imports = helpers | {
        Import("pytest"),
        Import("httpx", "Response"),
        Import("tests.conftest", "Actors"),
        Import("tests.factories", constant),
        Import("tests.factories", f"create_{name}"),
    }
    if any(op["kind"] == "action" for op in matrix):
        imports.add(Import("typing", "Any"))
    if entity.versioned:
        imports.add(Import("tests.factories", "if_match"))
    if "create" in entity.crud or write_rules or owner_field:
        imports.add(Import("tests.factories", f"{name}_body"))
    return render(
        "tests/test_access.py.j2",
        header=header(project),
        imports=render_imports(imports, project.api.name),
        e=entity,
        name=name,
        constant=constant,
        creator=made_by,
        matrix=matrix,
        bola=bola,
        max_limit=project.api.max_limit,
        owner_field=owner_field,
        update_owner=owner_field is not None and can_update_own,
        server_fields=server_fields,
        write_rules=write_rules,
        read_rules=read_rules,
        include_deleted_cases=[
            (r, _verdict(project, policy.roles("delete"), r, owning, "list")) for r in roles
        ]
        if entity.soft_delete and "list" in entity.crud and "delete" in entity.crud
        else [],
        filter_checks=_filter_checks(project, entity, policy, made_by)
        if "read" in entity.crud
        else [],
    )


def _write_rule_tests(
    project: ir.Project, entity: ir.Entity, policy: Any, made_by: str | None
) -> list[dict[str, Any]]:
    """A create sending a field that `field_permissions` keeps from the creator: 403; from a
    role that may write it and may create: accepted."""
    if "create" not in entity.crud:
        return []
    fields = {f.attr: f for f in writable_fields(entity)}
    to_user = {
        r.wire_name
        for r in input_relations(project, entity)
        if r.column and project.auth and r.target == project.auth.user_entity
    }
    tests = []
    for attr, roles in policy.write_rules:
        f = fields.get(attr)
        if attr in to_user:
            value = "me.wire_id"
        elif f is None or f.type.kind in ("list", "object", "password"):
            continue
        else:
            value = value_expression(f, project)
        ordered = sorted(project.roles, key=lambda r: (len(r.closure), r.name))
        denied = [
            r.name
            for r in ordered
            if can_create(project, entity, r.name) and scope(project, roles, (r.name,)) != "all"
        ]
        allowed = [
            r.name
            for r in ordered
            if can_create(project, entity, r.name)
            and scope(project, roles, (r.name,)) == "all"
            and not _unwritable(project, entity, r.name) - _unwritable(project, entity, made_by)
        ]
        if not denied:
            continue
        tests.append(
            {
                "field": f.name if f is not None else attr,
                "uses_me": value == "me.wire_id",
                "label": "_or_".join(roles),
                "denied": denied[0],
                "allowed": allowed[0] if allowed else None,
                "value": value,
                "uses_number": "number" in value,
            }
        )
    return tests


def _read_rule_tests(
    project: ir.Project, entity: ir.Entity, policy: Any, made_by: str | None
) -> list[dict[str, Any]]:
    """Who sees a field that `field_permissions` restricts: the creator (its own row) and one
    role that reads every row unfiltered."""
    filtered = {f.role for f in entity.row_filters}
    readers: list[str] = [] if made_by is None else [made_by]
    for r in sorted(project.roles, key=lambda r: len(r.closure)):
        if (
            r.name not in readers
            and not ({r.name, "authenticated"} & filtered)
            and scope(project, policy.roles("read"), (r.name,)) == "all"
        ):
            readers.append(r.name)
            break
    tests = []
    for attr, roles in policy.read_rules:
        shown = [(role, scope(project, roles, (role,)) == "all") for role in readers]
        tests.append({"field": attr, "label": "_or_".join(roles), "readers": shown})
    return tests


_PY_OPERATORS = {"eq": "==", "ne": "!=", "gte": ">=", "lte": "<=", "in": "in"}


def filter_rows(
    project: ir.Project, entity: ir.Entity, row_filter: ir.RowFilter, made_by: str | None
) -> tuple[str | None, str | None]:
    """Keyword arguments of the factory for a row the filter lets through (its first
    alternative satisfied) and for one it keeps out (one condition of every alternative
    broken); None where the creating role cannot write such values through the create body."""
    held = set(next((r.closure for r in project.roles if r.name == made_by), ()))
    held.add(made_by or "")
    guarded = {
        p.field for p in entity.field_permissions if p.write is not None and not held & set(p.write)
    }
    writable = {
        f.name: f
        for f in writable_fields(entity)
        if f.storage == "column" and f.name not in guarded
    }
    shown: dict[str, Any] = {}
    hidden: dict[str, Any] = {}
    for alternative in row_filter.alternatives[:1]:
        for c in alternative:
            f = writable.get(c.path[0])
            value = None if f is None else _meeting(project, f, c)
            if value is _NONE:
                return None, None
            shown[c.path[0]] = value
    for alternative in row_filter.alternatives:
        for c in alternative:
            f = writable.get(c.path[0])
            value = _NONE if f is None or c.path[0] in hidden else _breaking(project, f, c)
            if value is not _NONE:
                hidden[c.path[0]] = value
                break
        else:
            return _keywords(shown), None
    return _keywords(shown), _keywords(hidden)


def _keywords(values: dict[str, Any]) -> str:
    """`name=value, ...` for the factory; `**{...}` when a name is not an identifier."""
    if all(naming.py_attr(name) == name for name in values):
        return ", ".join(f"{name}={py_literal(value)}" for name, value in values.items())
    return "**" + py_literal(values)


_NONE = object()  # no such value


def _enum_values(project: ir.Project, f: ir.Field) -> tuple[str, ...]:
    return next((e.values for e in project.enums if e.name == f.type.enum), ())


def _meeting(project: ir.Project, f: ir.Field, c: ir.Condition) -> Any:
    """A value of `f` that satisfies `c`, or _NONE."""
    if c.op == "in" and isinstance(c.value, tuple) and c.value:
        return c.value[0]
    if c.op in ("eq", "gte", "lte"):
        return c.value
    return _breaking(project, f, dataclasses.replace(c, op="eq"))


def _breaking(project: ir.Project, f: ir.Field, c: ir.Condition) -> Any:
    """A value of `f` that fails `c`, or _NONE."""
    kind = f.type.kind
    if c.op == "ne":
        return c.value
    if isinstance(c.value, bool) and c.op == "eq":
        return not c.value
    avoid = list(c.value) if isinstance(c.value, tuple) else [c.value]
    if kind == "enum" and c.op in ("eq", "in"):
        return next((v for v in _enum_values(project, f) if v not in avoid), _NONE)
    if kind in ("integer", "bigint") and isinstance(c.value, int):
        return {"eq": c.value + 1, "gte": c.value - 1, "lte": c.value + 1}.get(c.op, _NONE)
    return _NONE


def _filter_checks(
    project: ir.Project, entity: ir.Entity, policy: Any, made_by: str | None
) -> list[dict[str, Any]]:
    """Row filters the generated test can evaluate on a created row (conditions on the entity's
    own fields, no `$me`): for each, whether a caller it applies to sees the row."""
    fields = {f.name: f for f in entity.fields if f.storage == "column"}
    checks = []
    for row_filter in entity.row_filters:
        role = None if row_filter.role == "anonymous" else row_filter.role
        if row_filter.role == "authenticated" or (role == made_by and entity.owner):
            continue
        if scope(project, policy.roles("read"), None if role is None else (role,)) != "all":
            continue
        alternatives = []
        for alternative in row_filter.alternatives:
            terms = []
            for c in alternative:
                if c.is_me or len(c.path) != 1 or c.path[0] not in fields:
                    break
                value = list(c.value) if isinstance(c.value, tuple) else c.value
                left = f"row[{py_literal(c.path[0])}]"
                if isinstance(c.value, bool) or c.value is None:
                    terms.append(f"{left} is {py_literal(value)}")
                else:
                    terms.append(f"{left} {_PY_OPERATORS[c.op]} {py_literal(value)}")
            else:
                alternatives.append(" and ".join(terms) or "True")
                continue
            alternatives = []
            break
        if alternatives:
            shown, hidden = filter_rows(project, entity, row_filter, made_by)
            checks.append(
                {
                    "key": row_filter.role,
                    "role": role,
                    "visible": " or ".join(f"({a})" for a in alternatives),
                    "shown": shown,
                    "hidden": hidden,
                }
            )
    return checks
