"""Fuzz emitter: the Schemathesis run of a generated project.

Three files: `schemathesis.toml` (checks, phases, seed and example counts), `wfc-auth.json` (a Web
Fuzzing Commons auth document: how to sign in, two users per role, the peers among them) and
`tests/test_schemathesis.py`, which creates those users in a database of its own, sends each
entity operation as a user that may perform it, and runs every check against the app in process,
the stateful phase included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from generator import ir
from generator.emit.base import RenderedFile, header, render
from generator.emit.imports import Import, render_imports
from generator.emit.policy import can_create, entity_policy, scope
from generator.emit.tests import creatable

# One seed for every run: a failure found once is found again, on any machine.
SEED = 20261206
# Examples per operation and phase, and steps per stateful scenario: enough to reach every
# operation with valid and invalid input, small enough for CI (see docs/fuzzing.md).
MAX_EXAMPLES = 4
STATEFUL_MAX_EXAMPLES = 12
STATEFUL_MAX_STEPS = 8
USERS_PER_ROLE = 2
WFC_AUTH_FILE = "wfc-auth.json"
# Statuses that reject a request: what Schemathesis expects for schema-violating input, plus
# 413, which a body over MAX_BODY_SIZE gets before its contents are looked at.
REJECTION_STATUSES = (400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429)
# What a request without a required header may get: Schemathesis' defaults, and 428 for a
# missing `If-Match` (decided after authentication, authorization and the row's existence).
MISSING_HEADER_STATUSES = (400, 401, 403, 406, 415, 422, 428)
# `error.details[].code` of the 422s the spec language prescribes for schema-valid input that
# contradicts stored rows (core/relations.py): an unknown related id, a changed immutable field.
STATE_DEPENDENT_CODES = ("immutable", "not_found")


@dataclass(frozen=True)
class FuzzUser:
    """One entry of the WFC document: a user the test creates, holding one role."""

    name: str
    role: str
    username: str


def fuzz_users(project: ir.Project) -> list[FuzzUser]:
    """Two users per role, least privileged role first: Schemathesis sends an operation that
    `operation_identities` does not name as the document's first user (its CLI moves an operation
    on to the next user when it is refused; the pytest integration does not)."""
    if project.auth is None:
        return []
    email = _username_is_email(project, project.auth)
    users = []
    for role in roles_by_privilege(project):
        for number in range(1, USERS_PER_ROLE + 1):
            name = f"{role.name}-{number}"
            users.append(FuzzUser(name, role.name, f"{name}@example.com" if email else name))
    return users


def roles_by_privilege(project: ir.Project) -> list[ir.Role]:
    """Roles ordered by how many roles they hold (themselves and what they inherit), then as
    declared: a role comes after every role it inherits."""
    order = {role.name: index for index, role in enumerate(project.roles)}
    return sorted(project.roles, key=lambda r: (len(r.closure), order[r.name]))


def _username_is_email(project: ir.Project, auth: ir.Auth) -> bool:
    user = project.entity(auth.user_entity)
    field = next((f for f in user.fields if f.name == auth.username_field), None)
    return field is not None and field.type.kind == "email"


def wfc_document(project: ir.Project, password: str) -> dict[str, Any]:
    """The WFC auth document: each user signs in at `POST <base>/auth/login` and sends the
    access token as a bearer token."""
    assert project.auth is not None
    prefix = "" if project.api.base_path == "/" else project.api.base_path
    template = {
        "loginEndpointAuth": {
            "endpoint": f"{prefix}/auth/login",
            "verb": "POST",
            "contentType": "application/json",
            "token": {
                "extractFrom": "body",
                "extractSelector": "/data/access_token",
                "sendIn": "header",
                "sendName": "Authorization",
                "sendTemplate": "Bearer {token}",
            },
        }
    }
    entries = [
        {
            "name": user.name,
            "loginEndpointAuth": {
                "payloadUserPwd": {
                    "username": user.username,
                    "usernameField": project.auth.username_field,
                    "password": password,
                    "passwordField": project.auth.password_field,
                }
            },
        }
        for user in fuzz_users(project)
    ]
    return {"schemaVersion": "0.2.0", "authTemplate": template, "auth": entries}


def private_peers(project: ir.Project, users: list[FuzzUser]) -> list[FuzzUser]:
    """The users whose objects must stay private to each other (WFC `peers`): those whose role
    reads every row of no private entity (one that some role reads only its own rows of). An
    administrator reading a member's note is allowed, so it is nobody's peer. Without a private
    entity no user has objects the others may not see (the WFC users share one tenant), so there
    are no peers."""
    sees_all: set[str] = set()
    any_private = False
    for entity in project.entities:
        readers = entity_policy(project, entity).roles("read")
        reach = {role.name: scope(project, readers, (role.name,)) for role in project.roles}
        if "own" in reach.values():
            any_private = True
            sees_all |= {name for name, how in reach.items() if how == "all"}
    if not any_private:
        return []
    peers = [u for u in users if u.role not in sees_all]
    return peers if len(peers) >= 2 else []


def operation_identities(project: ir.Project, users: list[FuzzUser]) -> dict[str, str]:
    """The WFC user each operation of an entity is sent as, by label (`PATCH /api/v1/posts/{id}`):
    the first user of the least privileged role that may perform it (`acting_role`). Without
    it Schemathesis' pytest integration sends every operation as the document's first user, and
    an operation for more privileged roles gets no further than its 403."""
    first_user: dict[str, str] = {}
    for user in users:
        first_user.setdefault(user.role, user.name)
    prefix = "" if project.api.base_path == "/" else project.api.base_path
    identities: dict[str, str] = {}
    for entity in project.entities:
        for method, path, listed in entity_operations(project, entity):
            role = acting_role(project, entity, listed, on_row="{id}" in path)
            if role is not None and role in first_user:
                identities[f"{method} {prefix}/{entity.path}{path}"] = first_user[role]
    return identities


def user_writes(project: ir.Project) -> list[str]:
    """Labels of the operations that change or remove one row of the users entity: a call may
    take a WFC user's sign-in away (a member deleting itself, a new password)."""
    if project.auth is None:
        return []
    prefix = "" if project.api.base_path == "/" else project.api.base_path
    entity = project.entity(project.auth.user_entity)
    return sorted(
        f"{method} {prefix}/{entity.path}{path}"
        for method, path, _ in entity_operations(project, entity)
        if method != "GET" and "{id}" in path
    )


