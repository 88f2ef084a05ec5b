"""Normalize: resolved entities -> the stored 3NF schema, with a decision for every step.

Rule numbers follow the contract's normalization section: 1 list fields, 2 many_to_many,
3 declared dependencies, 4 copies of related values.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass

from generator import ir
from generator.compile import fd, naming
from generator.compile.resolve import parse_dependency
from generator.compile.types import PASSWORD_HASH_LENGTH, TYPES
from generator.validate.models import EntitySpec
from generator.validate.specset import Located, SpecSet

# The column `soft_delete: true` adds; NULL while the row is live.
SOFT_DELETE_COLUMN = "deleted_at"
ID_TYPES = {"integer": ir.SqlType("bigint"), "uuid": ir.SqlType("uuid")}
_NOW_DEFAULT = {"datetime": "CURRENT_TIMESTAMP", "date": "CURRENT_DATE", "time": "CURRENT_TIME"}


def normalize_to_3nf(
    entities: tuple[ir.Entity, ...], api: ir.Api, spec: SpecSet, enums: tuple[ir.EnumType, ...]
) -> tuple[tuple[ir.Entity, ...], tuple[ir.Table, ...], tuple[ir.Decision, ...]]:
    """Mark derived fields, split declared dependencies, and lay out every stored table."""
    enum_values = {e.name: e.values for e in enums}
    decisions: list[ir.Decision] = []
    index = {e.name: e for e in entities}
    entities = tuple(_mark_copies(e, index, decisions) for e in entities)
    entities = _split_dependencies(entities, spec, decisions)
    entities = _carry_tenant_keys(entities, api, spec, decisions)
    others = _Others.of(entities, api)
    tables: list[ir.Table] = []
    for entity in entities:
        tables.append(_entity_table(entity, others, api, spec, enum_values))
        tables.extend(_list_tables(entity, api, decisions))
        tables.extend(_association_tables(entity, others.index, api, decisions))
    return entities, tuple(sorted(tables, key=lambda t: t.name)), tuple(decisions)


# --- rule 4: copies of related values ----------------------------------------------------------


def _mark_copies(
    entity: ir.Entity, index: dict[str, ir.Entity], decisions: list[ir.Decision]
) -> ir.Entity:
    before = len(decisions)
    fields = []
    for f in entity.fields:
        copy = _copied_from(f, entity, index)
        if copy is None:
            fields.append(f)
            continue
        decisions.append(_copy_decision(entity, f, copy))
        storage = f.storage if f.denormalized_reason else "derived"
        fields.append(dataclasses.replace(f, storage=storage, derived_from=copy, read_only=True))
    if len(decisions) == before:
        return entity  # copies nothing: the same entity (replacing it costs a copy of each)
    return dataclasses.replace(entity, fields=tuple(fields))


def _copy_decision(entity: ir.Entity, f: ir.Field, copy: tuple[str, str]) -> ir.Decision:
    if f.denormalized_reason:
        summary = (
            f"`{f.name}` copies `{copy[0]}.{copy[1]}` and is stored on purpose as a snapshot "
            f"({f.denormalized_reason}); it is filled from the relation, never from the body"
        )
    else:
        summary = (
            f"`{f.name}` depends on `{copy[0]}` (transitive dependency `id -> {copy[0]} -> "
            f"{f.name}`): not stored, read through the relation, a write of it is a 422"
        )
    dependency = f"{copy[0]} -> {f.name}"
    return ir.Decision(
        "4", entity.name, f.span, summary, dependency=dependency, tables=(entity.table,)
    )


def _copied_from(
    f: ir.Field, entity: ir.Entity, index: dict[str, ir.Entity]
) -> tuple[str, str] | None:
    for rel in entity.relations:
        if rel.kind not in ("many_to_one", "one_to_one") or not f.name.startswith(rel.name + "_"):
            continue
        target_field = f.name[len(rel.name) + 1 :]
        target = index.get(rel.target)
        if target and any(t.name == target_field for t in target.fields):
            return rel.name, target_field
    return None


# --- rule 3: declared dependencies -------------------------------------------------------------


def _split_dependencies(
    entities: tuple[ir.Entity, ...], spec: SpecSet, decisions: list[ir.Decision]
) -> tuple[ir.Entity, ...]:
    result = {e.name: e for e in entities}
    for entity in entities:
        located = spec.entities.get(entity.name)
        if located is None:
            continue
        originals = {f.name: f for f in entity.fields}
        links = declared_links(located)
        homes = link_homes(entity.name, links)
        for link in _home_first(links, homes):
            decisions.append(_dependency_decision(entity, link))
            result[link.entity] = _dependency_entity(link, entity)
            home = homes[link.entity]
            result[home] = _move_dependents(result[home], link, originals)
            # Every table between the home and the source reads the dependents through the
            # table below it, so the source can read them through its own link.
            below = home
            while below != entity.name:
                above = homes[below]
                result[above] = _expose(result[above], link.dependents, below, originals)
                below = above
    return tuple(result[name] for name in sorted(result))


def link_homes(source: str, links: list[ir.DependencyLink]) -> dict[str, str]:
    """Where each dependency's determinant is stored: the source entity, or the new entity of
    the dependency that moved it there (a chain: `zip -> city, state`, `city -> country`)."""
    homes = {}
    for link in links:
        movers = [
            other
            for other in links
            if other is not link and set(link.determinant) & set(other.dependents)
        ]
        homes[link.entity] = movers[0].entity if movers else source
    return homes


def _home_first(links: list[ir.DependencyLink], homes: dict[str, str]) -> list[ir.DependencyLink]:
    """Links ordered so that a link's home entity exists before it is processed."""
    ordered: list[ir.DependencyLink] = []
    pending = list(links)
    while pending:
        done = {link.entity for link in ordered}
        ready = [
            link
            for link in pending
            if homes[link.entity] not in {p.entity for p in pending} or homes[link.entity] in done
        ]
        ready = ready or pending[:1]
        for link in ready:
            ordered.append(link)
            pending.remove(link)
    return ordered


