"""Resolve: a validated spec set -> IR entities, enums, roles and auth (before normalization)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from generator import ir
from generator.compile import naming
from generator.compile.types import DEFAULT_DECIMAL, TYPES
from generator.compile_cache import CompileCache
from generator.diagnostics import Span
from generator.validate.models import EntitySpec, FieldSpec, RelationSpec, Scalar
from generator.validate.specset import Located, SpecSet

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_FILTER_OPS: dict[str, ir.ConditionOp] = {"in": "in", "gte": "gte", "lte": "lte", "ne": "ne"}
CHECK_RE = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(<=|>=|!=|<|>|=)\s*(.+?)\s*$")


def duration_seconds(text: str) -> int:
    """`15m` -> 900."""
    return int(text[:-1]) * _DURATION_UNITS[text[-1]]


def parse_dependency(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`a, b -> c, d` -> (("a", "b"), ("c", "d")); names stripped, empty names dropped."""
    lhs, _, rhs = text.partition("->")
    return _names(lhs), _names(rhs)


def _names(side: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in side.split(",") if name.strip())


def parse_check(text: str) -> ir.Check | None:
    """`published_at >= created_at` or `price > 0` -> Check; None when it does not parse."""
    match = CHECK_RE.match(text)
    if not match:
        return None
    left, op, right = match.groups()
    if re.fullmatch(r"[a-z][a-z0-9_]*", right) and right not in {"true", "false", "null"}:
        return ir.Check(left, op, right_field=right)
    literal = parse_literal(right)
    if isinstance(literal, _Invalid):
        return None
    return ir.Check(left, op, right_literal=literal)


class _Invalid:
    """What parse_literal returns for text that is not a literal."""


_INVALID = _Invalid()


def parse_literal(text: str) -> ir.LiteralValue | _Invalid:
    """A check literal: number, quoted string, true/false or null."""
    if text in {"true", "false"}:
        return text == "true"
    if text == "null":
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        number = float(text) if re.search(r"[.eE]", text) else int(text)
    except ValueError:
        return _INVALID
    return number if not (isinstance(number, float) and not math.isfinite(number)) else _INVALID


