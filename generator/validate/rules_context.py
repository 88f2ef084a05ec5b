"""What every semantic rule shares: lookups built once per spec set, field sites, reporting."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from generator.diagnostics import Diagnostics, Span, did_you_mean
from generator.load import Path_
from generator.validate.models import Auth, EntitySpec, FieldSpec, RelationSpec
from generator.validate.specset import Located, SpecSet

if TYPE_CHECKING:
    from generator.compile_cache import CompileCache

PSEUDO_ROLES = ("anonymous", "authenticated", "owner")
TO_ONE = frozenset({"many_to_one", "one_to_one"})
TIMESTAMPS = ("created_at", "updated_at")

SiteKind = Literal["field", "nested", "item", "request"]


@dataclass(frozen=True)
class FieldSite:
    """One field definition wherever it is written: entity field, object member, list item or
    action request field. Paths are relative to the entity's Located."""

    entity: str
    name: str
    spec: FieldSpec
    loc: Located[EntitySpec]
    path: Path_
    kind: SiteKind
    label: str
    enum_name: str

    def span(self, *sub: str | int) -> Span:
        return self.loc.span(*self.path, *sub)

    def key_span(self, *sub: str | int) -> Span:
        return self.loc.key_span(*self.path, *sub)

    def has(self, *sub: str | int) -> bool:
        return self.loc.has(*self.path, *sub)

    @property
    def what(self) -> str:
        """How messages name this definition: `field `post.title``, `items of `post.tags``."""
        if self.kind == "item":
            return f"items of `{self.label}`"
        if self.kind == "request":
            return f"request field `{self.label}`"
        return f"field `{self.label}`"


@dataclass(frozen=True)
class RoleRef:
    """A role named in a permission list (permissions, field_permissions, action roles)."""

    entity: str
    role: str
    loc: Located[EntitySpec]
    path: Path_  # of the role in the list, relative to loc
    where: str

    @property
    def span(self) -> Span:
        """Where the role is written (found when a problem is reported: most have none)."""
        return self.loc.span(*self.path)


@dataclass(frozen=True)
class ImplicitRelation:
    """A many_to_one that a one_to_many's `inverse` creates on its target."""

    entity: str
    name: str
    source: str
    source_relation: str
    span: Span