def _expose(
    entity: ir.Entity, names: tuple[str, ...], via: str, originals: dict[str, ir.Field]
) -> ir.Entity:
    """`entity` reads `names` through its link to `via` (adding them as read-only fields)."""
    present = {f.name for f in entity.fields}
    fields = tuple(
        dataclasses.replace(f, storage="derived", derived_from=(via, f.name))
        if f.name in names
        else f
        for f in entity.fields
    )
    added = tuple(
        dataclasses.replace(
            originals[n], storage="derived", derived_from=(via, n), unique=False, index=False
        )
        for n in names
        if n not in present and n in originals
    )
    return dataclasses.replace(entity, fields=fields + added)


def declared_links(located: Located[EntitySpec]) -> list[ir.DependencyLink]:
    """An entity's declared dependencies as a canonical cover: one link per determinant
    (dependencies with the same left side merge, redundant ones go), in spec order."""
    declared = []
    for i, dep in enumerate(located.value.dependencies):
        lhs, rhs = parse_dependency(dep.fd)
        declared.append((lhs, rhs, dep.entity, located.span("dependencies", i)))
    cover = fd.canonical_cover(fd.FD(frozenset(lhs), frozenset(rhs)) for lhs, rhs, _, _ in declared)
    links: list[ir.DependencyLink] = []
    for lhs, _, _, _ in declared:
        dependency = next((d for d in cover if d.lhs == frozenset(lhs)), None)
        if dependency is None or any(link.determinant == lhs for link in links):
            continue
        same = [
            (name, span) for left, _, name, span in declared if frozenset(left) == dependency.lhs
        ]
        name = next((n for n, _ in same if n), None) or "_".join(lhs)
        order = [n for _, right, _, _ in declared for n in right]
        dependents = tuple(sorted(dependency.rhs, key=order.index))
        links.append(
            ir.DependencyLink(
                name, lhs, dependents, f"{', '.join(lhs)} -> {', '.join(dependents)}", same[0][1]
            )
        )
    return links


def _dependency_decision(entity: ir.Entity, link: ir.DependencyLink) -> ir.Decision:
    lhs, rhs = ", ".join(link.determinant), ", ".join(link.dependents)
    return ir.Decision(
        "3",
        entity.name,
        link.span,
        f"`{link.fd}` is a dependency on a non-key: `{rhs}` move to the new entity "
        f"`{link.entity}`, unique on ({lhs}); `{entity.name}` keeps ({lhs}) as a foreign key to "
        f"it and reads `{rhs}` through it",
        dependency=link.fd,
        tables=(naming.table_name(link.entity), entity.table),
    )


