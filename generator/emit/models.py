"""Models emitter: one SQLAlchemy 2.0 module per entity, typed with Mapped[...].

The stored schema comes from the IR's tables (already normalized and named); the entity tells
which Python types and relationships to declare. Column declarations are built here as text,
the template only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator import ir
from generator.compile import naming
from generator.compile.normalize import association_columns, carried_tenant_key
from generator.diff.order import deferred_foreign_keys
from generator.emit.base import RenderedFile, header, render
from generator.emit.imports import Import, render_imports
from generator.emit.literals import docstring_wrapped, py_literal
from generator.emit.units import entity_files
from generator.incremental import BuildCache

SA = "sqlalchemy"
ORM = "sqlalchemy.orm"

# SQL type kind -> (SQLAlchemy constructor, Python annotation, imports for the annotation)
_TYPES: dict[str, tuple[str, str, tuple[Import, ...]]] = {
    "string": ("String({length})", "str", ()),
    "text": ("Text()", "str", ()),
    "integer": ("Integer()", "int", ()),
    "bigint": ("BigInteger()", "int", ()),
    "float": ("Float()", "float", ()),
    "numeric": ("Numeric({precision}, {scale})", "Decimal", (Import("decimal", "Decimal"),)),
    "boolean": ("Boolean()", "bool", ()),
    "date": ("Date()", "date", (Import("datetime", "date"),)),
    "datetime": ("UTCDateTime()", "datetime", (Import("datetime", "datetime"),)),
    "time": ("Time()", "time", (Import("datetime", "time"),)),
    "uuid": ("Uuid()", "uuid.UUID", (Import("uuid"),)),
    "json": ('JSON().with_variant(JSONB(), "postgresql")', "Any", (Import("typing", "Any"),)),
}
_SA_NAMES = {
    "String",
    "Text",
    "Integer",
    "BigInteger",
    "Float",
    "Numeric",
    "Boolean",
    "Date",
    "Time",
    "Uuid",
    "JSON",
}


@dataclass
class ModuleBuilder:
    """Collects the imports and statements of one models module."""

    package: str
    deferred: frozenset[str] = frozenset()
    imports: set[Import] = field(default_factory=set)
    type_checking: set[Import] = field(default_factory=set)

    def use(self, module: str, *names: str) -> None:
        for name in names:
            self.imports.add(Import(module, name))

    def annotation(self, t: ir.SqlType) -> str:
        """The Python annotation of a storage type (its imports recorded)."""
        _, annotation, needs = _TYPES[t.kind]
        self.imports.update(needs)
        return annotation

    def sa_type(self, t: ir.SqlType) -> tuple[str, str]:
        """(constructor expression, Python annotation) of a storage type."""
        constructor = _TYPES[t.kind][0]
        expression = constructor.format(length=t.length, precision=t.precision, scale=t.scale)
        head = expression.split("(")[0]
        if head in _SA_NAMES:
            self.use(SA, head)
        if t.kind == "datetime":
            self.use(f"{self.package}.models.base", "UTCDateTime")
        if t.kind == "json":
            self.use("sqlalchemy.dialects.postgresql", "JSONB")
        return expression, self.annotation(t)


def emit(project: ir.Project, cache: BuildCache | None = None) -> list[RenderedFile]:
    """models/<entity>.py for every entity, and models/__init__.py gathering them."""
    package = project.api.name
    deferred = deferred_foreign_keys(project.tables)

    def entity_module(view: ir.Project, e: ir.Entity) -> list[RenderedFile]:
        path = f"{view.api.name}/{view.api.name}/models/{naming.py_attr(e.name)}.py"
        return [RenderedFile(path, _entity_module(view, e, deferred))]

    deferred_text = repr(sorted(deferred))
    files = [
        f
        for e in project.entities
        for f in entity_files(cache, project, "models", e, entity_module, deferred_text)
    ]
    imports = {Import(f"{package}.models.base", "Base")} | {
        Import(f"{package}.models.{naming.py_attr(e.name)}", e.class_name) for e in project.entities
    }
    tokens = next((t for t in project.tables if t.kind == "token"), None)
    if tokens is not None:
        files.append(
            RenderedFile(
                f"{package}/{package}/models/refresh_token.py",
                _refresh_token_module(project, tokens, deferred),
            )
        )
        imports.add(Import(f"{package}.models.refresh_token", naming.REFRESH_TOKEN_CLASS))
    files.append(
        RenderedFile(
            f"{package}/{package}/models/__init__.py",
            render(
                "models/__init__.py.j2",
                header=header(project),
                package=package,
                imports=render_imports(imports, package),
                exported=sorted(
                    [
                        "Base",
                        "metadata",
                        *(e.class_name for e in project.entities),
                        *([naming.REFRESH_TOKEN_CLASS] if tokens is not None else []),
                    ],
                    key=lambda n: (not n[:1].isupper(), n),
                ),
            ),
        )
    )
    return files


def _entity_module(project: ir.Project, entity: ir.Entity, deferred: frozenset[str]) -> str:
    package = project.api.name
    module = ModuleBuilder(package, deferred)
    table = project.table(entity.table)
    module.use(ORM, "Mapped", "mapped_column")
    module.use(f"{package}.models.base", "Base")
    mixins = []
    if project.api.timestamps:
        module.use(f"{package}.models.base", "TimestampMixin")
        mixins.append("TimestampMixin")
    columns = [
        _column(module, project, entity, table, c)
        for c in table.columns
        if c.name not in ("created_at", "updated_at") or not project.api.timestamps
    ]
    table_args = _table_args(module, table)
    relationships = [_relationship(module, project, entity, r) for r in entity.relations]
    relationships += [
        _list_relationship(module, entity, f) for f in entity.fields if f.storage == "child_table"
    ]
    relationships += [
        _dependency_relationship(module, project, entity, link) for link in entity.dependencies
    ]
    children = [
        _child_class(module, project, entity, f)
        for f in entity.fields
        if f.storage == "child_table"
    ]
    associations = [
        _association_table(module, project, entity, r)
        for r in entity.relations
        if r.association_table
    ]
    properties = read_through_properties(module, project, entity)
    loaded = loaded_lists(module, project, entity)
    return render(
        "models/entity.py.j2",
        header=header(project),
        docstring=docstring_wrapped(
            f"The `{entity.table}` table: {entity.description or entity.class_name + ' rows'}"
        ),
        imports=render_imports(module.imports, package),
        type_checking=render_imports(module.type_checking, package),
        entity=entity,
        bases=", ".join([*mixins, "Base"]),
        class_doc=docstring_wrapped(
            entity.description or f"A {entity.name.replace('_', ' ')}.", indent=4
        ),
        table_args=table_args,
        columns=columns,
        relationships=[r for r in relationships if r],
        loaded=loaded,
        children=children,
        associations=associations,
        properties=properties,
    )


def _refresh_token_module(project: ir.Project, table: ir.Table, deferred: frozenset[str]) -> str:
    """The refresh-token model: the same column code as an entity's, from the IR table."""
    package = project.api.name
    module = ModuleBuilder(package, deferred)
    module.use(ORM, "Mapped", "mapped_column")
    module.use(f"{package}.models.base", "Base")
    columns = [_column(module, project, None, table, c) for c in table.columns]
    table_args = _table_args(module, table)
    return render(
        "models/refresh_token.py.j2",
        header=header(project),
        imports=render_imports(module.imports, package),
        class_name=naming.REFRESH_TOKEN_CLASS,
        table=table.name,
        table_args=table_args,
        columns=columns,
    )


