"""`gen diff --summary`: what a spec change means, in the words a reviewer needs.

Two compiled spec sets in (old and new), one `Review` out, rendered as Markdown for a pull
request: endpoints added, removed and changed, each judged breaking or additive for clients;
each migration step with its risk for the rows already stored (`plan_migration`, as `gen build`
plans it); and the role x operation permission matrix, before and after.

Pure, except `compile_at_revision`, which reads a spec folder out of git.

The endpoints are what the spec promises clients (GENERATED-APP.md "HTTP surface"): the CRUD
routes of `endpoints.crud`, the actions, and the auth routes; request and response bodies are
the fields the schemas emitter puts in `XCreate`, `XUpdate` and `XRead` (the same predicates,
imported from it). What is breaking for a client already calling the API:

* an endpoint removed (or moved: a new path is a removal plus an addition);
* in a request: a new required field, a field removed (bodies forbid unknown keys: a 422), a
  field that becomes required or stops accepting null, a changed type, an enum value removed;
* in a response: a field removed, a changed type, a field that may now be null, a new enum value;
* in the permission matrix: a role that loses an operation (or keeps only its own rows).

Everything else (a new endpoint, a new optional request field, a new response field) is additive.
Constraints such as `max_length`, and list query parameters, are not compared.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from generator import ir
from generator.compile.types import TYPES
from generator.diagnostics import Diagnostics
from generator.diff.compare import Change, plan_migration
from generator.emit.schemas import (
    includable,
    readable_fields,
    readable_relations,
    registers,
    writable_fields,
    writable_relations,
)
from generator.pipeline import compile_specs
from generator.validate.rules_context import PSEUDO_ROLES
from generator.write import UnsafePathError, check_relative_path

__all__ = [
    "Endpoint",
    "EndpointChange",
    "PermissionChange",
    "PermissionMatrix",
    "ProjectReview",
    "Review",
    "ReviewError",
    "WireField",
    "compile_at_revision",
    "endpoints",
    "permission_matrix",
    "render_summary",
    "review",
]

Impact = Literal["breaking", "additive"]
Status = Literal["added", "removed", "changed", "unchanged"]
CRUD_ORDER = ("list", "read", "create", "update", "delete")
NOT_THERE = "n/a"  # a matrix cell for an operation or a role that does not exist on that side


class ReviewError(Exception):
    """The old specs could not be read (not a git checkout, unknown revision, git missing)."""


# --------------------------------------------------------------------------------------------
# endpoints as clients see them
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WireField:
    """One key of a JSON body; nested keys are dotted (`wind.speed_ms`, `specs[].key`)."""

    name: str
    type: str  # the OpenAPI type and format: `string`, `integer(int64)`, `list[string(uuid)]`
    required: bool = False  # requests: must be sent
    nullable: bool = False
    values: tuple[str, ...] = ()  # an enum's values (or a list of enum's)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    operation: str  # `create note`, `publish post`, `login`
    request: tuple[WireField, ...] | None = None  # None: no body
    response: tuple[WireField, ...] | None = None  # None: `data` is null, or not compared
    returns: str | None = None  # the entity whose representation `response` is

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class EndpointChange:
    """One change, with every endpoint it touches (a response change touches each route that
    returns the entity)."""

    endpoints: tuple[str, ...]  # `POST /api/v1/notes`, by path then method
    impact: Impact
    summary: str


def endpoints(project: ir.Project) -> tuple[Endpoint, ...]:
    """Every endpoint the spec promises (auth and entities; /health and /ready never change)."""
    found = [*_auth_endpoints(project)]
    for entity in project.entities:
        found += _entity_endpoints(project, entity)
    return tuple(sorted(found, key=lambda e: (e.path, e.method)))


def _base(project: ir.Project) -> str:
    return project.api.base_path.rstrip("/")


_AUTH_ROUTES = (
    ("login", "POST", "/auth/login"),
    ("refresh", "POST", "/auth/refresh"),
    ("logout", "POST", "/auth/logout"),
    ("me", "GET", "/auth/me"),
)


def _auth_endpoints(project: ir.Project) -> list[Endpoint]:
    auth = project.auth
    if auth is None:
        return []
    base = _base(project)
    login = (
        WireField(auth.username_field, "string", required=True),
        WireField("password", "string", required=True),
    )
    found = [
        Endpoint(method, base + path, name, login if name == "login" else None)
        for name, method, path in _AUTH_ROUTES
    ]
    if registers(project, project.entity(auth.user_entity)):
        found.append(Endpoint("POST", f"{base}/auth/register", "register"))
    return found


def _entity_endpoints(project: ir.Project, entity: ir.Entity) -> list[Endpoint]:
    root = f"{_base(project)}/{entity.path}"
    read = _response(project, entity)
    create = _request(project, entity, update=False)
    update = _request(project, entity, update=True)
    name = entity.name
    routes = {
        "list": Endpoint("GET", root, f"list {entity.plural}", None, read, name),
        "read": Endpoint("GET", f"{root}/{{id}}", f"read {name}", None, read, name),
        "create": Endpoint("POST", root, f"create {name}", create, read, name),
        "update": Endpoint("PATCH", f"{root}/{{id}}", f"update {name}", update, read, name),
        "delete": Endpoint("DELETE", f"{root}/{{id}}", f"delete {name}"),
    }
    found = [routes[op] for op in CRUD_ORDER if op in entity.crud]
    if entity.soft_delete and "delete" in entity.crud:
        found.append(
            Endpoint("POST", f"{root}/{{id}}/restore", f"restore {name}", None, read, name)
        )
    for action in entity.actions:
        body = None
        if action.request is not None:
            body = tuple(w for f in action.request for w in _wire(project, f, f.name, True))
        answer = _response(project, project.entity(action.response)) if action.response else None
        found.append(
            Endpoint(
                action.method.upper(),
                root + action.path,
                f"{action.name} {name}",
                body,
                answer,
                action.response,
            )
        )
    return found


def _request(project: ir.Project, entity: ir.Entity, update: bool) -> tuple[WireField, ...]:
    """The body of `XCreate` (update=False) or `XUpdate`, as the schemas emitter writes it."""
    found = [w for f in writable_fields(entity) for w in _wire(project, f, f.name, not update)]
    for r in writable_relations(entity):
        required = not update and r.kind != "many_to_many" and r.required
        found.append(
            WireField(
                r.wire_name,
                _relation_type(project, r),
                required,
                nullable=not r.required and r.kind != "many_to_many",
            )
        )
    return tuple(found)


def _response(project: ir.Project, entity: ir.Entity) -> tuple[WireField, ...]:
    """The keys of `XRead`: the id, the fields, the relation ids, the bookkeeping columns and
    the related rows `?include=` embeds."""
    found = [WireField("id", _id_type(project))]
    found += [w for f in readable_fields(entity) for w in _wire(project, f, f.name, False)]
    found += [
        WireField(
            r.wire_name,
            _relation_type(project, r),
            nullable=not r.required and r.kind != "many_to_many",
        )
        for r in readable_relations(entity)
    ]
    if project.api.timestamps:
        found += [
            WireField("created_at", "string(date-time)"),
            WireField("updated_at", "string(date-time)"),
        ]
    if entity.soft_delete:
        found.append(WireField("deleted_at", "string(date-time)", nullable=True))
    if entity.versioned:
        found.append(WireField("version", "integer"))
    for r in includable(project, entity):  # embedded with `?include=`, null otherwise
        many = r.kind in ("one_to_many", "many_to_many")
        found.append(
            WireField(
                r.name,
                f"list[object({r.target})]" if many else f"object({r.target})",
                nullable=True,
            )
        )
    return tuple(found)


def _wire(project: ir.Project, f: ir.Field, name: str, creating: bool) -> list[WireField]:
    """A field and, for an object (or a list of objects), its nested keys."""
    # Required exactly when the emitted input model gives the field no default.
    required = creating and f.default is None and not f.nullable and f.type.kind != "list"
    item = f.item if f.type.kind == "list" and f.item is not None else None
    shape = item or f
    found = [WireField(name, _type_label(f), required, f.nullable, _enum_values(project, shape))]
    prefix = f"{name}[]" if item is not None else name
    for sub in shape.subfields:
        found += _wire(project, sub, f"{prefix}.{sub.name}", creating)
    return found


def _type_label(f: ir.Field) -> str:
    if f.type.kind == "list" and f.item is not None:
        return f"list[{_type_label(f.item)}]"
    schema = TYPES[f.type.kind].openapi if f.type.kind in TYPES else {}
    kind = str(schema.get("type", "any"))
    return f"{kind}({schema['format']})" if "format" in schema else kind


def _enum_values(project: ir.Project, f: ir.Field) -> tuple[str, ...]:
    if f.type.kind != "enum":
        return ()
    return next((e.values for e in project.enums if e.name == f.type.enum), ())


def _id_type(project: ir.Project) -> str:
    return "string(uuid)" if project.api.id_type == "uuid" else "integer"


def _relation_type(project: ir.Project, r: ir.Relation) -> str:
    ident = _id_type(project)
    return f"list[{ident}]" if r.kind == "many_to_many" else ident


def _endpoint_changes(old: Iterable[Endpoint], new: Iterable[Endpoint]) -> list[EndpointChange]:
    before, after = {e.key: e for e in old}, {e.key: e for e in new}
    found = [
        (key, "breaking", f"removed ({before[key].operation})")
        for key in before.keys() - after.keys()
    ]
    found += [
        (key, "additive", f"added ({after[key].operation})") for key in after.keys() - before.keys()
    ]
    for key in before.keys() & after.keys():
        a, b = before[key], after[key]
        found += [
            (key, impact, f"request: {text}")
            for impact, text in _body_changes(a.request, b.request, request=True)
        ]
        side = f"`{b.returns}` in responses" if b.returns else "response"
        found += [
            (key, impact, f"{side}: {text}")
            for impact, text in _body_changes(a.response, b.response, request=False)
        ]
    grouped: dict[tuple[Impact, str], list[str]] = {}
    for key, impact, summary in found:
        grouped.setdefault((cast(Impact, impact), summary), []).append(key)
    changes = [
        EndpointChange(tuple(sorted(keys, key=_route_order)), impact, summary)
        for (impact, summary), keys in grouped.items()
    ]
    return sorted(
        changes, key=lambda c: (c.impact != "breaking", _route_order(c.endpoints[0]), c.summary)
    )


def _route_order(key: str) -> tuple[str, str]:
    method, _, path = key.partition(" ")
    return path, method


def _body_changes(
    old: tuple[WireField, ...] | None, new: tuple[WireField, ...] | None, request: bool
) -> list[tuple[Impact, str]]:
    if old is not None and new is None and not request:
        return [("breaking", "no longer returned")]
    if old is None and new is not None and not request:
        return [("additive", "now returned")]
    before = {w.name: w for w in old or ()}
    after = {w.name: w for w in new or ()}
    found: list[tuple[Impact, str]] = []
    for name in sorted(after.keys() - before.keys()):
        w = after[name]
        if request:
            found.append(
                ("breaking", f"new required field `{name}`")
                if w.required
                else ("additive", f"new optional field `{name}`")
            )
        else:
            found.append(("additive", f"new field `{name}`"))
    for name in sorted(before.keys() - after.keys()):
        found.append(
            (
                "breaking",
                f"field `{name}` removed (sending it is a 422)"
                if request
                else f"field `{name}` removed",
            )
        )
    for name in sorted(before.keys() & after.keys()):
        found += _field_changes(before[name], after[name], request)
    return found


def _field_changes(a: WireField, b: WireField, request: bool) -> list[tuple[Impact, str]]:
    """How one key changed; `request` says which side a change hurts."""
    name = f"`{a.name}`"
    if a.type != b.type:
        return [("breaking", f"{name} changes type from {a.type} to {b.type}")]
    found: list[tuple[Impact, str]] = []
    for value in (v for v in a.values if v not in b.values):
        found.append(
            ("breaking", f"{name} no longer accepts `{value}`")
            if request
            else ("additive", f"{name} is never `{value}` any more")
        )
    for value in (v for v in b.values if v not in a.values):
        found.append(
            ("additive", f"{name} accepts `{value}`")
            if request
            else ("breaking", f"{name} may be `{value}`")
        )
    if request and a.required != b.required:
        found.append(
            ("breaking", f"{name} becomes required")
            if b.required
            else ("additive", f"{name} becomes optional")
        )
    if a.nullable != b.nullable:
        loosened = b.nullable
        if request:
            found.append(
                ("additive", f"{name} accepts null")
                if loosened
                else ("breaking", f"{name} no longer accepts null")
            )
        else:
            found.append(
                ("breaking", f"{name} may be null")
                if loosened
                else ("additive", f"{name} is never null")
            )
    return found


# --------------------------------------------------------------------------------------------
# the permission matrix
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermissionMatrix:
    """Who may do what: one row per operation (`post.update`), one column per role.

    Columns are the pseudo-roles, then the declared roles, least privileged first. A cell is
    `yes` (on every row the caller may see), `own` (only on rows the caller owns) or `-`.
    """

    roles: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]

    def cell(self, operation: str, role: str) -> str:
        cells = dict(self.rows).get(operation)
        if cells is None or role not in self.roles:
            return NOT_THERE
        return cells[self.roles.index(role)]

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(op for op, _ in self.rows)


@dataclass(frozen=True)
class PermissionChange:
    operation: str
    role: str
    before: str
    after: str

    @property
    def breaking(self) -> bool:
        """A role loses an operation it had (a removed operation counts under endpoints)."""
        rank = {"yes": 2, "own": 1, "-": 0}
        if NOT_THERE in (self.before, self.after):
            return False
        return rank[self.after] < rank[self.before]


def permission_matrix(project: ir.Project) -> PermissionMatrix:
    """The effective grants: inheritance, `authenticated` and `anonymous` worked out."""
    declared = sorted(project.roles, key=lambda r: (len(r.closure), r.name))
    closure = {r.name: frozenset(r.closure) for r in declared}
    roles = (*PSEUDO_ROLES, *closure)
    rows = []
    for entity in sorted(project.entities, key=lambda e: e.name):
        listed = {p.operation: frozenset(p.roles) for p in entity.permissions}
        listed |= {a.name: frozenset(a.roles) for a in entity.actions}
        operations = [op for op in CRUD_ORDER if op in entity.crud]
        operations += [a.name for a in entity.actions]
        for op in operations:
            granted = (
                frozenset({"anonymous"}) if project.auth is None else listed.get(op, frozenset())
            )
            rows.append(
                (f"{entity.name}.{op}", tuple(_access(granted, role, closure) for role in roles))
            )
    return PermissionMatrix(roles, tuple(rows))


def _access(granted: frozenset[str], role: str, closure: Mapping[str, frozenset[str]]) -> str:
    if "anonymous" in granted:
        return "yes"
    if role == "anonymous":
        return "-"
    if "authenticated" in granted or (role in closure and closure[role] & granted):
        return "yes"
    if role == "owner":
        return "yes" if "owner" in granted else "-"
    return "own" if "owner" in granted else "-"


def _permission_changes(
    old: PermissionMatrix | None, new: PermissionMatrix | None
) -> list[PermissionChange]:
    empty = PermissionMatrix((), ())
    a, b = old or empty, new or empty
    roles = [*a.roles, *(r for r in b.roles if r not in a.roles)]
    operations = sorted({*a.operations, *b.operations})
    return [
        PermissionChange(op, role, a.cell(op, role), b.cell(op, role))
        for op in operations
        for role in roles
        if a.cell(op, role) != b.cell(op, role)
    ]


# --------------------------------------------------------------------------------------------
# the review
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectReview:
    """Everything that changed in one API (one spec set, matched by `api.name`)."""

    name: str
    status: Status
    old_version: str | None
    new_version: str | None
    endpoints: tuple[EndpointChange, ...]
    schema: tuple[Change, ...]
    permissions: tuple[PermissionChange, ...]
    before: PermissionMatrix | None
    after: PermissionMatrix | None

    @property
    def breaking(self) -> int:
        """Breaking endpoint changes, plus operations that some role loses."""
        return sum(c.impact == "breaking" for c in self.endpoints) + len(self.narrowed_operations)

    @property
    def narrowed_operations(self) -> tuple[str, ...]:
        return tuple(sorted({p.operation for p in self.permissions if p.breaking}))

    @property
    def changed(self) -> bool:
        return self.status != "unchanged"


@dataclass(frozen=True)
class Review:
    projects: tuple[ProjectReview, ...]

    @property
    def changed(self) -> bool:
        return any(p.changed for p in self.projects)

    @property
    def breaking(self) -> int:
        return sum(p.breaking for p in self.projects)


def review(old: Iterable[ir.Project], new: Iterable[ir.Project]) -> Review:
    """Compare two compiled spec sets, API by API."""
    before, after = {p.api.name: p for p in old}, {p.api.name: p for p in new}
    return Review(
        tuple(
            _review_project(name, before.get(name), after.get(name))
            for name in sorted(before.keys() | after.keys())
        )
    )


def _review_project(name: str, old: ir.Project | None, new: ir.Project | None) -> ProjectReview:
    plan = plan_migration(old.tables if old else (), new.tables if new else ())
    matrix_before = permission_matrix(old) if old else None
    matrix_after = permission_matrix(new) if new else None
    changes = (
        tuple(_endpoint_changes(endpoints(old) if old else (), endpoints(new) if new else ())),
        tuple(plan.changes),
        tuple(_permission_changes(matrix_before, matrix_after)),
    )
    status: Status = (
        "added"
        if old is None
        else "removed"
        if new is None
        else ("changed" if any(changes) else "unchanged")
    )
    return ProjectReview(
        name,
        status,
        old.api.version if old else None,
        new.api.version if new else None,
        *changes,
        matrix_before,
        matrix_after,
    )


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def render_summary(result: Review, old_label: str, new_label: str) -> str:
    """The review as Markdown, for a terminal or a pull request description."""
    lines = [f"# gen diff --summary: {old_label} -> {new_label}", ""]
    if not result.changed:
        return "\n".join([*lines, "No changes for clients, the schema or permissions.", ""])
    for project in result.projects:
        lines += _render_project(project)
    return "\n".join(lines)


def _render_project(p: ProjectReview) -> list[str]:
    if not p.changed:
        return [f"## {p.name}: no changes", ""]
    lines = [f"## {p.name} ({p.status}): {_headline(p)}", ""]
    if p.old_version != p.new_version and p.old_version and p.new_version:
        lines += [f"`api.version`: {p.old_version} -> {p.new_version}", ""]
    if p.endpoints:
        lines += ["### Endpoints", "", "| impact | endpoint | change |", "| --- | --- | --- |"]
        lines += [
            f"| {_impact(c.impact)} | {', '.join(map(_code, c.endpoints))} | {_cell(c.summary)} |"
            for c in p.endpoints
        ]
        lines.append("")
    if p.schema:
        lines += [
            "### Schema (migration steps)",
            "",
            "| risk | table | change |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {_risk(c.risk)} | {_code(c.table)} | {_cell(c.summary)} |" for c in p.schema]
        lines.append("")
    if p.permissions:
        lines += _render_matrix(p)
    return lines


def _headline(p: ProjectReview) -> str:
    breaking = sum(c.impact == "breaking" for c in p.endpoints)
    destructive = sum(c.risk == "destructive" for c in p.schema)
    operations = len({c.operation for c in p.permissions})
    return (
        f"endpoints {breaking} breaking, {len(p.endpoints) - breaking} additive; "
        f"schema {len(p.schema)} step(s), {destructive} destructive; "
        f"permissions {operations} operation(s) changed, "
        f"{len(p.narrowed_operations)} narrowed"
    )


def _render_matrix(p: ProjectReview) -> list[str]:
    """The rows of the matrix that changed; a changed cell reads `before -> after`."""
    empty = PermissionMatrix((), ())
    a, b = p.before or empty, p.after or empty
    roles = [*a.roles, *(r for r in b.roles if r not in a.roles)]
    lines = [
        "### Permissions (changed operations; a cell reads before -> after)",
        "",
        "| operation | " + " | ".join(roles) + " |",
        "| --- |" + " --- |" * len(roles),
    ]
    for op in sorted({c.operation for c in p.permissions}):
        cells = [
            a.cell(op, r)
            if a.cell(op, r) == b.cell(op, r)
            else f"{a.cell(op, r)} -> {b.cell(op, r)}"
            for r in roles
        ]
        lines.append(f"| {_code(op)} | " + " | ".join(_cell(c) for c in cells) + " |")
    lines += [
        "",
        "`yes`: every row it may see; `own`: only rows it owns; `-`: refused; "
        f"`{NOT_THERE}`: no such operation or role.",
        "",
    ]
    return lines


def _impact(impact: Impact) -> str:
    return "**breaking**" if impact == "breaking" else "additive"


def _risk(risk: str) -> str:
    return f"**{risk}**" if risk == "destructive" else risk


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (spec strings can hold `|` and newlines)."""
    return " ".join(text.replace("|", "\\|").split())


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return _cell(f"{fence}{text}{fence}")


