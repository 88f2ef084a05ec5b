"""App emitter: the project-wide files (package core, app factory, migrations env, tests, config).

Every file comes from a template under `templates/app/` rendered with one shared context; the
values that depend on the spec are computed here, the templates only lay them out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from generator import ir
from generator.emit.base import (
    RenderedFile,
    environment,
    header,
    markdown_text,
    once_header,
    render,
)
from generator.emit.entity_context import module_name
from generator.emit.imports import Import, render_imports
from generator.emit.schemas import registers
from generator.emit.tenancy import (
    registration_tenant_fields,
    tenant_entity,
    user_tenant_relation,
)
from generator.emit.tests import creatable, signed_in_role

# The descriptions of the error statuses: `core/envelope.py` declares them (rendered from here)
# and the OpenAPI renderer documents them.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request: the body is not valid JSON.",
    401: "Missing or invalid credentials.",
    403: "The caller may not do this.",
    404: "No such resource.",
    409: "Conflicts with existing data (unique or foreign-key violation).",
    412: "The resource changed since the `If-Match` version.",
    413: "The request body is too large.",
    422: "The request does not match the operation's schema.",
    428: "An `If-Match` header is required.",
    429: "Too many requests; see `Retry-After`.",
    503: "The service is not ready.",
}

# (template under templates/app/, output path under the project folder ({package} is the
# package name), created once and never overwritten)
FILES: tuple[tuple[str, str, bool], ...] = (
    ("pyproject.toml.j2", "pyproject.toml", False),
    ("README.md.j2", "README.md", False),
    ("env.example.j2", ".env.example", False),
    ("gitattributes.j2", ".gitattributes", False),
    ("gitignore.j2", ".gitignore", False),
    ("alembic.ini.j2", "alembic.ini", False),
    ("package/__init__.py.j2", "{package}/__init__.py", False),
    ("package/__main__.py.j2", "{package}/__main__.py", False),
    ("package/main.py.j2", "{package}/main.py", False),
    ("package/deps.py.j2", "{package}/deps.py", False),
    ("package/middleware.py.j2", "{package}/middleware.py", False),
    ("empty.py.j2", "{package}/core/__init__.py", False),
    ("package/core/activity.py.j2", "{package}/core/activity.py", False),
    ("package/core/cache.py.j2", "{package}/core/cache.py", False),
    ("package/core/config.py.j2", "{package}/core/config.py", False),
    ("package/core/db.py.j2", "{package}/core/db.py", False),
    ("package/core/envelope.py.j2", "{package}/core/envelope.py", False),
    ("package/core/errors.py.j2", "{package}/core/errors.py", False),
    ("package/core/handlers.py.j2", "{package}/core/handlers.py", False),
    ("package/core/i18n.py.j2", "{package}/core/i18n.py", False),
    ("package/core/metrics.py.j2", "{package}/core/metrics.py", False),
    ("package/core/pagination.py.j2", "{package}/core/pagination.py", False),
    ("package/core/ratelimit.py.j2", "{package}/core/ratelimit.py", False),
    ("package/core/routing.py.j2", "{package}/core/routing.py", False),
    ("package/core/types.py.j2", "{package}/core/types.py", False),
    ("package/models/base.py.j2", "{package}/models/base.py", False),
    ("empty.py.j2", "{package}/repositories/__init__.py", False),
    ("empty.py.j2", "{package}/services/__init__.py", False),
    ("package/routes/__init__.py.j2", "{package}/routes/__init__.py", False),
    ("package/routes/health.py.j2", "{package}/routes/health.py", False),
    ("package/custom/__init__.py.j2", "{package}/custom/__init__.py", True),
    ("migrations/env.py.j2", "migrations/env.py", False),
    ("migrations/script.py.mako.j2", "migrations/script.py.mako", False),
    ("empty.py.j2", "tests/__init__.py", False),
    ("tests/conftest.py.j2", "tests/conftest.py", False),
    ("tests/test_core.py.j2", "tests/test_core.py", False),
    ("tests/test_errors.py.j2", "tests/test_errors.py", False),
    ("tests/test_http.py.j2", "tests/test_http.py", False),
    ("tests/test_migrations.py.j2", "tests/test_migrations.py", False),
    ("tests/test_openapi.py.j2", "tests/test_openapi.py", False),
    ("tests/test_operations.py.j2", "tests/test_operations.py", False),
    ("tests/test_rate_limits.py.j2", "tests/test_rate_limits.py", False),
)

# Accept-Language headers the generated test_core checks, each with the locales it accepts
# in order of preference; the expected answer is the first the API offers, else its default.
NEGOTIATION_CASES: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    (None, ()),
    ("", ()),
    ("vi", ("vi",)),
    ("vi-VN,vi;q=0.9,en;q=0.8", ("vi", "en")),
    ("en;q=0.5, vi;q=0.6", ("vi", "en")),
    ("fr, vi;q=0.1", ("vi",)),
    ("fr, de", ()),
    ("*", ()),
    ("vi;q=0, en;q=0.1", ("en",)),
    ("vi;q=abc", ()),
    ("vi;q=nan", ()),
    ("VI", ("vi",)),
)

# README rows: CRUD operation -> (handler name pattern, method, path suffix, note).
OPERATIONS: tuple[tuple[str, str, str, str, str], ...] = (
    ("list", "list_{plural}", "GET", "", ""),
    ("create", "create_{name}", "POST", "", " (201, `Location`)"),
    ("read", "get_{name}", "GET", "/{id}", ""),
    ("update", "update_{name}", "PATCH", "/{id}", " (only the fields sent change)"),
    ("delete", "delete_{name}", "DELETE", "/{id}", " (200, `data: null`)"),
)

# Example values of a filter in the README's list query, by spec type.
FILTER_EXAMPLES = {
    "datetime": "__gte=2024-01-01T00:00:00Z",
    "date": "__gte=2024-01-01",
    "integer": "__gte=0",
    "bigint": "__gte=0",
    "float": "__gte=0",
    "decimal": "__gte=0",
    "boolean": "=true",
}


def emit(project: ir.Project) -> list[RenderedFile]:
    """Every project-wide file of `project`, under `<api.name>/`."""
    package = project.api.name
    context = _context(project)
    return [
        RenderedFile(
            f"{package}/{path.format(package=package)}", render(f"app/{template}", **context), once
        )
        for template, path, once in FILES
    ]


def _context(project: ir.Project) -> dict[str, Any]:
    """Everything any app template uses, computed once per project."""
    api = project.api
    auth_user = project.entity(project.auth.user_entity) if project.auth else None
    registering = auth_user is not None and registers(project, auth_user)
    catalog = environment().get_template("app/_messages.j2").module
    kinds = {f.type.kind for f in _all_fields(project)} | (
        {"uuid"} if api.id_type == "uuid" else set()
    )
    field_messages = dict(catalog.FIELD_MESSAGES)  # type: ignore[attr-defined]
    for error_type, needed_by, texts in catalog.TYPE_FIELD_MESSAGES:  # type: ignore[attr-defined]
        if kinds.intersection(needed_by):
            field_messages[error_type] = texts
    routed = sorted((e for e in project.entities if e.crud), key=lambda e: e.name)
    locales = api.locales
    prefix = "" if api.base_path == "/" else api.base_path  # what routes mount under
    return {
        "header": header(project),
        "once_header": once_header(project),
        "readme_header": f"{header(project, '<!--')} -->",
        "source": project.source,
        "package": api.name,
        "error_descriptions": ERROR_DESCRIPTIONS,
        "package_doc": f"{api.title}: {api.description}" if api.description else api.title,
        "title": api.title,
        "description": api.description,
        "version": api.version,
        "toml": {
            "name": _toml_string(api.name),
            "version": _toml_string(api.version),
            "description": _toml_string(" ".join(api.description.split()))
            if api.description
            else None,
        },
        "base_path": api.base_path,
        "base_path_prefix": prefix,
        "locales": locales,
        "default_locale": locales[0],
        "error_locale": locales[-1],
        "messages": catalog.MESSAGES,  # type: ignore[attr-defined]
        "field_messages": field_messages,
        "negotiation_cases": [
            (accept, next((p for p in prefers if p in locales), locales[0]))
            for accept, prefers in NEGOTIATION_CASES
        ],
        "language_cases": [
            *((locale, locale) for locale in locales),
            (f"{locales[-1]}-XX;q=0.8, fr;q=0.9", locales[-1]),
            ("fr, de;q=0.5", locales[0]),
        ],
        "cache_ttl": api.cache_ttl_seconds or 0,
        "default_limit": api.default_limit,
        "max_limit": api.max_limit,
        "cors_origins": list(api.cors_origins),
        "env_cors_origins": ",".join(api.cors_origins) or "http://localhost:3000",
        "uuid_ids": api.id_type == "uuid",
        "auth": project.auth is not None,
        "hashes_passwords": any(
            f.type.kind == "password" for entity in project.entities for f in entity.fields
        ),
        # The generated tests sign in as users they create through the API's own validation.
        "test_users": auth_user is not None and creatable(project, auth_user),
        "test_tenant": _test_tenant(project),
        "readme_tenancy": _readme_tenancy(project),
        "top_role": project.roles[0].name if project.roles else "",
        "test_role": signed_in_role(project),
        "auth_user_module": module_name(auth_user) if auth_user else None,
        "auth_user_class": auth_user.class_name if auth_user else None,
        "auth_roles_field": project.auth.roles_field if project.auth else None,
        "auth_password_field": project.auth.password_field if project.auth else None,
        "auth_username_field": project.auth.username_field if project.auth else None,
        "auth_multiple_roles": project.auth.multiple_roles if project.auth else False,
        "access_token_ttl": project.auth.access_token_ttl_seconds if project.auth else 0,
        "rate_limit_anonymous": api.rate_limit_anonymous,
        "rate_limit_authenticated": api.rate_limit_authenticated,
        "sign_in_paths": [
            f"{prefix}/auth/{name}"
            for name in ("login", "refresh", *(["register"] if registering else []))
        ],
        "refresh_token_ttl": project.auth.refresh_token_ttl_seconds if project.auth else 0,
        "routers": sorted([*(module_name(e) for e in routed), *(["auth"] if project.auth else [])]),
        "example_operation": next(
            (f"list_{e.plural}" for e in routed if "list" in e.crud), "check_health"
        ),
        "readme": _readme(project, routed, prefix),
        "rate_limit_test_imports": _rate_limit_test_imports(project, auth_user),
    }


def _test_tenant(project: ir.Project) -> dict[str, str] | None:
    """The tenant the generated tests' users belong to (`api.tenancy`); None without one."""
    tenant = tenant_entity(project)
    relation = user_tenant_relation(project)
    if tenant is None or relation is None:
        return None
    return {
        "name": tenant.name.replace("_", " "),
        "module": module_name(tenant),
        "user_wire": relation.wire_name,
    }


