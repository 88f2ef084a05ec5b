"""The spec language as pydantic models: structure and types only.

Strict mode keeps YAML 1.1 surprises out (`no` is not a string, `0755` is not a version);
`extra="forbid"` rejects unknown keys. Names, references and cross-field rules are checked
afterwards, in rules.py, where a message can say more than a type error can.
Shorthands (`body: text`, `- "a -> b"`) are expanded by before-validators that also tell the
JSON Schema which input they accept, so editors see the same language.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

CrudOperation = Literal["list", "read", "create", "update", "delete"]
CRUD_OPERATIONS: tuple[CrudOperation, ...] = ("list", "read", "create", "update", "delete")
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
OnDelete = Literal["cascade", "restrict", "set_null"]
RelationKind = Literal["many_to_one", "one_to_one", "one_to_many", "many_to_many"]

Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,6}[smhd]$", examples=["15m", "14d"])]
Rate = Annotated[
    str, Field(pattern=r"^[1-9][0-9]{0,8}/(second|minute|hour|day)$", examples=["60/minute"])
]
Scalar = str | bool | int | float | None


class SpecModel(BaseModel):
    """Base of every language model: strict types, unknown keys rejected, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- api ---------------------------------------------------------------------------------------


class Pagination(SpecModel):
    default_limit: int = Field(default=20, ge=1, le=10_000)
    max_limit: int = Field(default=100, ge=1, le=10_000)


class RateLimits(SpecModel):
    anonymous: Rate = "60/minute"
    authenticated: Rate = "600/minute"


class Cors(SpecModel):
    origins: list[str] = Field(default_factory=list, max_length=100)


class Cache(SpecModel):
    ttl: Duration = "60s"


class Tenancy(SpecModel):
    entity: str


class Api(SpecModel):
    name: str
    title: str | None = None
    version: str = "0.1.0"
    description: str | None = None
    base_path: str = "/api/v1"
    locales: list[str] = Field(default_factory=lambda: ["en", "vi"], min_length=1)
    id_type: Literal["integer", "uuid"] = "integer"
    timestamps: bool = True
    pagination: Pagination = Field(default_factory=Pagination)
    rate_limit: RateLimits = Field(default_factory=RateLimits)
    cors: Cors = Field(default_factory=Cors)
    cache: Cache | None = None
    tenancy: Tenancy | None = None


# --- roles and auth ----------------------------------------------------------------------------


def _empty_if_none(value: Any) -> Any:
    return {} if value is None else value


class Role(SpecModel):
    description: str | None = None
    inherits: list[str] = Field(default_factory=list)


RoleEntry = Annotated[Role, BeforeValidator(_empty_if_none, json_schema_input_type=Role | None)]


class Registration(SpecModel):
    enabled: bool = True
    default_role: str | None = None
    creates_tenant: bool = False
    tenant_role: str | None = None


class Auth(SpecModel):
    user_entity: str
    username_field: str
    password_field: str
    roles_field: str
    access_token_ttl: Duration = "15m"
    refresh_token_ttl: Duration = "14d"
    registration: Registration | None = None


# --- fields ------------------------------------------------------------------------------------


class Denormalized(SpecModel):
    reason: str = Field(min_length=1)


def _expand_field(value: Any) -> Any:
    """`body: text` is shorthand for `body: {type: text}`."""
    return {"type": value} if isinstance(value, str) else value


def _expand_item(value: Any) -> Any:
    """`of:` takes a type name, a field definition, or an inline object `{fields: ...}`."""
    if isinstance(value, str):
        return {"type": value}
    if isinstance(value, dict) and "fields" in value and "type" not in value:
        return {"type": "object", **value}
    return value


class FieldSpec(SpecModel):
    type: str
    description: str | None = None
    enum: str | None = None
    values: list[str] | None = None
    of: ItemEntry | None = None
    fields: dict[str, FieldEntry] | None = None
    precision: int | None = Field(None, ge=1, le=1000)
    scale: int | None = Field(None, ge=0, le=1000)
    nullable: bool = False
    default: Any = None
    on_update: Literal["now"] | None = None
    unique: bool = False
    index: bool = False
    min_length: int | None = Field(None, ge=0)
    max_length: int | None = Field(None, ge=1)
    pattern: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    min_items: int | None = Field(None, ge=0)
    max_items: int | None = Field(None, ge=1)
    read_only: bool = False
    write_only: bool = False
    immutable: bool = False
    searchable: bool = False
    filterable: bool = False
    sortable: bool = False
    example: Any = None
    deprecated: bool = False
    renamed_from: str | None = None
    denormalized: Denormalized | None = None


