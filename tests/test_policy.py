"""Unit and property tests for generator/emit/policy.py: the permission semantics of the spec
language (roles, inheritance, pseudo-roles, owner) and row filters compiled to SQLAlchemy.

The generated `core/permissions.py` makes the same decision at run time; its behaviour is proved
by the generated access tests (tests/test_generated_projects.py runs them).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator import ir
from generator.emit.policy import (
    caller_attributes,
    effective_roles,
    entity_policy,
    held_keys,
    scope,
    writer_role,
)
from generator.pipeline import compile_specs

SPEC = """
api: {name: journal}
roles:
  admin: {inherits: [editor]}
  editor: {inherits: [writer]}
  writer: {}
  reviewer: {}
auth:
  user_entity: user
  username_field: email
  password_field: password
  roles_field: role
  access_token_ttl: 15m
  refresh_token_ttl: 14d
enums:
  role: [admin, editor, writer, reviewer]
entities:
  user:
    owner: self
    fields:
      email: {type: email, unique: true}
      password: {type: password, min_length: 12}
      role: {type: enum, enum: role, default: writer}
      desk: {type: string, max_length: 20, nullable: true}
      is_active: {type: boolean, default: true}
    permissions: {list: [admin], read: [owner, admin], create: [admin], update: [owner, admin],
                  delete: [admin]}
  topic:
    fields:
      name: {type: string, max_length: 50}
    relations:
      reviewers: {type: many_to_many, target: user}
    permissions: {list: [anonymous], read: [anonymous], create: [admin], update: [admin],
                  delete: [admin]}
  entry:
    owner: author
    fields:
      title: {type: string, max_length: 200}
      status: {type: enum, values: [draft, published], default: draft}
      score: {type: integer, default: 0}
      pinned: {type: boolean, default: false}
      notes: {type: text, nullable: true}
    relations:
      author: {type: many_to_one, target: user}
      topic: {type: many_to_one, target: topic, required: false}
    permissions: {list: [anonymous], read: [anonymous], create: [writer], update: [owner, editor],
                  delete: [owner, admin]}
    field_permissions:
      pinned: {write: [editor]}
      notes: {read: [editor], write: [editor]}
      author: {write: [admin]}
    row_filter:
      anonymous: {status: published, score__gte: -5, pinned: true}
      writer: [{status: published}, {author: $me}]
      reviewer: {topic__reviewers: $me, topic__name__ne: hidden}
      editor: {author__desk: $me.desk}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> ir.Project:
    folder: Path = tmp_path_factory.mktemp("spec")
    (folder / "api.yaml").write_text(textwrap.dedent(SPEC), encoding="utf-8")
    projects, diagnostics = compile_specs(folder)
    assert not diagnostics.has_errors, [d.render() for d in diagnostics.sorted()]
    return projects[0]


def test_a_role_acts_with_what_it_inherits_and_the_pseudo_roles(project: ir.Project) -> None:
    assert effective_roles(project, ("admin",)) == {
        "admin",
        "editor",
        "writer",
        "anonymous",
        "authenticated",
    }
    assert effective_roles(project, None) == {"anonymous"}


def test_scope_follows_the_spec_language(project: ir.Project) -> None:
    update = ("editor", "owner")
    assert scope(project, update, ("admin",)) == "all"  # inherits editor
    assert scope(project, update, ("writer",)) == "own"  # only as the owner
    assert scope(project, update, None) is None  # no token: 401
    assert scope(project, ("anonymous",), ("writer",)) == "all"  # public means everyone
    assert scope(project, ("authenticated",), None) is None
    assert scope(project, (), ("admin",)) is None  # not listed: closed to everyone


def test_row_filter_keys_are_held_roles_not_inherited_ones() -> None:
    assert held_keys(("admin",)) == {"admin", "authenticated"}
    assert held_keys(None) == {"anonymous"}


def test_row_filters_compile_to_sqlalchemy(project: ir.Project) -> None:
    policy = entity_policy(project, project.entity("entry"))
    sql = {branch.key: branch.sql for branch in policy.filters}
    assert sql["anonymous"] == (
        "and_(Entry.pinned.is_(True), Entry.score >= -5, Entry.status == EntryStatus.PUBLISHED)"
    )
    assert (
        sql["writer"]
        == "or_(Entry.status == EntryStatus.PUBLISHED, Entry.author_id == principal.id)"
    )
    # Conditions through one to-many relation hold for the same related row: one `any()`.
    assert sql["reviewer"] == (
        'Entry.topic.has(and_(Topic.name != "hidden", '
        "Topic.reviewers.any(User.id == principal.id)))"
    )
    assert sql["editor"] == "Entry.author.has(equals(User.desk, principal.user.desk))"
    uses_me = {branch.key: branch.uses_me for branch in policy.filters}
    assert uses_me == {"anonymous": False, "writer": True, "reviewer": True, "editor": True}


def test_the_caller_key_names_every_attribute_a_row_filter_reads(project: ir.Project) -> None:
    # With the caller's id and roles, what a statement built for one caller holds of it: a
    # statement is reused for another caller only when all of these are equal.
    assert caller_attributes(project) == ("principal.user.desk",)


def test_field_rules_and_the_owner(project: ir.Project) -> None:
    policy = entity_policy(project, project.entity("entry"))
    assert dict(policy.write_rules) == {
        "author_id": ("admin",),
        "notes": ("editor",),
        "pinned": ("editor",),
    }
    assert dict(policy.read_rules) == {"notes": ("editor",)}
    assert policy.owner_column == "author_id"
    assert policy.owner_writable
    assert entity_policy(project, project.entity("user")).owner_column == "id"


def test_the_generated_crud_tests_act_as_the_role_allowed_the_most(project: ir.Project) -> None:
    entry = project.entity("entry")
    assert writer_role(project, entry, creator="writer") == "writer"  # owner of its rows
    assert writer_role(project, project.entity("topic"), creator="admin") == "admin"


ROLE_NAMES = ("admin", "editor", "writer", "reviewer")
LISTED = st.lists(st.sampled_from((*ROLE_NAMES, "anonymous", "authenticated", "owner")), max_size=4)


@given(listed=LISTED, role=st.sampled_from(ROLE_NAMES))
def test_inheriting_a_role_never_narrows_what_a_caller_may_do(
    project: ir.Project, listed: list[str], role: str
) -> None:
    """Scopes are ordered none < own < all; a role that inherits another reaches at least as
    far, and a token never reaches less far than no token."""
    rank = {None: 0, "own": 1, "all": 2}
    closure = {r.name: r.closure for r in project.roles}
    for heir in ROLE_NAMES:
        if role in closure[heir]:
            assert rank[scope(project, listed, (heir,))] >= rank[scope(project, listed, (role,))]
    assert rank[scope(project, listed, (role,))] >= rank[scope(project, listed, None)]


@given(listed=LISTED, held=st.lists(st.sampled_from(ROLE_NAMES), min_size=1, max_size=3))
def test_holding_several_roles_reaches_as_far_as_the_best_of_them(
    project: ir.Project, listed: list[str], held: list[str]
) -> None:
    rank = {None: 0, "own": 1, "all": 2}
    best = max(rank[scope(project, listed, (r,))] for r in held)
    assert rank[scope(project, listed, tuple(held))] == best
