"""Schemas emitter: per entity `XCreate`, `XUpdate`, `XRead` and `XListParams` (Pydantic v2).

Every constraint of the spec becomes a Field argument; input models forbid unknown keys, so
read-only and server-set fields sent in a body are a 422 (no mass assignment).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from generator import ir
from generator.compile import naming
from generator.compile.normalize import carried_tenant_key
from generator.compile.types import PASSWORD_MAX_LENGTH, SPACE_OR_CONTROL, TYPES
from generator.emit.base import RenderedFile, header, render
from generator.emit.imports import Import, render_imports
from generator.emit.literals import docstring_wrapped, py_literal
from generator.emit.models import loaded_attr, scalar_list
from generator.emit.tenancy import registration_tenant_fields, tenant_entity, tenant_relation
from generator.emit.units import entity_files
from generator.incremental import BuildCache

INT32 = (-(2**31), 2**31 - 1)
# A bigint on the wire: what every JSON reader holds exactly (I-JSON, RFC 7493), not the column's
# 64 bits; a bound near 2**63 is not even exact as the float some validators compare it as.
BIGINT_WIRE = (-(2**53 - 1), 2**53 - 1)
MAX_RELATED_IDS = 1000
MAX_LIST_ITEMS = 1000
URL_PATTERN = rf"^[A-Za-z][A-Za-z0-9+.-]*://[^{SPACE_OR_CONTROL}]+$"
_ORDERED = {"integer", "bigint", "float", "decimal", "date", "datetime", "time"}
_EQUALITY = {
    "string",
    "email",
    "url",
    "slug",
    "enum",
    "uuid",
    "integer",
    "bigint",
    "boolean",
    "date",
}


@dataclass
class SchemaModule:
    """Imports and nested models collected while one schemas module is built."""

    project: ir.Project
    imports: set[Import] = field(default_factory=set)
    type_checking: set[Import] = field(default_factory=set)
    nested: dict[str, list[str]] = field(default_factory=dict)

    @property
    def package(self) -> str:
        return self.project.api.name

    def use(self, module: str, *names: str) -> None:
        self.imports.update(Import(module, n) for n in names)


def emit(project: ir.Project, cache: BuildCache | None = None) -> list[RenderedFile]:
    """schemas/<entity>.py for every entity."""
    files = [
        f
        for e in project.entities
        for f in entity_files(cache, project, "schemas", e, _entity_file)
    ]
    return [*files, schemas_package(project)]


def _entity_file(project: ir.Project, entity: ir.Entity) -> list[RenderedFile]:
    package = project.api.name
    path = f"{package}/{package}/schemas/{naming.py_attr(entity.name)}.py"
    return [RenderedFile(path, entity_schemas(project, entity))]


def entity_schemas(project: ir.Project, entity: ir.Entity) -> str:
    module = SchemaModule(project)
    module.use("pydantic", "BaseModel", "ConfigDict")
    inputs = input_relations(project, entity)
    owner = owner_relation(project, entity)
    # Each writable field's type once, for both models.
    typed = [(f, input_type(module, f)) for f in writable_fields(entity)]
    create = [_input_field(module, f, update=False, annotation=t) for f, t in typed]
    create += [
        _relation_input(module, project, r, update=False, optional=r is owner) for r in inputs
    ]
    update = [_input_field(module, f, update=True, annotation=t) for f, t in typed]
    update += [_relation_input(module, project, r, update=True) for r in inputs]
    rules = read_rules(entity)
    read = [
        _restricted(module, _read_field(module, project, f), f.attr in rules)
        for f in readable_fields(entity)
    ]
    read += [
        _restricted(module, _relation_read(module, project, r), r.wire_name in rules)
        for r in readable_relations(entity)
    ]
    hidden = _hide_validators(module, entity, rules)
    if update:
        module.use("pydantic", "MISSING")
    actions = [
        {
            "name": f"{entity.class_name}{naming.pascal(a.name)}Request",
            "doc": docstring_wrapped(f"Body of `{a.method} /{entity.path}{a.path}` ({a.name})."),
            "fields": [_input_field(module, f, update=False) for f in a.request or ()],
        }
        for a in entity.actions
        if a.request is not None
    ]
    register = None
    if registers(project, entity):
        fields, relations = registration_inputs(project, entity)
        register = [_input_field(module, f, update=False) for f in fields]
        register += [_relation_input(module, project, r, update=False) for r in relations]
        register += [
            _input_field(module, dataclasses.replace(f, name=key, attr=key), update=False)
            for key, f in registration_tenant_fields(project)
        ]
    embeds = [_embedded(module, project, entity, r) for r in includable(project, entity)]
    params = _list_params(module, entity)
    read_params: list[str] = []
    if embeds:
        module.use(f"{module.package}.core.relations", "include_by")
        module.use(f"{module.package}.core.relations", "only_if_included")
        module.use("pydantic", "field_validator")
        include = (
            "include: str | None = include_by("
            + ", ".join(py_literal(r.name) for r in includable(project, entity))
            + ")"
        )
        params.insert(0, include)
        if "read" in entity.crud:
            module.use("pydantic", "BaseModel")
            module.use("pydantic", "ConfigDict")
            read_params = [include]
    return render(
        "schemas/entity.py.j2",
        header=header(project),
        doc=docstring_wrapped(
            f"Request and response bodies of `{entity.name}`, and its list parameters."
        ),
        imports=render_imports(module.imports, module.package),
        nested=module.nested,
        entity=entity,
        id_annotation="uuid.UUID" if project.api.id_type == "uuid" else "int",
        create=create,
        register=register,
        register_doc=docstring_wrapped(
            "Body of `POST /auth/register`: no role and no other field only some roles may write."
            + register_tenant_note(project)
        ),
        update=update,
        read=[
            *_id_and_timestamps(module, project, entity, head=True),
            *read,
            *_id_and_timestamps(module, project, entity, head=False),
        ],
        params=params,
        embeds=embeds,
        actions=actions,
        embed_names=", ".join(py_literal(r.attr) for r in includable(project, entity)),
        hidden=hidden,
        type_checking=render_imports(module.type_checking, module.package),
        create_doc=docstring_wrapped(
            f"Body of `POST /{entity.path}`.{tenant_note(project, entity)}"
        ),
        update_doc=docstring_wrapped(
            f"Body of `PATCH /{entity.path}/{{id}}`: only the fields sent are changed."
            + tenant_note(project, entity)
        ),
        read_doc=docstring_wrapped(f"A {entity.name.replace('_', ' ')} as the API returns it."),
        params_doc=docstring_wrapped(f"Query parameters of `GET /{entity.path}`."),
        read_params=read_params,
        read_params_doc=docstring_wrapped(f"Query parameters of `GET /{entity.path}/{{id}}`."),
    )


def tenant_note(project: ir.Project, entity: ir.Entity) -> str:
    """What a body says of the tenant key it may not carry."""
    tenant = tenant_relation(project, entity)
    if tenant is None or tenant is carried_tenant_key(entity, project.api):
        return ""
    return (
        f" `{tenant.wire_name}` is not part of it: the row belongs to the caller's"
        f" {tenant.target.replace('_', ' ')}, and sending it is a 422."
    )


def register_tenant_note(project: ir.Project) -> str:
    """What a sign-up body that creates the tenant says of it."""
    fields = registration_tenant_fields(project)
    tenant = tenant_entity(project)
    if not fields or tenant is None:
        return ""
    names = ", ".join(f"`{key}`" for key, _ in fields)
    what = tenant.name.replace("_", " ")
    return f" Signing up creates a new {what} ({names}) and makes the registrant its first member."


def registers(project: ir.Project, entity: ir.Entity) -> bool:
    """True when `entity` is the auth user and people may sign up (`POST /auth/register`): a
    user that belongs to a tenant signs up only when signing up creates the tenant."""
    auth = project.auth
    return (
        auth is not None
        and auth.user_entity == entity.name
        and auth.registration_enabled
        and (auth.creates_tenant or tenant_relation(project, entity) is None)
    )


def registration_inputs(
    project: ir.Project, entity: ir.Entity
) -> tuple[list[ir.Field], list[ir.Relation]]:
    """What a sign-up body may carry: the create body without the role and without anything
    `field_permissions` lets only some roles write (a newcomer holds none of them)."""
    assert project.auth is not None
    guarded = {p.field for p in entity.field_permissions if p.write is not None}
    guarded.add(project.auth.roles_field)
    fields = [f for f in writable_fields(entity) if f.name not in guarded]
    relations = [r for r in input_relations(project, entity) if r.name not in guarded]
    return fields, relations


def includable(project: ir.Project, entity: ir.Entity) -> list[ir.Relation]:
    """Relations `?include=` may embed: every relation to an entity with a Read schema, but
    not a carried tenant key (storage only: the row is the caller's tenant's)."""
    carried = carried_tenant_key(entity, project.api)
    return [r for r in entity.relations if project.has_entity(r.target) and r is not carried]


def _embedded(
    module: SchemaModule, project: ir.Project, entity: ir.Entity, relation: ir.Relation
) -> str:
    target = project.entity(relation.target)
    read = f"{target.class_name}Read"
    if target.name != entity.name:
        module.type_checking.add(
            Import(f"{module.package}.schemas.{naming.py_attr(target.name)}", read)
        )
        module.use("typing", "TYPE_CHECKING")
    many = relation.kind in ("one_to_many", "many_to_many")
    annotation = f'"list[{read}] | None"' if many else f'"{read} | None"'
    module.use("pydantic", "Field")
    wire = (
        f", serialization_alias={py_literal(relation.name)}"
        if relation.attr != relation.name
        else ""
    )
    return (
        f"{relation.attr}: {annotation} = Field(default=None, "
        f"validation_alias={py_literal(relation.attr + '_included')}{wire})"
    )


def schemas_package(project: ir.Project) -> RenderedFile:
    """schemas/__init__.py: imports every module, then resolves the embedded Read types."""
    package = project.api.name
    reads = sorted(f"{e.class_name}Read" for e in project.entities)
    imports = {
        Import(f"{package}.schemas.{naming.py_attr(e.name)}", f"{e.class_name}Read")
        for e in project.entities
    } | {Import("pydantic", "BaseModel")}
    return RenderedFile(
        f"{package}/{package}/schemas/__init__.py",
        render(
            "schemas/__init__.py.j2",
            header=header(project),
            imports=render_imports(imports, package),
            reads=reads,
        ),
    )


def writable_fields(entity: ir.Entity) -> list[ir.Field]:
    """Fields a client may send: not read-only and not server-set. Copies of a related value
    (rule 4) are not writable; dependents split out by a declared dependency (rule 3) are:
    the write finds or creates their row."""
    links = {link.entity for link in entity.dependencies}
    return [
        f
        for f in entity.fields
        if not f.read_only
        and (f.storage != "derived" or (f.derived_from and f.derived_from[0] in links))
    ]


def readable_fields(entity: ir.Entity) -> list[ir.Field]:
    """Fields a response carries: everything but write-only fields and passwords."""
    return [f for f in entity.fields if not f.write_only and f.type.kind != "password"]


def writable_relations(entity: ir.Entity) -> list[ir.Relation]:
    """Relations written by id: to-one as `<name>_id`, many_to_many as `<singular>_ids`. The
    many_to_one a one_to_many's `inverse` adds is one of them (its key is required); the tenant
    key the compiler carries is not (it is set from the caller)."""
    return [
        r
        for r in entity.relations
        if not carried_tenant_key_relation(r)
        and (r.column or (r.kind == "many_to_many" and not r.through))
    ]


def carried_tenant_key_relation(relation: ir.Relation) -> bool:
    """Whether the compiler added `relation` to carry the tenant key (normalize.py)."""
    return relation.implicit and relation.inverse is None


def readable_relations(entity: ir.Entity) -> list[ir.Relation]:
    return writable_relations(entity)


def owner_relation(project: ir.Project, entity: ir.Entity) -> ir.Relation | None:
    """The relation naming the row's owner (`owner: author`); None for `self` or no owner."""
    if project.auth is None or entity.owner in (None, "self"):
        return None
    return next((r for r in entity.relations if r.name == entity.owner), None)


