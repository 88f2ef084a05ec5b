"""openapi.json rendered from the IR: what the generated app serves at `/openapi.json`.

A pure function of the frozen `ir.Project`. It follows the route and schema emitters (the
decisions they share live in `generator.emit.schemas` and `generator.emit.layers`) and then
FastAPI's assembly: operations in route order, component schemas sorted by name, and the
round trip through FastAPI's `OpenAPI` model (`_as_served`). `GEN_OPENAPI=verify` compares it
with the document the imported app serves (`generator.openapi`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from generator import ir, jsontext
from generator.emit import schemas as emit_schemas
from generator.emit.app import ERROR_DESCRIPTIONS
from generator.emit.auth import REGISTER_ERRORS
from generator.emit.entity_context import EntityContext, entity_context, module_name
from generator.emit.layers import public_operations, route_statuses
from generator.emit.literals import docstring_text
from generator.incremental import BuildCache
from generator.openapi_schema import (
    MAX_IN_ITEMS,
    MAX_PAGE,
    MAX_SEARCH_LENGTH,
    NO_DEFAULT,
    NO_NUL,
    Components,
    Prop,
    Schema,
    class_description,
    description_of_docstring,
    id_input,
    id_read,
    input_prop,
    input_schema,
    model,
    nullable,
    read_prop,
    read_schema,
    registration_tenant_fields,
    relation_input,
    relation_read,
    title_of,
)

OPENAPI_VERSION = "3.1.0"
BEARER = "HTTPBearer"
JSON = "application/json"

RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before the budget has room again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
NOT_MODIFIED: dict[str, Any] = {
    "description": "Not modified: `If-None-Match` names the current `ETag`.",
    "headers": {"ETag": {"description": "The current entity tag.", "schema": {"type": "string"}}},
}
WITH_ETAG: dict[str, Any] = {
    "description": "The row, with its version as `ETag`.",
    "headers": {
        "ETag": {
            "description": "The row's version; send it back as `If-Match` to change it.",
            "schema": {"type": "string"},
        }
    },
}
CREATED_WITH_LOCATION: dict[str, Any] = {
    "description": "Created.",
    "headers": {
        "Location": {
            "description": "URL of the created resource.",
            "schema": {"type": "string", "format": "uri"},
        }
    },
}
ID_DESCRIPTION = "The row's id."
IF_MATCH_DESCRIPTION = "The `ETag` of the version this change is based on."


@dataclass(frozen=True)
class Param:
    """One operation parameter: where it is sent, its schema, and its description."""

    name: str
    where: str  # "path", "query" or "header"
    schema: Schema
    required: bool
    description: str | None = None


@dataclass(frozen=True)
class Route:
    """One operation as FastAPI sees it: its handler's name, signature and `responses=`."""

    path: str
    method: str
    name: str
    tag: str
    description: str
    response: str
    summary: str | None = None
    status: int = 200
    params: tuple[Param, ...] = ()
    body: str | None = None
    extra_responses: tuple[tuple[int, dict[str, Any]], ...] = ()
    security: tuple[dict[str, list[str]], ...] = ()


@dataclass
class Document:
    """The components built so far, and the routes in the order the app includes them."""

    c: Components
    routes: list[Route] = field(default_factory=list)


def render_openapi(project: ir.Project) -> dict[str, Any]:
    """The OpenAPI document the generated app serves, as a dict."""
    doc = Document(Components(project))
    doc.routes += health_routes(doc.c)
    base = _base(project)
    for _, routes_of in sorted(_routers(project), key=lambda item: item[0]):
        doc.routes += [replace(r, path=base + r.path) for r in routes_of(project, doc.c)]
    paths: dict[str, dict[str, Any]] = {}
    for route in doc.routes:
        paths.setdefault(route.path, {})[route.method] = operation(doc.c, route)
    components: dict[str, Any] = {
        "schemas": {name: doc.c.schemas[name] for name in sorted(doc.c.schemas)}
    }
    if project.auth is not None:
        components["securitySchemes"] = _security_schemes()
    document = {
        "openapi": OPENAPI_VERSION,
        "info": _info(project),
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components,
    }
    served = _as_served(document)
    served["security"] = []
    return served


