"""Multi-tenancy: which entities are scoped, through which path, and what that compiles to."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import ir
from generator.emit.policy import entity_policy
from generator.emit.schemas import input_relations, registers
from generator.emit.tenancy import (
    registration_tenant_fields,
    tenant_condition,
    tenant_path,
    tenant_relation,
)
from generator.emit.tests import checked_fields
from generator.pipeline import compile_specs

SHOP = Path(__file__).resolve().parent.parent / "specs" / "shop"


@pytest.fixture(scope="module")
def shop() -> ir.Project:
    projects, diagnostics = compile_specs(SHOP)
    assert not diagnostics.has_errors, [d.render() for d in diagnostics.sorted()]
    return projects[0]


def test_scoped_entities_reach_the_tenant_directly_or_through_their_path(
    shop: ir.Project,
) -> None:
    assert tenant_path(shop, shop.entity("organization")) == ("id",)
    assert tenant_path(shop, shop.entity("store")) == ("organization",)
    assert tenant_path(shop, shop.entity("inventory_level")) == ("store", "organization")
    assert tenant_path(shop, shop.entity("address")) == ("customer", "organization")
    assert tenant_path(shop, shop.entity("currency")) is None
    condition = tenant_condition(shop, shop.entity("stock_count"))
    assert condition == ir.Condition(
        ("store", "organization"), "eq", None, me_field="organization", is_me=True
    )


def test_the_tenant_filter_compiles_to_sql_on_the_callers_tenant(shop: ir.Project) -> None:
    assert entity_policy(shop, shop.entity("store")).tenant_sql == (
        "equals(Store.organization_id, principal.user.organization_id)"
    )
    assert entity_policy(shop, shop.entity("invoice")).tenant_sql == (
        "Invoice.order.has(equals(Order.organization_id, principal.user.organization_id))"
    )
    assert entity_policy(shop, shop.entity("organization")).tenant_sql == (
        "equals(Organization.id, principal.user.organization_id)"
    )
    assert entity_policy(shop, shop.entity("currency")).tenant_sql is None


def test_the_tenant_key_is_set_from_the_caller_never_from_a_body(shop: ir.Project) -> None:
    store = shop.entity("store")
    relation = tenant_relation(shop, store)
    assert relation is not None and relation.name == "organization"
    assert relation not in input_relations(shop, store)
    assert tenant_relation(shop, shop.entity("organization")) is None
    policy = entity_policy(shop, store)
    assert (policy.tenant_wire, policy.user_tenant_wire) == ("organization_id", "organization_id")


def test_unique_is_per_tenant_except_the_username(shop: ir.Project) -> None:
    def uniques(table: str) -> set[tuple[str, ...]]:
        stored = shop.table(table)
        return {c.columns for c in stored.constraints if c.kind == "unique"} | {
            i.columns for i in stored.indexes if i.unique
        }

    assert ("organization_id", "code") in uniques("stores")
    assert ("organization_id", "sku") in uniques("products")
    assert ("email",) in uniques("users")
    assert ("number",) in uniques("invoices")  # scoped through a path: no tenant column
    assert ("code",) in uniques("currencies")


def test_sign_up_creates_the_tenant_from_its_required_fields(shop: ir.Project) -> None:
    fields = registration_tenant_fields(shop)
    assert [key for key, _ in fields] == ["organization_name"]
    assert registers(shop, shop.entity("user"))


def test_factories_leave_checked_fields_to_their_defaults(shop: ir.Project) -> None:
    defaulted, later = checked_fields(shop.entity("store"))
    assert defaulted == {"opens_at", "closes_at"}
    defaulted, later = checked_fields(shop.entity("invoice"))
    assert "issued_on" in defaulted and later == {"due_on"}
