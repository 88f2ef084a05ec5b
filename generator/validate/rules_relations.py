"""Rules on relations, the owner relation, and the entity options that follow relations."""

from __future__ import annotations

import re

from generator.diagnostics import Span, did_you_mean
from generator.validate.models import EntitySpec, RelationSpec
from generator.validate.rules_context import TO_ONE, Ctx
from generator.validate.rules_names import check_name
from generator.validate.specset import Located

_KIND_OPTIONS = {
    "required": ("many_to_one", "one_to_one"),
    "on_delete": ("many_to_one", "one_to_one"),
    "inverse": ("one_to_many",),
    "through": ("many_to_many",),
}


def check_relations(ctx: Ctx) -> None:
    """Rule 5: targets exist, options fit the kind, inverses and `through` entities fit."""
    for name, loc in ctx.spec.entities.items():
        for rname, rel in loc.value.relations.items():
            if rel.target not in ctx.spec.entities:
                ctx.error(
                    "E335",
                    f"relation `{name}.{rname}` targets unknown entity `{rel.target}`",
                    loc.span("relations", rname, "target"),
                    ctx.entity_hint(rel.target),
                )
            _check_kind_options(ctx, name, loc, rname, rel)
            _check_inverse(ctx, name, loc, rname, rel)
            _check_through(ctx, name, loc, rname, rel)
            _check_self_reference(ctx, name, loc, rname, rel)
    _check_created_inverses(ctx)


def _check_kind_options(
    ctx: Ctx, entity: str, loc: Located[EntitySpec], rname: str, rel: RelationSpec
) -> None:
    for option, kinds in _KIND_OPTIONS.items():
        if getattr(rel, option) is not None and rel.type not in kinds:
            ctx.error(
                "E336",
                f"relation `{entity}.{rname}`: `{option}` applies only to "
                f"{' and '.join(kinds)} relations, not {rel.type}",
                loc.key_span("relations", rname, option),
            )
    if rel.on_delete == "set_null" and rel.required is not False and rel.type in TO_ONE:
        ctx.error(
            "E337",
            f"relation `{entity}.{rname}`: `on_delete: set_null` needs `required: false`",
            loc.span("relations", rname, "on_delete"),
            "add `required: false`, or choose `cascade` or `restrict`",
        )


def _check_inverse(
    ctx: Ctx, entity: str, loc: Located[EntitySpec], rname: str, rel: RelationSpec
) -> None:
    if rel.type != "one_to_many" or rel.inverse is None or rel.target not in ctx.spec.entities:
        return
    declared = ctx.spec.entities[rel.target].value.relations.get(rel.inverse)
    if declared is None:
        return  # created on the target; collisions are checked once for all
    if declared.type != "many_to_one" or declared.target != entity:
        ctx.error(
            "E338",
            f"relation `{entity}.{rname}`: its inverse `{rel.target}.{rel.inverse}` "
            f"must be a many_to_one to `{entity}`, not a {declared.type} to "
            f"`{declared.target}`",
            loc.span("relations", rname, "inverse"),
        )


def _check_created_inverses(ctx: Ctx) -> None:
    """A created inverse must not land on a field, nor be created twice."""
    created: dict[tuple[str, str], str] = {}
    for imp in ctx.implicit:
        check_name(ctx, "inverse relation", imp.name, imp.span)
        fields = ctx.fields.get(imp.entity, {})
        by = f"`{imp.source}.{imp.source_relation}`"
        for taken in (imp.name, f"{imp.name}_id"):
            if taken in fields:
                ctx.error(
                    "E339",
                    f"the inverse `{imp.name}` that {by} creates on `{imp.entity}` "
                    f"clashes with its field `{taken}`",
                    imp.span,
                    "rename the inverse, or declare the many_to_one on the target",
                )
        first = created.setdefault((imp.entity, imp.name), by)
        if first != by:
            ctx.error(
                "E339",
                f"the inverse `{imp.entity}.{imp.name}` is created by both {first} and {by}",
                imp.span,
                "give each one_to_many its own inverse name",
            )