def render_openapi_text(project: ir.Project, cache: BuildCache | None = None) -> str:
    """`openapi.json` as the build writes it; with a cache, the text of each router's path
    items and of the component schemas it builds come from it while what they read is
    unchanged (`_router_texts`)."""
    if cache is None or cache.path is None:
        return jsontext.dumps(render_openapi(project)) + "\n"
    c = Components(project)
    health: dict[str, dict[str, Any]] = {}
    for route in health_routes(c):
        health.setdefault(route.path, {})[route.method] = operation(c, route)
    paths = [(path, _path_item_text(item)) for path, item in health.items()]
    schema_texts: dict[str, str] = {}
    for key, routes_of in sorted(_routers(project), key=lambda item: item[0]):
        router_paths, built = _router_texts(project, c, key, routes_of, cache)
        paths += router_paths
        schema_texts.update(built)
    if len({path for path, _ in paths}) != len(paths):  # one path item from two routers
        return jsontext.dumps(render_openapi(project)) + "\n"
    schemas = {
        name: schema_texts.get(name) or _schema_text(c.schemas[name]) for name in sorted(c.schemas)
    }
    components: dict[str, Any] = {"schemas": schemas}
    if project.auth is not None:
        components["securitySchemes"] = _security_schemes()
    path_items = dict(paths)
    skeleton = {
        "openapi": OPENAPI_VERSION,
        "info": _ordered(_info(project), INFO_KEYS),
        "servers": [{"url": "/"}],
        "paths": path_items,
        "components": components,
        "security": [],
    }
    try:
        text = jsontext.dumps_placed(skeleton, (PATHS, SCHEMAS), at_depth=True, end="\n")
    except ValueError:  # the skeleton's own text holds what marks a member
        return jsontext.dumps(render_openapi(project)) + "\n"
    return DocumentText(text, path_items, schemas)


#: Where the document's path items and component schemas are: their texts are made (and
#: cached) as they read at that depth, placed as they are (no 6 MB of indenting per build).
PATHS = ("paths",)
SCHEMAS = ("components", "schemas")


def _path_item_text(item: dict[str, Any]) -> str:
    return jsontext.indented(jsontext.dumps(_served_path_item(item)), len(PATHS) + 1)


def _schema_text(schema: Schema) -> str:
    return jsontext.indented(jsontext.dumps(served_schema(schema)), len(SCHEMAS) + 1)


class DocumentText(str):
    """openapi.json's text, with the texts it was put together from (each path item's and each
    component schema's, as the document holds them), so that what reads those members of the
    document (the typed client) need not find them in its 6 MB again (N=200)."""

    paths: dict[str, str]
    schemas: dict[str, str]

    def __new__(cls, text: str, paths: dict[str, str], schemas: dict[str, str]) -> DocumentText:
        document = super().__new__(cls, text)
        document.paths = paths
        document.schemas = schemas
        return document

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        # To another process (the build's worker hands its files back) as the text alone.
        return (str, (str(self),))


def _security_schemes() -> dict[str, Any]:
    return {BEARER: {"type": "http", "scheme": "bearer"}}


def _info(project: ir.Project) -> dict[str, Any]:
    info: dict[str, Any] = {"title": project.api.title}
    if project.api.description:
        info["description"] = project.api.description
    info["version"] = project.api.version
    return info


def _base(project: ir.Project) -> str:
    return "" if project.api.base_path == "/" else project.api.base_path


RoutesOf = Callable[[ir.Project, Components], list[Route]]
Texts = list[tuple[str, str]]


class _RecordingComponents(Components):
    """Components that note which schemas a router built and which it found already built."""

    def __init__(self, project: ir.Project, schemas: dict[str, Schema]) -> None:
        super().__init__(project, schemas)
        self.built: list[str] = []
        self.found: set[str] = set()

    def ref(self, name: str, build: Any = None) -> Schema:
        if build is not None:
            if name in self.schemas:
                self.found.add(name)
            else:
                self.built.append(name)
        return super().ref(name, build)


def _router_texts(
    project: ir.Project, c: Components, key: str, routes_of: RoutesOf, cache: BuildCache
) -> tuple[Texts, Texts]:
    """The served text (as the document holds it) of each path item of one router, in order,
    and of each component schema it builds; the schemas' names go into c.

    Cached as a unit: besides what it read of the project, it depends on which schemas were
    built before it (a router builds a schema on first reference only), so it is reused only
    when those it found built are there again and those it built are not. A schema's content
    depends only on what the router that builds it read; an operation holds only references
    to schemas."""

    def produce(view: ir.Project) -> tuple[Texts, Texts, list[str]]:
        recording = _RecordingComponents(view, c.schemas)
        base = _base(view)
        items: dict[str, dict[str, Any]] = {}
        for route in routes_of(view, recording):
            items.setdefault(base + route.path, {})[route.method] = operation(recording, route)
        paths = [(path, _path_item_text(item)) for path, item in items.items()]
        built = [(n, _schema_text(c.schemas[n])) for n in recording.built]
        return paths, built, sorted(recording.found - set(recording.built))

    def usable(unit: tuple[Texts, Texts, list[str]]) -> bool:
        _, built, found = unit
        return all(n in c.schemas for n in found) and not any(n in c.schemas for n, _ in built)

    paths, built, _ = cache.unit(f"openapi\0router\0{key}", produce, usable)
    for name, _ in built:
        c.schemas.setdefault(name, {})  # built by the cached render: its name is taken
    return paths, built


def _routers(project: ir.Project) -> Iterator[tuple[str, RoutesOf]]:
    """Each router's name and its routes, which read the project only through the project they
    are given."""
    for entity in project.entities:
        if entity.crud:
            yield module_name(entity), functools.partial(_entity_routes, entity.name)
    if project.auth is not None:
        yield "auth", auth_routes


def _entity_routes(name: str, project: ir.Project, c: Components) -> list[Route]:
    return entity_routes(project, c, entity_context(project, project.entity(name)))


