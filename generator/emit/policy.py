"""Authorization compiled from the spec: who may do what to an entity, and which rows it sees.

Pure functions over the IR. `entity_policy` gives the per-entity facts the policy, service,
route and schema templates lay out; `row_filter_sql` turns a `row_filter` into a SQLAlchemy
expression (as Python source); `scope` is the same decision the generated
`core/permissions.py` makes at run time, used to compute what the generated tests expect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from generator import ir
from generator.emit.entity_context import module_name
from generator.emit.literals import py_literal
from generator.emit.tenancy import tenant_condition, tenant_relation, user_tenant_relation

ANONYMOUS = "anonymous"
AUTHENTICATED = "authenticated"
OWNER = "owner"
CRUD = ("list", "read", "create", "update", "delete")

Scope = Literal["all", "own"]

_OPERATORS = {"eq": "==", "ne": "!=", "gte": ">=", "lte": "<="}


@dataclass(frozen=True)
class FilterBranch:
    """One `row_filter` key: `if "<key>" in keys: allowed.append(<sql>)`."""

    key: str
    sql: str
    uses_me: bool


@dataclass(frozen=True)
class EntityPolicy:
    """What the templates of one entity need to enforce its permissions."""

    operations: tuple[tuple[str, tuple[str, ...]], ...]
    actions: tuple[tuple[str, tuple[str, ...]], ...]
    owner_column: str | None
    owner_wire: str | None
    owner_writable: bool
    write_rules: tuple[tuple[str, tuple[str, ...]], ...]
    read_rules: tuple[tuple[str, tuple[str, ...]], ...]
    filters: tuple[FilterBranch, ...]
    models: tuple[tuple[str, str], ...]
    enums: tuple[str, ...]
    tenant_sql: str | None = None
    tenant_wire: str | None = None
    user_tenant_wire: str | None = None

    def roles(self, operation: str) -> tuple[str, ...]:
        """The roles listed for `operation` (empty: closed to everyone)."""
        return dict(self.operations).get(operation, ())

    @property
    def filtered_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.key for b in self.filters))


def held_keys(held: Sequence[str] | None) -> frozenset[str]:
    """The row-filter keys that apply to a caller holding `held` (None: no token)."""
    if held is None:
        return frozenset({ANONYMOUS})
    return frozenset({*held, AUTHENTICATED})


def effective_roles(project: ir.Project, held: Sequence[str] | None) -> frozenset[str]:
    """Every role a caller acts with: what it holds, what those inherit, and the pseudo-roles."""
    if held is None:
        return frozenset({ANONYMOUS})
    closure = {r.name: r.closure for r in project.roles}
    roles = {ANONYMOUS, AUTHENTICATED}
    for role in held:
        roles.update(closure.get(role, (role,)))
    return frozenset(roles)


def scope(project: ir.Project, listed: Iterable[str], held: Sequence[str] | None) -> Scope | None:
    """How far a caller holding `held` may perform an operation open to `listed`: on every row,
    only on its own rows, or not at all (None)."""
    listed = frozenset(listed)
    if effective_roles(project, held) & (listed - {OWNER}):
        return "all"
    if OWNER in listed and held is not None:
        return "own"
    return None


def entity_policy(project: ir.Project, entity: ir.Entity) -> EntityPolicy:
    """The compiled permissions of `entity`."""
    relations = {r.name: r for r in entity.relations}
    owner = relations.get(entity.owner) if entity.owner and entity.owner != "self" else None
    fields = {f.name: f for f in entity.fields}
    write_rules: list[tuple[str, tuple[str, ...]]] = []
    read_rules: list[tuple[str, tuple[str, ...]]] = []
    for rule in entity.field_permissions:
        if rule.field in relations:
            wire = relations[rule.field].wire_name
            attr = wire
        else:
            attr = fields[rule.field].attr if rule.field in fields else rule.field
            wire = attr
        if rule.write is not None:
            write_rules.append((wire, tuple(sorted(rule.write))))
        if rule.read is not None:
            read_rules.append((attr, tuple(sorted(rule.read))))
    builder = _SqlBuilder(project)
    filters = tuple(
        FilterBranch(f.role, builder.row_filter(entity, f), _uses_me(f)) for f in entity.row_filters
    )
    owner_column = "id" if entity.owner == "self" else (owner.wire_name if owner else None)
    condition = tenant_condition(project, entity)
    tenant_sql = None if condition is None else builder.conjunction(entity, [condition])
    own_tenant = tenant_relation(project, entity)
    user_tenant = user_tenant_relation(project)
    return EntityPolicy(
        operations=tuple((p.operation, tuple(sorted(p.roles))) for p in entity.permissions),
        actions=tuple((a.name, tuple(sorted(a.roles))) for a in entity.actions),
        owner_column=owner_column,
        owner_wire=owner.wire_name if owner else None,
        owner_writable=owner is not None and any(w == owner.wire_name for w, _ in write_rules),
        write_rules=tuple(write_rules),
        read_rules=tuple(read_rules),
        filters=filters,
        models=tuple(sorted(builder.models)),
        enums=tuple(sorted(builder.enums)),
        tenant_sql=tenant_sql,
        tenant_wire=own_tenant.wire_name if own_tenant else None,
        user_tenant_wire=user_tenant.wire_name if user_tenant else None,
    )


def caller_attributes(project: ir.Project) -> tuple[str, ...]:
    """What row filters and tenant scopes read of the caller's user row
    (`principal.user.desk_id`), sorted: with its id and roles, all that a row filter depends on."""
    builder = _SqlBuilder(project)
    found: set[str] = set()
    for entity in project.entities:
        conditions = [c for f in entity.row_filters for alt in f.alternatives for c in alt]
        tenant = tenant_condition(project, entity)
        if tenant is not None:
            conditions.append(tenant)
        found.update(builder.me_attribute(c) for c in conditions if c.me_field is not None)
    return tuple(sorted(found))


def _uses_me(row_filter: ir.RowFilter) -> bool:
    return any(c.is_me for alternative in row_filter.alternatives for c in alternative)


class _SqlBuilder:
    """Row filters as SQLAlchemy expressions over the model classes, collecting what they name."""

    def __init__(self, project: ir.Project) -> None:
        self.project = project
        self.models: set[tuple[str, str]] = set()
        self.enums: set[str] = set()

    def row_filter(self, entity: ir.Entity, row_filter: ir.RowFilter) -> str:
        """Any of the alternatives (OR), each all of its conditions (AND)."""
        return _join("or_", [self.conjunction(entity, alt) for alt in row_filter.alternatives])

    def conjunction(self, entity: ir.Entity, conditions: Sequence[ir.Condition]) -> str:
        """All of `conditions`; those through one relation are grouped so that, through a
        to-many relation, the same related row satisfies them together."""
        self.models.add((entity.class_name, module_name(entity)))
        relations = {r.name: r for r in entity.relations}
        direct: list[str] = []
        through: dict[str, list[ir.Condition]] = {}
        for condition in conditions:
            head = condition.path[0]
            if len(condition.path) > 1:
                through.setdefault(head, []).append(
                    ir.Condition(
                        condition.path[1:],
                        condition.op,
                        condition.value,
                        me_field=condition.me_field,
                        is_me=condition.is_me,
                    )
                )
            elif head in relations and not relations[head].column:
                through.setdefault(head, []).append(
                    ir.Condition(
                        ("id",),
                        condition.op,
                        condition.value,
                        me_field=condition.me_field,
                        is_me=condition.is_me,
                    )
                )
            else:
                direct.append(self.comparison(entity, condition))
        for name, inner in through.items():
            relation = relations[name]
            target = self.project.entity(relation.target)
            method = "has" if relation.column else "any"
            direct.append(
                f"{entity.class_name}.{relation.attr}.{method}({self.conjunction(target, inner)})"
            )
        return _join("and_", direct)

    def comparison(self, entity: ir.Entity, condition: ir.Condition) -> str:
        """`Post.status == PostStatus.PUBLISHED`, `Comment.score >= -5`, `Post.author_id == me`."""
        name = condition.path[0]
        relations = {r.name: r for r in entity.relations}
        fields = {f.name: f for f in entity.fields}
        field = fields.get(name)
        if name == "id":
            column = "id"
        elif name in relations:
            column = relations[name].wire_name
        else:
            assert field is not None, name
            column = field.attr
        left = f"{entity.class_name}.{column}"
        value = self.value(condition, field)
        if condition.op == "in":
            return f"{left}.in_({value})"
        if condition.me_field is not None and condition.op == "eq":
            # A caller without that value (no desk) matches nothing, not the rows without one.
            return f"equals({left}, {value})"
        if isinstance(condition.value, bool) or (condition.value is None and not condition.is_me):
            method = "is_" if condition.op == "eq" else "is_not"
            return f"{left}.{method}({value})"
        return f"{left} {_OPERATORS[condition.op]} {value}"

    def value(self, condition: ir.Condition, field: ir.Field | None) -> str:
        if condition.is_me:
            return "principal.id" if condition.me_field is None else self.me_attribute(condition)
        if isinstance(condition.value, tuple):
            return "[" + ", ".join(self.constant(v, field) for v in condition.value) + "]"
        return self.constant(condition.value, field)

    def me_attribute(self, condition: ir.Condition) -> str:
        """`$me.desk` -> `principal.user.desk_id`: a field or to-one of the caller's user row."""
        assert self.project.auth is not None and condition.me_field is not None
        user = self.project.entity(self.project.auth.user_entity)
        for relation in user.relations:
            if relation.name == condition.me_field and relation.column:
                return f"principal.user.{relation.wire_name}"
        attr = next(f.attr for f in user.fields if f.name == condition.me_field)
        return f"principal.user.{attr}"

    def constant(self, value: ir.LiteralValue, field: ir.Field | None) -> str:
        if field is not None and field.type.kind == "enum" and isinstance(value, str):
            enum = next(e for e in self.project.enums if e.name == field.type.enum)
            self.enums.add(enum.class_name)
            return f"{enum.class_name}.{enum.members[enum.values.index(value)]}"
        return py_literal(value)