def input_relations(project: ir.Project, entity: ir.Entity) -> list[ir.Relation]:
    """Relations a body may write: the owner relation only when `field_permissions` lets some
    role write it (it is set from the caller otherwise), and never the relation to the tenant
    (the caller's own tenant)."""
    tenant = tenant_relation(project, entity)
    relations = [r for r in writable_relations(entity) if r is not tenant]
    owner = owner_relation(project, entity)
    if owner is None:
        return relations
    opened = any(p.field == owner.name and p.write for p in entity.field_permissions)
    return [r for r in relations if r is not owner or opened]


def read_rules(entity: ir.Entity) -> dict[str, tuple[str, ...]]:
    """Response attributes (`editor_notes`, `author_id`) that only some roles may read."""
    relations = {r.name: r for r in entity.relations}
    fields = {f.name: f for f in entity.fields}
    rules = {}
    for p in entity.field_permissions:
        if p.read is None:
            continue
        if p.field in relations:
            rules[relations[p.field].wire_name] = tuple(sorted(p.read))
        elif p.field in fields:
            rules[fields[p.field].attr] = tuple(sorted(p.read))
    return rules


def _restricted(module: SchemaModule, line: str, restricted: bool) -> str:
    """A read field some roles may not see: MISSING (absent from the response) by default."""
    if not restricted:
        return line
    module.use("pydantic", "MISSING")
    if line.endswith(" | None"):
        return f"{line.removesuffix(' | None')} | MISSING | None = MISSING"
    return f"{line} | MISSING = MISSING"


