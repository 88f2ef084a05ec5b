"""The auth emitter's decisions and the generated tests' value choices, on the blog example
and on generated fields: what sign-up accepts, who changes a password in the tests, which
values break a constraint, which rows sit on each side of a row filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator import ir
from generator.diagnostics import Span
from generator.emit.auth import login_username_line, password_changer
from generator.emit.schemas import registers, registration_inputs
from generator.emit.tests import constraint_cases, creator, filter_rows
from generator.pipeline import compile_specs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def blog() -> ir.Project:
    projects, diags = compile_specs(ROOT / "specs" / "blog")
    assert not diags.has_errors
    return projects[0]


def test_sign_up_carries_no_role_and_nothing_only_some_roles_may_write(blog: ir.Project) -> None:
    user = blog.entity("user")
    assert registers(blog, user)
    fields, relations = registration_inputs(blog, user)
    names = {f.name for f in fields} | {r.name for r in relations}
    assert {"email", "password", "display_name"} <= names
    assert not names & {"role", "is_active", "desk", "last_seen_at"}


def test_the_refresh_token_table_is_in_the_schema_with_its_constraints(blog: ir.Project) -> None:
    table = blog.table("refresh_tokens")
    assert table.kind == "token"
    assert [c.name for c in table.columns] == [
        "id", "user_id", "token_hash", "family_id", "expires_at", "revoked_at", "created_at",
    ]  # fmt: skip
    assert table.foreign_keys[0].ref_table == "users"
    assert table.foreign_keys[0].on_delete == "CASCADE"
    assert table.constraints[0].columns == ("token_hash",)


def test_owners_change_their_own_password_in_the_generated_test(blog: ir.Project) -> None:
    assert password_changer(blog, blog.entity("user")) == "self"


def test_the_login_username_is_capped_at_the_fields_length(blog: ir.Project) -> None:
    email = next(f for f in blog.entity("user").fields if f.name == "email")
    assert login_username_line(email) == (
        "email: Annotated[str, Field(min_length=1, max_length=320)]"
    )


def test_row_filter_rows_fall_on_both_sides(blog: ir.Project) -> None:
    user = blog.entity("user")
    anonymous = next(f for f in user.row_filters if f.role == "anonymous")
    shown, hidden = filter_rows(blog, user, anonymous, creator(blog, user))
    assert shown == 'is_active=True, role="author"'
    assert hidden == "is_active=False"


def _string_field(min_length: int | None, max_length: int | None) -> ir.Field:
    return ir.Field(
        name="title",
        attr="title",
        type=ir.TypeRef("string", max_length=max_length),
        span=Span("spec.yaml", 1, 1),
        min_length=min_length,
        max_length=max_length,
    )


@given(
    st.integers(min_value=0, max_value=500),
    st.integers(min_value=0, max_value=500),
)
def test_each_string_case_breaks_exactly_the_bound_it_names(low: int, extra: int) -> None:
    high = low + extra if low + extra > 0 else 1
    cases = constraint_cases([_string_field(low or None, high)])
    values = {case: eval(expression) for _, case, expression in cases}
    if low:
        assert len(values.pop("too-short")) == low - 1
    assert len(values.pop("too-long")) == high + 1
    assert values == {}


@given(
    st.integers(min_value=-(2**31), max_value=2**31 - 2),
    st.sampled_from(["integer", "float"]),
)
def test_each_number_case_lies_just_outside_its_bound(low: int, kind: str) -> None:
    f = ir.Field(
        name="n", attr="n", type=ir.TypeRef(kind), span=Span("spec.yaml", 1, 1), min=low, max=low
    )
    cases = {case: eval(expression) for _, case, expression in constraint_cases([f])}
    assert low - 1 <= cases["below-minimum"] < low
    assert low < cases["above-maximum"] <= low + 1