@dataclass
class Ctx:
    """The spec set, the collector, and resolution tables every rule uses."""

    spec: SpecSet
    diags: Diagnostics
    cache: CompileCache | None = None
    fields: dict[str, dict[str, FieldSpec]] = field(default_factory=dict)
    relations: dict[str, dict[str, RelationSpec]] = field(default_factory=dict)
    implicit: list[ImplicitRelation] = field(default_factory=list)
    roles: frozenset[str] = frozenset()
    sites: list[FieldSite] = field(default_factory=list)

    # --- reporting -------------------------------------------------------------------------

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.error(code, message, span, hint)

    def warning(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.warning(code, message, span, hint)

    # --- lookups ---------------------------------------------------------------------------

    @property
    def auth(self) -> Auth | None:
        return self.spec.auth.value if self.spec.auth else None

    @property
    def user_entity(self) -> str | None:
        """The auth user entity when it exists."""
        auth = self.auth
        return auth.user_entity if auth and auth.user_entity in self.fields else None

    def generated(self, entity: str) -> tuple[str, ...]:
        """The generated columns of an entity, which key lists, checks and row filters may name
        besides declared ones (docs: "a generated column such as `created_at`")."""
        loc = self.spec.entities.get(entity)
        if loc is None:
            return ()
        spec = loc.value
        names = ["id", *(TIMESTAMPS if self.spec.api.value.timestamps else ())]
        names += ["deleted_at"] if spec.soft_delete else []
        names += ["created_by", "updated_by"] if spec.audit else []
        names += ["version"] if spec.versioned else []
        return tuple(names)

    def members(self, entity: str) -> list[str]:
        """Fields and relations (implicit inverses included) of an entity."""
        return [*self.fields.get(entity, {}), *self.relations.get(entity, {})]

    def enum_values(self, spec: FieldSpec) -> list[str] | None:
        """The values of an enum field, or None when they are unknown (reported elsewhere)."""
        if spec.values is not None:
            return spec.values
        if spec.enum is not None and spec.enum in self.spec.enums:
            return self.spec.enums[spec.enum].value
        return None

    def entity_hint(self, name: str) -> str | None:
        return did_you_mean(name, self.spec.entities)

    def role_refs(self) -> Iterator[RoleRef]:
        """Every role named in permissions, field_permissions and action roles."""
        for ename, loc in self.spec.entities.items():
            spec = loc.value
            for op, roles in spec.permissions.items():
                yield from _refs(ename, roles, loc, ("permissions", op), f"permissions.{op}")
            for fname, perm in spec.field_permissions.items():
                for mode, roles_ in (("read", perm.read), ("write", perm.write)):
                    where = f"field_permissions.{fname}.{mode}"
                    yield from _refs(
                        ename, roles_ or [], loc, ("field_permissions", fname, mode), where
                    )
            for aname, action in spec.endpoints.actions.items():
                path = ("endpoints", "actions", aname, "roles")
                yield from _refs(ename, action.roles, loc, path, f"endpoints.actions.{aname}.roles")


def _refs(
    entity: str, roles: Iterable[str], loc: Located[EntitySpec], path: Path_, where: str
) -> Iterator[RoleRef]:
    for i, role in enumerate(roles):
        yield RoleRef(entity, role, loc, (*path, i), where)


def build_context(spec: SpecSet, diags: Diagnostics, cache: CompileCache | None = None) -> Ctx:
    """The lookups, built once; they tolerate every kind of broken reference."""
    ctx = Ctx(spec, diags, cache, roles=frozenset(spec.roles))
    for name, loc in spec.entities.items():
        ctx.fields[name] = dict(loc.value.fields)
        ctx.relations[name] = dict(loc.value.relations)
    _add_implicit_inverses(ctx)
    for name, loc in spec.entities.items():
        ctx.sites.extend(_entity_sites(name, loc))
    return ctx


def _add_implicit_inverses(ctx: Ctx) -> None:
    """As the resolver does: a one_to_many's `inverse` missing on the target is created there."""
    for name, loc in ctx.spec.entities.items():
        for rname, rel in loc.value.relations.items():
            if rel.type != "one_to_many" or not rel.inverse or rel.target not in ctx.relations:
                continue
            declared = ctx.spec.entities[rel.target].value.relations
            if rel.inverse in declared:
                continue
            span = loc.span("relations", rname, "inverse")
            ctx.implicit.append(ImplicitRelation(rel.target, rel.inverse, name, rname, span))
            ctx.relations[rel.target].setdefault(
                rel.inverse, RelationSpec(type="many_to_one", target=name)
            )


def _entity_sites(entity: str, loc: Located[EntitySpec]) -> Iterator[FieldSite]:
    for fname, spec in loc.value.fields.items():
        label, enum = f"{entity}.{fname}", f"{entity}_{fname}"
        root = FieldSite(entity, fname, spec, loc, ("fields", fname), "field", label, enum)
        yield from _tree(root, entity)
    for aname, action in loc.value.endpoints.actions.items():
        owner = f"{entity}_{aname}"
        for fname, spec in (action.request or {}).items():
            path: Path_ = ("endpoints", "actions", aname, "request", fname)
            label = f"{entity}.{aname}.{fname}"
            yield from _tree(
                FieldSite(entity, fname, spec, loc, path, "request", label, f"{owner}_{fname}"),
                owner,
            )


def _tree(site: FieldSite, owner: str) -> Iterator[FieldSite]:
    """A definition and those inside it. Inline enum names follow the resolver's scheme:
    `<owner>_<name>`, `<owner>_<name>_item` for list items, members prefixed by their field."""
    yield site
    spec = site.spec
    if spec.of is not None:
        prefix = f"{owner}_{site.name}_item"
        path = (*site.path, "of")
        # (built whole: dataclasses.replace costs five times as much)
        yield FieldSite(site.entity, site.name, spec.of, site.loc, path, "item", site.label, prefix)
        if spec.of.fields:
            yield from _members(site, spec.of, path, prefix)
    if spec.fields:
        yield from _members(site, spec, site.path, f"{owner}_{site.name}")


def _members(parent: FieldSite, spec: FieldSpec, path: Path_, owner: str) -> Iterator[FieldSite]:
    for sub, sub_spec in (spec.fields or {}).items():
        label = f"{parent.label}.{sub}"
        child = replace(
            parent, name=sub, spec=sub_spec, path=(*path, "fields", sub), kind="nested",
            label=label, enum_name=f"{owner}_{sub}",
        )  # fmt: skip
        yield from _tree(child, owner)