def _hide_validators(
    module: SchemaModule, entity: ir.Entity, rules: dict[str, tuple[str, ...]]
) -> list[str]:
    """`hide_from_others = field_validator("views", mode="after")(readable_by("author"))`,
    one line per set of roles."""
    if not rules:
        return []
    module.use("pydantic", "field_validator")
    module.use(f"{module.package}.core.permissions", "readable_by")
    by_roles: dict[tuple[str, ...], list[str]] = {}
    for attr, roles in rules.items():
        by_roles.setdefault(roles, []).append(attr)
    lines = []
    for roles, attrs in sorted(by_roles.items()):
        name = "hide_unless_" + "_or_".join(naming.py_attr(r).rstrip("_") for r in roles)
        fields = ", ".join(py_literal(a) for a in attrs)
        readers = ", ".join(py_literal(r) for r in roles)
        lines.append(f'{name} = field_validator({fields}, mode="after")(readable_by({readers}))')
    return lines


def _id_and_timestamps(
    module: SchemaModule, project: ir.Project, entity: ir.Entity, head: bool
) -> list[str]:
    if head:
        if project.api.id_type == "uuid":
            module.imports.add(Import("uuid"))
            return ["id: uuid.UUID"]
        return ["id: int"]
    lines = []
    if project.api.timestamps:
        module.use("datetime", "datetime")
        lines += ["created_at: datetime", "updated_at: datetime"]
    if entity.soft_delete:
        module.use("datetime", "datetime")
        lines.append("deleted_at: datetime | None")
    if entity.audit and project.auth is not None:
        ident = id_annotation(module)
        lines += [f"created_by: {ident} | None", f"updated_by: {ident} | None"]
    if entity.versioned:
        lines.append("version: int")
    return lines