def _check_through(
    ctx: Ctx, entity: str, loc: Located[EntitySpec], rname: str, rel: RelationSpec
) -> None:
    through = rel.through
    if through is None or rel.type != "many_to_many":
        return
    span = loc.span("relations", rname, "through")
    if through not in ctx.spec.entities:
        ctx.error(
            "E340",
            f"relation `{entity}.{rname}`: `through` names unknown entity `{through}`",
            span,
            ctx.entity_hint(through),
        )
        return
    to_one = [r.target for r in ctx.relations[through].values() if r.type == "many_to_one"]
    needed = [entity, rel.target]  # a self many_to_many needs two links to the entity
    for end in dict.fromkeys(needed):
        if to_one.count(end) < needed.count(end):
            ctx.error(
                "E340",
                f"relation `{entity}.{rname}`: the `through` entity `{through}` "
                f"needs a many_to_one to `{end}`"
                + (" for each side" if needed.count(end) > 1 else ""),
                span,
            )


def _check_self_reference(
    ctx: Ctx, entity: str, loc: Located[EntitySpec], rname: str, rel: RelationSpec
) -> None:
    if rel.type in TO_ONE and rel.target == entity and rel.required is not False:
        ctx.warning(
            "W302",
            f"relation `{entity}.{rname}` is a required reference to `{entity}` "
            f"itself: the first `{entity}` can never be created",
            loc.key_span("relations", rname),
            "add `required: false`",
        )


# --- owner --------------------------------------------------------------------------------------


def check_owner(ctx: Ctx) -> None:
    """Rule 6: `owner` names the relation to the auth user entity (or `self` on it)."""
    for name, loc in ctx.spec.entities.items():
        owner = loc.value.owner
        if owner is None:
            continue
        span = loc.span("owner")
        auth = ctx.auth
        if auth is None:
            ctx.error(
                "E341",
                f"entity `{name}` has an `owner`, which needs an `auth` block",
                span,
                "add an `auth:` block naming the user entity",
            )
        elif owner == "self":
            if name != auth.user_entity:
                ctx.error(
                    "E342",
                    f"entity `{name}`: `owner: self` is only for the auth user "
                    f"entity `{auth.user_entity}`",
                    span,
                )
        elif auth.user_entity in ctx.spec.entities:  # else reported at `auth.user_entity`
            _check_owner_relation(ctx, name, owner, auth.user_entity, loc)


def _check_owner_relation(
    ctx: Ctx, entity: str, owner: str, user: str, loc: Located[EntitySpec]
) -> None:
    span = loc.span("owner")
    rel = ctx.relations[entity].get(owner)
    if rel is None:
        choices = [n for n, r in ctx.relations[entity].items() if r.target == user]
        ctx.error(
            "E342",
            f"entity `{entity}`: `owner` names `{owner}`, which is not a relation of `{entity}`",
            span,
            did_you_mean(owner, choices or ctx.members(entity)),
        )
    elif rel.type not in TO_ONE:
        ctx.error(
            "E342",
            f"entity `{entity}`: the owner relation `{owner}` must be a "
            f"many_to_one or one_to_one, not a {rel.type}",
            span,
        )
    elif rel.target != user:
        ctx.error(
            "E342",
            f"entity `{entity}`: the owner relation `{owner}` points at "
            f"`{rel.target}`, not at the auth user entity `{user}`",
            span,
        )


# --- entity options -----------------------------------------------------------------------------


def check_entity_options(ctx: Ctx) -> None:
    """Rule 11: `audit` needs auth; `tenant` needs tenancy and a path to the tenant entity."""
    tenancy = ctx.spec.api.value.tenancy
    if tenancy is not None and tenancy.entity not in ctx.spec.entities:
        ctx.error(
            "E371",
            f"`api.tenancy.entity` names unknown entity `{tenancy.entity}`",
            ctx.spec.api.span("tenancy", "entity"),
            ctx.entity_hint(tenancy.entity),
        )
    for name, loc in ctx.spec.entities.items():
        if loc.value.audit and ctx.auth is None:
            ctx.error(
                "E368",
                f"entity `{name}`: `audit` needs an `auth` block (it records the caller)",
                loc.key_span("audit"),
            )
        if loc.value.tenant is not None:
            _check_tenant(ctx, name, loc, loc.value.tenant)


