"""Every stored table of every example and golden spec is in 3NF under its dependencies.

For an entity's table: the primary key and each unique set determine every column, and each
declared dependency (projected onto the table) holds; fd.is_3nf decides. The test fails if
normalization ever leaves a declared dependency inside a table whose determinant is not a key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import ir
from generator.compile import fd
from generator.emit.tenancy import tenant_relation
from generator.pipeline import compile_specs

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIRS = sorted(p for p in (ROOT / "specs").iterdir() if p.is_dir()) + sorted(
    p / "spec"
    for p in (ROOT / "tests" / "cases").iterdir()
    if (p / "spec").is_dir() and not (p / "stderr.txt").exists()
)


def table_fds(project: ir.Project, table: ir.Table) -> list[fd.FD]:
    columns = frozenset(c.name for c in table.columns)
    fds = [fd.FD(frozenset(table.primary_key), columns)]
    fds += [fd.FD(frozenset(c.columns), columns) for c in table.constraints if c.kind == "unique"]
    entity = (
        project.entity(table.entity)
        if table.entity and table.kind in ("entity", "dependency")
        else None
    )
    if entity is not None:
        for link in _all_links(project):
            lhs, rhs = (
                frozenset(link.determinant) | _tenant_key(project, link),
                frozenset(link.dependents),
            )
            if lhs <= columns and rhs & columns:
                fds.append(fd.FD(lhs, rhs & columns))
    return fds


def _tenant_key(project: ir.Project, link: ir.DependencyLink) -> frozenset[str]:
    """With tenancy, a dependency of a scoped entity holds within one tenant: its determinant
    includes the tenant key its table carries."""
    key = tenant_relation(project, project.entity(link.entity))
    return frozenset({key.column}) if key is not None and key.column else frozenset()


def _all_links(project: ir.Project) -> list[ir.DependencyLink]:
    return [link for e in project.entities for link in e.dependencies]


@pytest.mark.parametrize("spec_dir", SPEC_DIRS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_stored_table_is_in_third_normal_form(spec_dir: Path) -> None:
    projects, diags = compile_specs(spec_dir)
    assert not diags.has_errors, diags.render()
    for project in projects:
        for table in project.tables:
            columns = frozenset(c.name for c in table.columns)
            assert fd.is_3nf(columns, table_fds(project, table)), table.name


def test_a_declared_dependency_left_in_place_would_be_caught() -> None:
    """The check itself: zip -> city inside a table keyed by id is not 3NF."""
    columns = frozenset({"id", "zip", "city"})
    fds = [fd.FD(frozenset({"id"}), columns), fd.FD(frozenset({"zip"}), frozenset({"city"}))]
    assert not fd.is_3nf(columns, fds)