# --- field types -------------------------------------------------------------------------------


def input_type(module: SchemaModule, f: ir.Field, *, query: bool = False) -> str:
    """The validated annotation of a field on input, every constraint included; `query`: in a
    query string, where every value is text (decimals then round numbers written as text)."""
    kind = f.type.kind
    if kind == "list" and f.item is not None:
        item = input_type(module, f.item)
        return _annotated(
            module,
            f"list[{item}]",
            min_length=f.min_items,
            max_length=f.max_items or MAX_LIST_ITEMS,
        )
    if kind == "object":
        return _nested_model(module, f)
    if kind == "enum":
        return _enum_class(module, f)
    if kind == "text" and f.min_length is None and f.max_length is None and f.pattern is None:
        module.use(f"{module.package}.core.types", "Text")
        return "Text"
    if kind in ("string", "text", "email", "url", "slug", "password"):
        return _string(module, f)
    if kind in ("integer", "bigint"):
        low, high = integer_bounds(f)
        module.use(f"{module.package}.core.types", "IntegralFloatAsInt")
        constrained = _annotated(module, "int", strict=True, ge=low, le=high)
        return f"{constrained[:-1]}, IntegralFloatAsInt]"
    if kind == "float":
        return _annotated(module, "float", strict=True, ge=f.min, le=f.max, allow_inf_nan=False)
    if kind == "decimal":
        module.use("decimal", "Decimal")
        module.use("pydantic", "WithJsonSchema")
        constrained = _annotated(
            module,
            "Decimal",
            max_digits=f.type.precision,
            decimal_places=f.type.scale,
            ge=f.min,
            le=f.max,
            allow_inf_nan=False,
        )
        module.use(f"{module.package}.core.types", "rounded_to_scale")
        schema = py_literal(decimal_json_schema(f))
        scale = f.type.scale or 0
        return (
            f"{constrained[:-1]}, rounded_to_scale({scale}{', query=True' if query else ''}), "
            f"WithJsonSchema({schema}, mode='validation')]"
        )
    return _plain_type(module, kind)


