"""Auth emitter: the `/auth` routes and the layers behind them (schemas, repository, service).

Only for projects with an `auth` block. The user entity's own modules stay where they are;
these modules call its repository and its custom hooks.
"""

from __future__ import annotations

from generator import ir
from generator.compile import naming
from generator.emit.base import RenderedFile, header, render
from generator.emit.entity_context import module_name
from generator.emit.imports import Import, render_imports
from generator.emit.literals import py_literal
from generator.emit.schemas import registers, registration_inputs
from generator.emit.tenancy import registration_tenant_fields, tenant_entity, user_tenant_relation
from generator.emit.tests import creatable, required_parents, signed_in_role

# Error statuses of `POST /auth/register` (409: the username is taken).
REGISTER_ERRORS = (400, 409, 413, 422)


def emit(project: ir.Project) -> list[RenderedFile]:
    """schemas/auth.py, repositories/auth.py, services/auth.py and routes/auth.py."""
    if project.auth is None:
        return []
    root = f"{project.api.name}/{project.api.name}"
    context = _context(project, project.auth)
    files = [
        RenderedFile(f"{root}/{layer}/auth.py", render(f"auth/{template}", **context, imports=imp))
        for layer, template, imp in (
            ("schemas", "schemas.py.j2", ""),
            ("repositories", "repository.py.j2", _repository_imports(project, context)),
            ("services", "service.py.j2", _service_imports(project, context)),
            ("routes", "routes.py.j2", _routes_imports(project, context)),
        )
    ]
    user = project.entity(project.auth.user_entity)
    if creatable(project, user):  # the tests sign in as users they create
        tests = _test_context(project, user)
        files.append(
            RenderedFile(
                f"{project.api.name}/tests/test_auth.py",
                render("auth/test_auth.py.j2", **context, **tests),
            )
        )
        if not required_parents(project, user):  # the command line takes no related rows
            files.append(
                RenderedFile(
                    f"{project.api.name}/tests/test_cli.py",
                    render("auth/test_cli.py.j2", **context, **tests),
                )
            )
    return files


def _test_context(project: ir.Project, user: ir.Entity) -> dict[str, object]:
    auth = project.auth
    assert auth is not None
    role = signed_in_role(project) or ""
    registered = (auth.tenant_role if auth.creates_tenant else None) or role
    context: dict[str, object] = {
        "role": role,
        "base_path_prefix": "" if project.api.base_path == "/" else project.api.base_path,
        "password_field": auth.password_field,
        "roles_field": auth.roles_field,
        "default_role_json": [registered] if auth.multiple_roles else registered,
        "multiple_roles": auth.multiple_roles,
        "password_changer": password_changer(project, user),
        "user_path": user.path,
        "user_versioned": user.versioned,
        "tenant_cli": _cli_tenant(project),
    }
    if registers(project, user):
        fields, relations = registration_inputs(project, user)
        allowed = [f.name for f in fields] + [r.wire_name for r in relations]
        refused = {"id", auth.roles_field, *(f.name for f in user.fields if f.read_only)}
        refused |= {p.field for p in user.field_permissions if p.write is not None}
        wire = {r.name: r.wire_name for r in user.relations}
        context["register_fields"] = tuple(allowed)
        context["register_refused"] = sorted(wire.get(name, name) for name in refused)
    return context


def password_changer(project: ir.Project, user: ir.Entity) -> str | None:
    """Who the generated test lets change a user's password: `self` when owners may update
    their own row, else a role that may update every row; None when nobody may."""
    auth = project.auth
    if auth is None or "update" not in user.crud:
        return None
    roles = next((p.roles for p in user.permissions if p.operation == "update"), ())
    rule = next((p for p in user.field_permissions if p.field == auth.password_field), None)
    guarded = rule.write if rule is not None else None
    if "owner" in roles and user.owner == "self" and (guarded is None or "owner" in guarded):
        return "self"
    filtered = {f.role for f in user.row_filters}
    declared = {r.name for r in project.roles}
    for role in roles:
        if role in declared and role not in filtered and (guarded is None or role in guarded):
            return role
    return None


