"""Rules on names: spelling, reserved words, and the names they become (classes, tables, URLs)."""

from __future__ import annotations

import functools
import keyword
import re
import sys
from collections.abc import Callable, Iterator
from functools import partial

from generator.compile.naming import (
    AUTH_MODULE_CLASS,
    REFRESH_TOKEN_CLASS,
    REFRESH_TOKEN_TABLE,
    SNAKE_NAME,
    class_name,
    fits_identifier,
    is_spec_name,
    singularize,
    table_name,
    to_snake,
    url_path,
)
from generator.diagnostics import Span
from generator.validate.models import EntitySpec, FieldSpec
from generator.validate.rules_context import PSEUDO_ROLES, TO_ONE, Ctx, FieldSite
from generator.validate.specset import Located

# Packages the generated project imports, and its own top-level folders.
GENERATED_IMPORTS = frozenset(
    {
        "fastapi", "sqlalchemy", "pydantic", "pydantic_settings", "alembic", "starlette", "jwt",
        "httpx", "tests", "migrations", "app", "uvicorn", "redis", "pwdlib", "argon2",
        "aiosqlite", "asyncpg", "pytest",
    }
)  # fmt: skip
RESERVED_FIELDS = {
    "id": "every entity has an `id`",
    "created_at": "`api.timestamps` adds it",
    "updated_at": "`api.timestamps` adds it",
    "deleted_at": "`soft_delete: true` adds it",
    "created_by": "`audit: true` adds it",
    "updated_by": "`audit: true` adds it",
    "version": "`versioned: true` adds it",
}
TABLE_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
PATH_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

#: Where a name is written, found only when a problem is reported (most names have none, and
#: finding a span for each cost a sixth of the rules at N=200).
Where = Callable[[], Span]
Named = tuple[str, str, Where]  # (derived name, who has it, where)


@functools.lru_cache(maxsize=8192)
def name_problem(name: str) -> str | None:
    """Why a spec name is not allowed, or None."""
    if not SNAKE_NAME.match(name):
        return "must be snake_case (lowercase letters, digits and `_`, starting with a letter)"
    if "__" in name:
        return "must not contain `__` (row_filter paths use it)"
    if name.endswith("_"):
        return "must not end with `_` (generated Python names use it)"
    return None


def check_name(ctx: Ctx, kind: str, name: str, span: Span | Where) -> bool:
    """Report a badly spelled name (hint: its snake_case spelling); True when it is fine.
    span may be a function giving it: it is found only for a name that is wrong."""
    problem = name_problem(name)
    if problem is None:
        return True
    if not isinstance(span, Span):
        span = span()
    snake = to_snake(name)
    hint = f"write `{snake}`" if is_spec_name(snake) and snake != name else None
    ctx.error("E301", f"{kind} name `{name}` {problem}", span, hint)
    return False


def check_names(ctx: Ctx) -> None:
    """Rule 1: every declared name is spelled as the language requires."""
    api = ctx.spec.api
    if check_name(ctx, "api", api.value.name, api.span("name")):
        _check_api_name(ctx)
    for name, role in ctx.spec.roles.items():
        if check_name(ctx, "role", name, role.key_span()) and name in PSEUDO_ROLES:
            ctx.error(
                "E304",
                f"`{name}` is a built-in pseudo-role and cannot be declared",
                role.key_span(),
                "remove it; every spec may use it without declaring it",
            )
    for name, enum in ctx.spec.enums.items():
        check_name(ctx, "enum", name, enum.key_span)
    for name, loc in ctx.spec.entities.items():
        check_name(ctx, "entity", name, loc.key_span)
        for rname in loc.value.relations:
            check_name(ctx, "relation", rname, partial(loc.key_span, "relations", rname))
        for aname in loc.value.endpoints.actions:
            where = partial(loc.key_span, "endpoints", "actions", aname)
            check_name(ctx, "action", aname, where)
    for site in ctx.sites:
        if site.kind != "item" and check_name(ctx, "field", site.name, site.key_span):
            _check_reserved_field(ctx, site)


def _check_api_name(ctx: Ctx) -> None:
    name = ctx.spec.api.value.name
    why = None
    if keyword.iskeyword(name):
        why = "is a Python keyword"
    elif name in sys.stdlib_module_names:
        why = "is a Python standard library module"
    elif name in GENERATED_IMPORTS:
        why = "is a package the generated project imports"
    if why:
        ctx.error(
            "E302",
            f"api name `{name}` {why}; the generated package would shadow it",
            ctx.spec.api.span("name"),
            f"choose another name, such as `{name}_api`",
        )