def entity_operations(
    project: ir.Project, entity: ir.Entity
) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path under the entity's, roles listed) of each route of `entity`."""
    policy = entity_policy(project, entity)
    routes = {
        "list": ("GET", ""),
        "create": ("POST", ""),
        "read": ("GET", "/{id}"),
        "update": ("PATCH", "/{id}"),
        "delete": ("DELETE", "/{id}"),
    }
    found = [(*routes[op], policy.roles(op)) for op in entity.crud]
    if entity.soft_delete and "delete" in entity.crud:
        found.append(("POST", "/{id}/restore", policy.roles("delete")))
    found += [(a.method.upper(), a.path, tuple(sorted(a.roles))) for a in entity.actions]
    return found


def acting_role(
    project: ir.Project, entity: ir.Entity, listed: tuple[str, ...], *, on_row: bool = False
) -> str | None:
    """The least privileged role that may perform an operation open to `listed` on every row, or
    on its own rows when it can have some (it may create them, or they are the users themselves).
    An operation on one row (`on_row`) of users who own themselves needs every row: the users
    the stateful phase creates are someone else, and their reader would get 404 (Schemathesis'
    `ensure_resource_availability`). None: no role may."""
    for role in roles_by_privilege(project):
        reach = scope(project, listed, (role.name,))
        owns_self = entity.owner == "self" and not on_row
        owns_rows = owns_self or can_create(project, entity, role.name)
        if reach == "all" or (reach == "own" and owns_rows):
            return role.name
    return None


def signs_in(project: ir.Project) -> bool:
    """True when the test can create users and sign in as them."""
    if project.auth is None:
        return False
    return creatable(project, project.entity(project.auth.user_entity))


