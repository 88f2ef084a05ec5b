"""Repository, service, route and custom-hook modules of each entity.

One function a layer; each collects its imports as data and renders one template. Entities
synthesized by normalization are written through their source, so they get reads only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator import ir
from generator.compile import naming
from generator.emit.base import RenderedFile, header, once_header, render
from generator.emit.entity_context import (
    ActionContext,
    EntityContext,
    constant_name,
    entity_context,
    module_name,
    policy_alias,
)
from generator.emit.imports import Import, render_imports
from generator.emit.policy import caller_attributes, entity_policy, py_roles
from generator.emit.schemas import includable
from generator.emit.units import entity_files
from generator.incremental import BuildCache


def emit(project: ir.Project, cache: BuildCache | None = None) -> list[RenderedFile]:
    """Every layer module of every entity, plus the core helpers they share."""
    package = project.api.name
    root = f"{package}/{package}"
    files = [
        RenderedFile(
            f"{root}/core/relations.py",
            render("core_extra/relations.py.j2", header=header(project), package=package),
        ),
        RenderedFile(
            f"{root}/core/passwords.py",
            render("core_extra/passwords.py.j2", header=header(project)),
        ),
        RenderedFile(
            f"{root}/core/clock.py", render("core_extra/clock.py.j2", header=header(project))
        ),
    ]
    if any(e.versioned for e in project.entities):
        files.append(
            RenderedFile(
                f"{root}/core/versions.py",
                render("core_extra/versions.py.j2", header=header(project), package=package),
            )
        )
    if project.auth is not None:
        user = project.entity(project.auth.user_entity)
        files += [
            RenderedFile(
                f"{root}/core/security.py",
                render(
                    "core_extra/security.py.j2",
                    header=header(project),
                    package=package,
                    user_module=module_name(user),
                    user_class=user.class_name,
                    roles_attr=project.auth.roles_field,
                    roles_loaded=naming.py_attr(f"{project.auth.roles_field}_loaded"),
                    multiple_roles=project.auth.multiple_roles,
                    soft_deleted_user=user.soft_delete,
                    uuid_ids=project.api.id_type == "uuid",
                ),
            ),
            RenderedFile(f"{root}/core/permissions.py", permissions(project)),
            RenderedFile(
                f"{root}/policies/__init__.py", render("app/empty.py.j2", header=header(project))
            ),
        ]
    for entity in project.entities:
        files += entity_files(cache, project, "layers", entity, entity_layers)
    return files


def entity_layers(project: ir.Project, entity: ir.Entity) -> list[RenderedFile]:
    """The policy, repository, service, routes and custom modules of one entity."""
    root = f"{project.api.name}/{project.api.name}"
    c = entity_context(project, entity)
    files = []
    if c.secured:
        files.append(RenderedFile(f"{root}/policies/{c.module}.py", policy(project, c)))
    files += [
        RenderedFile(f"{root}/repositories/{c.module}.py", repository(project, c)),
        RenderedFile(f"{root}/services/{c.module}.py", service(project, c)),
        RenderedFile(f"{root}/routes/{c.module}.py", routes(project, c)),
        RenderedFile(f"{root}/custom/{c.module}.py", custom(project, c), once=True),
    ]
    files += [
        RenderedFile(
            f"{root}/custom/{a.handler_module}.py", action_handler(project, c, a), once=True
        )
        for a in c.actions
    ]
    return files


def _imports(c: EntityContext, *items: tuple[str, str | None]) -> set[Import]:
    return {Import(module.replace("{pkg}", c.package), name) for module, name in items}


def _id_import(c: EntityContext) -> set[Import]:
    return {Import("uuid")} if c.id_type == "uuid.UUID" else set()


def _named_models(project: ir.Project, own: str, code: list[str]) -> set[Import]:
    """Imports of the model classes that loader expressions name (`Post.tags` -> Post)."""
    # One pass over the code, then one lookup per name: linear in the project's size.
    named = set(re.findall(r"\b(\w+)\.", " ".join(code))) - {own}
    return {
        Import(f"{project.api.name}.models.{module_name(e)}", e.class_name)
        for name in named
        for e in project.entities_of_class(name)
    }


def repository(project: ir.Project, c: EntityContext) -> str:
    imports = _imports(
        c,
        ("collections.abc", "Mapping"),
        ("typing", "Any"),
        ("sqlalchemy.ext.asyncio", "AsyncSession"),
        ("sqlalchemy.orm.interfaces", "ORMOption"),
        ("{pkg}.core.db", "flush"),
        ("{pkg}.core.errors", "NotFoundError"),
        ("{pkg}.core.pagination", "Page"),
        ("{pkg}.core.pagination", "PageStatements"),
        ("{pkg}.core.pagination", "paginate"),
        ("{pkg}.core.db", "Statements"),
        (f"{{pkg}}.models.{c.module}", c.class_name),
        (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}ListParams"),
    ) | _id_import(c)
    loader_code = " ".join([*c.loads, *(load for _, load in c.includes)])
    for loader in ("joinedload", "selectinload", "undefer"):
        if f"{loader}(" in loader_code:
            imports.add(Import("sqlalchemy.orm", loader))
    if c.includes:
        imports.add(Import(f"{c.package}.core.relations", "included"))
    if c.includes and c.secured:
        imports.add(Import("collections.abc", "Callable"))
    imports |= _named_models(project, c.class_name, [load for _, load in c.includes])
    if c.returning is not None:
        imports.add(Import(f"{c.package}.core.db", "insert_row"))
    if c.related_ids:
        imports.add(Import(f"{c.package}.core.relations", "fetch_related"))
    if c.to_one:
        imports.add(Import(f"{c.package}.core.relations", "ensure_exists"))
    if c.passwords:
        imports.add(Import(f"{c.package}.core.passwords", "hash_password"))
    if c.dependencies:
        imports.add(Import(f"{c.package}.core.relations", "find_or_create"))
    if c.snapshots:
        imports.add(Import(f"{c.package}.core.relations", "snapshot"))
    targets = [(t.target_class, t.target_module) for t in c.related_ids]
    targets += [(t.target_class, t.target_module) for t in c.to_one]
    targets += [(t.target_class, t.target_module) for t in c.dependencies]
    targets += [(t.target_class, t.target_module) for t in c.snapshots]
    for target_class, target_module in targets:
        if target_class != c.class_name:
            imports.add(Import(f"{c.package}.models.{target_module}", target_class))
    for item in c.lists:
        imports.add(Import(f"{c.package}.models.{c.module}", item.child_class))
    if c.secured or c.entity.soft_delete:
        imports |= _imports(
            c,
            ("sqlalchemy", "Executable"),
            ("sqlalchemy", "bindparam"),
            ("sqlalchemy", "select"),
        )
    if c.entity.soft_delete:
        imports.add(Import(f"{c.package}.core.clock", "utcnow"))
        if c.secured:
            imports.add(Import("sqlalchemy", "or_"))
    code = " ".join(
        [*(t.where or "" for t in c.to_one), *(r.where or "" for r in c.related_ids)]
        + [load for _, load in c.includes]
    )
    if re.search(r"(?<![.\w])and_\(", code):
        imports.add(Import("sqlalchemy", "and_"))
    if c.secured:
        imports |= _imports(
            c, ("sqlalchemy", "ColumnElement"), ("{pkg}.core.security", "Principal")
        )
        included_modules = {
            module_name(project.entity(r.target)) for r in includable(project, c.entity)
        }
        related = {t.target_module for t in c.related_ids} | {t.target_module for t in c.to_one}
        for module in related | included_modules | {c.module}:
            imports.add(Import(f"{c.package}.policies", module, policy_alias(module)))
        imports |= _imports(
            c, ("{pkg}.core.permissions", "Scope"), ("{pkg}.core.permissions", "caller_key")
        )
    return render(
        "repositories/entity.py.j2",
        header=header(project),
        c=c,
        own_policy=policy_alias(c.module),
        imports=render_imports(imports, c.package),
    )


def service(project: ir.Project, c: EntityContext) -> str:
    imports = _imports(
        c,
        ("sqlalchemy.ext.asyncio", "AsyncSession"),
        ("{pkg}.core.errors", "NotFoundError"),
        ("{pkg}.core.pagination", "Page"),
        (f"{{pkg}}.models.{c.module}", c.class_name),
        (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}Create"),
        (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}ListParams"),
        (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}Update"),
    ) | _id_import(c)
    imports |= {
        Import(f"{c.package}.custom", c.module, "hooks"),
        Import(f"{c.package}.repositories", c.module, "repository"),
    }
    if c.immutable:
        imports.add(Import(f"{c.package}.core.relations", "reject_changes"))
    for a in c.actions:
        imports.add(Import(f"{c.package}.custom", a.handler_module, f"{a.name}_handler"))
        if a.request:
            imports.add(Import(f"{c.package}.schemas.{c.module}", a.request))
        if a.response_class and not a.same_entity:
            imports.add(Import(f"{c.package}.models.{a.response_module}", a.response_class))
    if c.secured:
        imports |= _imports(
            c,
            ("{pkg}.core.permissions", "authorize"),
            ("{pkg}.core.permissions", "deny_unwritable"),
            ("{pkg}.core.permissions", "require_owner"),
            ("{pkg}.core.security", "Principal"),
        )
        imports.add(Import(f"{c.package}.policies", c.module, "policy"))
    if c.secured:
        imports.add(Import(f"{c.package}.core.permissions", "Scope"))
    if c.entity.versioned:
        imports.add(Import(f"{c.package}.core.versions", "require_version"))
    password_attr = _password_attr(project, c.entity)
    if password_attr:
        imports.add(Import(f"{c.package}.repositories.auth", "revoke_user_tokens"))
    return render(
        "services/entity.py.j2",
        header=header(project),
        c=c,
        password_attr=password_attr,
        p=entity_policy(project, c.entity) if c.secured else None,
        imports=render_imports(imports, c.package),
    )


def _password_attr(project: ir.Project, entity: ir.Entity) -> str | None:
    """The password attribute of the auth user, when an update may change it."""
    auth = project.auth
    if auth is None or auth.user_entity != entity.name or "update" not in entity.crud:
        return None
    return next(f.attr for f in entity.fields if f.name == auth.password_field)


def routes(project: ir.Project, c: EntityContext) -> str:
    imports = _imports(
        c,
        ("{pkg}.core.routing", "ResourceRouter"),
        ("{pkg}.core.envelope", "error_responses"),
        (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}Read"),
    )
    if {"list", "read"} & set(c.crud) and c.includes:
        imports.add(Import(f"{c.package}.core.relations", "included"))
    if {"list", "read"} & set(c.crud):
        imports |= _imports(
            c,
            ("typing", "Annotated"),
            ("fastapi", "Depends"),
            ("fastapi", "Response"),
            ("{pkg}.core.cache", "NOT_MODIFIED"),
            ("{pkg}.core.cache", "CachedRead"),
            ("{pkg}.core.cache", "cached_read"),
            (f"{{pkg}}.models.{c.module}", c.class_name),
        )
    if "read" in c.crud:
        imports.add(Import(f"{c.package}.core.envelope", "Envelope"))
    if "read" in c.crud and c.includes:
        imports |= _imports(
            c,
            ("typing", "Annotated"),
            ("fastapi", "Query"),
            (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}ReadParams"),
        )
    if "list" in c.crud:
        imports |= _imports(
            c,
            ("typing", "Annotated"),
            ("fastapi", "Query"),
            ("{pkg}.core.envelope", "ListEnvelope"),
            (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}ListParams"),
        )
    if "create" in c.crud:
        imports |= _imports(
            c,
            ("fastapi", "Request"),
            ("fastapi", "Response"),
            ("{pkg}.core.envelope", "CREATED_WITH_LOCATION"),
            (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}Create"),
        )
    if "update" in c.crud:
        imports.add(Import(f"{c.package}.schemas.{c.module}", f"{c.class_name}Update"))
    if {"create", "read", "update"} & set(c.crud):
        imports.add(Import(f"{c.package}.core.envelope", "Envelope"))
    if {"read", "update", "delete"} & set(c.crud):
        imports.add(Import(f"{c.package}.deps", "IdPath"))
    if "delete" in c.crud:
        imports.add(Import(f"{c.package}.core.envelope", "EmptyEnvelope"))
    imports.add(Import(f"{c.package}.services", c.module, "service"))
    for a in c.actions:
        if a.request:
            imports.add(Import(f"{c.package}.schemas.{c.module}", a.request))
        if a.request and a.method == "get":
            imports |= _imports(c, ("typing", "Annotated"), ("fastapi", "Query"))
        if a.response_class:
            imports.add(Import(f"{c.package}.core.envelope", "Envelope"))
            imports.add(
                Import(f"{c.package}.schemas.{a.response_module}", f"{a.response_class}Read")
            )
        else:
            imports.add(Import(f"{c.package}.core.envelope", "EmptyEnvelope"))
        if a.with_id:
            imports.add(Import(f"{c.package}.deps", "IdPath"))
    if c.entity.versioned:
        imports |= _imports(
            c,
            ("fastapi", "Response"),
            ("{pkg}.core.versions", "WITH_ETAG"),
            ("{pkg}.core.versions", "IfMatchHeader"),
            ("{pkg}.core.versions", "IF_MATCH_REQUIRED"),
            ("{pkg}.core.versions", "etag"),
        )
    if c.entity.soft_delete and "delete" in c.crud:
        imports.add(Import(f"{c.package}.core.envelope", "Envelope"))
    callers = handler_callers(project, c)
    handled = {*(op for op in CRUD_OPERATIONS if op in c.crud), *(a.name for a in c.actions)}
    if c.entity.soft_delete and "delete" in c.crud:
        handled.add("restore")
    for dependency in ("SessionDep", "OptionalCallerDep", "SignedInCallerDep"):
        if any(callers[name].parameter.endswith(dependency) for name in handled):
            imports.add(Import(f"{c.package}.deps", dependency))
    if c.secured:
        imports.add(Import(f"{c.package}.core.permissions", "read_context"))
        if public_operations(project, c):
            imports.add(Import(f"{c.package}.core.permissions", "TOKEN_OPTIONAL"))
    return render(
        "routes/entity.py.j2",
        header=header(project),
        c=c,
        imports=render_imports(imports, c.package),
        statuses=route_statuses(project, c),
        extras=openapi_extras(project, c),
        callers=callers,
        cached_options=cached_read_options(project, c),
    )


@dataclass(frozen=True)
class HandlerCaller:
    """How a route handler receives the request's session and caller: its `parameter`, the
    `arguments` it passes its service function, and the expression of the `principal`
    (empty when the entity is not secured)."""

    parameter: str
    arguments: str
    principal: str = ""


CACHED_OPERATIONS = {"list": "CachedList", "read": "CachedRow"}


def handler_callers(project: ir.Project, c: EntityContext) -> dict[str, HandlerCaller]:
    """The caller of each operation's handler, one dependency giving the session and the
    caller together. An operation anonymous callers may do takes an optional caller; any other
    a signed-in one, so that a request without credentials is a 401 before its path, query and
    body are validated (not a 422). Lists and reads take theirs from the cache lookup."""
    names = ["list", "create", "read", "update", "delete", "restore", *(a.name for a in c.actions)]
    public = public_operations(project, c)
    if "delete" in public:
        public.add("restore")  # restoring takes the delete permission
    callers: dict[str, HandlerCaller] = {}
    for name in names:
        if name in CACHED_OPERATIONS:
            owner, parameter = "read", f"read: {CACHED_OPERATIONS[name]}"
        elif c.secured:
            owner = "caller"
            parameter = f"caller: {'Optional' if name in public else 'SignedIn'}CallerDep"
        else:
            owner, parameter = "", "session: SessionDep"
        session = f"{owner}.session" if owner else "session"
        if c.secured:
            principal = f"{owner}.principal"
            callers[name] = HandlerCaller(parameter, f"{session}, {principal}", principal)
        else:
            callers[name] = HandlerCaller(parameter, session)
    return callers


def cached_read_options(project: ir.Project, c: EntityContext) -> dict[str, str]:
    """The keyword arguments of `cached_read` for the list and the read: the answer depends
    on the caller when the entity is secured, and needs a signed-in one unless anonymous
    callers may do the operation."""
    if not c.secured:
        return dict.fromkeys(CACHED_OPERATIONS, "")
    public = public_operations(project, c)
    return {
        name: ", per_caller=True" + ("" if name in public else ", signed_in=True")
        for name in CACHED_OPERATIONS
    }


def if_match_operations(c: EntityContext) -> tuple[str, ...]:
    """The operations that need `If-Match` (versioned entities: update, delete, actions on a row).
    Their handlers take it optional, so a missing one is the contract's 428 after authorization;
    the document declares it required (`core.versions.IF_MATCH_REQUIRED`, see `openapi_extras`)."""
    if not c.entity.versioned:
        return ()
    return ("update", "delete", *(a.name for a in c.actions if a.with_id))


def openapi_extras(project: ir.Project, c: EntityContext) -> dict[str, str]:
    """The `openapi_extra=` argument of each operation that has one: `TOKEN_OPTIONAL` (anonymous
    callers may do it) and `IF_MATCH_REQUIRED` (the If-Match header, declared required)."""
    public = public_operations(project, c)
    needs_match = set(if_match_operations(c))
    extras: dict[str, str] = {}
    for name in [*CRUD_OPERATIONS, *(a.name for a in c.actions)]:
        parts = [
            *(["TOKEN_OPTIONAL"] if name in public else []),
            *(["IF_MATCH_REQUIRED"] if name in needs_match else []),
        ]
        if len(parts) == 1:
            extras[name] = parts[0]
        elif parts:
            extras[name] = "{" + ", ".join(f"**{part}" for part in parts) + "}"
    return extras


def public_operations(project: ir.Project, c: EntityContext) -> set[str]:
    """Operations anonymous callers may do: their OpenAPI security makes the token optional."""
    if not c.secured:
        return set()
    p = entity_policy(project, c.entity)
    listed = dict(p.operations) | dict(p.actions)
    return {name for name, roles in listed.items() if "anonymous" in roles}


CRUD_OPERATIONS = ("list", "create", "read", "update", "delete")
# The error statuses of each operation before authorization adds its own.
BASE_STATUSES: dict[str, tuple[int, ...]] = {
    "list": (422,),
    "create": (400, 409, 413, 422),
    "read": (404, 422),
    "update": (400, 404, 409, 413, 422),
    "delete": (404, 409, 422),
}


def route_statuses(project: ir.Project, c: EntityContext) -> dict[str, str]:
    """`error_responses(...)` arguments per operation and action: what each can answer.

    With auth, every operation can answer 401 (a bad token), and 403 unless anonymous callers
    may do it and no field rule can deny a write.
    """
    found: dict[str, set[int]] = {op: set(codes) for op, codes in BASE_STATUSES.items()}
    found["restore"] = {404, 409, 422}
    for a in c.actions:
        found[a.name] = {422, *((400, 413) if a.request else ()), *((404,) if a.with_id else ())}
    for name in if_match_operations(c):
        found[name] |= {412, 428}
    if c.secured:
        p = entity_policy(project, c.entity)
        listed = dict(p.operations) | dict(p.actions) | {"restore": p.roles("delete")}
        for name, codes in found.items():
            codes.add(401)
            public = "anonymous" in listed.get(name, ())
            if not public or (name in ("create", "update") and p.write_rules):
                codes.add(403)
    return {name: ", ".join(str(code) for code in sorted(codes)) for name, codes in found.items()}


def action_handler(project: ir.Project, c: EntityContext, a: ActionContext) -> str:
    imports = {Import("sqlalchemy.ext.asyncio", "AsyncSession")}
    if a.with_id:
        imports.add(Import(f"{c.package}.models.{c.module}", c.class_name))
    if a.request:
        imports.add(Import(f"{c.package}.schemas.{c.module}", a.request))
    if a.response_class and not a.same_entity:
        imports.add(Import(f"{c.package}.models.{a.response_module}", a.response_class))
    return render(
        "custom/action.py.j2",
        once_header=once_header(project),
        c=c,
        a=a,
        imports=render_imports(imports, c.package),
    )


def custom(project: ir.Project, c: EntityContext) -> str:
    return render("custom/entity.py.j2", once_header=once_header(project), c=c)


def permissions(project: ir.Project) -> str:
    """`core/permissions.py`: the role closure table and the checks every service makes."""
    package = project.api.name
    imports = {
        Import("collections.abc", "Callable"),
        Import("collections.abc", "Hashable"),
        Import("collections.abc", "Iterable"),
        Import("collections.abc", "Mapping"),
        Import("enum", "Enum"),
        Import("typing", "Any"),
        Import("typing", "Final"),
        Import("pydantic", "MISSING"),
        Import("sqlalchemy", "ColumnElement"),
        Import("sqlalchemy", "false"),
        Import("pydantic", "ValidationInfo"),
        Import(f"{package}.core.envelope", "ErrorDetail"),
        Import(f"{package}.core.errors", "ForbiddenError"),
        Import(f"{package}.core.errors", "UnauthorizedError"),
        Import(f"{package}.core.security", "Principal"),
    }
    roles = [
        {"name": r.name, "closure_literal": py_roles(r.closure)}
        for r in sorted(project.roles, key=lambda r: r.name)
    ]
    return render(
        "core_extra/permissions.py.j2",
        header=header(project),
        imports=render_imports(imports, package),
        roles=roles,
        caller_attributes=caller_attributes(project),
    )


def policy(project: ir.Project, c: EntityContext) -> str:
    """`policies/<entity>.py`: operation roles, field write rules and row visibility."""
    p = entity_policy(project, c.entity)
    imports = _imports(
        c,
        ("typing", "Final"),
        ("sqlalchemy", "ColumnElement"),
        ("sqlalchemy", "or_"),
        ("sqlalchemy", "true"),
        ("{pkg}.core.permissions", "Scope"),
        ("{pkg}.core.permissions", "reach"),
        ("{pkg}.core.security", "Principal"),
        (f"{{pkg}}.models.{c.module}", c.class_name),
    )
    imports.add(Import("sqlalchemy", "false"))
    if p.filters:
        imports.add(Import(f"{c.package}.core.permissions", "filter_keys"))
    code = " ".join([*(b.sql for b in p.filters), p.tenant_sql or ""])
    if "equals(" in code:
        imports.add(Import(f"{c.package}.core.permissions", "equals"))
    if p.tenant_sql:
        imports.add(Import("sqlalchemy", "and_"))
    if re.search(r"(?<![.\w])and_\(", code):
        imports.add(Import("sqlalchemy", "and_"))
    for class_name, module in p.models:
        if class_name != c.class_name:
            imports.add(Import(f"{c.package}.models.{module}", class_name))
    for enum in p.enums:
        imports.add(Import(f"{c.package}.enums", enum))
    operations = [(constant_name(op), py_roles(p.roles(op))) for op in CRUD_OPERATIONS]
    actions = [(constant_name(name), py_roles(roles)) for name, roles in p.actions]
    return render(
        "policies/entity.py.j2",
        header=header(project),
        c=c,
        p=p,
        imports=render_imports(imports, c.package),
        operations=operations,
        actions=actions,
        write_rules=[(field, py_roles(roles)) for field, roles in p.write_rules],
        filtered=py_roles(p.filtered_keys),
    )


CRUD_OPERATIONS = ("list", "read", "create", "update", "delete")