# --- operations --------------------------------------------------------------------------------


def operation(c: Components, route: Route) -> dict[str, Any]:
    """An operation as FastAPI's `get_openapi_path` builds it (before the model round trip)."""
    op: dict[str, Any] = {
        "tags": [route.tag],
        "summary": route.summary or route.name.replace("_", " ").title(),
        "description": route.description,
        "operationId": route.name,
    }
    if route.security:
        op["security"] = [dict(s) for s in route.security[:1]]
    ordered = sorted(route.params, key=lambda p: ("path", "query", "header").index(p.where))
    if ordered:
        op["parameters"] = [parameter(p) for p in ordered]
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": c.ref(route.body)}}}
    responses: dict[str, Any] = {
        str(route.status): {
            "description": "Successful Response",
            "content": {JSON: {"schema": c.ref(route.response)}},
        }
    }
    for status, extra in route.extra_responses:
        answer = {k: v for k, v in extra.items() if k != "model"}
        if "model" in extra:
            answer.setdefault("content", {})[JSON] = {"schema": c.ref(extra["model"])}
        target = responses.setdefault(str(status), {})
        description = answer.get("description") or target.get("description")
        _deep_update(target, answer)
        target["description"] = description
    op["responses"] = responses
    if len(route.security) > 1:  # `openapi_extra=TOKEN_OPTIONAL` appends the empty one
        op.setdefault("security", []).extend(dict(s) for s in route.security[1:])
    return op


def parameter(p: Param) -> dict[str, Any]:
    """One entry of `parameters`: FastAPI titles the schema after the name (not a `$ref`)."""
    schema = dict(p.schema)
    if "$ref" not in schema:
        schema["title"] = title_of(p.name)
    entry: dict[str, Any] = {"name": p.name, "in": p.where, "required": p.required}
    entry["schema"] = schema
    if p.description is not None:
        entry["description"] = p.description
    return entry


def header_param(name: str, schema: Schema, description: str, *, required: bool) -> Param:
    """A request header (`If-Match`): one place to change how headers are declared."""
    return Param(name, "header", {**schema, "description": description}, required, description)


def if_match() -> Param:
    """Declared required (`core.versions.IF_MATCH_REQUIRED`, appended by FastAPI after the
    handler's own parameters), although the handler answers a missing one with 428."""
    return header_param(
        "If-Match", {"type": "string", "maxLength": 1024}, IF_MATCH_DESCRIPTION, required=True
    )