def _dependency_entity(link: ir.DependencyLink, source: ir.Entity) -> ir.Entity:
    fields = {f.name: f for f in source.fields}
    relations = {r.name: r for r in source.relations}
    names = (*link.determinant, *link.dependents)
    read_roles = next((p.roles for p in source.permissions if p.operation == "read"), ())
    name = link.entity
    return ir.Entity(
        name=name,
        class_name=naming.class_name(name),
        table=naming.table_name(name),
        path=naming.url_path(name),
        plural=naming.pluralize(name),
        span=link.span,
        description=f"Synthesized from `{source.name}` by the dependency `{link.fd}`.",
        fields=tuple(
            dataclasses.replace(
                fields[n],
                unique=False,
                index=False,
                span=link.span,
                immutable=n in link.determinant,
            )
            for n in names
            if n in fields
        ),
        relations=tuple(
            dataclasses.replace(relations[n], span=link.span, inverse=None)
            for n in names
            if n in relations
        ),
        unique=(link.determinant,),
        crud=("list", "read"),
        permissions=(ir.Permission("list", read_roles), ir.Permission("read", read_roles)),
        synthesized_from=source.name,
    )


def _move_dependents(
    home: ir.Entity, link: ir.DependencyLink, originals: dict[str, ir.Field]
) -> ir.Entity:
    """The dependents are no longer stored in `home`: it reads them through the link."""
    home = _expose(home, link.dependents, link.entity, originals)
    relations = tuple(r for r in home.relations if r.name not in link.dependents)
    return dataclasses.replace(home, relations=relations, dependencies=(*home.dependencies, link))


# --- tenant keys -------------------------------------------------------------------------------


def _user_tenant_relation(
    entities: tuple[ir.Entity, ...], api: ir.Api, spec: SpecSet
) -> ir.Relation | None:
    """The auth user's many_to_one to the tenant entity, which names every tenant key."""
    if api.tenant_entity is None or spec.auth is None:
        return None
    user = next((e for e in entities if e.name == spec.auth.value.user_entity), None)
    return None if user is None else _own_tenant_relation(user, api.tenant_entity)


def _own_tenant_relation(entity: ir.Entity, tenant: str) -> ir.Relation | None:
    return next(
        (r for r in entity.relations if r.kind == "many_to_one" and r.target == tenant), None
    )


def _carry_tenant_keys(
    entities: tuple[ir.Entity, ...], api: ir.Api, spec: SpecSet, decisions: list[ir.Decision]
) -> tuple[ir.Entity, ...]:
    """Every row of a tenant-scoped entity stores its tenant key. An entity scoped through a
    `tenant:` path gets it as a hidden many_to_one, kept equal to its parent's by a composite
    foreign key; a table split out of a scoped entity (rule 3) gets it in its key, since the
    dependency holds per tenant. Uniques, dependency rows and row scoping then use the key."""
    user_relation = _user_tenant_relation(entities, api, spec)
    if user_relation is None or api.tenant_entity is None:
        return entities
    tenant = api.tenant_entity
    index = {e.name: e for e in entities}

    def scoped(entity: ir.Entity) -> bool:
        return entity.name != tenant and (
            entity.tenant_path is not None or _own_tenant_relation(entity, tenant) is not None
        )

    result = []
    for entity in entities:
        source = index.get(entity.synthesized_from or "")
        carries = (
            entity.tenant_path is not None and _own_tenant_relation(entity, tenant) is None
        ) or (source is not None and scoped(source))
        if not carries:
            result.append(entity)
            continue
        key = dataclasses.replace(
            user_relation,
            span=entity.span,
            required=True,
            on_delete="cascade",
            inverse=None,
            implicit=True,
            description=None,
        )
        entity = dataclasses.replace(entity, relations=(*entity.relations, key))
        if source is not None:
            entity = dataclasses.replace(
                entity, unique=tuple((key.name, *group) for group in entity.unique)
            )
        decisions.append(_tenant_key_decision(entity, key, source))
        result.append(entity)
    return tuple(result)