# The password of every user the generated tests create (tests/conftest.py's TEST_PASSWORD).
TEST_PASSWORD = "correct horse battery staple 42"  # nosec B105


def test_imports(package: str, signing_in: bool, assigning: bool = False) -> str:
    """The import block of tests/test_schemathesis.py."""
    imports = {
        Import("asyncio"),
        Import("collections.abc", "Iterator"),
        Import("typing", "Any"),
        Import("hypothesis"),
        Import("hypothesis.internal.conjecture", "providers"),
        Import("hypothesis.internal.constants_ast", "Constants"),
        Import("pytest"),
        Import("schemathesis"),
        Import("fastapi", "FastAPI"),
        Import("schemathesis.config", "SchemathesisConfig"),
        Import("schemathesis.openapi.checks", "RejectedPositiveData"),
        Import("schemathesis.specs.openapi.checks", "positive_data_acceptance"),
        Import("schemathesis.specs.openapi.schemas", "OpenApiSchema"),
        Import("schemathesis.generation.stateful", "APIStateMachine"),
        Import("sqlalchemy", "Table"),
        Import("sqlalchemy", "delete"),
        Import("sqlalchemy", "insert"),
        Import("sqlalchemy", "pool"),
        Import("sqlalchemy", "select"),
        Import("sqlalchemy", "text"),
        Import("sqlalchemy.ext.asyncio", "AsyncConnection"),
        Import("sqlalchemy.ext.asyncio", "AsyncEngine"),
        Import(f"{package}.models", "Base"),
        Import(f"{package}.core.config", "Settings"),
        Import(f"{package}.main", "create_app"),
        Import("tests.conftest", "PROJECT_DIR"),
        Import("tests.conftest", "settings_for"),
        Import("tests.conftest", "upgrade_to_head"),
        # Renamed: pytest would try to collect a `Test...` class in this module.
        Import("tests.conftest", "TestDatabase", "Database"),
    }
    if signing_in:
        imports |= {
            Import("json"),
            Import("tests.conftest", "TEST_PASSWORD"),
            Import("tests.conftest", "Users"),
        }
    if assigning:
        imports |= {
            Import("schemathesis.wfc.escalation", "escalating_provider"),
            Import("schemathesis.wfc.escalation", "restore_identity_assignments"),
        }
    return render_imports(imports, package)


def emit(project: ir.Project) -> list[RenderedFile]:
    """schemathesis.toml, tests/test_schemathesis.py and, when users can sign in, the WFC file."""
    package = project.api.name
    users = fuzz_users(project) if signs_in(project) else []
    identities = operation_identities(project, users)
    context = {
        "header": header(project),
        "imports": test_imports(package, bool(users), bool(identities)),
        "seed": SEED,
        "max_examples": MAX_EXAMPLES,
        "stateful_max_examples": STATEFUL_MAX_EXAMPLES,
        "stateful_max_steps": STATEFUL_MAX_STEPS,
        "rejection_statuses": ", ".join(str(s) for s in REJECTION_STATUSES),
        "state_dependent_codes": ", ".join(json.dumps(c) for c in STATE_DEPENDENT_CODES),
        "wfc_auth_file": WFC_AUTH_FILE if users else None,
        "peers": ", ".join(json.dumps(u.name) for u in private_peers(project, users)),
        "identities": sorted(identities.items()),
        "user_writes": user_writes(project) if users else [],
        "missing_header_statuses": ", ".join(str(s) for s in MISSING_HEADER_STATUSES),
        "username_field": project.auth.username_field if project.auth else None,
    }
    files = [
        RenderedFile(
            f"{package}/schemathesis.toml", render("fuzz/schemathesis.toml.j2", **context)
        ),
        RenderedFile(
            f"{package}/tests/test_schemathesis.py",
            render("fuzz/test_schemathesis.py.j2", **context),
        ),
    ]
    if users:
        document = json.dumps(wfc_document(project, TEST_PASSWORD), indent=2) + "\n"
        files.append(RenderedFile(f"{package}/{WFC_AUTH_FILE}", document))
    return files
