"""The names and facts every per-entity layer template needs, computed once per entity."""

from __future__ import annotations

from dataclasses import dataclass

from generator import ir
from generator.compile import naming
from generator.compile.normalize import columns_for
from generator.emit.models import child_class_name, loaded_attr, scalar_list
from generator.emit.schemas import includable, writable_relations
from generator.emit.tenancy import tenant_relation


@dataclass(frozen=True)
class RelatedIds:
    """A many_to_many written as ids: `tag_ids` sets `post.tags` to the `Tag` rows."""

    wire: str
    attr: str
    target_class: str
    target_module: str
    where: str | None = None


@dataclass(frozen=True)
class ToOne:
    """A to-one relation written as `<name>_id`, whose target must exist."""

    wire: str
    target_class: str
    target_module: str
    required: bool
    where: str | None = None
    users: bool = False
    """The target is the users table: the caller's own id needs no lookup (its token was
    checked against its row)."""


@dataclass(frozen=True)
class ListField:
    """A list field stored in a child table; items are written in order."""

    attr: str
    child_class: str
    scalar: bool


@dataclass(frozen=True)
class Snapshot:
    """A denormalized copy (rule 4): filled from the related row on create and when the
    relation changes, never from the body."""

    attr: str
    wire: str
    target_class: str
    target_module: str
    target_attr: str


@dataclass(frozen=True)
class ActionContext:
    """One declared action: its route, its service function and its custom handler."""

    name: str
    fn: str
    method: str
    path: str
    with_id: bool
    summary: str
    request: str | None
    response_class: str | None
    response_module: str | None
    same_entity: bool
    handler_module: str

    @property
    def constant(self) -> str:
        """The `policies` constant holding the action's roles (`PUBLISH`)."""
        return constant_name(self.name)


@dataclass(frozen=True)
class DependencyWrite:
    """Rule 3 on write: find or create the determinant's row; a contradiction is a 409."""

    target_class: str
    target_module: str
    key: tuple[str, ...]
    dependents: tuple[str, ...]
    fd: str


@dataclass(frozen=True)
class EntityContext:
    package: str
    entity: ir.Entity
    module: str
    var: str
    plural_var: str
    class_name: str
    path: str
    id_type: str
    crud: tuple[str, ...]
    searchable: tuple[str, ...]
    loads: tuple[str, ...]
    related_ids: tuple[RelatedIds, ...]
    to_one: tuple[ToOne, ...]
    lists: tuple[ListField, ...]
    passwords: tuple[str, ...]
    immutable: tuple[str, ...]
    dependencies: tuple[DependencyWrite, ...]
    includes: tuple[tuple[str, str], ...]
    snapshots: tuple[Snapshot, ...]
    actions: tuple[ActionContext, ...]
    # (key in a write's values, relationship) of the collections reads take from the row's own
    # SELECT: a write loads them before replacing them.
    collections: tuple[tuple[str, str], ...] = ()
    # A create without related rows inserts with RETURNING instead of reloading the row: the
    # loaded lists it sets empty; None when responses load other tables' rows.
    returning: tuple[str, ...] | None = None
    secured: bool = False

    @property
    def list_fn(self) -> str:
        return f"list_{self.entity.plural}"

    def fn(self, verb: str) -> str:
        return f"{verb}_{self.entity.name}"


def constant_name(operation: str) -> str:
    """`LIST`, `PUBLISH`: the module constant holding an operation's roles."""
    return naming.py_attr(operation).upper().rstrip("_")


def module_name(entity: ir.Entity) -> str:
    """The Python module of an entity in every layer (`order`, `class_`)."""
    return naming.py_attr(entity.name)


def entity_loads(project: ir.Project, entity: ir.Entity) -> list[str]:
    """Loader options for what every response of `entity` reads besides its own columns."""
    relations = writable_relations(entity)
    loads = [
        f"undefer({entity.class_name}.{r.wire_name})" for r in relations if r.kind == "many_to_many"
    ]
    loads += [
        f"undefer({entity.class_name}.{loaded_attr(f)})"
        if scalar_list(f)
        else f"selectinload({entity.class_name}.{f.attr})"
        for f in entity.fields
        if f.storage == "child_table"
    ]
    loads += [
        f"selectinload({entity.class_name}.{naming.py_attr(f.derived_from[0])})"
        for f in entity.fields
        if f.storage == "derived"
        and f.derived_from
        and not f.denormalized_reason
        and any(r.name == f.derived_from[0] for r in entity.relations)
    ]
    loads += [_chain_load(project, entity, link) for link in entity.dependencies]
    return list(dict.fromkeys(loads))