def _context(project: ir.Project, auth: ir.Auth) -> dict[str, object]:
    user = project.entity(auth.user_entity)
    username = next(f for f in user.fields if f.name == auth.username_field)
    password = next(f for f in user.fields if f.name == auth.password_field)
    default_role = auth.default_role or ""
    role = py_literal(default_role)
    return {
        "header": header(project),
        "package": project.api.name,
        "user_class": user.class_name,
        "user_module": module_name(user),
        "username_field": username.name,
        "username_attr": username.attr,
        "username_line": login_username_line(username),
        "password_attr": password.attr,
        "roles_attr": next(f.attr for f in user.fields if f.name == auth.roles_field),
        "default_role": f"[{role}]" if auth.multiple_roles else role,
        "default_role_name": default_role,
        "register": registers(project, user),
        "tenant": _register_tenant(project, auth) if registers(project, user) else None,
        "register_responses": f"error_responses{REGISTER_ERRORS}",
        "location": "read" in user.crud,
        "soft_deleted_user": user.soft_delete,
        "id_type": "uuid.UUID" if project.api.id_type == "uuid" else "int",
    }


def _cli_tenant(project: ir.Project) -> dict[str, str] | None:
    """The tenant `create-user` takes the id of (`--organization-id`); None without tenancy."""
    tenant = tenant_entity(project)
    relation = user_tenant_relation(project)
    if tenant is None or relation is None:
        return None
    name = tenant.name.replace("_", " ")
    return {"name": name, "module": module_name(tenant), "user_wire": relation.wire_name}


def _register_tenant(project: ir.Project, auth: ir.Auth) -> dict[str, object] | None:
    """How sign-up creates the registrant's tenant (`creates_tenant`); None when it does not."""
    fields = registration_tenant_fields(project)
    tenant = tenant_entity(project)
    user_relation = user_tenant_relation(project)
    if not auth.creates_tenant or tenant is None or user_relation is None:
        return None
    role = py_literal(auth.tenant_role or "")
    module = module_name(tenant)
    return {
        "name": tenant.name.replace("_", " "),
        "var": naming.py_attr(tenant.name),
        "module": module,
        "repository": f"{module.rstrip('_')}_repository",
        "class_name": tenant.class_name,
        "fields": [(key, f.attr) for key, f in fields],
        "user_wire": user_relation.wire_name,
        "role": f"[{role}]" if auth.multiple_roles else role,
        "role_name": f"`{auth.tenant_role}`",
        "prefix": tenant.name,
        "listed": "list" in tenant.crud,
        "url": f"{'' if project.api.base_path == '/' else project.api.base_path}/{tenant.path}",
    }


def login_username_line(username: ir.Field) -> str:
    """The login body's username: any non-empty text up to the field's length (the lookup,
    not the validator, decides whether it names somebody)."""
    limit = username.max_length or username.type.max_length or 320
    annotation = f"Annotated[str, Field(min_length=1, max_length={limit})]"
    if username.attr != username.name:
        annotation = (
            f"Annotated[str, Field(min_length=1, max_length={limit}, "
            f"validation_alias={py_literal(username.name)})]"
        )
    return f"{username.attr}: {annotation}"


def _imports(project: ir.Project, items: tuple[tuple[str, str | None], ...]) -> set[Import]:
    package = project.api.name
    return {Import(module.replace("{pkg}", package), name) for module, name in items}


def _id_import(project: ir.Project) -> tuple[tuple[str, str | None], ...]:
    return (("uuid", None),) if project.api.id_type == "uuid" else ()