# --------------------------------------------------------------------------------------------
# the old specs from git
# --------------------------------------------------------------------------------------------


def compile_at_revision(specs: Path, rev: str) -> tuple[tuple[ir.Project, ...], Diagnostics]:
    """Compile the spec folder `specs` as committed at `rev` (`HEAD~1`, a branch, a sha).

    The folder's `*.yaml` / `*.yml` blobs are read with `git ls-tree` and `git cat-file` into a
    temporary folder; diagnostics name them `REV:path`.
    """
    if rev.startswith("-"):
        raise ReviewError(f"not a revision: {rev!r}")
    folder = specs.resolve()
    anchor = next((p for p in (folder, *folder.parents) if p.is_dir()), folder)
    try:
        top = Path(_git(anchor, "rev-parse", "--show-toplevel").decode().strip())
    except ReviewError as exc:
        raise ReviewError(
            f"{exc}\n(to compare with another spec folder: --old OLD_SPECS)"
        ) from None
    if not folder.is_relative_to(top):
        raise ReviewError(f"{specs} is not inside the git checkout {top}")
    rel = folder.relative_to(top).as_posix()
    try:
        commit = _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except ReviewError:
        raise ReviewError(f"unknown revision {rev!r} in {top}") from None
    listing = _git(top, "ls-tree", "-r", "-z", commit, *(["--", rel] if rel != "." else []))
    with tempfile.TemporaryDirectory(prefix="gen-review-") as tmp:
        root = Path(tmp)
        for entry in filter(None, listing.split(b"\0")):
            meta, _, raw_path = entry.partition(b"\t")
            mode, _kind, blob = meta.decode().split()
            path = raw_path.decode("utf-8", errors="surrogateescape")
            if mode not in ("100644", "100755") or not path.endswith((".yaml", ".yml")):
                continue
            try:
                check_relative_path(path)
            except UnsafePathError as exc:
                raise ReviewError(f"{rev}:{path}: {exc.reason}") from None
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_git(top, "cat-file", "blob", blob))
        (root / rel).mkdir(parents=True, exist_ok=True)
        return compile_specs(root / rel, label_root=f"{rev}:{rel}")


def _git(cwd: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise ReviewError("git is not installed; use --old OLD_SPECS instead") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise ReviewError(f"`git {args[0]}` failed in {cwd}: {message}")
    return done.stdout
