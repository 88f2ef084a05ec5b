"""Multi-tenancy (`api.tenancy`): which entities are scoped to the caller's tenant, and how.

Pure functions over the IR. Scoping is a row filter that is always on: `tenant_condition` is
the condition `policy.py` compiles into each scoped entity's `tenant()` expression, which every
read, list, include, related-id check and write of the entity goes through.
"""

from __future__ import annotations

from generator import ir


def tenant_entity(project: ir.Project) -> ir.Entity | None:
    """The tenant entity, when the API has tenancy and a user that belongs to a tenant."""
    name = project.api.tenant_entity
    if name is None or project.auth is None:
        return None
    return project.entity(name)


def tenant_relation(project: ir.Project, entity: ir.Entity) -> ir.Relation | None:
    """The entity's own many_to_one to the tenant entity: set from the caller, never sent."""
    tenant = tenant_entity(project)
    if tenant is None or entity.name == tenant.name:
        return None
    return next(
        (r for r in entity.relations if r.kind == "many_to_one" and r.target == tenant.name),
        None,
    )


def user_tenant_relation(project: ir.Project) -> ir.Relation | None:
    """The auth user's relation to its tenant (`user.organization`)."""
    if project.auth is None:
        return None
    return tenant_relation(project, project.entity(project.auth.user_entity))


def tenant_path(
    project: ir.Project, entity: ir.Entity, seen: frozenset[str] = frozenset()
) -> tuple[str, ...] | None:
    """The relation path from `entity` to its tenant key, ending in the relation to the tenant
    (`("organization",)`, `("store", "organization")`); `("id",)` for the tenant entity itself;
    None when the entity is not scoped."""
    tenant = tenant_entity(project)
    if tenant is None or user_tenant_relation(project) is None or entity.name in seen:
        return None
    if entity.name == tenant.name:
        return ("id",)
    direct = tenant_relation(project, entity)
    if direct is not None:
        return (direct.name,)
    if not entity.tenant_path:
        return None
    current = entity
    for step in entity.tenant_path:
        relation = next(r for r in current.relations if r.name == step)
        current = project.entity(relation.target)
    if current.name == tenant.name:
        return entity.tenant_path
    rest = tenant_path(project, current, seen | {entity.name})
    return None if rest is None else (*entity.tenant_path, *rest)


def tenant_condition(project: ir.Project, entity: ir.Entity) -> ir.Condition | None:
    """`<path to the tenant> == the caller's tenant`, as a row-filter condition."""
    path = tenant_path(project, entity)
    user_relation = user_tenant_relation(project)
    if path is None or user_relation is None:
        return None
    return ir.Condition(path, "eq", None, me_field=user_relation.name, is_me=True)


def registration_tenant_fields(project: ir.Project) -> list[tuple[str, ir.Field]]:
    """What a sign-up body with `creates_tenant` carries for the new tenant: each required
    writable field of the tenant entity, as `<tenant>_<field>` (`organization_name`)."""
    auth = project.auth
    tenant = tenant_entity(project)
    if auth is None or tenant is None or not auth.creates_tenant:
        return []
    return [
        (f"{tenant.name}_{f.name}", f)
        for f in tenant.fields
        if f.storage == "column"
        and not f.read_only
        and not f.nullable
        and f.default is None
        and f.type.kind not in ("password", "list", "object")
    ]