def _tenant_key_decision(
    entity: ir.Entity, key: ir.Relation, source: ir.Entity | None
) -> ir.Decision:
    column = key.column or key.name
    if source is not None:
        key_names = entity.unique[0][1:] if entity.unique else ()
        determinant = ", ".join((column, *(columns_for(entity, n) for n in key_names)))
        summary = (
            f"`{entity.name}` is split out of the tenant-scoped `{source.name}`, and its "
            f"dependency holds within one {key.target} (two tenants may map the same key to "
            f"different values): the table carries `{column}`, unique on ({determinant}); "
            f"`{source.name}` references it by ({determinant}), and every read and write of "
            "it is scoped to the caller's tenant"
        )
        tables: tuple[str, ...] = (entity.table, source.table)
    else:
        parent = entity.tenant_path[0] if entity.tenant_path else ""
        summary = (
            f"`{entity.name}` is scoped through `{parent}`: the row carries `{column}` (set from "
            f"the caller, never sent), and a composite foreign key to `{parent}`'s (id, "
            f"{column}) keeps it equal to the parent's, so it cannot drift; `unique` is per "
            f"tenant on it, and rows are scoped by it"
        )
        tables = (entity.table,)
    return ir.Decision("tenancy", entity.name, entity.span, summary, tables=tables)


def tenant_parents(entities: tuple[ir.Entity, ...], api: ir.Api) -> dict[str, tuple[str, str]]:
    """Entities scoped through a `tenant:` path, which carry a tenant key: name -> (the path's
    first relation, the tenant key's column)."""
    parents = {}
    for entity in entities:
        key = carried_tenant_key(entity, api)
        if entity.tenant_path and key is not None and key.column:
            parents[entity.name] = (entity.tenant_path[0], key.column)
    return parents


def carried_tenant_key(entity: ir.Entity, api: ir.Api) -> ir.Relation | None:
    """The tenant key `_carry_tenant_keys` added to the entity (None: it has none, or its own)."""
    return next(
        (
            r
            for r in entity.relations
            if r.implicit and r.inverse is None and r.target == api.tenant_entity
        ),
        None,
    )


# --- stored tables -----------------------------------------------------------------------------


def column_type(field: ir.Field) -> ir.SqlType:
    """The storage type of a scalar field."""
    return _sql_type(field.type)


@functools.lru_cache(maxsize=1024)
def _sql_type(t: ir.TypeRef) -> ir.SqlType:
    """One SqlType per distinct type (frozen, so shared: a table has many alike)."""
    if t.kind == "password":
        return ir.SqlType("string", length=PASSWORD_HASH_LENGTH)
    if t.kind == "decimal":
        return ir.SqlType("numeric", precision=t.precision, scale=t.scale)
    info = TYPES[t.kind]
    return ir.SqlType(info.sql, length=t.max_length if info.sql == "string" else None)


@dataclass(frozen=True)
class _Others:
    """What laying out one entity's table reads of the other entities, found once (found per
    entity, the scans over every entity made normalizing quadratic in their number)."""

    index: dict[str, ir.Entity]
    #: `tenant_parents`
    parents: dict[str, tuple[str, str]]
    #: parent entity -> the tenant key of each entity scoped through it (children by name):
    #: the parent's (id, key) is unique, for the child's composite foreign key
    child_keys: dict[str, list[str]]
    #: the table `audit` columns reference
    user_table: str

    @classmethod
    def of(cls, entities: tuple[ir.Entity, ...], api: ir.Api) -> _Others:
        index = {e.name: e for e in entities}
        parents = tenant_parents(entities, api)
        child_keys: dict[str, list[str]] = {}
        for child, (step, key) in sorted(parents.items()):
            child_keys.setdefault(_path_target(index[child], step), []).append(key)
        user_table = next((e.table for e in entities if e.owner == "self"), "users")
        return cls(index, parents, child_keys, user_table)