def _deep_update(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        elif isinstance(value, list) and isinstance(target.get(key), list):
            target[key] = target[key] + value
        else:
            target[key] = value


def errors(*statuses: int, rate_limited: bool = True) -> tuple[tuple[int, dict[str, Any]], ...]:
    """`error_responses(...)`: each status with the error envelope; 429 when rate limited."""
    found: list[tuple[int, dict[str, Any]]] = [
        (s, {"model": "ErrorEnvelope", "description": ERROR_DESCRIPTIONS[s]}) for s in statuses
    ]
    if rate_limited:
        found.append(
            (
                429,
                {
                    "model": "ErrorEnvelope",
                    "description": ERROR_DESCRIPTIONS[429],
                    "headers": RETRY_AFTER,
                },
            )
        )
    return tuple(found)


def _codes(text: str) -> tuple[int, ...]:
    return tuple(int(code) for code in text.split(", ")) if text else ()


# --- shared models -----------------------------------------------------------------------------


def envelope(c: Components, data: str) -> str:
    """`Envelope[<data>]`, registered; its component name."""
    name = f"Envelope_{data}_"
    c.ref(
        name,
        lambda: model(
            name,
            [_success(True), Prop("data", c.ref(data), required=True)],
            title=f"Envelope[{data}]",
        ),
    )
    return name


def list_envelope(c: Components, data: str) -> str:
    name = f"ListEnvelope_{data}_"
    c.ref(
        name,
        lambda: model(
            name,
            [
                _success(True),
                Prop("data", {"type": "array", "items": c.ref(data)}, required=True),
                Prop("meta", c.ref("PageMeta", lambda: _page_meta()), required=True),
            ],
            title=f"ListEnvelope[{data}]",
        ),
    )
    return name


def _success(value: bool) -> Prop:
    return Prop("success", {"type": "boolean", "const": value}, required=True, default=value)


def _page_meta() -> Schema:
    props = [Prop(n, {"type": "integer"}, required=True) for n in ("page", "limit", "total")]
    return model(
        "PageMeta",
        props,
        description=class_description(
            "Where a page of a list sits: its number, its size and the number of matching rows."
        ),
    )


def empty_envelope(c: Components) -> str:
    c.ref(
        "EmptyEnvelope",
        lambda: model(
            "EmptyEnvelope",
            [_success(True), Prop("data", {"type": "null"}, required=True)],
            description=class_description(
                "A successful answer with nothing to return (`data` is `null`), as after a DELETE."
            ),
        ),
    )
    return "EmptyEnvelope"


ERROR_CODES = (
    "BAD_REQUEST",
    "VALIDATION_ERROR",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "CONFLICT",
    "PRECONDITION_FAILED",
    "PAYLOAD_TOO_LARGE",
    "PRECONDITION_REQUIRED",
    "RATE_LIMITED",
    "INTERNAL_ERROR",
    "SERVICE_UNAVAILABLE",
)


def error_envelope(c: Components) -> Schema:
    """`ErrorEnvelope` and what it references (registered as a side effect)."""

    def detail() -> Schema:
        text = {"type": "string"}
        props = [
            Prop("location", nullable(text), required=True),
            Prop("field", nullable(text), required=True),
            Prop("code", text, required=True),
            Prop("message", text, required=True),
        ]
        return model(
            "ErrorDetail",
            props,
            description=class_description(
                "One problem with the request; `field` names the offending input when there is one."
            ),
        )

    def code() -> Schema:
        return {
            "type": "string",
            "enum": list(ERROR_CODES),
            "title": "ErrorCode",
            "description": class_description(
                "The `error.code` values of the API; they never change with the language."
            ),
        }

    def body() -> Schema:
        details = nullable({"type": "array", "items": c.ref("ErrorDetail", detail)})
        props = [
            Prop("code", c.ref("ErrorCode", code), required=True),
            Prop("message", {"type": "string"}, required=True),
            Prop("details", details, required=True),
        ]
        return model(
            "ErrorBody",
            props,
            description=class_description(
                "What went wrong: a stable code, a message in the caller's language, and details."
            ),
        )

    def envelope_schema() -> Schema:
        props = [
            _success(False),
            Prop("data", {"type": "null"}, required=True),
            Prop("error", c.ref("ErrorBody", body), required=True),
        ]
        return model("ErrorEnvelope", props, description=class_description("A failed answer."))

    return c.ref("ErrorEnvelope", envelope_schema)


# --- health and auth ---------------------------------------------------------------------------


def health_routes(c: Components) -> list[Route]:
    def status() -> Schema:
        props = [Prop("status", {"type": "string", "enum": ["ok", "ready"]}, required=True)]
        return model(
            "HealthStatus", props, description=class_description("How the service is doing.")
        )

    c.ref("HealthStatus", status)
    data = envelope(c, "HealthStatus")
    error_envelope(c)
    return [
        Route(
            "/health",
            "get",
            "check_health",
            "operations",
            "Report that the process is alive.",
            data,
        ),
        Route(
            "/ready",
            "get",
            "check_readiness",
            "operations",
            "Report whether the database answers.",
            data,
            extra_responses=errors(503, rate_limited=False),
        ),
    ]


def auth_routes(project: ir.Project, c: Components) -> list[Route]:
    auth = project.auth
    assert auth is not None
    user = project.entity(auth.user_entity)
    read = entity_read(c, project, user)
    tokens = c.ref("TokenPair", _token_pair)
    del tokens
    routes: list[Route] = []
    if emit_schemas.registers(project, user):
        body = register_model(c, project, user)
        routes.append(
            Route(
                "/auth/register",
                "post",
                "register",
                "auth",
                f"Create an account holding the `{auth.default_role or ''}` role.",
                envelope(c, read),
                status=201,
                body=body,
                extra_responses=errors(*REGISTER_ERRORS),
            )
        )
    login = c.ref("LoginRequest", lambda: _login_request(project))
    del login
    refresh = c.ref("RefreshRequest", _refresh_request)
    del refresh
    username = next(f for f in user.fields if f.name == auth.username_field)
    pair = envelope(c, "TokenPair")
    routes += [
        Route(
            "/auth/login",
            "post",
            "login",
            "auth",
            f"Exchange a {username.name} and password for an access token and a refresh token.",
            pair,
            body="LoginRequest",
            extra_responses=errors(400, 401, 413, 422),
        ),
        Route(
            "/auth/refresh",
            "post",
            "refresh",
            "auth",
            "Exchange a refresh token for a new pair; the old refresh token stops working.",
            pair,
            body="RefreshRequest",
            extra_responses=errors(400, 401, 413, 422),
        ),
        Route(
            "/auth/logout",
            "post",
            "logout",
            "auth",
            "Revoke a refresh token and every token rotated from the same sign-in.",
            empty_envelope(c),
            body="RefreshRequest",
            extra_responses=errors(400, 401, 413, 422),
        ),
        Route(
            "/auth/me",
            "get",
            "me",
            "auth",
            "The signed-in user.",
            envelope(c, read),
            extra_responses=errors(401),
            security=({BEARER: []},),
        ),
    ]
    return routes


def _token_pair() -> Schema:
    text = {"type": "string"}
    props = [
        Prop("access_token", text, required=True),
        Prop("refresh_token", text, required=True),
        Prop("token_type", {"type": "string", "const": "bearer"}, required=False, default="bearer"),
        Prop(
            "expires_in",
            {"type": "integer"},
            required=True,
            description="Seconds until the access token expires.",
        ),
    ]
    return model(
        "TokenPair",
        props,
        description=class_description(
            "What a login or a refresh answers: a new access token and a new refresh token."
        ),
    )


def _login_request(project: ir.Project) -> Schema:
    auth = project.auth
    assert auth is not None
    user = project.entity(auth.user_entity)
    username = next(f for f in user.fields if f.name == auth.username_field)
    limit = username.max_length or username.type.max_length or 320
    props = [
        Prop(username.name, {"type": "string", "minLength": 1, "maxLength": limit}, required=True),
        Prop("password", {"type": "string", "minLength": 1, "maxLength": 1024}, required=True),
    ]
    return model(
        "LoginRequest",
        props,
        forbid=True,
        description=class_description("Body of `POST /auth/login`."),
    )


def _refresh_request() -> Schema:
    props = [
        Prop("refresh_token", {"type": "string", "minLength": 1, "maxLength": 4096}, required=True)
    ]
    return model(
        "RefreshRequest",
        props,
        forbid=True,
        description=class_description("Body of `POST /auth/refresh` and `POST /auth/logout`."),
    )


def register_model(c: Components, project: ir.Project, entity: ir.Entity) -> str:
    name = f"{entity.class_name}Register"

    def build() -> Schema:
        fields, relations = emit_schemas.registration_inputs(project, entity)
        props = [input_prop(c, f) for f in fields]
        props += [relation_input(c, r, update=False, optional=False) for r in relations]
        props += [input_prop(c, f) for f in registration_tenant_fields(project, entity)]
        return model(
            name,
            props,
            forbid=True,
            description=class_description(
                "Body of `POST /auth/register`: no role and no other field only some roles may "
                "write." + emit_schemas.register_tenant_note(project)
            ),
        )

    c.ref(name, build)
    return name


# --- entities ----------------------------------------------------------------------------------


def entity_read(c: Components, project: ir.Project, entity: ir.Entity) -> str:
    """`XRead`, registered (with what it embeds); its component name."""
    name = f"{entity.class_name}Read"

    def build() -> Schema:
        rules = emit_schemas.read_rules(entity)
        props = [Prop("id", id_read(c), required=True)]
        props += [
            read_prop(c, f, restricted=f.attr in rules)
            for f in emit_schemas.readable_fields(entity)
        ]
        props += [
            relation_read(c, r, restricted=r.wire_name in rules)
            for r in emit_schemas.readable_relations(entity)
        ]
        props += _tail(c, project, entity)
        for r in emit_schemas.includable(project, entity):
            target = entity_read(c, project, project.entity(r.target))
            embedded = c.ref(target)
            if r.kind in ("one_to_many", "many_to_many"):
                embedded = {"type": "array", "items": embedded}
            key = r.name if r.attr != r.name else r.attr
            props.append(Prop(key, nullable(embedded), required=False))
        return model(
            name,
            props,
            description=class_description(
                f"A {entity.name.replace('_', ' ')} as the API returns it."
            ),
        )

    c.ref(name, build)
    return name


def _tail(c: Components, project: ir.Project, entity: ir.Entity) -> list[Prop]:
    """`_id_and_timestamps(head=False)`."""
    when = {"type": "string", "format": "date-time"}
    props = []
    if project.api.timestamps:
        props += [Prop("created_at", when, True), Prop("updated_at", when, True)]
    if entity.soft_delete:
        props.append(Prop("deleted_at", nullable(when), True))
    if entity.audit and project.auth is not None:
        ident = nullable(id_read(c))
        props += [Prop("created_by", ident, True), Prop("updated_by", ident, True)]
    if entity.versioned:
        props.append(Prop("version", {"type": "integer"}, True))
    return props


def entity_create(c: Components, project: ir.Project, entity: ir.Entity) -> str:
    name = f"{entity.class_name}Create"

    def build() -> Schema:
        owner = emit_schemas.owner_relation(project, entity)
        props = [input_prop(c, f) for f in emit_schemas.writable_fields(entity)]
        props += [
            relation_input(c, r, update=False, optional=r is owner)
            for r in emit_schemas.input_relations(project, entity)
        ]
        return model(
            name,
            props,
            forbid=True,
            description=class_description(
                f"Body of `POST /{entity.path}`.{emit_schemas.tenant_note(project, entity)}"
            ),
        )

    c.ref(name, build)
    return name


def entity_update(c: Components, project: ir.Project, entity: ir.Entity) -> str:
    name = f"{entity.class_name}Update"

    def build() -> Schema:
        props = [input_prop(c, f, update=True) for f in emit_schemas.writable_fields(entity)]
        props += [
            relation_input(c, r, update=True, optional=False)
            for r in emit_schemas.input_relations(project, entity)
        ]
        return model(
            name,
            props,
            forbid=True,
            description=class_description(
                f"Body of `PATCH /{entity.path}/{{id}}`: only the fields sent are changed."
                + emit_schemas.tenant_note(project, entity)
            ),
        )

    c.ref(name, build)
    return name


def action_request(c: Components, entity: ir.Entity, action: ir.Action, name: str) -> str:
    def build() -> Schema:
        return model(
            name,
            [input_prop(c, f) for f in action.request or ()],
            forbid=True,
            description=class_description(
                f"Body of `{action.method} /{entity.path}{action.path}` ({action.name})."
            ),
        )

    c.ref(name, build)
    return name


def _id_param(c: Components) -> Param:
    if c.project.api.id_type == "uuid":
        schema: Schema = {"type": "string", "format": "uuid"}
    else:
        schema = id_input(c)
    return Param("id", "path", {**schema, "description": ID_DESCRIPTION}, True, ID_DESCRIPTION)


def _include_param(names: list[str]) -> Param:
    choice = "|".join(names)
    description = "Related rows to embed, comma-separated; one of: " + ", ".join(names) + "."
    text = {
        "type": "string",
        "maxLength": len(",".join(names)),
        "pattern": rf"^({choice})(,({choice}))*$",
    }
    return Param(
        "include", "query", {**nullable(text), "description": description}, False, description
    )


def list_params(c: Components, project: ir.Project, entity: ir.Entity) -> list[Param]:
    """The query parameters of `XListParams`, in field order."""
    api = project.api
    params = [
        _bounded("page", 1, MAX_PAGE, 1, "Page number, from 1."),
        _bounded("limit", 1, api.max_limit, api.default_limit, "Items per page."),
    ]
    includable = emit_schemas.includable(project, entity)
    if includable:
        params.append(_include_param([r.name for r in includable]))
    sortable = emit_schemas.sort_fields(entity, api.timestamps)
    if sortable:
        choice = "|".join(sortable)
        description = (
            "Comma-separated fields to sort by, `-` first for descending order; one of: "
            + ", ".join(sortable)
            + "."
        )
        text = {
            "type": "string",
            "maxLength": len(",".join(f"-{s}" for s in sortable)),
            "pattern": rf"^-?({choice})(,-?({choice}))*$",
        }
        params.append(
            Param(
                "sort", "query", {**nullable(text), "description": description}, False, description
            )
        )
    if any(f.searchable for f in entity.fields):
        description = "Text to look for (case-insensitive, literally) in the searchable fields."
        text = {"type": "string", "maxLength": MAX_SEARCH_LENGTH, "pattern": NO_NUL}
        params.append(
            Param("q", "query", {**nullable(text), "description": description}, False, description)
        )
    params.append(Param("id__in", "query", nullable(_in_list(id_input(c, query=True))), False))
    for f in entity.fields:
        if f.filterable and f.storage == "column":
            kind = f.type.kind
            value = input_schema(c, f, query=True) if kind == "decimal" else read_schema(c, f)
            params += _filters(f.name, value, kind)
    if api.timestamps:
        for name in ("created_at", "updated_at"):
            params += _filters(name, {"type": "string", "format": "date-time"}, "datetime")
    if entity.soft_delete:
        description = "Also list deleted rows (for callers allowed to delete them)."
        schema = {"type": "boolean", "description": description, "default": False}
        params.append(Param("include_deleted", "query", schema, False, description))
    return params


def _bounded(name: str, low: int, high: int, default: int, description: str) -> Param:
    schema = {"type": "integer", "maximum": high, "minimum": low, "description": description}
    return Param(name, "query", {**schema, "default": default}, False, description)


def _in_list(item: Schema) -> Schema:
    return {"type": "array", "items": item, "maxItems": MAX_IN_ITEMS}


def _filters(name: str, value: Schema, kind: str) -> list[Param]:
    if kind in ("integer", "bigint"):
        low, high = emit_schemas.INT32 if kind == "integer" else emit_schemas.BIGINT_WIRE
        value = {"type": "integer", "maximum": high, "minimum": low}
    return [
        Param(
            f"{name}{op}",
            "query",
            nullable(_in_list(value) if op == "__in" else value),
            False,
        )
        for op in emit_schemas.filter_operators(kind)
    ]


def query_params(c: Components, fields: tuple[ir.Field, ...]) -> list[Param]:
    """A GET action's request model, read from the query string."""
    params = []
    for f in fields:
        prop = input_prop(c, f)
        schema = dict(prop.schema)
        if prop.default is not NO_DEFAULT and prop.default is not None:
            schema["default"] = prop.default
        params.append(Param(prop.key, "query", schema, prop.required))
    return params


def entity_routes(project: ir.Project, c: Components, ctx: EntityContext) -> list[Route]:
    """The operations of one entity's router, in the order the template declares them."""
    entity = ctx.entity
    statuses = route_statuses(project, ctx)
    public = public_operations(project, ctx)
    words = entity.name.replace("_", " ")
    versioned = entity.versioned
    read = entity_read(c, project, entity)
    error_envelope(c)
    base = f"/{entity.path}"
    includes = [r.name for r in emit_schemas.includable(project, entity)]

    def security(operation: str) -> tuple[dict[str, list[str]], ...]:
        if not ctx.secured:
            return ()
        return ({BEARER: []}, {}) if operation in public else ({BEARER: []},)

    def route(
        operation: str,
        path: str,
        method: str,
        name: str,
        description: str,
        response: str,
        **kw: Any,
    ) -> Route:
        return Route(
            base + path,
            method,
            name,
            entity.path,
            description,
            response,
            security=security(operation),
            **kw,
        )

    match = " (`If-Match`: the version it is based on)" if versioned else ""
    match_params = (if_match(),) if versioned else ()
    routes = []
    if "list" in entity.crud:
        routes.append(
            route(
                "list",
                "",
                "get",
                ctx.list_fn,
                f"List {entity.plural.replace('_', ' ')}, a page at a time.",
                list_envelope(c, read),
                params=tuple(list_params(c, project, entity)),
                extra_responses=((304, NOT_MODIFIED), *errors(*_codes(statuses["list"]))),
            )
        )
    if "create" in entity.crud:
        routes.append(
            route(
                "create",
                "",
                "post",
                ctx.fn("create"),
                f"Create a {words}.",
                envelope(c, read),
                status=201,
                body=entity_create(c, project, entity),
                extra_responses=(
                    (201, CREATED_WITH_LOCATION),
                    *errors(*_codes(statuses["create"])),
                ),
            )
        )
    if "read" in entity.crud:
        etag = ((200, WITH_ETAG),) if versioned else ()
        routes.append(
            route(
                "read",
                "/{id}",
                "get",
                ctx.fn("get"),
                f"Read a {words}.",
                envelope(c, read),
                params=(_id_param(c), *((_include_param(includes),) if includes else ())),
                extra_responses=((304, NOT_MODIFIED), *etag, *errors(*_codes(statuses["read"]))),
            )
        )
    if "update" in entity.crud:
        etag = ((200, WITH_ETAG),) if versioned else ()
        routes.append(
            route(
                "update",
                "/{id}",
                "patch",
                ctx.fn("update"),
                f"Change some fields of a {words}{match}.",
                envelope(c, read),
                params=(_id_param(c), *match_params),
                body=entity_update(c, project, entity),
                extra_responses=(*etag, *errors(*_codes(statuses["update"]))),
            )
        )
    if "delete" in entity.crud:
        routes.append(
            route(
                "delete",
                "/{id}",
                "delete",
                ctx.fn("delete"),
                f"Delete a {words}{match}.",
                empty_envelope(c),
                params=(_id_param(c), *match_params),
                extra_responses=errors(*_codes(statuses["delete"])),
            )
        )
    if entity.soft_delete and "delete" in entity.crud:
        routes.append(
            route(
                "restore",
                "/{id}/restore",
                "post",
                ctx.fn("restore"),
                f"Restore a deleted {words}.",
                envelope(c, read),
                params=(_id_param(c),),
                extra_responses=errors(*_codes(statuses["restore"])),
            )
        )
    for action, a in zip(entity.actions, ctx.actions, strict=True):
        params: list[Param] = [_id_param(c)] if a.with_id else []
        body = None
        if a.request and a.method == "get":
            params += query_params(c, action.request or ())
        elif a.request:
            body = action_request(c, entity, action, a.request)
        if a.with_id:
            params += match_params
        if a.response_class:
            response = envelope(c, entity_read(c, project, project.entity(action.response or "")))
        else:
            response = empty_envelope(c)
        routes.append(
            route(
                a.name,
                a.path,
                a.method,
                a.fn,
                description_of_docstring(docstring_text(a.summary)),
                response,
                summary=a.summary,
                params=tuple(params),
                body=body,
                extra_responses=errors(*_codes(statuses[a.name])),
            )
        )
    return routes


# --- FastAPI's model round trip ----------------------------------------------------------------


def _rank(keys: list[str]) -> dict[str, int]:
    return {key: index for index, key in enumerate(keys)}


# Field order of FastAPI's `fastapi.openapi.models` classes: `get_openapi` validates the document
# with them and dumps it, so their declaration order becomes the key order.
SCHEMA_KEYS = _rank(
    [
        *("$schema", "$vocabulary", "$id", "$anchor", "$dynamicAnchor", "$ref", "$dynamicRef"),
        *("$defs", "$comment", "allOf", "anyOf", "oneOf", "not", "if", "then", "else"),
        *(
            "dependentSchemas",
            "prefixItems",
            "items",
            "contains",
            "properties",
            "patternProperties",
        ),
        *("additionalProperties", "propertyNames", "unevaluatedItems", "unevaluatedProperties"),
        *("type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum"),
        *("exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems"),
        *(
            "uniqueItems",
            "maxContains",
            "minContains",
            "maxProperties",
            "minProperties",
            "required",
        ),
        *("dependentRequired", "format", "contentEncoding", "contentMediaType", "contentSchema"),
        *("title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples"),
        *("discriminator", "xml", "externalDocs", "example"),
    ]
)
OPERATION_KEYS = _rank(
    [
        *("tags", "summary", "description", "externalDocs", "operationId", "parameters"),
        *("requestBody", "responses", "callbacks", "deprecated", "security", "servers"),
    ]
)
PATH_ITEM_KEYS = _rank(["get", "put", "post", "delete", "options", "head", "patch", "trace"])
RESPONSE_KEYS = _rank(["description", "headers", "content", "links"])
HEADER_KEYS = _rank(
    [
        *("description", "required", "deprecated", "style", "explode", "allowReserved", "schema"),
        *("example", "examples", "content"),
    ]
)
MEDIA_TYPE_KEYS = _rank(["schema", "example", "examples", "encoding"])
REQUEST_BODY_KEYS = _rank(["description", "content", "required"])
INFO_KEYS = _rank(
    ["title", "summary", "description", "termsOfService", "contact", "license", "version"]
)
_SUBSCHEMA = {
    *("not", "if", "then", "else", "items", "contains", "additionalProperties"),
    *("propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"),
}
_SCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}
_SCHEMA_MAPS = {"properties", "$defs", "patternProperties", "dependentSchemas"}
_FLOATS = {"multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"}
#: What `served_schema` does to the value of each of these keys (others are kept as they are).
_KEY_KINDS = {
    **dict.fromkeys(_SUBSCHEMA, "schema"),
    **dict.fromkeys(_SCHEMA_LISTS, "list"),
    **dict.fromkeys(_SCHEMA_MAPS, "map"),
    **dict.fromkeys(_FLOATS, "float"),
}