class InlineObjectSpec(SpecModel):
    """`of: {fields: {...}}`: a list item that is an object (shorthand for `type: object`)."""

    fields: dict[str, FieldEntry]
    description: str | None = None


FieldEntry = Annotated[
    FieldSpec, BeforeValidator(_expand_field, json_schema_input_type=str | FieldSpec)
]
ItemEntry = Annotated[
    FieldSpec,
    BeforeValidator(_expand_item, json_schema_input_type=str | FieldSpec | InlineObjectSpec),
]
FieldSpec.model_rebuild()
InlineObjectSpec.model_rebuild()


# --- relations, permissions, endpoints ----------------------------------------------------------


class RelationSpec(SpecModel):
    type: RelationKind
    target: str
    description: str | None = None
    required: bool | None = None
    on_delete: OnDelete | None = None
    inverse: str | None = None
    through: str | None = None


class FieldPermission(SpecModel):
    read: list[str] | None = None
    write: list[str] | None = None


def _expand_dependency(value: Any) -> Any:
    """A dependency is `"a, b -> c"` or `{fd: "a -> c", entity: name}`."""
    return {"fd": value} if isinstance(value, str) else value


class DependencySpec(SpecModel):
    fd: str
    entity: str | None = None


DependencyEntry = Annotated[
    DependencySpec,
    BeforeValidator(_expand_dependency, json_schema_input_type=str | DependencySpec),
]

RowFilter = dict[str, Scalar | list[Scalar]]


def _as_filter_list(value: Any) -> Any:
    """One filter, or a list of filters any of which may match."""
    return [value] if isinstance(value, dict) else value


RowFilterEntry = Annotated[
    list[RowFilter],
    BeforeValidator(_as_filter_list, json_schema_input_type=RowFilter | list[RowFilter]),
]


class ActionSpec(SpecModel):
    method: HttpMethod = "POST"
    path: str
    roles: list[str] = Field(default_factory=list)
    summary: str | None = None
    description: str | None = None
    request: dict[str, FieldEntry] | None = None
    response: str | None = None


class EndpointsSpec(SpecModel):
    crud: list[CrudOperation] = Field(default_factory=lambda: list(CRUD_OPERATIONS))
    actions: dict[str, ActionSpec] = Field(default_factory=dict)


class EntitySpec(SpecModel):
    description: str | None = None
    table: str | None = None
    path: str | None = None
    renamed_from: str | None = None
    fields: dict[str, FieldEntry] = Field(default_factory=dict)
    relations: dict[str, RelationSpec] = Field(default_factory=dict)
    owner: str | None = None
    unique: list[list[str]] = Field(default_factory=list)
    indexes: list[list[str]] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list)
    dependencies: list[DependencyEntry] = Field(default_factory=list)
    permissions: dict[CrudOperation, list[str]] = Field(default_factory=dict)
    field_permissions: dict[str, FieldPermission] = Field(default_factory=dict)
    row_filter: dict[str, RowFilterEntry] = Field(default_factory=dict)
    endpoints: EndpointsSpec = Field(default_factory=EndpointsSpec)
    soft_delete: bool = False
    audit: bool = False
    versioned: bool = False
    tenant: str | None = None


# --- one file ----------------------------------------------------------------------------------


class SpecFile(SpecModel):
    """What one spec file may hold; every key is optional, `api` must appear once per set."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        title="gen spec file",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    api: Api | None = None
    roles: dict[str, RoleEntry] | None = None
    auth: Auth | None = None
    enums: dict[str, list[str]] | None = None
    entities: dict[str, EntitySpec] | None = None
    seed: dict[str, list[dict[str, Any]]] | None = None


def language_json_schema() -> dict[str, Any]:
    """The JSON Schema of one spec file, for editors (`gen schema`)."""
    return SpecFile.model_json_schema(mode="validation")