def _readme_tenancy(project: ir.Project) -> dict[str, str] | None:
    """What the generated README says of tenancy; None without it."""
    tenant = tenant_entity(project)
    relation = user_tenant_relation(project)
    if tenant is None or relation is None or project.auth is None:
        return None
    keys = ", ".join(f"`{key}`" for key, _ in registration_tenant_fields(project))
    return {
        "name": tenant.name.replace("_", " "),
        "key": relation.wire_name,
        "register_keys": keys if project.auth.registration_enabled else "",
        "role": project.auth.tenant_role or "",
    }


def _rate_limit_test_imports(project: ir.Project, auth_user: ir.Entity | None) -> str:
    package = project.api.name
    imports = {
        Import("collections.abc", "AsyncIterator"),
        Import("contextlib", "asynccontextmanager"),
        Import("pytest"),
        Import("httpx", "ASGITransport"),
        Import("httpx", "AsyncClient"),
        Import("pydantic", "ValidationError"),
        Import("sqlalchemy.ext.asyncio", "AsyncEngine"),
        Import(f"{package}.core.config", "Settings"),
        Import(f"{package}.main", "create_app"),
        Import("tests.conftest", "TEST_REDIS_URL"),
        Import("tests.conftest", "settings_for"),
    }
    if project.auth is not None:
        imports.add(Import("typing", "Any"))
    if auth_user is not None and creatable(project, auth_user):
        imports.add(Import("tests.conftest", "Users"))
    return render_imports(imports, package)