def _join(function: str, parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return f"{function}({', '.join(parts)})"


def _candidates(project: ir.Project) -> list[str | None]:
    """Anonymous, then every role from the least to the most privileged."""
    ordered = sorted(project.roles, key=lambda r: (len(r.closure), r.name))
    return [None, *(r.name for r in ordered)]


def _held(role: str | None) -> tuple[str, ...] | None:
    return None if role is None else (role,)


def can_create(project: ir.Project, entity: ir.Entity, role: str | None) -> bool:
    """True when a caller holding `role` may create rows of `entity` (all of them)."""
    if project.auth is None:
        return True
    return scope(project, entity_policy(project, entity).roles("create"), _held(role)) == "all"


def creator_role(
    project: ir.Project, entity: ir.Entity, parents: Sequence[ir.Entity]
) -> str | None:
    """The role the generated factories create rows of `entity` with: the least privileged that
    may create the row and the rows it requires (`parents`), so that they are its own; else the
    least privileged that may create the row itself. None: anonymous."""
    if project.auth is None:
        return None
    able = [r for r in _candidates(project) if can_create(project, entity, r)]
    whole = [r for r in able if all(can_create(project, p, r) for p in parents)]
    return (whole or able or [None])[0]


def writer_role(project: ir.Project, entity: ir.Entity, creator: str | None) -> str | None:
    """The role the generated CRUD tests act as on rows made by `creator`: the one allowed the
    most operations (its own rows count when it is the creator), the creator among equals, then
    the least privileged. None: anonymous."""
    if project.auth is None:
        return None
    policy = entity_policy(project, entity)

    def allowed(role: str | None) -> int:
        reach = [scope(project, policy.roles(op), _held(role)) for op in entity.crud]
        return sum(r == "all" or (r == "own" and role == creator) for r in reach)

    candidates = _candidates(project)
    return max(candidates, key=lambda r: (allowed(r), r == creator, -candidates.index(r)))


def acting_role(
    project: ir.Project, entity: ir.Entity, listed: Iterable[str], creator: str | None
) -> str | Literal[False] | None:
    """Who a generated test performs an operation open to `listed` as, on a row `creator` made:
    the creator when it may (its own row), else a role that may do it on every row and that no
    row filter narrows. False: nobody the test can rely on."""
    listed = tuple(listed)
    if project.auth is None or scope(project, listed, _held(creator)) is not None:
        return creator
    filtered = {f.role for f in entity.row_filters}
    for role in _candidates(project):
        keys = held_keys(_held(role)) & filtered
        if scope(project, listed, _held(role)) == "all" and not keys:
            return role
    return False


def py_roles(roles: Iterable[str]) -> str:
    """A frozenset literal of role names, sorted."""
    names = sorted(roles)
    if not names:
        return "frozenset[str]()"
    return "frozenset({" + ", ".join(py_literal(n) for n in names) + "})"
