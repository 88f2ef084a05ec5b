"""The intermediate representation: what the API is, fully resolved.

Frozen dataclasses, tuples sorted (or in spec order where order means something, such as
fields) at construction, no options and no template names. Emitters read it; nothing writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from generator.diagnostics import Span

__all__ = [
    "Action",
    "Api",
    "Auth",
    "Check",
    "Column",
    "Condition",
    "ConditionOp",
    "Constraint",
    "CrudOp",
    "Decision",
    "Default",
    "DependencyLink",
    "Entity",
    "EnumType",
    "Field",
    "FieldPermission",
    "ForeignKey",
    "Index",
    "LiteralValue",
    "Permission",
    "Project",
    "Relation",
    "Role",
    "RowFilter",
    "SeedRow",
    "SqlType",
    "Table",
    "TypeRef",
]

Number = int | float
LiteralValue = str | int | float | bool | None
CrudOp = Literal["list", "read", "create", "update", "delete"]
ConditionOp = Literal["eq", "in", "gte", "lte", "ne"]
RelationKind = Literal["many_to_one", "one_to_one", "one_to_many", "many_to_many"]
Storage = Literal["column", "child_table", "derived", "flattened"]
TableKind = Literal["entity", "association", "list", "dependency", "token"]


@dataclass(frozen=True)
class TypeRef:
    """A field's resolved type: the spec type plus the parameters that shape storage."""

    kind: str
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    enum: str | None = None


@dataclass(frozen=True)
class Default:
    """A field default: a literal, or `now` (the current instant, date or time)."""

    now: bool = False
    value: LiteralValue = None


@dataclass(frozen=True)
class Field:
    name: str
    attr: str
    type: TypeRef
    span: Span
    nullable: bool = False
    default: Default | None = None
    on_update_now: bool = False
    unique: bool = False
    index: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    min: Number | None = None
    max: Number | None = None
    min_items: int | None = None
    max_items: int | None = None
    read_only: bool = False
    write_only: bool = False
    immutable: bool = False
    searchable: bool = False
    filterable: bool = False
    sortable: bool = False
    description: str | None = None
    example: LiteralValue | list[LiteralValue] | dict[str, LiteralValue] = None
    deprecated: bool = False
    renamed_from: str | None = None
    storage: Storage = "column"
    derived_from: tuple[str, str] | None = None
    denormalized_reason: str | None = None
    item: Field | None = None
    subfields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Relation:
    name: str
    attr: str
    kind: RelationKind
    target: str
    span: Span
    required: bool = True
    on_delete: Literal["cascade", "restrict", "set_null"] = "restrict"
    inverse: str | None = None
    through: str | None = None
    column: str | None = None
    association_table: str | None = None
    wire_name: str = ""
    implicit: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Check:
    """`left op right`, right being a field name or a literal."""

    left: str
    op: str
    right_field: str | None = None
    right_literal: LiteralValue = None


@dataclass(frozen=True)
class Condition:
    """One row-filter condition: a relation path ending in a field, an operator and a value."""

    path: tuple[str, ...]
    op: ConditionOp
    value: LiteralValue | tuple[LiteralValue, ...]
    me_field: str | None = None
    is_me: bool = False


@dataclass(frozen=True)
class RowFilter:
    """A role's filter: any of the alternatives, each a conjunction of conditions."""

    role: str
    alternatives: tuple[tuple[Condition, ...], ...]


@dataclass(frozen=True)
class Permission:
    operation: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class FieldPermission:
    field: str
    read: tuple[str, ...] | None = None
    write: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    path: str
    roles: tuple[str, ...]
    span: Span
    summary: str | None = None
    description: str | None = None
    request: tuple[Field, ...] | None = None
    response: str | None = None


@dataclass(frozen=True)
class DependencyLink:
    """A declared dependency split out of an entity (rule 3): the determinant stays here and
    references the new entity's unique key; the dependents are read through it."""

    entity: str
    determinant: tuple[str, ...]
    dependents: tuple[str, ...]
    fd: str
    span: Span


@dataclass(frozen=True)
class Entity:
    name: str
    class_name: str
    table: str
    path: str
    plural: str
    span: Span
    description: str | None = None
    fields: tuple[Field, ...] = ()
    relations: tuple[Relation, ...] = ()
    owner: str | None = None
    unique: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    checks: tuple[Check, ...] = ()
    permissions: tuple[Permission, ...] = ()
    field_permissions: tuple[FieldPermission, ...] = ()
    row_filters: tuple[RowFilter, ...] = ()
    crud: tuple[str, ...] = ("list", "read", "create", "update", "delete")
    actions: tuple[Action, ...] = ()
    soft_delete: bool = False
    audit: bool = False
    versioned: bool = False
    tenant_path: tuple[str, ...] | None = None
    renamed_from: str | None = None
    synthesized_from: str | None = None
    dependencies: tuple[DependencyLink, ...] = ()