def _returning(entity: ir.Entity, loads: list[str]) -> tuple[str, ...] | None:
    """The loaded-list columns (`undefer`ed) a new row without related rows holds empty; None
    when a response also loads rows of other tables (a `selectinload`, a chain), or when a
    field is no column of its own (an object stored as prefixed columns: the model's setter
    spreads it, which an INSERT statement does not call)."""
    prefix = f"undefer({entity.class_name}."
    if not all(load.startswith(prefix) for load in loads):
        return None
    if any(f.storage == "flattened" for f in entity.fields):
        return None
    return tuple(load.removeprefix(prefix).removesuffix(")") for load in loads)


def entity_context(project: ir.Project, entity: ir.Entity) -> EntityContext:
    """Everything the layer templates of one entity use."""
    relations = writable_relations(entity)
    loads = entity_loads(project, entity)
    return EntityContext(
        package=project.api.name,
        entity=entity,
        module=module_name(entity),
        var=naming.py_attr(entity.name),
        plural_var=naming.py_attr(entity.plural)
        if entity.plural != entity.name
        else naming.py_attr(entity.name + "_rows"),
        class_name=entity.class_name,
        path=entity.path,
        id_type="uuid.UUID" if project.api.id_type == "uuid" else "int",
        crud=entity.crud,
        searchable=tuple(f.attr for f in entity.fields if f.searchable and f.storage == "column"),
        loads=tuple(loads),
        related_ids=tuple(
            RelatedIds(
                r.wire_name,
                r.attr,
                project.entity(r.target).class_name,
                module_name(project.entity(r.target)),
                _where(project, project.entity(r.target)),
            )
            for r in relations
            if r.kind == "many_to_many"
        ),
        to_one=tuple(
            ToOne(
                r.wire_name,
                project.entity(r.target).class_name,
                module_name(project.entity(r.target)),
                r.required,
                _where(project, project.entity(r.target)),
                users=project.auth is not None and r.target == project.auth.user_entity,
            )
            for r in relations
            if r.column and r is not tenant_relation(project, entity)
        ),
        lists=tuple(
            ListField(
                f.attr,
                child_class_name(entity, f),
                scalar=f.item is not None and f.item.type.kind != "object",
            )
            for f in entity.fields
            if f.storage == "child_table" and not f.read_only
        ),
        passwords=tuple(f.attr for f in entity.fields if f.type.kind == "password"),
        immutable=tuple(f.attr for f in entity.fields if f.immutable and not f.read_only),
        snapshots=tuple(_snapshots(project, entity)),
        actions=tuple(_actions(project, entity)),
        collections=tuple(
            [(r.wire_name, r.attr) for r in relations if r.kind == "many_to_many"]
            + [(f.attr, f.attr) for f in entity.fields if scalar_list(f) and not f.read_only]
        ),
        returning=_returning(entity, loads),
        secured=project.auth is not None,
        includes=tuple(
            (r.name, _include_load(project, entity, r)) for r in includable(project, entity)
        ),
        dependencies=tuple(
            DependencyWrite(
                project.entity(d.entity).class_name,
                module_name(project.entity(d.entity)),
                dependency_key(project, home, d),
                tuple(naming.py_attr(n) for n in d.dependents),
                d.fd,
            )
            for home, d in deepest_first(project, entity)
        ),
    )


def deepest_first(
    project: ir.Project, entity: ir.Entity
) -> list[tuple[ir.Entity, ir.DependencyLink]]:
    """Every dependency a write through `entity` must satisfy, with the entity that stores its
    determinant; the end of a chain first, so each row's own foreign key already resolves."""
    found: list[tuple[ir.Entity, ir.DependencyLink]] = []
    for link in entity.dependencies:
        found = deepest_first(project, project.entity(link.entity)) + found + [(entity, link)]
    return found