def decimal_json_schema(f: ir.Field) -> dict[str, object]:
    """A decimal on input: a JSON number within bounds (the spec's, and what `precision` digits
    hold), or a bounded numeric string."""
    precision = f.type.precision or 18
    scale = f.type.scale or 0
    largest = float(10 ** (precision - scale) - Decimal(1).scaleb(-scale))
    number: dict[str, object] = {
        "type": "number",
        "minimum": -largest if f.min is None else max(f.min, -largest),
        "maximum": largest if f.max is None else min(f.max, largest),
    }
    digits = f"\\d{{1,{max(precision - scale, 1)}}}"
    fraction = f"(\\.\\d{{1,{scale}}})?" if scale else ""
    # A string cannot be bounded like a number: the pattern keeps the sign only where the
    # minimum allows negatives (`min: 0` is what specs bound decimals with).
    sign = "-?" if float(str(number["minimum"])) < 0 else ""
    text = {
        "type": "string",
        "maxLength": precision + 1 + len(sign),
        "pattern": f"^{sign}{digits}{fraction}$",
    }
    return {"anyOf": [number, text]}


def _bound(value: float | None, limit: int, pick: Callable[[float, int], float]) -> float:
    """The spec's bound, kept inside the column type's range."""
    return limit if value is None else pick(value, limit)


def integer_bounds(f: ir.Field) -> tuple[float, float]:
    """(ge, le) of an integer or bigint input: the spec's bounds within the wire range."""
    low, high = INT32 if f.type.kind == "integer" else BIGINT_WIRE
    return _bound(f.min, low, max), _bound(f.max, high, min)


def string_limits(f: ir.Field) -> tuple[int | None, int | None, str | None]:
    """(min_length, max_length, pattern) of a string-like input; pattern None: only NUL is
    refused (`NO_NUL`). The schemas emitter and the OpenAPI renderer both read it."""
    info = TYPES[f.type.kind]
    max_length: int | None
    if f.type.kind == "password":
        max_length = min(f.max_length or PASSWORD_MAX_LENGTH, PASSWORD_MAX_LENGTH)
    elif f.type.kind == "text":
        max_length = f.max_length or 65_535
    else:
        max_length = f.type.max_length or info.default_length
    pattern = f.pattern or info.pattern or (URL_PATTERN if f.type.kind == "url" else None)
    return f.min_length, max_length, pattern


def _string(module: SchemaModule, f: ir.Field) -> str:
    min_length, max_length, pattern = string_limits(f)
    if pattern is None:
        module.use(f"{module.package}.core.types", "NO_NUL")
        return _annotated(
            module, "str", min_length=min_length, max_length=max_length, pattern_expr="NO_NUL"
        )
    return _annotated(module, "str", min_length=min_length, max_length=max_length, pattern=pattern)