def _check_tenant(ctx: Ctx, entity: str, loc: Located[EntitySpec], path: str) -> None:
    span = loc.span("tenant")
    tenant = ctx.spec.api.value.tenancy
    if tenant is None:
        ctx.error("E369", f"entity `{entity}`: `tenant` needs `api.tenancy`", span)
        return
    if tenant.entity not in ctx.spec.entities:
        return  # reported once, at `api.tenancy.entity`
    end = _tenant_path_end(ctx, entity, path, span)
    if end is not None and not _is_scoped(ctx, end, tenant.entity, {entity}):
        ctx.error(
            "E370",
            f"entity `{entity}`: `tenant` path `{path}` ends at `{end}`, which is neither the "
            f"tenant entity `{tenant.entity}` nor scoped to it",
            span,
            f"end the path at `{tenant.entity}` or at an entity with a many_to_one to it",
        )
    _check_tenant_twice(ctx, entity, loc, path, tenant.entity)
    _check_tenant_key_name_free(ctx, entity, loc, tenant.entity)


def _check_tenant_key_name_free(
    ctx: Ctx, entity: str, loc: Located[EntitySpec], tenant: str
) -> None:
    """A row scoped by a `tenant:` path stores its tenant key under the name of the user
    entity's many_to_one to the tenant (docs/spec-language.md, section 13), so the entity may
    not declare a field or another relation of that name."""
    user = ctx.user_entity
    key = next(
        (
            n
            for n, r in ctx.relations.get(user or "", {}).items()
            if r.type == "many_to_one" and r.target == tenant
        ),
        None,
    )
    if key is None or entity == user:
        return
    own = ctx.relations.get(entity, {}).get(key)
    if key in ctx.fields.get(entity, {}) or (own is not None and own.target != tenant):
        ctx.error(
            "E389",
            f"entity `{entity}`: `{key}` is the name of the tenant key its rows carry (as "
            f"`{user}.{key}`); a field or relation of that name would clash with it",
            loc.span("tenant"),
            f"rename `{entity}.{key}`",
        )


def _tenant_path_end(ctx: Ctx, entity: str, path: str, span: Span) -> str | None:
    """The entity a `tenant:` path of to-one relations leads to (None, reported, if it does not)."""
    current = entity
    for step in re.split(r"__|\.", path):
        rel = ctx.relations.get(current, {}).get(step)
        if rel is None or rel.type not in TO_ONE:
            what = "not a relation" if rel is None else f"a {rel.type}, not a to-one relation"
            choices = [n for n, r in ctx.relations.get(current, {}).items() if r.type in TO_ONE]
            ctx.error(
                "E370",
                f"entity `{entity}`: `tenant` path `{path}`: `{step}` is {what} of `{current}`",
                span,
                did_you_mean(step, choices),
            )
            return None
        current = rel.target
    return current


def _is_scoped(ctx: Ctx, entity: str, tenant: str, seen: set[str]) -> bool:
    """The docs (section 12): a `tenant:` path leads to the tenant entity, or to an entity that
    is scoped itself (a many_to_one to the tenant entity, or a `tenant:` path of its own)."""
    if entity == tenant:
        return True
    rels = ctx.relations.get(entity, {})
    if any(r.type == "many_to_one" and r.target == tenant for r in rels.values()):
        return True
    loc = ctx.spec.entities.get(entity)
    path = loc.value.tenant if loc is not None else None
    if path is None or entity in seen:
        return False
    current: str | None = entity
    for step in re.split(r"__|\.", path):
        rel = ctx.relations.get(current or "", {}).get(step)
        current = rel.target if rel is not None and rel.type in TO_ONE else None
    return current is not None and _is_scoped(ctx, current, tenant, seen | {entity})


def _check_tenant_twice(
    ctx: Ctx, entity: str, loc: Located[EntitySpec], path: str, tenant: str
) -> None:
    """Not in the contract: an entity with its own many_to_one to the tenant is scoped by it;
    a longer `tenant:` path beside it would scope the rows twice, so it is an error."""
    direct = [
        n
        for n, r in ctx.relations[entity].items()
        if r.type == "many_to_one" and r.target == tenant
    ]
    if direct and path not in direct:
        ctx.error(
            "E370",
            f"entity `{entity}` has its own many_to_one `{direct[0]}` to the tenant "
            f"entity; `tenant: {path}` would scope it a second way",
            loc.span("tenant"),
            "remove `tenant:`",
        )