def _actions(project: ir.Project, entity: ir.Entity) -> list[ActionContext]:
    found = []
    for a in entity.actions:
        target = project.entity(a.response) if a.response else None
        found.append(
            ActionContext(
                name=a.name,
                fn=f"{a.name}_{entity.name}",
                method=a.method.lower(),
                path=a.path,
                with_id="{id}" in a.path,
                summary=a.summary or f"{naming.pascal(a.name)} a {entity.name.replace('_', ' ')}.",
                request=f"{entity.class_name}{naming.pascal(a.name)}Request"
                if a.request is not None
                else None,
                response_class=target.class_name if target else None,
                response_module=module_name(target) if target else None,
                same_entity=target is not None and target.name == entity.name,
                handler_module=f"{module_name(entity)}_{a.name}",
            )
        )
    return found


def _snapshots(project: ir.Project, entity: ir.Entity) -> list[Snapshot]:
    relations = {r.name: r for r in entity.relations if r.column}
    found = []
    for f in entity.fields:
        if not (f.denormalized_reason and f.derived_from and f.derived_from[0] in relations):
            continue
        relation = relations[f.derived_from[0]]
        target = project.entity(relation.target)
        found.append(
            Snapshot(
                f.attr,
                relation.wire_name,
                target.class_name,
                module_name(target),
                naming.py_attr(f.derived_from[1]),
            )
        )
    return found


def target_criteria(project: ir.Project, target: ir.Entity) -> list[str]:
    """What a related row must satisfy to be written or embedded: the caller may see it (with
    auth), and it is not deleted (soft delete)."""
    criteria = []
    if project.auth is not None:
        criteria.append(f"{policy_alias(module_name(target))}.visible(principal)")
    if target.soft_delete:
        criteria.append(f"{target.class_name}.deleted_at.is_(None)")
    return criteria


def _where(project: ir.Project, target: ir.Entity) -> str | None:
    criteria = target_criteria(project, target)
    if not criteria:
        return None
    return criteria[0] if len(criteria) == 1 else f"and_({', '.join(criteria)})"


def policy_alias(target_module: str) -> str:
    """How a repository names another entity's policies module (`user_policy`)."""
    return f"{target_module.rstrip('_')}_policy"


def dependency_key(
    project: ir.Project, home: ir.Entity, link: ir.DependencyLink
) -> tuple[str, ...]:
    """The columns that find a dependency's row: the tenant key first when the row belongs to
    a tenant (the dependency holds per tenant), then the determinant."""
    tenant = tenant_relation(project, home)
    scoped = tenant is not None and tenant_relation(project, project.entity(link.entity))
    keys = (tenant.column,) if scoped and tenant is not None and tenant.column else ()
    return (*keys, *(columns_for(home, n) for n in link.determinant))


def _include_load(project: ir.Project, entity: ir.Entity, relation: ir.Relation) -> str:
    """The load of an embedded relation, with what the target's own responses read; with auth,
    narrowed to the target rows the caller may see."""
    target = project.entity(relation.target)
    attribute = f"{entity.class_name}.{relation.attr}"
    criteria = target_criteria(project, target)
    if criteria:
        attribute += f".and_({', '.join(criteria)})"
    # A row it points at joins the row's own SELECT, unless every response loads it already
    # (a derived field's source: one strategy per relation); the rows pointing at it take a
    # second SELECT.
    selectin = f"selectinload({entity.class_name}.{relation.attr})"
    loaded = any(load.startswith(selectin) for load in entity_loads(project, entity))
    joined = relation.column and not loaded
    load = f"joinedload({attribute})" if joined else f"selectinload({attribute})"
    if target.name == entity.name:
        return load
    nested = entity_loads(project, target)
    return f"{load}.options({', '.join(nested)})" if nested else load


def _chain_load(project: ir.Project, entity: ir.Entity, link: ir.DependencyLink) -> str:
    """`selectinload(A.b_row).selectinload(B.c_row)`: the rows a chain of dependencies reads."""
    load = f"selectinload({entity.class_name}.{naming.py_attr(link.entity + '_row')})"
    target = project.entity(link.entity)
    for deeper in target.dependencies:
        load += f".selectinload({target.class_name}.{naming.py_attr(deeper.entity + '_row')})"
    return load