def _annotated(
    module: SchemaModule, base: str, pattern_expr: str | None = None, **constraints: object
) -> str:
    args = [f"{k}={py_literal(v)}" for k, v in constraints.items() if v is not None]
    if pattern_expr:
        args.append(f"pattern={pattern_expr}")
    if not args:
        return base
    module.use("typing", "Annotated")
    module.use("pydantic", "Field")
    return f"Annotated[{base}, Field({', '.join(args)})]"


def _plain_type(module: SchemaModule, kind: str) -> str:
    if kind == "datetime":
        module.use(f"{module.package}.core.types", "UtcDatetime")
        return "UtcDatetime"
    if kind == "date":
        module.use(f"{module.package}.core.types", "IsoDate")
        return "IsoDate"
    if kind == "time":
        module.use(f"{module.package}.core.types", "LocalTime")
        return "LocalTime"
    if kind == "uuid":
        module.imports.add(Import("uuid"))
        return "uuid.UUID"
    if kind == "json":
        module.use("pydantic", "JsonValue")
        return "JsonValue"
    if kind == "boolean":
        module.use("pydantic", "StrictBool")
        return "StrictBool"
    return "str"


def read_type(module: SchemaModule, f: ir.Field) -> str:
    """The annotation of a field in responses (no input constraints)."""
    kind = f.type.kind
    if kind == "list" and f.item is not None:
        # Object items are read from their child rows' attributes, one of which may be `value`;
        # scalar items from the values the row's SELECT loaded (`_read_loaded_list`).
        return f"list[{read_type(module, f.item)}]"
    if kind == "object":
        return _nested_model(module, f, read=True)
    if kind == "enum":
        return _enum_class(module, f)
    if kind == "decimal":
        module.use("decimal", "Decimal")
        return "Decimal"
    if kind == "datetime":
        module.use("datetime", "datetime")
        return "datetime"
    if kind == "float":
        return "float"
    if kind in ("integer", "bigint"):
        return "int"
    if kind == "boolean":
        return "bool"
    if kind == "date":
        module.use("datetime", "date")
        return "date"
    return _plain_type(module, kind)


def _enum_class(module: SchemaModule, f: ir.Field) -> str:
    enum = next(e for e in module.project.enums if e.name == f.type.enum)
    module.use(f"{module.package}.enums", enum.class_name)
    return enum.class_name


def nested_model_name(f: ir.Field, *, read: bool) -> str:
    """The class of an object field's (or object list item's) own model: `Dimensions`, and
    `DimensionsRead` in responses."""
    return naming.pascal(f.name.removesuffix("_item")) + ("Read" if read else "")


def _nested_model(module: SchemaModule, f: ir.Field, read: bool = False) -> str:
    """An object field (or object list item) as its own small model in the same module."""
    name = nested_model_name(f, read=read)
    if name not in module.nested:
        config = "" if read else 'model_config = ConfigDict(extra="forbid")'
        config = "model_config = ConfigDict(from_attributes=True)" if read else config
        lines = [config] if config else []
        for sub in f.subfields:
            annotation = read_type(module, sub) if read else input_type(module, sub)
            if sub.nullable:
                annotation += " | None"
            default = "" if read else _default_suffix(module, sub)
            lines.append(f"{sub.attr}: {annotation}{default}")
        module.nested[name] = lines
    return name


# --- fields of the three models ----------------------------------------------------------------