def _column(
    module: ModuleBuilder,
    project: ir.Project,
    entity: ir.Entity | None,
    table: ir.Table,
    column: ir.Column,
) -> str:
    if column.primary_key and column.name == "id":
        return _id_column(module, project)
    fields = entity.fields if entity is not None else ()
    field_ = next((f for f in fields if f.name == column.name), None)
    if field_ is not None and field_.type.kind == "enum" and field_.type.enum:
        expression, annotation = _enum_type(module, project, field_.type.enum, column)
    else:
        expression, annotation = module.sa_type(column.type)
    args = [expression]
    fk = next((fk for fk in table.foreign_keys if fk.columns == (column.name,)), None)
    if fk is not None:
        module.use(SA, "ForeignKey")
        ondelete = f", ondelete={py_literal(fk.on_delete)}" if fk.on_delete else ""
        alter = ", use_alter=True" if fk.name in module.deferred else ""
        args.append(
            f"ForeignKey({py_literal(f'{fk.ref_table}.{fk.ref_columns[0]}')}"
            f"{ondelete}, name={py_literal(fk.name)}{alter})"
        )
    if column.server_default is not None:
        module.use(SA, "text")
        args.append(f"server_default=text({py_literal(column.server_default)})")
    if field_ is not None and field_.on_update_now and column.type.kind == "datetime":
        module.use(f"{package_of(module)}.models.base", "utcnow")
        args.append("onupdate=utcnow")
    if column.nullable:
        annotation = f"{annotation} | None"
    attr = naming.py_attr(column.name)
    if attr != column.name:
        args.insert(0, py_literal(column.name))
    return f"{attr}: Mapped[{annotation}] = mapped_column({', '.join(args)})"