def _repository_imports(project: ir.Project, c: dict[str, object]) -> str:
    imports = _imports(
        project,
        (
            ("datetime", "datetime"),
            ("typing", "Any"),
            ("typing", "cast"),
            ("sqlalchemy", "ColumnElement"),
            ("sqlalchemy", "CursorResult"),
            ("sqlalchemy", "select"),
            ("sqlalchemy", "update"),
            ("sqlalchemy.ext.asyncio", "AsyncSession"),
            ("{pkg}.core.clock", "utcnow"),
            ("{pkg}.models.refresh_token", naming.REFRESH_TOKEN_CLASS),
            (f"{{pkg}}.models.{c['user_module']}", str(c["user_class"])),
            *_id_import(project),
        ),
    )
    return render_imports(imports, project.api.name)


def _service_imports(project: ir.Project, c: dict[str, object]) -> str:
    items: list[tuple[str, str | None]] = [
        ("secrets", None),
        ("sqlalchemy.ext.asyncio", "AsyncSession"),
        ("starlette.concurrency", "run_in_threadpool"),
        ("{pkg}.core.clock", "utcnow"),
        ("{pkg}.core.config", "Settings"),
        ("{pkg}.core.errors", "UnauthorizedError"),
        ("{pkg}.core.i18n", "Message"),
        ("{pkg}.core.passwords", "verify_and_update"),
        ("{pkg}.core.passwords", "verify_unknown_user"),
        ("{pkg}.core.security", "Principal"),
        ("{pkg}.core.security", "TokenType"),
        ("{pkg}.core.security", "active_user"),
        ("{pkg}.core.security", "decode_token"),
        ("{pkg}.core.security", "issue_access_token"),
        ("{pkg}.core.security", "issue_refresh_token"),
        ("{pkg}.core.security", "token_digest"),
        ("{pkg}.models.refresh_token", naming.REFRESH_TOKEN_CLASS),
        (f"{{pkg}}.models.{c['user_module']}", str(c["user_class"])),
        ("{pkg}.schemas.auth", "LoginRequest"),
        ("{pkg}.schemas.auth", "TokenPair"),
        *_id_import(project),
    ]
    imports = _imports(project, tuple(items))
    imports.add(Import(f"{project.api.name}.repositories", str(c["user_module"]), "users"))
    tenant = c["tenant"]
    if isinstance(tenant, dict):
        module = str(tenant["module"])
        imports.add(Import(f"{project.api.name}.repositories", module, str(tenant["repository"])))
    if c["register"]:
        imports.add(Import(f"{project.api.name}.custom", str(c["user_module"]), "hooks"))
        imports.add(
            Import(f"{project.api.name}.schemas.{c['user_module']}", f"{c['user_class']}Register")
        )
    imports.add(Import(f"{project.api.name}.repositories", "auth", "repository"))
    return render_imports(imports, project.api.name)


def _routes_imports(project: ir.Project, c: dict[str, object]) -> str:
    user_schemas = f"{{pkg}}.schemas.{c['user_module']}"
    items: list[tuple[str, str | None]] = [
        ("{pkg}.core.routing", "ResourceRouter"),
        ("fastapi", "Request"),
        ("fastapi", "Response"),
        ("{pkg}.core.envelope", "EmptyEnvelope"),
        ("{pkg}.core.envelope", "Envelope"),
        ("{pkg}.core.envelope", "error_responses"),
        ("{pkg}.core.permissions", "read_context"),
        ("{pkg}.deps", "SignedInCallerDep"),
        ("{pkg}.deps", "SessionDep"),
        ("{pkg}.schemas.auth", "LoginRequest"),
        ("{pkg}.schemas.auth", "RefreshRequest"),
        ("{pkg}.schemas.auth", "TokenPair"),
        (user_schemas, f"{c['user_class']}Read"),
    ]
    if c["register"]:
        items += [
            ("{pkg}.core.security", "Principal"),
            ("{pkg}.core.security", "held_roles"),
            (user_schemas, f"{c['user_class']}Register"),
        ]
    imports = _imports(project, tuple(items))
    imports.add(Import(f"{project.api.name}.services", "auth", "service"))
    return render_imports(imports, project.api.name)