def _default_suffix(module: SchemaModule, f: ir.Field) -> str:
    """` = <default>` for an optional input field, empty for a required one."""
    if f.default is not None:
        if f.default.now:
            module.use("pydantic", "Field")
            factory = {"datetime": "utcnow", "date": "today", "time": "now_time"}[f.type.kind]
            module.use(f"{module.package}.core.clock", factory)
            return f" = Field(default_factory={factory})"
        if f.type.kind == "enum" and isinstance(f.default.value, str):
            enum = next(e for e in module.project.enums if e.name == f.type.enum)
            member = enum.members[enum.values.index(f.default.value)]
            return f" = {enum.class_name}.{member}"
        if f.type.kind == "decimal" and f.default.value is not None:
            return f" = Decimal({py_literal(str(f.default.value))})"
        if f.type.kind in ("date", "time", "datetime") and isinstance(f.default.value, str):
            module.use("datetime", f.type.kind)
            return f" = {f.type.kind}.fromisoformat({py_literal(f.default.value)})"
        return f" = {py_literal(f.default.value)}"
    if f.nullable:
        return " = None"
    if f.type.kind == "list":
        module.use("pydantic", "Field")
        return " = Field(default_factory=list)"
    return ""


def _wire_name(module: SchemaModule, annotation: str, f: ir.Field, direction: str) -> str:
    """A mangled attribute (`metadata_`) keeps its spec name on the wire."""
    if f.attr == f.name:
        return annotation
    module.use("typing", "Annotated")
    module.use("pydantic", "Field")
    return f"Annotated[{annotation}, Field({direction}_alias={py_literal(f.name)})]"


def _input_field(
    module: SchemaModule, f: ir.Field, update: bool, annotation: str | None = None
) -> str:
    """A field of an input model; annotation: its `input_type`, when the caller has it."""
    if annotation is None:
        annotation = input_type(module, f)
    if update:
        annotation += " | MISSING"
    if f.nullable:
        annotation += " | None"
    annotation = _wire_name(module, annotation, f, "validation")
    if update:
        return f"{f.attr}: {annotation} = MISSING"
    return f"{f.attr}: {annotation}{_default_suffix(module, f)}"


def _read_field(module: SchemaModule, project: ir.Project, f: ir.Field) -> str:
    if scalar_list(f) and f.item is not None:
        return _read_loaded_list(module, f)
    annotation = read_type(module, f)
    if f.nullable:
        annotation += " | None"
    return f"{f.attr}: {_wire_name(module, annotation, f, 'serialization')}"


def _read_loaded_list(module: SchemaModule, f: ir.Field) -> str:
    """A scalar list field, read from the values its row's SELECT loaded (`keywords_loaded`),
    or from its wire name in JSON (a cached answer)."""
    assert f.item is not None
    module.use("typing", "Annotated")
    module.use("pydantic", "AliasChoices", "Field")
    aliases = [f"validation_alias=AliasChoices({py_literal(loaded_attr(f))}, {py_literal(f.name)})"]
    if f.attr != f.name:
        aliases.append(f"serialization_alias={py_literal(f.name)}")
    annotation = f"list[{read_type(module, f.item)}]"
    if f.nullable:
        annotation += " | None"
    return f"{f.attr}: Annotated[{annotation}, Field({', '.join(aliases)})]"


def id_annotation(module: SchemaModule) -> str:
    if module.project.api.id_type == "uuid":
        module.imports.add(Import("uuid"))
        return "uuid.UUID"
    return "int"


def id_input_annotation(module: SchemaModule, *, query: bool = False) -> str:
    """An id sent by the client: a UUID, or an integer within the id column's range (strict in a
    JSON body, read from text in a query)."""
    if module.project.api.id_type == "uuid":
        return id_annotation(module)
    name = "IdQuery" if query else "IdInput"
    module.use(f"{module.package}.core.types", name)
    return name


def _relation_input(
    module: SchemaModule, project: ir.Project, r: ir.Relation, update: bool, optional: bool = False
) -> str:
    ident = id_input_annotation(module)
    if r.kind == "many_to_many":
        module.use("typing", "Annotated")
        module.use("pydantic", "Field")
        annotation = f"Annotated[list[{ident}], Field(max_length={MAX_RELATED_IDS})]"
        default = " = MISSING" if update else " = Field(default_factory=list)"
        return f"{r.wire_name}: {annotation}{' | MISSING' if update else ''}{default}"
    if optional and not update:  # the owner, which defaults to the caller
        return f"{r.wire_name}: {ident} | None = None"
    annotation = ident if r.required else f"{ident} | None"
    if update:
        return f"{r.wire_name}: {ident} | MISSING{'' if r.required else ' | None'} = MISSING"
    return f"{r.wire_name}: {annotation}{'' if r.required else ' = None'}"