def package_of(module: ModuleBuilder) -> str:
    return module.package


def _id_column(module: ModuleBuilder, project: ir.Project) -> str:
    if project.api.id_type == "uuid":
        module.imports.add(Import("uuid"))
        module.use(SA, "Uuid")
        return "id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)"
    module.use(SA, "BigInteger", "Identity", "Integer")
    return (
        'id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), '
        "Identity(), primary_key=True)"
    )


def _enum_type(
    module: ModuleBuilder, project: ir.Project, enum_name: str, column: ir.Column
) -> tuple[str, str]:
    enum = next(e for e in project.enums if e.name == enum_name)
    module.use(f"{module.package}.enums", enum.class_name)
    module.use(f"{module.package}.models.base", "enum_values")
    module.use(SA, "Enum")
    return (
        f"Enum({enum.class_name}, native_enum=False, create_constraint=False, "
        f"length={column.type.length}, values_callable=enum_values)",
        enum.class_name,
    )


def _table_args(module: ModuleBuilder, table: ir.Table) -> list[str]:
    args = []
    prefix = f"ck_{table.name}_"
    for constraint in table.constraints:
        if constraint.kind == "unique":
            module.use(SA, "UniqueConstraint")
            cols = ", ".join(py_literal(c) for c in constraint.columns)
            args.append(f"UniqueConstraint({cols}, name={py_literal(constraint.name)})")
        else:
            module.use(SA, "CheckConstraint")
            name = constraint.name.removeprefix(prefix)
            args.append(f"CheckConstraint({py_literal(constraint.sql)}, name={py_literal(name)})")
    for fk in table.foreign_keys:
        if len(fk.columns) > 1:
            module.use(SA, "ForeignKeyConstraint")
            local = ", ".join(py_literal(c) for c in fk.columns)
            remote = ", ".join(py_literal(f"{fk.ref_table}.{c}") for c in fk.ref_columns)
            args.append(
                f"ForeignKeyConstraint([{local}], [{remote}], "
                f"ondelete={py_literal(fk.on_delete)}, name={py_literal(fk.name)})"
            )
    for index in table.indexes:
        module.use(SA, "Index")
        cols = ", ".join(py_literal(c) for c in index.columns)
        unique = ", unique=True" if index.unique else ""
        if index.where:
            module.use(SA, "text")
            where = py_literal(index.where)
            unique += f", sqlite_where=text({where}), postgresql_where=text({where})"
        args.append(f"Index({py_literal(index.name)}, {cols}{unique})")
    if table.numbers_rows:
        args.append('{"sqlite_autoincrement": True}')
    return args


def _target_class(
    module: ModuleBuilder, project: ir.Project, entity: ir.Entity, target_name: str
) -> str:
    target = project.entity(target_name)
    if target.name != entity.name:
        module.type_checking.add(
            Import(f"{module.package}.models.{naming.py_attr(target.name)}", target.class_name)
        )
        module.use("typing", "TYPE_CHECKING")
    return target.class_name