def _ordered(value: dict[str, Any], rank: Mapping[str, int]) -> dict[str, Any]:
    """value with the keys rank knows first, in its order, then the others as they are."""
    return {k: value[k] for k in _key_order(tuple(value), rank)}


def _key_order(keys: tuple[str, ...], rank: Mapping[str, int]) -> list[str]:
    # By sorting the few keys there are: not by scanning the 60 of a schema for each.
    known = sorted((k for k in keys if k in rank), key=rank.__getitem__)
    return known + [k for k in keys if k not in rank] if len(known) < len(keys) else known


@functools.lru_cache(maxsize=1024)
def _schema_plan(keys: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    """The served order of a schema's keys, each with its `_KEY_KINDS`: schemas of a document
    have few sets of keys (15,000 schemas, a few dozen sets at N=200)."""
    return tuple((key, _KEY_KINDS.get(key)) for key in _key_order(keys, SCHEMA_KEYS))


def served_schema(schema: Any) -> Any:
    """A schema after FastAPI's `Schema` model: its key order, and numbers bounds as floats."""
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, kind in _schema_plan(tuple(schema)):
        value = schema[key]
        if kind is None:
            result[key] = value
        elif kind == "schema":
            result[key] = served_schema(value)
        elif kind == "list":
            result[key] = [served_schema(v) for v in value]
        elif kind == "map":
            result[key] = {k: served_schema(v) for k, v in value.items()}
        elif isinstance(value, int) and not isinstance(value, bool):  # a float's bound
            result[key] = float(value)
        else:
            result[key] = value
    return result


def _served_operation(op: dict[str, Any]) -> dict[str, Any]:
    result = _ordered(op, OPERATION_KEYS)
    if "requestBody" in result:
        body = _ordered(result["requestBody"], REQUEST_BODY_KEYS)
        body["content"] = _served_content(body["content"])
        result["requestBody"] = body
    result["responses"] = {
        status: _served_response(answer) for status, answer in result["responses"].items()
    }
    return result


def _served_content(content: dict[str, Any]) -> dict[str, Any]:
    return {
        media: {
            k: served_schema(v) if k == "schema" else v
            for k, v in _ordered(body, MEDIA_TYPE_KEYS).items()
        }
        for media, body in content.items()
    }


def _served_response(answer: dict[str, Any]) -> dict[str, Any]:
    result = _ordered(answer, RESPONSE_KEYS)
    if "headers" in result:
        result["headers"] = {
            name: {
                k: served_schema(v) if k == "schema" else v
                for k, v in _ordered(h, HEADER_KEYS).items()
            }
            for name, h in result["headers"].items()
        }
    if "content" in result:
        result["content"] = _served_content(result["content"])
    return result


def _served_path_item(item: dict[str, Any]) -> dict[str, Any]:
    """A path item after FastAPI's model round trip (see `_as_served`)."""
    if any("parameters" in op for op in item.values()):
        return item
    ordered = _ordered(item, PATH_ITEM_KEYS)
    return {method: _served_operation(op) for method, op in ordered.items()}


def _as_served(document: dict[str, Any]) -> dict[str, Any]:
    """The document after FastAPI's `OpenAPI(**document)` and its dump.

    Component schemas go through the `Schema` model. A path item goes through `PathItem` only
    when none of its operations has parameters: one that has them validates only laxly (the
    parameter's `in` is an enum) and pydantic's smart union keeps the plain dict instead.
    """
    paths = {path: _served_path_item(item) for path, item in document["paths"].items()}
    components = dict(document["components"])
    components["schemas"] = {k: served_schema(v) for k, v in components["schemas"].items()}
    return {
        **document,
        "info": _ordered(document["info"], INFO_KEYS),
        "paths": paths,
        "components": components,
    }
