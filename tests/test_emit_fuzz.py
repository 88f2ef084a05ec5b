"""The fuzz emitter: Schemathesis settings, the WFC auth document and who signs in, and the
input rules the Schemathesis run holds the generated schemas to."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from schemathesis.config import SchemathesisConfig
from schemathesis.wfc.loader import load_from_dict

from generator import ir
from generator.emit import fuzz
from generator.emit.entity_context import entity_context
from generator.emit.layers import handler_callers, openapi_extras
from generator.emit.schemas import decimal_json_schema
from generator.pipeline import compile_specs

ROOT = Path(__file__).resolve().parent.parent


@cache
def example(name: str) -> ir.Project:
    projects, diags = compile_specs(ROOT / "specs" / name)
    assert not diags.has_errors
    return projects[0]


def files(project: ir.Project) -> dict[str, str]:
    package = project.api.name
    return {f.path.removeprefix(f"{package}/"): f.content for f in fuzz.emit(project)}


def test_roles_come_least_privileged_first() -> None:
    names = [role.name for role in fuzz.roles_by_privilege(example("blog"))]

    assert names == ["user", "author", "editor", "admin"]


def test_two_users_per_role_named_for_the_role() -> None:
    users = fuzz.fuzz_users(example("blog"))

    assert [(u.name, u.role, u.username) for u in users[:2]] == [
        ("user-1", "user", "user-1@example.com"),
        ("user-2", "user", "user-2@example.com"),
    ]
    assert users[-1].role == "admin"
    assert len(users) == 2 * len(example("blog").roles)


def test_the_wfc_document_is_one_schemathesis_loads() -> None:
    document = json.loads(files(example("blog"))["wfc-auth.json"])

    entries = load_from_dict(document)

    assert [e.name for e in entries] == [u.name for u in fuzz.fuzz_users(example("blog"))]
    login = entries[0].login_endpoint_auth
    assert login is not None and login.endpoint == "/api/v1/auth/login"
    assert login.credentials is not None and login.credentials.username_field == "email"
    assert login.token is not None and login.token.send_template == "Bearer {token}"


def test_every_wfc_user_but_the_admins_is_a_peer() -> None:
    emitted = files(example("blog"))
    settings = tomllib.loads(emitted["schemathesis.toml"])
    names = [entry["name"] for entry in json.loads(emitted["wfc-auth.json"])["auth"]]

    peers = [name for name in names if not name.startswith("admin-")]
    assert settings["auth"]["wfc"] == {"path": "wfc-auth.json", "peers": peers}


@pytest.mark.parametrize("name", ["blog", "shop", "weather"])
def test_the_settings_are_schemathesis_config(name: str) -> None:
    text = files(example(name))["schemathesis.toml"]

    config = SchemathesisConfig.from_str(text)

    assert config.seed == fuzz.SEED
    settings = tomllib.loads(text)
    assert settings["checks"]["enabled"] is True
    assert settings["checks"]["positive_data_acceptance"] == {"enabled": False}
    assert 413 in settings["checks"]["negative_data_rejection"]["expected-statuses"]
    assert all(settings["phases"][phase]["enabled"] for phase in settings["phases"])
    assert set(settings["phases"]) == {"examples", "coverage", "fuzzing", "stateful"}


def test_no_wfc_file_without_users_the_test_can_create() -> None:
    emitted = files(example("weather"))  # no auth: nobody signs in

    assert "wfc-auth.json" not in emitted
    assert "auth" not in tomllib.loads(emitted["schemathesis.toml"])
    assert "create_users" not in emitted["tests/test_schemathesis.py"]


def test_the_test_module_runs_both_phases_of_the_contract_check() -> None:
    module = files(example("blog"))["tests/test_schemathesis.py"]

    assert "@schema.parametrize()" in module
    assert "as_state_machine()" in module
    assert 'STATE_DEPENDENT_CODES = frozenset({"immutable", "not_found"})' in module


# Seeds whose stateful run stopped with Hypothesis' FlakyStrategyDefinition (9, 14, 18) or a
# filter_too_much health check (1) on weather while rows outlived their scenario.
REPLAY_SEEDS = [1, 9, 14, 18]


@pytest.mark.slow
@pytest.mark.parametrize("seed", REPLAY_SEEDS)
def test_stateful_scenarios_replay_alike_whatever_the_seed(tmp_path: Path, seed: int) -> None:
    """The stateful phase puts the database back before each scenario, so that a scenario
    Hypothesis replays draws what it drew the first time (weather's generated project, SQLite)."""
    project = tmp_path / "weather"
    shutil.copytree(ROOT / "output" / "weather", project)
    settings = project / "schemathesis.toml"
    text = settings.read_text(encoding="utf-8")
    assert f"seed = {fuzz.SEED}" in text
    settings.write_text(text.replace(f"seed = {fuzz.SEED}", f"seed = {seed}"), encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["tests/test_schemathesis.py::test_stateful_sequences_conform"]

    result = subprocess.run(
        command,
        cwd=project,
        env={**environment, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-4000:]


def test_a_decimal_number_is_bounded_by_its_precision() -> None:
    field = next(
        f for e in example("weather").entities for f in e.fields if f.name == "rainfall_mm"
    )

    number, text = decimal_json_schema(field)["anyOf"]  # type: ignore[misc]

    digits = (field.type.precision or 0) - (field.type.scale or 0)
    assert number["maximum"] == float(10**digits - Decimal(1).scaleb(-(field.type.scale or 0)))
    assert number["minimum"] == 0
    assert text["type"] == "string"
    # `min: 0`: a negative string would be schema-valid and refused.
    assert text["pattern"] == r"^\d{1,5}(\.\d{1,1})?$"


def test_each_operation_is_sent_as_the_least_privileged_role_that_may_perform_it() -> None:
    project = example("blog")

    identities = fuzz.operation_identities(project, fuzz.fuzz_users(project))

    assert identities["POST /api/v1/posts"] == "author-1"  # users may not write posts
    assert identities["PATCH /api/v1/posts/{id}"] == "author-1"  # their own: users have none
    assert identities["POST /api/v1/posts/{id}/publish"] == "editor-1"
    assert identities["POST /api/v1/categories"] == "admin-1"
    # A user may change only itself, and the users the stateful phase creates are others: a
    # change of one user row goes to a role that may change every one.
    assert identities["PATCH /api/v1/users/{id}"] == "admin-1"
    assert identities["GET /api/v1/users"] == "user-1"  # a list of what one may see is fine
    assert identities["GET /api/v1/posts"] == "user-1"


def test_the_identities_name_documented_operations_and_wfc_users() -> None:
    project = example("blog")
    users = fuzz.fuzz_users(project)
    document = json.loads((ROOT / "output" / "blog" / "openapi.json").read_text())
    labels = {f"{m.upper()} {path}" for path, item in document["paths"].items() for m in item}

    identities = fuzz.operation_identities(project, users)

    assert set(identities) <= labels
    assert set(identities.values()) <= {u.name for u in users}
    assert "IDENTITIES = {" in files(project)["tests/test_schemathesis.py"]


def test_a_missing_if_match_is_an_expected_rejection() -> None:
    settings = tomllib.loads(files(example("blog"))["schemathesis.toml"])

    assert 428 in settings["checks"]["missing_required_header"]["expected-statuses"]


def test_versioned_writes_declare_if_match_public_ones_keep_the_optional_token() -> None:
    project = example("blog")
    post = next(e for e in project.entities if e.name == "post")

    extras = openapi_extras(project, entity_context(project, post))

    assert extras["update"] == extras["delete"] == extras["publish"] == "IF_MATCH_REQUIRED"
    assert extras["read"] == "TOKEN_OPTIONAL"
    assert "create" not in extras


def test_the_document_requires_if_match_where_the_server_does() -> None:
    document = json.loads((ROOT / "output" / "blog" / "openapi.json").read_text())

    update = document["paths"]["/api/v1/posts/{id}"]["patch"]
    (header,) = [p for p in update["parameters"] if p["in"] == "header"]

    assert header["name"] == "If-Match" and header["required"] is True
    assert header["schema"]["type"] == "string"
    assert {"412", "428"} <= set(update["responses"])


def test_only_public_operations_take_an_optional_caller() -> None:
    project = example("blog")
    post = next(e for e in project.entities if e.name == "post")

    callers = handler_callers(project, entity_context(project, post))

    assert callers["create"].parameter == "caller: SignedInCallerDep"
    assert callers["restore"].parameter == "caller: SignedInCallerDep"
    assert callers["create"].arguments == "caller.session, caller.principal"
    # reads take the session and the caller from their cache lookup
    assert callers["read"].parameter == "read: CachedRow"
    assert callers["read"].principal == "read.principal"


def test_without_auth_no_principal_at_all() -> None:
    project = example("weather")
    station = project.entities[0]

    callers = handler_callers(project, entity_context(project, station)).values()
    assert {caller.principal for caller in callers} == {""}
    assert {caller.arguments for caller in callers} == {"session", "read.session"}


def test_peers_are_the_users_whose_rows_stay_private_to_each_other() -> None:
    project = example("blog")
    users = fuzz.fuzz_users(project)
    peers = {u.role for u in fuzz.private_peers(project, users)}
    # A plain user reads only its own follows; an admin reads every follow.
    assert "user" in peers and "admin" not in peers


@pytest.mark.parametrize("case", ["tenancy", "entity_options"])
def test_without_a_private_entity_there_are_no_peers(case: str) -> None:
    # Every WFC user reads every row its role may read (one tenant for all): a peer reading
    # another's object is allowed, and Schemathesis would report it as a bypass.
    projects, diags = compile_specs(ROOT / "tests" / "cases" / case / "spec")
    assert not diags.has_errors
    project = projects[0]

    assert fuzz.private_peers(project, fuzz.fuzz_users(project)) == []


def test_the_schemathesis_test_draws_no_constants_from_the_code_under_test() -> None:
    """Hypothesis mixes into its draws constants of the modules imported so far that lie outside
    any `tests` folder: a golden case's suite drew other values in place (under tests/cases/)
    than in a copy, and after other tests than alone. The generated test turns that off, through
    an internal that must still exist."""
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    assert callable(providers._get_local_constants)
    assert not Constants().strings and not Constants().integers
    text = files(example("blog"))["tests/test_schemathesis.py"]

    assert 'monkeypatch.setattr(providers, "_get_local_constants", Constants)' in text
    assert "@pytest.fixture(autouse=True)\ndef no_constants_from_the_code(" in text


def test_the_wfc_users_are_put_back_after_a_call_that_may_change_one() -> None:
    """Found by the `entity_options` case's suite: `DELETE /members/{id}` as user-1 deleted
    user-1 (a member may delete itself), and every later operation sent as user-1 failed to
    sign in."""
    projects, diags = compile_specs(ROOT / "tests" / "cases" / "entity_options" / "spec")
    assert not diags.has_errors
    project = projects[0]

    assert fuzz.user_writes(project) == [
        "DELETE /api/v1/members/{id}",
        "PATCH /api/v1/members/{id}",
    ]
    text = files(project)["tests/test_schemathesis.py"]
    assert "if case.operation.label in USER_WRITES:" in text
    assert "USER_WRITES" not in files(example("weather"))["tests/test_schemathesis.py"]