def _relationship(
    module: ModuleBuilder, project: ir.Project, entity: ir.Entity, relation: ir.Relation
) -> str | None:
    module.use(ORM, "relationship")
    target = _target_class(module, project, entity, relation.target)
    options = ['lazy="raise"']
    back = _back_populates(project, entity, relation)
    if back:
        options.append(f"back_populates={py_literal(back)}")
    if relation.kind in ("many_to_one", "one_to_one"):
        annotation = f'"{target} | None"' if not relation.required else f'"{target}"'
        options.insert(0, f"foreign_keys=[{naming.py_attr(relation.column or '')}]")
        if relation.target == entity.name:
            options.append(f'remote_side="{entity.class_name}.id"')
        if relation.kind == "one_to_one":
            options.append("single_parent=True")
    elif relation.kind == "one_to_many":
        annotation = f'list["{target}"]'
        inverse = project.entity(relation.target)
        column = next(
            (r.column for r in inverse.relations if r.name == relation.inverse and r.column), None
        )
        if column:
            options.insert(0, f'foreign_keys="{target}.{naming.py_attr(column)}"')
    else:
        annotation = f'list["{target}"]'
        secondary = relation.association_table or project.entity(relation.through or "").table
        options.insert(0, f"secondary={py_literal(secondary)}")
        if relation.through:
            options.append("viewonly=True")
            joins = _through_joins(project, entity, relation)
            if joins:
                options[1:1] = [
                    f"primaryjoin={py_literal(joins[0])}",
                    f"secondaryjoin={py_literal(joins[1])}",
                ]
    return f"{relation.attr}: Mapped[{annotation}] = relationship({', '.join(options)})"


def _through_joins(
    project: ir.Project, entity: ir.Entity, relation: ir.Relation
) -> tuple[str, str] | None:
    """The joins through the association entity when it also references the parent by its
    carried tenant key (a second foreign key path); None when SQLAlchemy finds them alone."""
    through = project.entity(relation.through or "")
    if not through.tenant_path or carried_tenant_key(through, project.api) is None:
        return None
    target = project.entity(relation.target)

    def join(side: ir.Entity) -> str:
        column = next(
            r.column
            for r in through.relations
            if r.kind == "many_to_one" and r.target == side.name and r.column and not r.implicit
        )
        return f"{side.class_name}.id == {through.table}.c.{column}"

    return join(entity), join(target)


def _back_populates(project: ir.Project, entity: ir.Entity, relation: ir.Relation) -> str | None:
    if relation.kind == "one_to_many":
        return relation.inverse
    if relation.kind == "many_to_one":
        target = project.entity(relation.target)
        for other in target.relations:
            if (
                other.kind == "one_to_many"
                and other.target == entity.name
                and other.inverse == relation.name
            ):
                return other.name
    return None


def child_class_name(entity: ir.Entity, f: ir.Field) -> str:
    """The model class of a list field's child table (post.keywords -> PostKeyword)."""
    return entity.class_name.rstrip("_") + naming.pascal(naming.singularize(f.name))


def _list_relationship(module: ModuleBuilder, entity: ir.Entity, f: ir.Field) -> str:
    module.use(ORM, "relationship")
    child = child_class_name(entity, f)
    return (
        f'{f.attr}: Mapped[list["{child}"]] = relationship(order_by=lambda: {child}.position, '
        f'cascade="all, delete-orphan", lazy="raise")'
    )


def _dependency_relationship(
    module: ModuleBuilder, project: ir.Project, entity: ir.Entity, link: ir.DependencyLink
) -> str:
    module.use(ORM, "relationship")
    target = _target_class(module, project, entity, link.entity)
    attr = naming.py_attr(f"{link.entity}_row")
    return (
        f'{attr}: Mapped["{target}"] = relationship(viewonly=True, lazy="raise", '
        f"overlaps={py_literal(','.join(link.determinant))})"
    )