def _entity_table(
    entity: ir.Entity,
    others: _Others,
    api: ir.Api,
    spec: SpecSet,
    enum_values: dict[str, tuple[str, ...]],
) -> ir.Table:
    index = others.index
    table = entity.table
    columns = [
        ir.Column(
            "id", ID_TYPES[api.id_type], primary_key=True, autoincrement=api.id_type == "integer"
        )
    ]
    constraints: list[ir.Constraint] = []
    for f in entity.fields:
        columns.extend(_field_columns(f, prefix=""))
        constraints.extend(_field_checks(table, f, "", enum_values))
    fks, indexes = [], []
    for rel in entity.relations:
        if rel.column is None:
            continue
        target = index.get(rel.target)
        columns.append(ir.Column(rel.column, ID_TYPES[api.id_type], nullable=not rel.required))
        fks.append(
            ir.ForeignKey(
                naming.constraint_name(f"fk_{table}_{rel.column}_{target.table if target else ''}"),
                (rel.column,),
                target.table if target else rel.target,
                ("id",),
                rel.on_delete.upper().replace("_", " "),
            )
        )
        if rel.kind == "one_to_one":
            constraints.append(_unique(table, (rel.column,)))
        else:
            indexes.append(_index(table, (rel.column,)))
    tenant_key = tenant_key_column(entity, api, spec)
    for link in entity.dependencies:
        target = index[link.entity]
        shared = tenant_key if tenant_key_column(target, api, spec) == tenant_key else ()
        cols = (*shared, *(columns_for(entity, n) for n in link.determinant))
        fks.append(
            ir.ForeignKey(
                naming.constraint_name(f"fk_{table}_{'_'.join(cols)}_{target.table}"),
                cols,
                target.table,
                (*shared, *(columns_for(target, n) for n in link.determinant)),
                "RESTRICT",
            )
        )
        indexes.append(_index(table, cols))
    fks.extend(_parent_tenant_key(entity, index, others.parents))
    constraints.extend(
        _unique(table, ("id", key)) for key in others.child_keys.get(entity.name, ())
    )
    columns.extend(_option_columns(entity, api, fks, table, others.user_table))
    uniques = [tuple(columns_for(entity, c) for c in group) for group in entity.unique]
    uniques += [
        (*tenant_key, f.name) if not _is_username(entity, f, spec) else (f.name,)
        for f in entity.fields
        if f.unique and f.storage == "column"
    ]
    for cols in uniques:
        if entity.soft_delete:  # deleted rows must not block re-creating their values
            indexes.append(_live_unique(table, cols))
        else:
            constraints.append(_unique(table, cols))
    for f in entity.fields:
        if (f.index or f.filterable or f.sortable) and not f.unique and f.storage == "column":
            indexes.append(_index(table, (f.name,)))
    for group in entity.indexes:
        indexes.append(_index(table, tuple(columns_for(entity, c) for c in group)))
    for check in entity.checks:
        constraints.append(
            _check(
                table,
                f"{check.left}_{_OP_NAMES[check.op]}",
                f"{check.left} {check.op} {_check_right(check)}",
            )
        )
    return ir.Table(
        name=table,
        kind="dependency" if entity.synthesized_from else "entity",
        columns=tuple(columns),
        primary_key=("id",),
        entity=entity.name,
        foreign_keys=tuple(fks),
        constraints=tuple(sorted(constraints, key=lambda c: c.name)),
        indexes=tuple(sorted(set(indexes), key=lambda i: i.name)),
        renamed_from=_renamed_table(entity, spec),
    )


def _path_target(entity: ir.Entity, step: str) -> str:
    return next(r.target for r in entity.relations if r.name == step)


def _parent_tenant_key(
    entity: ir.Entity, index: dict[str, ir.Entity], parents: dict[str, tuple[str, str]]
) -> Iterator[ir.ForeignKey]:
    """(parent_id, tenant key) -> the parent's (id, tenant key): the carried tenant key always
    equals the parent's. No ON DELETE action of its own: the parent's plain foreign key acts."""
    if entity.name not in parents:
        return
    step, key = parents[entity.name]
    column = columns_for(entity, step)
    parent = index[_path_target(entity, step)]
    yield ir.ForeignKey(
        naming.constraint_name(f"fk_{entity.table}_{column}_{key}_{parent.table}"),
        (column, key),
        parent.table,
        ("id", key),
    )


def columns_for(entity: ir.Entity, name: str) -> str:
    """The stored column of a field or a to-one relation."""
    relation = next((r for r in entity.relations if r.name == name and r.column), None)
    return relation.column if relation and relation.column else name


def _renamed_table(entity: ir.Entity, spec: SpecSet) -> str | None:
    if not entity.renamed_from:
        return None
    old = spec.entities.get(entity.renamed_from)
    return (old.value.table if old and old.value.table else None) or naming.table_name(
        entity.renamed_from
    )