def role_closure(roles: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Each role and every role it inherits, transitively (cycles are cut, rules report them)."""
    result = {}
    for name in roles:
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(roles.get(current, ()))
        result[name] = tuple(sorted(seen))
    return result


class Resolver:
    """Builds IR pieces from one spec set; `project()` returns the unnormalized Project."""

    def __init__(self, spec: SpecSet, cache: CompileCache | None = None) -> None:
        self.spec = spec
        self.cache = cache
        self.inline_enums: dict[str, ir.EnumType] = {}

    def api(self) -> ir.Api:
        api = self.spec.api.value
        return ir.Api(
            name=api.name,
            title=api.title or naming.pascal(api.name),
            version=api.version,
            description=api.description,
            base_path=api.base_path.rstrip("/") or "/",
            locales=tuple(api.locales),
            id_type=api.id_type,
            timestamps=api.timestamps,
            default_limit=api.pagination.default_limit,
            max_limit=api.pagination.max_limit,
            rate_limit_anonymous=api.rate_limit.anonymous,
            rate_limit_authenticated=api.rate_limit.authenticated,
            cors_origins=tuple(api.cors.origins),
            cache_ttl_seconds=duration_seconds(api.cache.ttl) if api.cache else None,
            tenant_entity=api.tenancy.entity if api.tenancy else None,
        )

    def roles(self) -> tuple[ir.Role, ...]:
        declared = {name: tuple(r.value.inherits) for name, r in self.spec.roles.items()}
        closure = role_closure(declared)
        return tuple(
            ir.Role(name, r.value.description, tuple(sorted(r.value.inherits)), closure[name])
            for name, r in sorted(self.spec.roles.items())
        )

    def auth(self) -> ir.Auth | None:
        if self.spec.auth is None:
            return None
        auth = self.spec.auth.value
        user = self.spec.entities.get(auth.user_entity)
        roles_field = user.value.fields.get(auth.roles_field) if user else None
        registration = auth.registration
        return ir.Auth(
            user_entity=auth.user_entity,
            username_field=auth.username_field,
            password_field=auth.password_field,
            roles_field=auth.roles_field,
            multiple_roles=bool(roles_field and roles_field.type == "list"),
            access_token_ttl_seconds=duration_seconds(auth.access_token_ttl),
            refresh_token_ttl_seconds=duration_seconds(auth.refresh_token_ttl),
            registration_enabled=bool(registration and registration.enabled),
            default_role=registration.default_role if registration else None,
            creates_tenant=bool(registration and registration.creates_tenant),
            tenant_role=registration.tenant_role if registration else None,
        )

    def enums(self) -> tuple[ir.EnumType, ...]:
        declared = [
            self._enum(name, tuple(loc.value), loc.span()) for name, loc in self.spec.enums.items()
        ]
        return tuple(sorted([*declared, *self.inline_enums.values()], key=lambda e: e.name))

    def _enum(self, name: str, values: tuple[str, ...], span: Span) -> ir.EnumType:
        return ir.EnumType(
            name=name,
            class_name=naming.class_name(name),
            values=values,
            members=tuple(naming.enum_member(v) for v in values),
            span=span,
        )

    # --- entities ------------------------------------------------------------------------------

    def entities(self) -> tuple[ir.Entity, ...]:
        entities = {name: self._entity(name, loc) for name, loc in self.spec.entities.items()}
        return tuple(entities[name] for name in sorted(_with_inverses(entities, self.spec)))

    def _entity(self, name: str, loc: Located[EntitySpec]) -> ir.Entity:
        """`entity`, through the cache: it reads only the entity's file and the declared enums
        (an inline enum's name is its owner's, and may not be taken twice: rule E305)."""
        if self.cache is None:
            return self.entity(name, loc)
        inputs = self.cache.entity_inputs(loc, self.spec)
        entity, inline = self.cache.value("resolved", inputs, lambda: self._own_entity(name, loc))
        self.inline_enums.update(inline)
        return entity

    def _own_entity(
        self, name: str, loc: Located[EntitySpec]
    ) -> tuple[ir.Entity, dict[str, ir.EnumType]]:
        """The entity, and the inline enums its fields declare."""
        outer, self.inline_enums = self.inline_enums, {}
        try:
            return self.entity(name, loc), self.inline_enums
        finally:
            self.inline_enums = outer

    def entity(self, name: str, loc: Located[EntitySpec]) -> ir.Entity:
        spec = self.spec.entities[name].value
        table = spec.table or naming.table_name(name)
        return ir.Entity(
            name=name,
            class_name=naming.class_name(name),
            table=table,
            path=spec.path or naming.url_path(name),
            plural=naming.pluralize(name),
            span=loc.key_span(),
            description=spec.description,
            fields=tuple(
                self.field(name, fname, f, loc.key_span("fields", fname))
                for fname, f in spec.fields.items()
            ),
            relations=tuple(
                self.relation(name, table, rname, r, loc.key_span("relations", rname))
                for rname, r in spec.relations.items()
            ),
            owner=spec.owner,
            unique=tuple(tuple(u) for u in spec.unique),
            indexes=tuple(tuple(i) for i in spec.indexes),
            checks=tuple(c for c in map(parse_check, spec.checks) if c is not None),
            permissions=tuple(
                ir.Permission(op, tuple(roles)) for op, roles in sorted(spec.permissions.items())
            ),
            field_permissions=tuple(
                ir.FieldPermission(
                    f,
                    tuple(p.read) if p.read is not None else None,
                    tuple(p.write) if p.write is not None else None,
                )
                for f, p in sorted(spec.field_permissions.items())
            ),
            row_filters=tuple(
                ir.RowFilter(role, tuple(_conditions(alt) for alt in alternatives))
                for role, alternatives in sorted(spec.row_filter.items())
            ),
            crud=tuple(
                op
                for op in ("list", "read", "create", "update", "delete")
                if op in spec.endpoints.crud
            ),
            actions=tuple(
                ir.Action(
                    name=aname,
                    method=a.method,
                    path=a.path,
                    roles=tuple(a.roles),
                    span=loc.span("endpoints", "actions", aname),
                    summary=a.summary,
                    description=a.description,
                    request=None
                    if a.request is None
                    else tuple(
                        self.field(
                            f"{name}_{aname}",
                            fname,
                            f,
                            loc.span("endpoints", "actions", aname, "request", fname),
                        )
                        for fname, f in a.request.items()
                    ),
                    response=a.response,
                )
                for aname, a in spec.endpoints.actions.items()
            ),
            soft_delete=spec.soft_delete,
            audit=spec.audit,
            versioned=spec.versioned,
            tenant_path=tuple(re.split(r"__|\.", spec.tenant)) if spec.tenant else None,
            renamed_from=spec.renamed_from,
        )

    def field(self, owner: str, name: str, spec: FieldSpec, span: Span) -> ir.Field:
        return ir.Field(
            name=name,
            attr=naming.py_attr(name),
            type=self.type_ref(owner, name, spec, span),
            span=span,
            nullable=spec.nullable,
            default=_default(spec),
            on_update_now=spec.on_update == "now",
            unique=spec.unique,
            index=spec.index,
            min_length=spec.min_length,
            max_length=spec.max_length,
            pattern=spec.pattern,
            min=spec.min,
            max=spec.max,
            min_items=spec.min_items,
            max_items=spec.max_items,
            read_only=spec.read_only,
            write_only=spec.write_only or spec.type == "password",
            immutable=spec.immutable,
            searchable=spec.searchable,
            filterable=spec.filterable,
            sortable=spec.sortable,
            description=spec.description,
            example=spec.example,
            deprecated=spec.deprecated,
            renamed_from=spec.renamed_from,
            storage="child_table"
            if spec.type == "list"
            else "flattened"
            if spec.type == "object"
            else "column",
            denormalized_reason=spec.denormalized.reason if spec.denormalized else None,
            item=self.field(owner, f"{name}_item", spec.of, span) if spec.of else None,
            subfields=tuple(
                self.field(f"{owner}_{name}", sub, s, span)
                for sub, s in (spec.fields or {}).items()
            ),
        )

    def type_ref(self, owner: str, name: str, spec: FieldSpec, span: Span) -> ir.TypeRef:
        kind = spec.type
        if kind == "enum":
            enum = spec.enum
            if enum is None:
                enum = f"{owner}_{name}"
                self.inline_enums[enum] = self._enum(enum, tuple(spec.values or ()), span)
            values = (
                self.inline_enums[enum].values
                if enum in self.inline_enums
                else tuple(self.spec.enums[enum].value if enum in self.spec.enums else ())
            )
            length = max((len(v.encode()) for v in values), default=1)
            return ir.TypeRef(kind, max_length=max(length, 1), enum=enum)
        if kind == "decimal":
            precision = spec.precision or DEFAULT_DECIMAL[0]
            scale = spec.scale if spec.scale is not None else min(DEFAULT_DECIMAL[1], precision)
            return ir.TypeRef(kind, precision=precision, scale=scale)
        info = TYPES.get(kind)
        if info and info.string_like and kind not in {"text", "password"}:
            return ir.TypeRef(kind, max_length=spec.max_length or info.default_length)
        return ir.TypeRef(kind)

    def relation(
        self, entity: str, table: str, name: str, spec: RelationSpec, span: Span
    ) -> ir.Relation:
        to_one = spec.type in ("many_to_one", "one_to_one")
        required = spec.required if spec.required is not None else True
        on_delete = spec.on_delete or ("restrict" if required else "set_null")
        singular = naming.singularize(name)
        return ir.Relation(
            name=name,
            attr=naming.py_attr(name),
            kind=spec.type,
            target=spec.target,
            span=span,
            required=required if to_one else False,
            on_delete=on_delete,
            inverse=spec.inverse,
            through=spec.through,
            column=f"{name}_id" if to_one else None,
            association_table=f"{table}_{name}"
            if spec.type == "many_to_many" and not spec.through
            else None,
            wire_name=f"{name}_id"
            if to_one
            else f"{singular}_ids"
            if spec.type == "many_to_many"
            else name,
            description=spec.description,
        )

    def seeds(self) -> tuple[ir.SeedRow, ...]:
        return tuple(
            ir.SeedRow(entity, tuple(sorted(row.value.items())))
            for entity, rows in sorted(self.spec.seed.items())
            for row in rows
        )


def _default(spec: FieldSpec) -> ir.Default | None:
    if "default" not in spec.model_fields_set:
        return None
    if spec.default == "now" and spec.type in {"date", "datetime", "time"}:
        return ir.Default(now=True)
    return ir.Default(value=spec.default)


def _conditions(alternative: Mapping[str, Scalar | list[Scalar]]) -> tuple[ir.Condition, ...]:
    return tuple(_condition(key, value) for key, value in sorted(alternative.items()))


def _condition(key: str, value: Scalar | list[Scalar]) -> ir.Condition:
    parts = key.split("__")
    op: ir.ConditionOp = "eq"
    if len(parts) > 1 and parts[-1] in _FILTER_OPS:
        op = _FILTER_OPS[parts.pop()]
    is_me = isinstance(value, str) and (value == "$me" or value.startswith("$me."))
    me_field = value[4:] if is_me and isinstance(value, str) and value != "$me" else None
    stored = tuple(value) if isinstance(value, list) else value
    return ir.Condition(tuple(parts), op, None if is_me else stored, me_field=me_field, is_me=is_me)


def _with_inverses(entities: dict[str, ir.Entity], spec: SpecSet) -> Iterable[str]:
    """Add the many_to_one that a one_to_many names as `inverse` when the target lacks it."""
    import dataclasses

    for name in sorted(entities):
        for rel in entities[name].relations:
            if rel.kind != "one_to_many" or not rel.inverse or rel.target not in entities:
                continue
            target = entities[rel.target]
            if any(r.name == rel.inverse for r in target.relations):
                continue
            implicit = ir.Relation(
                name=rel.inverse,
                attr=naming.py_attr(rel.inverse),
                kind="many_to_one",
                target=name,
                span=rel.span,
                required=True,
                on_delete="cascade",
                inverse=rel.name,
                column=f"{rel.inverse}_id",
                wire_name=f"{rel.inverse}_id",
                implicit=True,
            )
            entities[rel.target] = dataclasses.replace(
                target, relations=(*target.relations, implicit)
            )
    return entities