def _child_class(
    module: ModuleBuilder, project: ir.Project, entity: ir.Entity, f: ir.Field
) -> dict[str, object]:
    table = project.table(f"{entity.table}_{f.name}")
    columns = []
    for column in table.columns:
        expression, annotation = module.sa_type(column.type)
        args = [expression]
        fk = next((fk for fk in table.foreign_keys if fk.columns == (column.name,)), None)
        if fk is not None:
            module.use(SA, "ForeignKey")
            args.append(
                f'ForeignKey({py_literal(fk.ref_table + ".id")}, ondelete="CASCADE", '
                f"name={py_literal(fk.name)})"
            )
        if column.name in table.primary_key:
            args.append("primary_key=True")
        if column.nullable:
            annotation += " | None"
        attr = naming.py_attr(column.name)
        if attr != column.name:
            args.insert(0, py_literal(column.name))
        columns.append(f"{attr}: Mapped[{annotation}] = mapped_column({', '.join(args)})")
    module.use("collections.abc", "Iterable")
    module.use("typing", "Any")
    scalar = f.item is None or f.item.type.kind != "object"
    return {
        "class_name": child_class_name(entity, f),
        "table": table.name,
        "doc": docstring_wrapped(f"One item of `{entity.name}.{f.name}`, in order."),
        "columns": columns,
        "build": "cls(position=position, value=value)"
        if scalar
        else "cls(position=position, **value)",
    }


def scalar_list(f: ir.Field) -> bool:
    """A list field of plain values (not objects): read in the row's own SELECT."""
    return f.storage == "child_table" and (f.item is None or f.item.type.kind != "object")


def loaded_attr(f: ir.Field) -> str:
    """The attribute a scalar list field's values are read from (`keywords_loaded`); the
    relationship named after the field holds the child rows that writes replace."""
    return naming.py_attr(f"{f.name}_loaded")


def id_lists(entity: ir.Entity) -> list[ir.Relation]:
    """The many_to_many relations read as ids (`tag_ids`) in the row's own SELECT."""
    return [
        r for r in entity.relations if r.kind == "many_to_many" and not r.through and not r.implicit
    ]


def loaded_lists(module: ModuleBuilder, project: ir.Project, entity: ir.Entity) -> list[str]:
    """Deferred column properties holding scalar list values and many_to_many ids, each a
    correlated subquery of the row's own SELECT (`undefer`ed by the repository's loads)."""
    if not any(scalar_list(f) for f in entity.fields) and not id_lists(entity):
        return []
    module.use(ORM, "column_property")
    module.use(f"{module.package}.core.relations", "item_list")
    found = []
    for f in entity.fields:
        if not scalar_list(f):
            continue
        table = project.table(f"{entity.table}_{f.name}")
        child = child_class_name(entity, f)
        value = next(c for c in table.columns if c.name == "value")
        _, annotation = module.sa_type(value.type)
        if value.nullable:
            annotation += " | None"
        parent = naming.py_attr(table.foreign_keys[0].columns[0])
        found.append(
            f"{loaded_attr(f)}: Mapped[list[{annotation}]] = column_property("
            f"item_list({child}.value, {child}.position, {child}.{parent} == id), "
            "deferred=True, raiseload=True)"
        )
    id_type = "int"
    if project.api.id_type == "uuid":
        module.imports.add(Import("uuid"))
        id_type = "uuid.UUID"
    for r in id_lists(entity):
        association = naming.py_attr(r.association_table or "")
        left, right = association_columns(entity.name, r)
        ids = f"{association}.c.{right}"
        found.append(
            f"{r.wire_name}: Mapped[list[{id_type}]] = column_property("
            f"item_list({ids}, {ids}, {association}.c.{left} == id), deferred=True, "
            "raiseload=True)"
        )
    return found


