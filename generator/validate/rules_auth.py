"""Rules on the `auth` block, the `api` block and `seed` rows."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from generator.compile.types import TYPES
from generator.diagnostics import did_you_mean
from generator.validate.models import Auth, FieldSpec
from generator.validate.rules_context import PSEUDO_ROLES, Ctx
from generator.validate.rules_fields import copied_from
from generator.validate.rules_values import show, value_problem
from generator.validate.specset import Located

SHIPPED_LOCALES = ("en", "vi")
USERNAME_TYPES = ("string", "email", "slug")
_BASE_PATH_CHARS = re.compile(r"^[A-Za-z0-9/_.-]*$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ORIGIN = re.compile(rf"^https?://(?:\[[0-9A-Fa-f:.]+\]|{_LABEL}(?:\.{_LABEL})*)(?::(\d{{1,5}}))?$")


# --- auth ---------------------------------------------------------------------------------------


def check_auth(ctx: Ctx) -> None:
    """Rule 12: the user entity and its username, password and roles fields; registration."""
    located = ctx.spec.auth
    if located is None:
        return
    auth = located.value
    if auth.user_entity not in ctx.spec.entities:
        ctx.error(
            "E372",
            f"`auth.user_entity` names unknown entity `{auth.user_entity}`",
            located.span("user_entity"),
            ctx.entity_hint(auth.user_entity),
        )
        role_values = None
    else:
        _check_username(ctx, located)
        _check_password(ctx, located)
        role_values = _check_roles_field(ctx, located)
    _check_registration(ctx, located, role_values)


def _auth_field(ctx: Ctx, located: Located[Auth], key: str, code: str) -> FieldSpec | None:
    user, name = located.value.user_entity, getattr(located.value, key)
    spec = ctx.fields[user].get(name)
    if spec is None:
        ctx.error(
            code,
            f"`auth.{key}` names `{name}`, which is not a field of `{user}`",
            located.span(key),
            did_you_mean(name, ctx.fields[user]),
        )
    return spec if spec is not None and spec.type in TYPES else None  # else: E316 already


def _check_username(ctx: Ctx, located: Located[Auth]) -> None:
    spec = _auth_field(ctx, located, "username_field", "E373")
    user, name = located.value.user_entity, located.value.username_field
    if spec is None:
        return
    if spec.type not in USERNAME_TYPES:
        ctx.error(
            "E373",
            f"`auth.username_field` `{name}` is of type `{spec.type}`; it must be "
            "string, email or slug",
            located.span("username_field"),
        )
    elif not spec.unique:
        ctx.error(
            "E373",
            f"`auth.username_field` `{name}` must be `unique`",
            located.span("username_field"),
            f"add `unique: true` to `{user}.{name}`",
        )


def _check_password(ctx: Ctx, located: Located[Auth]) -> None:
    spec = _auth_field(ctx, located, "password_field", "E374")
    if spec is not None and spec.type != "password":
        name = located.value.password_field
        ctx.error(
            "E374",
            f"`auth.password_field` `{name}` is of type `{spec.type}`; it must be "
            "a `password` field",
            located.span("password_field"),
            "set `type: password`",
        )


def _check_roles_field(ctx: Ctx, located: Located[Auth]) -> list[str] | None:
    """The roles the roles field can hold, when known."""
    spec = _auth_field(ctx, located, "roles_field", "E375")
    name, span = located.value.roles_field, located.span("roles_field")
    if spec is None:
        return None
    enum = spec.of if spec.type == "list" and spec.of is not None else spec
    if enum.type != "enum":
        ctx.error(
            "E375",
            f"`auth.roles_field` `{name}` must be an enum field or a list of enum, "
            f"not `{spec.type}`",
            span,
        )
        return None
    values = ctx.enum_values(enum)
    unknown = [v for v in values or [] if v not in ctx.roles]
    if unknown:
        listed = ", ".join(f"`{v}`" for v in unknown)
        hint = did_you_mean(unknown[0], ctx.roles) if len(unknown) == 1 else None
        ctx.error(
            "E375",
            f"`auth.roles_field` `{name}` has values that are not declared roles: {listed}",
            span,
            hint or "declare them under `roles:`",
        )
    return values


def _check_registration(ctx: Ctx, located: Located[Auth], values: list[str] | None) -> None:
    registration = located.value.registration
    if registration is None:
        return
    for key in ("default_role", "tenant_role"):
        role = getattr(registration, key)
        if role is not None:
            _check_registration_role(ctx, located, key, role, values)
    if registration.creates_tenant:
        span = located.key_span("registration", "creates_tenant")
        if ctx.spec.api.value.tenancy is None:
            ctx.error("E377", "`creates_tenant` needs `api.tenancy`", span)
        if registration.tenant_role is None:
            ctx.error(
                "E377",
                "`creates_tenant` needs a `tenant_role` (the role the registrant "
                "gets in the new tenant)",
                span,
            )


def _check_registration_role(
    ctx: Ctx, located: Located[Auth], key: str, role: str, values: list[str] | None
) -> None:
    span = located.span("registration", key)
    if role not in ctx.roles:
        why = "a pseudo-role" if role in PSEUDO_ROLES else "not a declared role"
        ctx.error(
            "E376",
            f"`auth.registration.{key}` `{role}` is {why}",
            span,
            did_you_mean(role, ctx.roles),
        )
    elif values is not None and role not in values:
        ctx.error(
            "E376",
            f"`auth.registration.{key}` `{role}` is not a value of the roles "
            f"field `{located.value.roles_field}`",
            span,
        )


# --- api ----------------------------------------------------------------------------------------


def check_api(ctx: Ctx) -> None:
    """Rule 13: base path, locales, pagination and CORS origins."""
    api, loc = ctx.spec.api.value, ctx.spec.api
    problem, hint = _base_path_problem(api.base_path)
    if problem:
        ctx.error(
            "E378", f"`api.base_path` `{api.base_path}` {problem}", loc.span("base_path"), hint
        )
    _check_locales(ctx, api.locales)
    pages = api.pagination
    if pages.default_limit > pages.max_limit:
        ctx.error(
            "E381",
            f"`api.pagination.default_limit` ({pages.default_limit}) is greater "
            f"than `max_limit` ({pages.max_limit})",
            loc.span("pagination", "default_limit"),
        )
    for i, origin in enumerate(api.cors.origins):
        problem, hint = _origin_problem(origin)
        if problem:
            ctx.error(
                "E382", f"CORS origin `{origin}` {problem}", loc.span("cors", "origins", i), hint
            )


def _check_locales(ctx: Ctx, locales: list[str]) -> None:
    for i, locale in enumerate(locales):
        span = ctx.spec.api.span("locales", i)
        if locale not in SHIPPED_LOCALES:
            ctx.error(
                "E379",
                f"`api.locales`: gen ships no messages for locale `{locale}`",
                span,
                did_you_mean(locale, SHIPPED_LOCALES) or "the shipped locales are `en` and `vi`",
            )
        elif locale in locales[:i]:
            ctx.error("E380", f"`api.locales` lists `{locale}` twice", span)


def _base_path_problem(path: str) -> tuple[str | None, str | None]:
    if not path.startswith("/"):
        return "must start with `/`", f"write `/{path}`"
    if path != "/" and path.endswith("/"):
        return "must not end with `/`", f"write `{path.rstrip('/') or '/'}`"
    if "//" in path:
        return "has an empty segment (`//`)", None
    if not _BASE_PATH_CHARS.match(path):
        return "may hold only letters, digits, `/`, `_`, `.` and `-`", None
    return None, None


def _origin_problem(origin: str) -> tuple[str | None, str | None]:
    if origin == "*":
        return "is not allowed; list each origin", "for example `https://app.example.com`"
    match = _ORIGIN.match(origin)
    if match and (match[1] is None or int(match[1]) <= 65535):
        return None, None
    parts = urlsplit(origin)
    if parts.scheme in ("http", "https") and parts.netloc and (parts.path or parts.query):
        return "must not have a path", f"write `{parts.scheme}://{parts.netloc}`"
    return "must read `scheme://host[:port]` (http or https)", "for example `http://localhost:3000`"


# --- seed ---------------------------------------------------------------------------------------


def check_seed(ctx: Ctx) -> None:
    """Rule 14: seed rows name an entity, its fields, with values of the right type.

    Keys are field names only: relations and ids are not seeded (kept simple, as chosen)."""
    for entity, rows in ctx.spec.seed.items():
        if entity not in ctx.spec.entities:
            if rows:
                span = rows[0].file.key_span(("seed", entity))
                ctx.error(
                    "E383", f"seed names unknown entity `{entity}`", span, ctx.entity_hint(entity)
                )
            continue
        for row in rows:
            _check_seed_row(ctx, entity, row)


def _check_seed_row(ctx: Ctx, entity: str, row: Located[dict[str, Any]]) -> None:
    fields = ctx.fields[entity]
    for key, value in row.value.items():
        spec = fields.get(key)
        if spec is None:
            ctx.error(
                "E384",
                f"seed row of `{entity}` sets `{key}`, which is not a field of `{entity}`",
                row.key_span(key),
                did_you_mean(key, fields),
            )
        else:
            _check_seed_value(ctx, entity, row, key, spec, value)
    missing = [
        f for f, spec in fields.items() if f not in row.value and _required(ctx, entity, f, spec)
    ]
    if missing:
        listed = ", ".join(f"`{f}`" for f in missing)
        ctx.error("E386", f"seed row of `{entity}` lacks required field(s) {listed}", row.span())


def _check_seed_value(
    ctx: Ctx, entity: str, row: Located[dict[str, Any]], key: str, spec: FieldSpec, value: Any
) -> None:
    if spec.type == "password":
        ctx.error(
            "E387",
            f"seed row of `{entity}` sets the password field `{key}`",
            row.key_span(key),
            "create users with the generated project's `create-user` command",
        )
        return
    problem = value_problem(spec, value, ctx.enum_values)
    if problem is not None:
        ctx.error(
            "E385",
            f"seed row of `{entity}`: `{key}` `{show(value)}` {problem.text}",
            row.span(key),
            problem.hint,
        )


def _required(ctx: Ctx, entity: str, name: str, spec: FieldSpec) -> bool:
    """Required as on create (docs section 9: not nullable, no default, not read_only), stored
    (copies of related values are not), and of a kind a seed row can set."""
    if spec.nullable or spec.read_only or "default" in spec.model_fields_set:
        return False
    if spec.type in ("list", "object", "password"):
        return False
    return copied_from(ctx, entity, name) is None