def _relation_read(module: SchemaModule, project: ir.Project, r: ir.Relation) -> str:
    ident = id_annotation(module)
    if r.kind == "many_to_many":
        return f"{r.wire_name}: list[{ident}]"
    return f"{r.wire_name}: {ident}{'' if r.required else ' | None'}"


# --- list parameters ---------------------------------------------------------------------------


def sort_fields(entity: ir.Entity, timestamps: bool) -> list[str]:
    """Fields `?sort=` accepts, in spec order, timestamps last."""
    names = [f.name for f in entity.fields if f.sortable and f.storage == "column"]
    return names + (["created_at", "updated_at"] if timestamps else [])


def _list_params(module: SchemaModule, entity: ir.Entity) -> list[str]:
    module.use(f"{module.package}.core.pagination", "ListParams")
    lines = []
    sortable = sort_fields(entity, module.project.api.timestamps)
    if sortable:
        module.use(f"{module.package}.core.pagination", "sort_by")
        lines.append(f"sort: str | None = sort_by({', '.join(py_literal(s) for s in sortable)})")
    if any(f.searchable for f in entity.fields):
        module.use(f"{module.package}.core.pagination", "SearchText")
        lines.append("q: SearchText = None")
    module.use(f"{module.package}.core.pagination", "InList")
    lines.append(f"id__in: InList[{id_input_annotation(module, query=True)}] | None = None")
    for f in entity.fields:
        if f.filterable and f.storage == "column":
            # A decimal filter is written like a decimal input (a bare `Decimal` would document
            # any string, the empty one included).
            kind = f.type.kind
            annotation = (
                input_type(module, f, query=True) if kind == "decimal" else read_type(module, f)
            )
            lines += _filters(module, f.name, annotation, kind)
    if module.project.api.timestamps:
        module.use("datetime", "datetime")
        for name in ("created_at", "updated_at"):
            lines += _filters(module, name, "datetime", "datetime")
    if entity.soft_delete:
        module.use("pydantic", "Field")
        lines.append(
            "include_deleted: bool = Field(default=False, description="
            + py_literal("Also list deleted rows (for callers allowed to delete them).")
            + ")"
        )
    return lines


# Query filters of these types accept only what the OpenAPI format says (no Unix times).
_FILTER_TYPES = {"datetime": "UtcDatetime", "date": "IsoDate", "time": "LocalTime"}


def _filters(module: SchemaModule, name: str, annotation: str, kind: str) -> list[str]:
    if kind in _FILTER_TYPES:
        module.use(f"{module.package}.core.types", _FILTER_TYPES[kind])
        annotation = _FILTER_TYPES[kind]
    elif kind in ("integer", "bigint"):
        # Within the column's range: a larger number would overflow the database driver.
        low, high = INT32 if kind == "integer" else BIGINT_WIRE
        annotation = _annotated(module, "int", ge=low, le=high)
    return [
        f"{name}{op}: InList[{annotation}] | None = None"
        if op == "__in"
        else f"{name}{op}: {annotation} | None = None"
        for op in filter_operators(kind)
    ]


def filter_operators(kind: str) -> tuple[str, ...]:
    """The list filters a field of this kind gets, as parameter suffixes: "" (equals),
    "__in" (one of), "__gte" and "__lte" (bounds)."""
    return (
        ("",)
        + (("__in",) if kind in _EQUALITY else ())
        + (("__gte", "__lte") if kind in _ORDERED else ())
    )


def list_filters(entity: ir.Entity, timestamps: bool) -> list[tuple[str, str]]:
    """(field, kind) of every filter `XListParams` declares, id__in apart."""
    found = [(f.name, f.type.kind) for f in entity.fields if f.filterable and f.storage == "column"]
    return found + ([("created_at", "datetime"), ("updated_at", "datetime")] if timestamps else [])
