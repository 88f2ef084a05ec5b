"""Normalizing (generator/compile/normalize.py) reads what each table needs of the other entities
once, not once per entity: its work stays linear in the number of entities."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.compile import normalize
from generator.pipeline import compile_specs

CHILDREN = 20


def _spec() -> str:
    """A tenant, a user entity with `audit`, and CHILDREN entities scoped through a parent."""
    lines = [
        "api: {name: saas, tenancy: {entity: organization}}",
        "roles: {member: {}}",
        "auth: {user_entity: account, username_field: email, password_field: password,",
        "       roles_field: role}",
        "entities:",
        "  organization: {fields: {name: string}, permissions: {read: [member]}}",
        "  account:",
        "    owner: self",
        "    audit: true",
        "    fields: {email: {type: email, unique: true}, password: password,",
        "             role: {type: enum, values: [member]}}",
        "    relations: {organization: {type: many_to_one, target: organization}}",
        "    permissions: {read: [member]}",
    ]
    for i in range(CHILDREN):
        lines += [
            f"  parent_{i}:",
            "    audit: true",
            "    fields: {name: string}",
            "    relations: {organization: {type: many_to_one, target: organization}}",
            "    permissions: {read: [member]}",
            f"  child_{i}:",
            "    tenant: parent",
            "    fields: {name: string}",
            f"    relations: {{parent: {{type: many_to_one, target: parent_{i}}}}}",
            "    permissions: {read: [member]}",
        ]
    return "\n".join(lines) + "\n"


def test_tenant_parents_are_looked_up_once_per_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "api.yaml").write_text(_spec(), encoding="utf-8")
    looked_up: list[str] = []
    path_target = normalize._path_target

    def counting(entity: normalize.ir.Entity, step: str) -> str:
        looked_up.append(entity.name)
        return path_target(entity, step)

    monkeypatch.setattr(normalize, "_path_target", counting)
    projects, diags = compile_specs(tmp_path)
    assert not diags.has_errors, diags.render()
    # one lookup to key the parent's (id, tenant key), one for the child's foreign key
    assert sorted(looked_up) == sorted(2 * [f"child_{i}" for i in range(CHILDREN)])
    tables = {t.name: t for t in projects[0].tables}
    assert [c.columns for c in tables["parent_0s"].constraints if c.kind == "unique"] == [
        ("id", "organization_id")
    ]
    audited = [fk for fk in tables["parent_0s"].foreign_keys if fk.columns == ("created_by",)]
    assert [fk.ref_table for fk in audited] == ["accounts"]
