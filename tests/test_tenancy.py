"""Multi-tenancy: which entities are scoped, through which path, and what that compiles to."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from generator import ir
from generator.diff.compare import tenant_key_fills
from generator.emit.entity_context import dependency_key
from generator.emit.policy import entity_policy
from generator.emit.schemas import includable, input_relations, registers
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
    # A path-scoped row carries its tenant key, so it is scoped by it directly.
    assert tenant_path(shop, shop.entity("inventory_level")) == ("organization",)
    assert tenant_path(shop, shop.entity("address")) == ("organization",)
    assert tenant_path(shop, shop.entity("vendor")) == ("organization",)
    assert tenant_path(shop, shop.entity("currency")) is None
    condition = tenant_condition(shop, shop.entity("stock_count"))
    assert condition == ir.Condition(
        ("organization",), "eq", None, me_field="organization", is_me=True
    )


def test_the_tenant_filter_compiles_to_sql_on_the_callers_tenant(shop: ir.Project) -> None:
    assert entity_policy(shop, shop.entity("store")).tenant_sql == (
        "equals(Store.organization_id, principal.user.organization_id)"
    )
    assert entity_policy(shop, shop.entity("invoice")).tenant_sql == (
        "equals(Invoice.organization_id, principal.user.organization_id)"
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
    assert ("organization_id", "number") in uniques("invoices")  # the carried tenant key
    assert ("code",) in uniques("currencies")


def test_a_path_scoped_row_carries_its_parents_tenant_key(shop: ir.Project) -> None:
    invoices = shop.table("invoices")
    keys = {(fk.columns, fk.ref_table, fk.ref_columns) for fk in invoices.foreign_keys}
    assert (("order_id", "organization_id"), "orders", ("id", "organization_id")) in keys
    orders = shop.table("orders")
    assert ("id", "organization_id") in {c.columns for c in orders.constraints}
    carried = tenant_relation(shop, shop.entity("invoice"))
    assert carried is not None and carried.implicit
    assert carried not in input_relations(shop, shop.entity("invoice"))
    assert "organization" not in {r.name for r in includable(shop, shop.entity("invoice"))}
    assert any(
        d.rule == "tenancy" and d.entity == "invoice" and "composite foreign key" in d.summary
        for d in shop.decisions
    )


def test_a_table_split_out_of_a_scoped_entity_is_keyed_per_tenant(shop: ir.Project) -> None:
    vendors = shop.table("vendors")
    assert ("organization_id", "vendor_code") in {c.columns for c in vendors.constraints}
    products = shop.table("products")
    keys = {(fk.columns, fk.ref_table, fk.ref_columns) for fk in products.foreign_keys}
    pair = ("organization_id", "vendor_code")
    assert (pair, "vendors", pair) in keys
    store_skus = shop.table("store_skus")
    assert ("organization_id", "store_id", "sku") in {c.columns for c in store_skus.constraints}
    assert dependency_key(shop, shop.entity("product"), shop.entity("product").dependencies[0]) == (
        "organization_id",
        "vendor_code",
    )


def test_turning_tenant_keys_on_fills_them_for_the_rows_already_stored(shop: ir.Project) -> None:
    """Before: the keys were not carried (as in shop's migration 0004)."""
    old = tuple(_without_tenant_keys(t) for t in shop.tables)
    fills = {f.table: f for f in tenant_key_fills({t.name: t for t in old}, shop.tables)}
    assert fills["invoices"].parent == "orders" and fills["invoices"].parent_column == "order_id"
    assert fills["vendors"].source == "products"
    assert fills["vendors"].pairs == (("vendor_code", "vendor_code"),)
    assert fills["zip_codes"].source == "addresses"
    order = list(fills)
    assert order.index("addresses") < order.index("zip_codes")  # the source's keys first
    assert "products" not in fills  # it had its own key already


def _without_tenant_keys(table: ir.Table) -> ir.Table:
    carried = {"addresses", "invoices", "order_lines", "stock_counts", "stock_levels"}
    split = {"vendors", "zip_codes", "store_skus"}
    if table.name not in carried | split:
        return table
    return dataclasses.replace(
        table, columns=tuple(c for c in table.columns if c.name != "organization_id")
    )


def test_sign_up_creates_the_tenant_from_its_required_fields(shop: ir.Project) -> None:
    fields = registration_tenant_fields(shop)
    assert [key for key, _ in fields] == ["organization_name"]
    assert registers(shop, shop.entity("user"))


def test_factories_leave_checked_fields_to_their_defaults(shop: ir.Project) -> None:
    defaulted, later = checked_fields(shop.entity("store"))
    assert defaulted == {"opens_at", "closes_at"}
    defaulted, later = checked_fields(shop.entity("invoice"))
    assert "issued_on" in defaulted and later == {"due_on"}
