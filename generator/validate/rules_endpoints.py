"""Rules on `endpoints`: the CRUD list and the actions' routes, roles and bodies."""

from __future__ import annotations

import re

from generator.diagnostics import Span, did_you_mean
from generator.validate.models import CRUD_OPERATIONS, ActionSpec, EntitySpec
from generator.validate.rules_context import Ctx
from generator.validate.specset import Located

Route = tuple[str, str]  # (method, path below the entity's path)
CRUD_ROUTES: dict[str, Route] = {
    "list": ("GET", ""),
    "create": ("POST", ""),
    "read": ("GET", "/{id}"),
    "update": ("PATCH", "/{id}"),
    "delete": ("DELETE", "/{id}"),
}
# Not in the contract's words: a soft_delete entity gets "a restore action"; we take its route to
# be POST /{id}/restore, so a declared action there (or named `restore`) would clash with it.
RESTORE_ROUTE: Route = ("POST", "/{id}/restore")
_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]+$")


def check_endpoints(ctx: Ctx) -> None:
    """Rule 10: `crud` without duplicates; actions with valid, unique routes."""
    for name, loc in ctx.spec.entities.items():
        crud = loc.value.endpoints.crud
        for i, op in enumerate(crud):
            if op in crud[:i]:
                ctx.error(
                    "E362",
                    f"entity `{name}`: `endpoints.crud` lists `{op}` twice",
                    loc.span("endpoints", "crud", i),
                )
        routes = {CRUD_ROUTES[op]: f"the `{op}` route" for op in CRUD_OPERATIONS if op in crud}
        if loc.value.soft_delete:
            routes[RESTORE_ROUTE] = "the restore route of a soft_delete entity"
        for aname, action in loc.value.endpoints.actions.items():
            _check_action(ctx, name, loc, aname, action, routes)


def _check_action(
    ctx: Ctx,
    entity: str,
    loc: Located[EntitySpec],
    aname: str,
    action: ActionSpec,
    routes: dict[Route, str],
) -> None:
    base = ("endpoints", "actions", aname)
    label = f"action `{entity}.{aname}`"
    if _check_path(ctx, label, action.path, loc.span(*base, "path")):
        _check_route(ctx, label, loc, aname, action, routes)
    if aname in CRUD_OPERATIONS or (aname == "restore" and loc.value.soft_delete):
        ctx.error(
            "E366",
            f"{label}: the name `{aname}` is taken by the generated `{aname}` operation",
            loc.key_span(*base),
            "choose another action name",
        )
    _check_body(ctx, label, loc, aname, action)


def _check_body(
    ctx: Ctx, label: str, loc: Located[EntitySpec], aname: str, action: ActionSpec
) -> None:
    base = ("endpoints", "actions", aname)
    if action.response is not None and action.response not in ctx.spec.entities:
        ctx.error(
            "E365",
            f"{label}: `response` names unknown entity `{action.response}`",
            loc.span(*base, "response"),
            did_you_mean(action.response, ctx.spec.entities),
        )
    if action.request is not None and action.method in ("GET", "DELETE"):
        ctx.warning(  # not in the contract: HTTP gives such a body no meaning
            "W306",
            f"{label}: a {action.method} request should carry no body",
            loc.key_span(*base, "request"),
            "use POST, PUT or PATCH, or drop `request`",
        )


def _check_route(
    ctx: Ctx,
    label: str,
    loc: Located[EntitySpec],
    aname: str,
    action: ActionSpec,
    routes: dict[Route, str],
) -> None:
    """A well-formed action path: its route is free, and `owner` has a row to own."""
    base = ("endpoints", "actions", aname)
    route = (action.method, action.path.rstrip("/"))
    if route in routes:
        ctx.error(
            "E364",
            f"{label} ({action.method} {action.path}) clashes with {routes[route]}",
            loc.span(*base, "path"),
            "choose another path or method",
        )
    routes.setdefault(route, f"action `{aname}`")
    if "owner" in action.roles and "{id}" not in action.path:
        ctx.error(
            "E367",
            f"{label} lists `owner`, but its path has no `{{id}}`, so there is no row to own",
            loc.span(*base, "roles"),
        )


def _check_path(ctx: Ctx, label: str, path: str, span: Span) -> bool:
    """True when the path is well formed (then its route can be compared)."""
    problem, hint = _path_problem(path)
    if problem is not None:
        ctx.error("E363", f"{label}: path `{path}` {problem}", span, hint)
    return problem is None


def _path_problem(path: str) -> tuple[str | None, str | None]:
    if not path.startswith("/"):
        return "must start with `/`", f"write `/{path}`"
    segments = path[1:].split("/") if path != "/" else []
    if "" in segments:
        return "has an empty segment (`//` or a trailing `/`)", None
    for segment in segments:
        if ("{" in segment or "}" in segment) and segment != "{id}":
            return (
                f"holds `{segment}`; the only placeholder an action path may hold is `{{id}}`"
            ), None
        if segment != "{id}" and not _SEGMENT.match(segment):
            return (
                f"has a segment `{segment}` with characters other than letters, digits, "
                "`-`, `_`, `.` and `~`"
            ), None
    if segments.count("{id}") > 1:
        return "holds `{id}` twice", None
    return None, None