def _check_reserved_field(ctx: Ctx, site: FieldSite) -> None:
    # Only entity fields are columns next to the generated ones; object members are prefixed
    # and request fields are no columns, so `id` or `version` is fine there.
    if site.kind == "field" and site.name in RESERVED_FIELDS:
        ctx.error(
            "E303",
            f"field `{site.label}`: `{site.name}` is generated and cannot be declared",
            site.key_span(),
            f"remove it; {RESERVED_FIELDS[site.name]}",
        )


# --- derived names: classes, tables, paths, lengths ---------------------------------------------


def effective_table(name: str, loc: Located[EntitySpec]) -> str:
    return loc.value.table or table_name(name)


def effective_path(name: str, loc: Located[EntitySpec]) -> str:
    return loc.value.path or url_path(name)


def check_derived_names(ctx: Ctx) -> None:
    """Rules 1 and 15: class names, tables and URL paths are unique, valid and short enough."""
    _report_duplicates(ctx, "E305", "class name", _class_names(ctx))
    _report_duplicates(ctx, "E306", "table", _tables(ctx))
    _report_duplicates(ctx, "E307", "URL path", _paths(ctx))
    for table, who, where in _tables(ctx):
        _check_length(ctx, "table", table, who, where)
    for name, loc in ctx.spec.entities.items():
        _check_table_and_path(ctx, name, loc)
        for column, who, where, _ in _columns(ctx, name, loc):
            _check_length(ctx, "column", column, who, where)


def _report_duplicates(ctx: Ctx, code: str, what: str, items: Iterator[Named]) -> None:
    first: dict[str, tuple[str, Where]] = {}
    for derived, who, where in items:
        if derived in first and first[derived][0] != who:
            other, other_where = first[derived]
            message = f"{who} has the same {what} `{derived}` as {other} (at {other_where()})"
            ctx.error(code, message, where())
        first.setdefault(derived, (who, where))


def _class_names(ctx: Ctx) -> Iterator[Named]:
    if ctx.spec.auth is not None:
        yield REFRESH_TOKEN_CLASS, "the refresh-token model of `auth`", ctx.spec.auth.key_span
        yield AUTH_MODULE_CLASS, "the auth routes", ctx.spec.auth.key_span
    for name, loc in ctx.spec.entities.items():
        yield class_name(name), f"entity `{name}`", loc.key_span
    for name, enum in ctx.spec.enums.items():
        yield class_name(name), f"enum `{name}`", enum.key_span
    for site in ctx.sites:
        if site.spec.type == "enum" and site.spec.values is not None and site.spec.enum is None:
            where = partial(site.span, "values")
            yield class_name(site.enum_name), f"the inline enum of {site.what}", where


def _tables(ctx: Ctx) -> Iterator[Named]:
    if ctx.spec.auth is not None:
        yield REFRESH_TOKEN_TABLE, "the refresh-token table of `auth`", ctx.spec.auth.key_span
    for name, loc in ctx.spec.entities.items():
        where = partial(loc.span, "table") if loc.has("table") else loc.key_span
        yield effective_table(name, loc), f"entity `{name}`", where
    for name, loc in ctx.spec.entities.items():
        table = effective_table(name, loc)
        for fname, spec in loc.value.fields.items():
            if spec.type == "list":
                yield (
                    f"{table}_{fname}",
                    f"the list field `{name}.{fname}`",
                    partial(loc.key_span, "fields", fname),
                )
        for rname, rel in loc.value.relations.items():
            if rel.type == "many_to_many" and rel.through is None:
                yield (
                    f"{table}_{rname}",
                    f"the many_to_many `{name}.{rname}`",
                    partial(loc.key_span, "relations", rname),
                )


def _paths(ctx: Ctx) -> Iterator[Named]:
    if ctx.spec.auth is not None:
        yield "auth", "the auth routes", ctx.spec.auth.key_span
    for name, loc in ctx.spec.entities.items():
        where = partial(loc.span, "path") if loc.has("path") else loc.key_span
        yield effective_path(name, loc), f"entity `{name}`", where


def _check_length(ctx: Ctx, kind: str, name: str, who: str, where: Where) -> None:
    if not fits_identifier(name):
        size = len(name.encode())
        of = "" if who.endswith(f".{name}`") or who.endswith(f"`{name}`") else f" of {who}"
        ctx.error(
            "E308",
            f"{kind} name `{name}`{of} is {size} bytes, over the 63 bytes PostgreSQL allows",
            where(),
            "choose a shorter name" + (" or set `table:`" if kind == "table" else ""),
        )