def read_through_properties(
    module: ModuleBuilder, project: ir.Project, entity: ir.Entity
) -> list[dict[str, str]]:
    """Values the API reads that are not columns of this table (ids of many_to_many rows,
    copies read through a relation, dependents split out by normalization, objects)."""
    props = []
    for r in entity.relations:
        if not project.has_entity(r.target):
            continue
        target = _target_class(module, project, entity, r.target)
        many = r.kind in ("one_to_many", "many_to_many")
        module.use(f"{module.package}.core.relations", "loaded_or_none")
        module.use("typing", "cast")
        annotation = f"list[{target}] | None" if many else f"{target} | None"
        props.append(
            {
                "name": f"{r.attr}_included",
                "type": f'"{annotation}"',
                "doc": f"`{r.name}` when it was loaded with the row (for `?include=`).",
                "body": f'return cast("{annotation}", loaded_or_none(self, {py_literal(r.attr)}))',
            }
        )
    for f in entity.fields:
        if f.storage == "derived" and f.derived_from:
            props.append(_derived_property(module, project, entity, f))
        elif f.storage == "flattened":
            module.use("typing", "Any")
            pairs = ", ".join(
                f"{py_literal(sub.name)}: self.{naming.py_attr(f.name + '_' + sub.name)}"
                for sub in f.subfields
            )
            sets = "\n        ".join(
                f"self.{naming.py_attr(f.name + '_' + sub.name)} = value[{py_literal(sub.name)}]"
                for sub in f.subfields
            )
            props.append(
                {
                    "name": f.attr,
                    "type": "dict[str, Any]",
                    "doc": f"`{f.name}`, stored as prefixed columns.",
                    "body": f"return {{{pairs}}}",
                    "setter": sets,
                }
            )
    return props


def _derived_property(
    module: ModuleBuilder, project: ir.Project, entity: ir.Entity, f: ir.Field
) -> dict[str, str]:
    assert f.derived_from is not None
    via, name = f.derived_from
    link = next((d for d in entity.dependencies if d.entity == via), None)
    relation_attr = naming.py_attr(f"{via}_row") if link else naming.py_attr(via)
    relation = next((r for r in entity.relations if r.name == via), None)
    optional = f.nullable or (relation is not None and not relation.required)
    target = project.entity(link.entity if link else relation.target if relation else via)
    target_field = next(t for t in target.fields if t.name == name)
    annotation = module.annotation(_storage_type(target_field))
    if target_field.type.kind == "enum":
        enum = next(e for e in project.enums if e.name == target_field.type.enum)
        module.use(f"{module.package}.enums", enum.class_name)
        annotation = enum.class_name
    attr = naming.py_attr(name)
    if optional or link:
        return {
            "name": f.attr,
            "type": f"{annotation} | None",
            "doc": f"`{via}.{name}`, read through the relation (not stored here).",
            "body": f"row = self.{relation_attr}\n        return None if row is None "
            f"else row.{attr}",
        }
    return {
        "name": f.attr,
        "type": annotation,
        "doc": f"`{via}.{name}`, read through the relation (not stored here).",
        "body": f"return self.{relation_attr}.{attr}",
    }


def _storage_type(f: ir.Field) -> ir.SqlType:
    from generator.compile.normalize import column_type

    return column_type(f)


def _association_table(
    module: ModuleBuilder, project: ir.Project, entity: ir.Entity, relation: ir.Relation
) -> str:
    table = project.table(relation.association_table or "")
    module.use(SA, "Column", "ForeignKey", "Table")
    left, right = association_columns(entity.name, relation)
    id_type, _ = module.sa_type(table.columns[0].type)
    lines = [py_literal(table.name), "Base.metadata"]
    for column, fk in zip((left, right), table.foreign_keys, strict=True):
        lines.append(
            f"Column({py_literal(column)}, {id_type}, ForeignKey("
            f'{py_literal(fk.ref_table + ".id")}, ondelete="CASCADE", '
            f"name={py_literal(fk.name)}), primary_key=True)"
        )
    for index in table.indexes:
        module.use(SA, "Index")
        cols = ", ".join(py_literal(c) for c in index.columns)
        lines.append(f"Index({py_literal(index.name)}, {cols})")
    return f"{naming.py_attr(table.name)} = Table({', '.join(lines)})"