def _option_columns(
    entity: ir.Entity,
    api: ir.Api,
    fks: list[ir.ForeignKey],
    table: str,
    user_table: str,
) -> Iterator[ir.Column]:
    if api.timestamps:
        yield ir.Column("created_at", ir.SqlType("datetime"), server_default="CURRENT_TIMESTAMP")
        yield ir.Column("updated_at", ir.SqlType("datetime"), server_default="CURRENT_TIMESTAMP")
    if entity.soft_delete:
        yield ir.Column(SOFT_DELETE_COLUMN, ir.SqlType("datetime"), nullable=True)
    if entity.audit:
        for col in ("created_by", "updated_by"):
            yield ir.Column(col, ID_TYPES[api.id_type], nullable=True)
            fks.append(
                ir.ForeignKey(
                    naming.constraint_name(f"fk_{table}_{col}_{user_table}"),
                    (col,),
                    user_table,
                    ("id",),
                    "SET NULL",
                )
            )
    if entity.versioned:
        yield ir.Column("version", ir.SqlType("integer"), server_default="1")


def _field_columns(f: ir.Field, prefix: str, name: str | None = None) -> Iterator[ir.Column]:
    """The columns a field is stored in (name: the column's, when not the field's)."""
    if f.storage in ("derived", "child_table"):
        return
    if f.storage == "flattened":
        for sub in f.subfields:
            nullable_sub = dataclasses.replace(sub, nullable=sub.nullable or f.nullable)
            yield from _field_columns(nullable_sub, prefix=f"{prefix}{f.name}_")
        return
    yield ir.Column(
        f"{prefix}{f.name if name is None else name}",
        column_type(f),
        nullable=f.nullable,
        server_default=_server_default(f),
        renamed_from=f"{prefix}{f.renamed_from}" if f.renamed_from else None,
    )


def _server_default(f: ir.Field) -> str | None:
    if f.default is None:
        return None
    if f.default.now:
        return _NOW_DEFAULT[f.type.kind]
    value = f.default.value
    if value is None or f.type.kind in ("json",):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return sql_string(str(value))


