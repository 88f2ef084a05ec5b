"""Rules on roles and who may do what: inheritance, permission lists, field permissions."""

from __future__ import annotations

from generator.diagnostics import Span, did_you_mean
from generator.validate.models import CRUD_OPERATIONS, EntitySpec
from generator.validate.rules_context import PSEUDO_ROLES, Ctx, RoleRef
from generator.validate.specset import Located


def check_roles(ctx: Ctx) -> None:
    """Rule 2: inherited roles exist; inheritance has no cycle (each reported once)."""
    for name, role in ctx.spec.roles.items():
        for i, parent in enumerate(role.value.inherits):
            if parent in ctx.roles:
                continue
            span = role.span("inherits", i)
            if parent in PSEUDO_ROLES:
                ctx.error(
                    "E314",
                    f"role `{name}` inherits `{parent}`, a pseudo-role that cannot be inherited",
                    span,
                )
            else:
                ctx.error(
                    "E314",
                    f"role `{name}` inherits unknown role `{parent}`",
                    span,
                    did_you_mean(parent, ctx.roles),
                )
    _check_cycles(ctx)


def _check_cycles(ctx: Ctx) -> None:
    order = list(ctx.spec.roles)
    graph = {n: [p for p in r.value.inherits if p in ctx.roles] for n, r in ctx.spec.roles.items()}
    reported: set[frozenset[str]] = set()
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            cycle = stack[stack.index(node) :]
            if frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                _report_cycle(ctx, cycle, order)
            return
        if node in done:
            return
        stack.append(node)
        for parent in graph[node]:
            visit(parent, stack)
        stack.pop()
        done.add(node)

    for name in order:
        visit(name, [])


def _report_cycle(ctx: Ctx, cycle: list[str], order: list[str]) -> None:
    start = min(range(len(cycle)), key=lambda i: order.index(cycle[i]))
    ring = cycle[start:] + cycle[:start]
    text = " -> ".join([*ring, ring[0]])
    ctx.error(
        "E315",
        f"role inheritance has a cycle: `{text}`",
        ctx.spec.roles[ring[0]].key_span(),
        "inheritance must be acyclic; remove one link",
    )


# --- permissions --------------------------------------------------------------------------------


def check_permissions(ctx: Ctx) -> None:
    """Rule 8: every role named exists; without auth only `anonymous`; unmentioned operations."""
    for ref in ctx.role_refs():
        _check_role_ref(ctx, ref)
    for name, loc in ctx.spec.entities.items():
        spec = loc.value
        for role in spec.row_filter:
            _check_filter_role(ctx, name, role, loc.key_span("row_filter", role))
        for fname in spec.field_permissions:
            if fname not in ctx.members(name):
                ctx.error(
                    "E356",
                    f"entity `{name}`: `field_permissions` names `{fname}`, which "
                    f"is not a field or relation of `{name}`",
                    loc.key_span("field_permissions", fname),
                    did_you_mean(fname, ctx.members(name)),
                )
        if ctx.auth is not None:
            _check_unmentioned(ctx, name, loc)
            for aname, action in spec.endpoints.actions.items():
                if not action.roles:
                    ctx.warning(
                        "W304",
                        f"action `{name}.{aname}` is allowed to no role",
                        loc.key_span("endpoints", "actions", aname),
                        "add `roles:`",
                    )


def _check_role_ref(ctx: Ctx, ref: RoleRef) -> None:
    if ctx.auth is None:
        if ref.role != "anonymous":
            _no_auth(ctx, ref.role, ref.where, ref.entity, ref.span)
        return
    if ref.role not in ctx.roles and ref.role not in PSEUDO_ROLES:
        ctx.error(
            "E353",
            f"entity `{ref.entity}`: `{ref.where}` names unknown role `{ref.role}`",
            ref.span,
            did_you_mean(ref.role, [*ctx.roles, *PSEUDO_ROLES]),
        )
    elif ref.role == "owner" and ctx.spec.entities[ref.entity].value.owner is None:
        ctx.error(
            "E343",
            f"entity `{ref.entity}`: `{ref.where}` lists `owner`, but "
            f"`{ref.entity}` has no `owner`",
            ref.span,
            "set `owner:` to the relation that points at the user",
        )


def _no_auth(ctx: Ctx, role: str, where: str, entity: str, span: Span) -> None:
    ctx.error(
        "E355",
        f"entity `{entity}`: `{where}` names `{role}`, but without an `auth` block "
        "every operation is `anonymous`",
        span,
        "add an `auth:` block, or list `anonymous`",
    )


def _check_filter_role(ctx: Ctx, entity: str, role: str, span: Span) -> None:
    where = "row_filter"
    if ctx.auth is None:
        if role != "anonymous":
            _no_auth(ctx, role, where, entity, span)
    elif role == "owner":
        ctx.error(
            "E354",
            f"entity `{entity}`: `owner` cannot be a row_filter key",
            span,
            "owners always see their own rows",
        )
    elif role not in ctx.roles and role not in PSEUDO_ROLES:
        ctx.error(
            "E353",
            f"entity `{entity}`: `row_filter` names unknown role `{role}`",
            span,
            did_you_mean(role, [*ctx.roles, "anonymous", "authenticated"]),
        )


def _check_unmentioned(ctx: Ctx, entity: str, loc: Located[EntitySpec]) -> None:
    crud, mentioned = loc.value.endpoints.crud, loc.value.permissions
    span = loc.key_span("permissions") if loc.has("permissions") else loc.key_span()
    for op in CRUD_OPERATIONS:
        if op in crud and op not in mentioned:
            ctx.warning(
                "W303",
                f"entity `{entity}`: `{op}` is allowed to no role",
                span,
                f"add `{op}` to `permissions`",
            )
        elif op in mentioned and op not in crud:
            ctx.warning(
                "W305",
                f"entity `{entity}`: `permissions.{op}` has no effect: `{op}` "
                "is not in `endpoints.crud`",
                loc.key_span("permissions", op),
            )