@dataclass(frozen=True)
class SqlType:
    """A storage type, independent of dialect (the models emitter maps it to SQLAlchemy)."""

    kind: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True)
class Column:
    name: str
    type: SqlType
    nullable: bool = False
    primary_key: bool = False
    autoincrement: bool = False
    server_default: str | None = None
    renamed_from: str | None = None


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str | None = None


@dataclass(frozen=True)
class Constraint:
    """A named UNIQUE or CHECK constraint (sql holds the CHECK expression)."""

    name: str
    kind: Literal["unique", "check"]
    columns: tuple[str, ...] = ()
    sql: str | None = None


@dataclass(frozen=True)
class Index:
    """An index; `where` (SQL over the table's columns) makes it partial."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    where: str | None = None


@dataclass(frozen=True)
class Table:
    """A stored table after normalization."""

    name: str
    kind: TableKind
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    entity: str | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    renamed_from: str | None = None

    @property
    def numbers_rows(self) -> bool:
        """True when the database numbers the rows (an integer surrogate key): such ids are
        never handed out twice, so a token or link naming a deleted row cannot reach a new one
        (SQLite reuses the largest id after a delete unless the table is AUTOINCREMENT)."""
        return any(c.autoincrement and c.name in self.primary_key for c in self.columns)


@dataclass(frozen=True)
class Decision:
    """One normalization decision, for `gen explain` and docs/normalization.md."""

    rule: str
    entity: str
    span: Span
    summary: str
    dependency: str | None = None
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnumType:
    name: str
    class_name: str
    values: tuple[str, ...]
    members: tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class Role:
    name: str
    description: str | None
    inherits: tuple[str, ...]
    closure: tuple[str, ...]


@dataclass(frozen=True)
class Auth:
    user_entity: str
    username_field: str
    password_field: str
    roles_field: str
    multiple_roles: bool
    access_token_ttl_seconds: int
    refresh_token_ttl_seconds: int
    registration_enabled: bool = False
    default_role: str | None = None
    creates_tenant: bool = False
    tenant_role: str | None = None


@dataclass(frozen=True)
class Api:
    name: str
    title: str
    version: str
    description: str | None
    base_path: str
    locales: tuple[str, ...]
    id_type: Literal["integer", "uuid"]
    timestamps: bool
    default_limit: int
    max_limit: int
    rate_limit_anonymous: str
    rate_limit_authenticated: str
    cors_origins: tuple[str, ...]
    cache_ttl_seconds: int | None
    tenant_entity: str | None


@dataclass(frozen=True)
class SeedRow:
    entity: str
    values: tuple[tuple[str, LiteralValue], ...]


@dataclass(frozen=True)
class Project:
    """One API, resolved and normalized: the only input of every emitter."""

    source: str
    api: Api
    roles: tuple[Role, ...] = ()
    auth: Auth | None = None
    enums: tuple[EnumType, ...] = ()
    entities: tuple[Entity, ...] = ()
    tables: tuple[Table, ...] = ()
    decisions: tuple[Decision, ...] = ()
    seeds: tuple[SeedRow, ...] = ()
    _index: dict[str, Entity] = field(default_factory=dict, compare=False, repr=False)
    _tables: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)
    _classes: dict[str, tuple[Entity, ...]] = field(default_factory=dict, compare=False, repr=False)

    def entity(self, name: str) -> Entity:
        """The entity called name."""
        return self._entities()[name]

    def has_entity(self, name: str) -> bool:
        """Whether an entity is called name (one lookup, not a scan of every entity)."""
        return name in self._entities()

    def entities_of_class(self, class_name: str) -> tuple[Entity, ...]:
        """The entities whose model class is called class_name (one lookup)."""
        if not self._classes:
            for e in self.entities:
                self._classes[e.class_name] = (*self._classes.get(e.class_name, ()), e)
        return self._classes.get(class_name, ())

    def _entities(self) -> dict[str, Entity]:
        if not self._index:
            self._index.update({e.name: e for e in self.entities})
        return self._index

    def table(self, name: str) -> Table:
        """The stored table called name."""
        if not self._tables:
            self._tables.update({t.name: t for t in self.tables})
        return self._tables[name]