def _all_fields(project: ir.Project) -> Iterator[ir.Field]:
    """Every field of every entity, list items and object members included."""
    stack = [f for e in project.entities for f in e.fields]
    while stack:
        f = stack.pop()
        yield f
        stack.extend(f.subfields)
        if f.item is not None:
            stack.append(f.item)


def _readme(project: ir.Project, routed: list[ir.Entity], prefix: str) -> dict[str, Any]:
    """What the README shows: an example row, the operations table, where the hooks are."""
    api = project.api
    first = routed[0] if routed else None
    item: dict[str, Any] = {
        "id": 1 if api.id_type == "integer" else "0b4e7a52-3c7d-4f1e-9a55-8d2b6c1f0e93"
    }
    if first is not None:
        text = next(
            (f.name for f in first.fields if f.type.kind == "string" and not f.write_only), None
        )
        if text is not None:
            item[text] = "Hello"
    operations = []
    for entity in routed:
        for crud, name, method, suffix, note in OPERATIONS:
            if crud in entity.crud:
                query = _example_query(project, entity) if crud == "list" else ""
                path = f"{prefix}/{entity.path}{suffix}{query}"
                operations.append(
                    (name.format(plural=entity.plural, name=entity.name), f"{method} {path}", note)
                )
        for action in entity.actions:
            path = f"{prefix}/{entity.path}{action.path}"
            summary = f" ({markdown_text(action.summary)})" if action.summary else ""
            operations.append((f"{action.name}_{entity.name}", f"{action.method} {path}", summary))
    list_path = next((f"{prefix}/{e.path}" for e in routed if "list" in e.crud), "/health")
    return {
        "title": " ".join(api.title.split()),
        "intro": " ".join(api.description.split()) + " " if api.description else "",
        "curl_path": list_path,
        "example_item": json.dumps(item, ensure_ascii=False),
        "operations": operations,
        "hooks": first.name if first is not None else None,
    }


def _example_query(project: ir.Project, entity: ir.Entity) -> str:
    """A list query showing paging, sorting, filters and search over the entity's fields."""
    columns = [f for f in entity.fields if f.storage == "column"]
    params = [f"page=1&limit={project.api.default_limit}"]
    sortable = [f.name for f in columns if f.sortable]
    if sortable:
        params.append("sort=" + ",".join([f"-{sortable[-1]}", *sortable[:-1][:1]]))
    for f in columns:
        if f.filterable and f.type.kind == "enum":
            values = next(e.values for e in project.enums if e.name == f.type.enum)
            params.append(f"{f.name}__in=" + ",".join(quote(v, safe="") for v in values[:2]))
        elif f.filterable and f.type.kind in FILTER_EXAMPLES:
            params.append(f.name + FILTER_EXAMPLES[f.type.kind])
    if any(f.searchable for f in columns):
        params.append("q=hello")
    return "?" + "&".join(params)


def _toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
