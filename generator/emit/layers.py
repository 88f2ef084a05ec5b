"""Repository, service, route and custom-hook modules of each entity.

One function a layer; each collects its imports as data and renders one template. Entities
synthesized by normalization are written through their source, so they get reads only.
"""

from __future__ import annotations

import re

from generator import ir
from generator.emit.base import RenderedFile, header, once_header, render
from generator.emit.entity_context import (
    ActionContext,
    EntityContext,
    entity_context,
    module_name,
)
from generator.emit.imports import Import, render_imports


def emit(project: ir.Project) -> list[RenderedFile]:
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
    for entity in project.entities:
        c = entity_context(project, entity)
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
    text = " ".join(code)
    return {
        Import(f"{project.api.name}.models.{module_name(e)}", e.class_name)
        for e in project.entities
        if e.class_name != own and re.search(rf"\b{re.escape(e.class_name)}\.", text)
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
        ("{pkg}.core.pagination", "paginate"),
        (f"{{pkg}}.models.{c.module}", c.class_name),
        (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}ListParams"),
    ) | _id_import(c)
    if c.loads or c.includes:
        imports.add(Import("sqlalchemy.orm", "selectinload"))
    if c.includes:
        imports.add(Import(f"{c.package}.core.relations", "included"))
    imports |= _named_models(project, c.class_name, [load for _, load in c.includes])
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
    return render(
        "repositories/entity.py.j2",
        header=header(project),
        c=c,
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
    return render(
        "services/entity.py.j2",
        header=header(project),
        c=c,
        imports=render_imports(imports, c.package),
    )


def routes(project: ir.Project, c: EntityContext) -> str:
    imports = _imports(
        c,
        ("fastapi", "APIRouter"),
        ("{pkg}.deps", "SessionDep"),
        ("{pkg}.core.envelope", "error_responses"),
        (f"{{pkg}}.schemas.{c.module}", f"{c.class_name}Read"),
    )
    if "list" in c.crud and c.includes:
        imports.add(Import(f"{c.package}.core.relations", "included"))
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
    return render(
        "routes/entity.py.j2",
        header=header(project),
        c=c,
        imports=render_imports(imports, c.package),
    )


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