def _check_table_and_path(ctx: Ctx, name: str, loc: Located[EntitySpec]) -> None:
    table, path = loc.value.table, loc.value.path
    if table is not None and not TABLE_RE.match(table):
        ctx.error(
            "E312",
            f"table `{table}` of entity `{name}` is not a plain SQL identifier "
            "(lowercase letters, digits and `_`, not starting with a digit)",
            loc.span("table"),
            _hint(to_snake(table), table),
        )
    if path is not None and not PATH_RE.match(path):
        kebab = re.sub(r"[^a-z0-9]+", "-", to_snake(path).replace("_", "-")).strip("-")
        ctx.error(
            "E313",
            f"path `{path}` of entity `{name}` must be one lowercase kebab-case "
            "URL segment (letters, digits, single `-`)",
            loc.span("path"),
            _hint(kebab, path),
        )


def _hint(suggestion: str, written: str) -> str | None:
    return f"write `{suggestion}`" if suggestion and suggestion != written else None


# --- columns of one entity ----------------------------------------------------------------------

Column = tuple[str, str, Where, bool]  # (column, who, where, from an object member)


def _columns(ctx: Ctx, entity: str, loc: Located[EntitySpec]) -> Iterator[Column]:
    """Every column an entity's own table gets from its spec (object members prefixed)."""
    for fname, spec in loc.value.fields.items():
        where = partial(loc.key_span, "fields", fname)
        yield from _field_columns(f"{entity}.{fname}", fname, spec, where, nested=False)
    for rname, rel in loc.value.relations.items():
        if rel.type in TO_ONE:
            where = partial(loc.key_span, "relations", rname)
            yield f"{rname}_id", f"relation `{entity}.{rname}`", where, False


def _field_columns(
    label: str, column: str, spec: FieldSpec, where: Where, nested: bool
) -> Iterator[Column]:
    if spec.type == "object":
        for sub, sub_spec in (spec.fields or {}).items():
            yield from _field_columns(f"{label}.{sub}", f"{column}_{sub}", sub_spec, where, True)
    elif spec.type != "list":
        yield column, f"field `{label}`", where, nested


def check_columns(ctx: Ctx) -> None:
    """Rule 1: fields and relations of one entity do not fight over a name or a column."""
    for name, loc in ctx.spec.entities.items():
        _check_field_vs_relation(ctx, name, loc)
        _check_object_columns(ctx, name, loc)
        _check_child_columns(ctx, name, loc)


def _check_field_vs_relation(ctx: Ctx, entity: str, loc: Located[EntitySpec]) -> None:
    fields = loc.value.fields
    for rname, rel in loc.value.relations.items():
        if rname in fields:
            ctx.error(
                "E310",
                f"`{entity}.{rname}` is declared both as a field and as a relation",
                loc.key_span("relations", rname),
                "rename one of them",
            )
        wire = f"{singularize(rname)}_ids" if rel.type == "many_to_many" else f"{rname}_id"
        # The contract forbids `<relation>_id` beside any relation; a many_to_many's
        # `<singular>_ids` is its wire name (resolve.py), so it is reserved the same way.
        for taken in sorted({f"{rname}_id", wire}):
            if taken in fields:
                ctx.error(
                    "E309",
                    f"field `{entity}.{taken}` clashes with relation `{rname}`, "
                    f"which reads and writes as `{taken}`",
                    loc.key_span("fields", taken),
                    f"remove the field; the relation `{rname}` owns `{taken}`",
                )


def _check_object_columns(ctx: Ctx, entity: str, loc: Located[EntitySpec]) -> None:
    """An object member's prefixed column must not land on another column (other clashes
    between plain fields, relations and generated columns are E303 / E309 / E310)."""
    seen: dict[str, tuple[str, bool]] = {
        g: ("a generated column", False) for g in ctx.generated(entity)
    }
    for column, who, where, nested in _columns(ctx, entity, loc):
        if column in seen and (nested or seen[column][1]):
            ctx.error(
                "E311",
                f"{who} is stored in column `{column}`, which {seen[column][0]} also uses",
                where(),
                "rename the object member or the other field",
            )
        seen.setdefault(column, (who, nested))


def _check_child_columns(ctx: Ctx, entity: str, loc: Located[EntitySpec]) -> None:
    """A list of objects is a child table keyed by (`<entity>_id`, `position`) (normalize.py):
    a member must not be stored in either of those columns."""
    table = effective_table(entity, loc)
    taken = {f"{entity}_id": "parent key", "position": "position"}
    for fname, spec in loc.value.fields.items():
        item = spec.of
        if spec.type != "list" or item is None or item.type != "object":
            continue
        for sub, sub_spec in (item.fields or {}).items():
            label = f"{entity}.{fname}.{sub}"
            where = partial(loc.key_span, "fields", fname, "of", "fields", sub)
            for column, who, _, _ in _field_columns(label, sub, sub_spec, where, True):
                if column in taken:
                    ctx.error(
                        "E311",
                        f"{who} is stored in column `{column}`, which the child "
                        f"table `{table}_{fname}` uses for its {taken[column]}",
                        where(),
                        "rename the member",
                    )