def sql_string(value: str) -> str:
    """A SQL string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _field_checks(
    table: str, f: ir.Field, prefix: str, enum_values: dict[str, tuple[str, ...]]
) -> Iterator[ir.Constraint]:
    column = f"{prefix}{f.name}"
    if f.storage == "flattened":
        for sub in f.subfields:
            yield from _field_checks(table, sub, f"{column}_", enum_values)
        return
    if f.storage != "column":
        return
    if f.type.kind == "enum" and f.type.enum:
        values = ", ".join(sql_string(v) for v in enum_values[f.type.enum])
        yield _check(table, f"{column}_enum", f"{column} IN ({values})")
    if f.min is not None:
        yield _check(table, f"{column}_min", f"{column} >= {f.min!r}")
    if f.max is not None:
        yield _check(table, f"{column}_max", f"{column} <= {f.max!r}")


_OP_NAMES = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "=": "eq", "!=": "ne"}


def _check_right(check: ir.Check) -> str:
    if check.right_field is not None:
        return check.right_field
    value = check.right_literal
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return sql_string(value)
    return repr(value)


def _check(table: str, suffix: str, sql: str) -> ir.Constraint:
    return ir.Constraint(naming.constraint_name(f"ck_{table}_{suffix}"), "check", sql=sql)


def tenant_key_column(entity: ir.Entity, api: ir.Api, spec: SpecSet) -> tuple[str, ...]:
    """The tenant key that makes a field's `unique` per tenant: the column of the entity's
    many_to_one to the tenant entity, declared or carried (with auth); empty for an unscoped
    entity, whose values are unique across tenants."""
    if api.tenant_entity is None or spec.auth is None or entity.name == api.tenant_entity:
        return ()
    for relation in entity.relations:
        if (
            relation.kind == "many_to_one"
            and relation.target == api.tenant_entity
            and relation.column
        ):
            return (relation.column,)
    return ()


def _is_username(entity: ir.Entity, field: ir.Field, spec: SpecSet) -> bool:
    """The auth username stays unique across tenants: it names one login."""
    auth = spec.auth.value if spec.auth is not None else None
    return auth is not None and (entity.name, field.name) == (
        auth.user_entity,
        auth.username_field,
    )


def _unique(table: str, columns: tuple[str, ...]) -> ir.Constraint:
    return ir.Constraint(
        naming.constraint_name(f"uq_{table}_{'_'.join(columns)}"), "unique", columns
    )


def _live_unique(table: str, columns: tuple[str, ...]) -> ir.Index:
    """A unique index over the rows not soft-deleted (partial on PostgreSQL and SQLite)."""
    name = naming.constraint_name(f"uq_{table}_{'_'.join(columns)}")
    return ir.Index(name, columns, unique=True, where=f"{SOFT_DELETE_COLUMN} IS NULL")


def _index(table: str, columns: tuple[str, ...]) -> ir.Index:
    return ir.Index(naming.constraint_name(f"ix_{table}_{'_'.join(columns)}"), columns)


# --- rule 1: list fields -----------------------------------------------------------------------


def _list_tables(
    entity: ir.Entity, api: ir.Api, decisions: list[ir.Decision]
) -> Iterator[ir.Table]:
    for f in entity.fields:
        if f.storage != "child_table" or f.item is None:
            continue
        name = f"{entity.table}_{f.name}"
        parent = f"{entity.name}_id"
        item = f.item
        values = (
            list(_field_columns(item, prefix="", name="value"))
            if item.storage == "column"
            else list(_field_columns(item, prefix=""))
        )
        if item.storage == "flattened":
            values = [
                dataclasses.replace(c, name=c.name.removeprefix(f"{item.name}_")) for c in values
            ]
        decisions.append(
            ir.Decision(
                "1",
                entity.name,
                f.span,
                f"list field `{f.name}` is a repeating group: stored in child table `{name}` "
                f"keyed by ({parent}, position), order kept",
                tables=(name,),
            )
        )
        yield ir.Table(
            name=name,
            kind="list",
            columns=(
                ir.Column(parent, ID_TYPES[api.id_type]),
                ir.Column("position", ir.SqlType("integer")),
                *values,
            ),
            primary_key=(parent, "position"),
            entity=entity.name,
            foreign_keys=(
                ir.ForeignKey(
                    naming.constraint_name(f"fk_{name}_{parent}_{entity.table}"),
                    (parent,),
                    entity.table,
                    ("id",),
                    "CASCADE",
                ),
            ),
        )


# --- rule 2: many_to_many ----------------------------------------------------------------------


def _association_tables(
    entity: ir.Entity, index: dict[str, ir.Entity], api: ir.Api, decisions: list[ir.Decision]
) -> Iterator[ir.Table]:
    for rel in entity.relations:
        if rel.kind != "many_to_many":
            continue
        if rel.through:
            decisions.append(
                ir.Decision(
                    "2",
                    entity.name,
                    rel.span,
                    f"many_to_many `{rel.name}` is stored through the entity `{rel.through}`",
                    tables=(index[rel.through].table if rel.through in index else rel.through,),
                )
            )
            continue
        if rel.association_table is None or rel.target not in index:
            continue
        target = index[rel.target]
        left, right = association_columns(entity.name, rel)
        name = rel.association_table
        decisions.append(
            ir.Decision(
                "2",
                entity.name,
                rel.span,
                f"many_to_many `{rel.name}` is stored in association table `{name}` with the "
                f"composite primary key ({left}, {right})",
                tables=(name,),
            )
        )
        yield ir.Table(
            name=name,
            kind="association",
            columns=(
                ir.Column(left, ID_TYPES[api.id_type]),
                ir.Column(right, ID_TYPES[api.id_type]),
            ),
            primary_key=(left, right),
            entity=entity.name,
            foreign_keys=(
                ir.ForeignKey(
                    naming.constraint_name(f"fk_{name}_{left}_{entity.table}"),
                    (left,),
                    entity.table,
                    ("id",),
                    "CASCADE",
                ),
                ir.ForeignKey(
                    naming.constraint_name(f"fk_{name}_{right}_{target.table}"),
                    (right,),
                    target.table,
                    ("id",),
                    "CASCADE",
                ),
            ),
            indexes=(_index(name, (right,)),),
        )


def association_columns(entity: str, rel: ir.Relation) -> tuple[str, str]:
    """The two key columns of a plain many_to_many's association table."""
    left = f"{entity}_id"
    right = f"{naming.singularize(rel.name)}_id"
    return (left, right) if left != right else (left, f"related_{right}")
