"""Each example spec set builds into a project that passes ruff, the format check, mypy --strict
and its own pytest suite, on SQLite and (when TEST_DATABASE_URL is set) on PostgreSQL; the
generated Schemathesis test runs apart, on both.

Slow by nature (it runs the generated suites); marked `slow`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "specs").iterdir() if p.is_dir())
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def output(built_output: Path) -> Path:
    """The example projects as the specs build them now (tests/conftest.py)."""
    return built_output


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL",)}
    environment.update(env, PYTHONPATH=str(cwd))
    return subprocess.run(
        args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900, check=False
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"{result.args}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )


def suite_command(example: str, backend: str, part: str = "") -> list[str]:
    """The generated suite's pytest run; with GEN_JUNIT_DIR set (.ci/run sets it) it also
    writes `<example>-<backend>[-<part>].xml` there, for the per-check summary."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    junit_dir = os.environ.get("GEN_JUNIT_DIR")
    if junit_dir:
        name = "-".join(filter(None, (example, backend, part)))
        report = Path(junit_dir).resolve() / f"{name}.xml"
        command.append(f"--junitxml={report}")
    return command


@pytest.mark.parametrize("example", EXAMPLES)
def test_ruff_check_passes(output: Path, example: str) -> None:
    assert_ok(run([str(BIN / "ruff"), "check", "."], output / example))


@pytest.mark.parametrize("example", EXAMPLES)
def test_ruff_format_check_passes(output: Path, example: str) -> None:
    assert_ok(run([str(BIN / "ruff"), "format", "--check", "."], output / example))


@pytest.mark.parametrize("example", EXAMPLES)
def test_bandit_finds_nothing(output: Path, example: str) -> None:
    assert_ok(run([str(BIN / "bandit"), "-q", "-r", example], output / example))


@pytest.mark.parametrize("example", EXAMPLES)
def test_mypy_strict_passes(output: Path, example: str) -> None:
    project = output / example
    assert_ok(run([str(BIN / "mypy"), "--strict", example, "tests"], project))


# The generated Schemathesis test runs once per example, in its own test below, to keep CI's time.
SCHEMATHESIS_TEST = "tests/test_schemathesis.py"
WITHOUT_SCHEMATHESIS = f"--ignore={SCHEMATHESIS_TEST}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_generated_suite_passes_on_sqlite(output: Path, example: str) -> None:
    assert_ok(run([*suite_command(example, "sqlite"), WITHOUT_SCHEMATHESIS], output / example))


def postgresql_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    return url


@pytest.mark.parametrize("example", EXAMPLES)
def test_generated_suite_passes_on_postgresql(output: Path, example: str) -> None:
    """On two pytest-xdist workers (schemas of their own each): the suite mostly waits on the
    server there, and this keeps the generated suites' xdist support checked."""
    url = postgresql_url()
    command = [*suite_command(example, "postgresql"), "-n", "2", WITHOUT_SCHEMATHESIS]
    assert_ok(run(command, output / example, TEST_DATABASE_URL=url))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("example", EXAMPLES)
def test_schemathesis_finds_nothing(output: Path, example: str, backend: str) -> None:
    """The generated Schemathesis test (every check, stateful phase, fixed seed), on SQLite and
    on PostgreSQL; its stateful phase puts the database back as `prepare` left it before every
    scenario, so replays see the same rows and ids (docs/fuzzing.md)."""
    env = {"TEST_DATABASE_URL": postgresql_url()} if backend == "postgresql" else {}
    command = [*suite_command(example, backend, part="schemathesis"), SCHEMATHESIS_TEST]
    assert_ok(run(command, output / example, **env))
