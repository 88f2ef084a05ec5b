"""Shared test options (`pytest --update-goldens` rewrites golden expectations), the order
tests run in, the example specs compiled once, and one build of them shared by the slow modules."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest

from generator import ir
from generator.pipeline import build, compile_specs
from generator.write import write_output

# Golden expectations hold generated test suites; they are compared as text, not collected.
collect_ignore_glob = ["cases/*"]

# The gen commands the tests run build in their own process, never in a `gen daemon` the
# developer may have running (tests/test_daemon.py starts its own, each in a HOME of its own).
os.environ["GEN_DAEMON"] = "off"

SPECS = Path(__file__).resolve().parent.parent / "specs"


@pytest.fixture(scope="session")
def projects() -> dict[str, ir.Project]:
    """The example spec sets, compiled (the IR is frozen: one compile serves every test)."""
    compiled, diags = compile_specs(SPECS, "specs")
    assert not diags.has_errors
    return {p.api.name: p for p in compiled}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/cases/*/expected and stderr.txt from the current generator",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


# -- one build of the example specs per run, shared by the modules and pytest-xdist workers ----

ROOT = Path(__file__).resolve().parent.parent
# Run the costliest tests first, so that the cheap ones fill the workers' idle ends (pytest-xdist
# hands tests out in collection order). Matched against the start of a test's node id.
COSTLIEST_FIRST = (
    "tests/test_generated_projects.py::test_generated_suite_passes_on_postgresql[shop]",
    "tests/test_generated_projects.py::test_generated_suite_passes_on_sqlite[shop]",
    "tests/test_generated_projects.py::test_schemathesis_finds_nothing",
    "tests/test_generated_projects.py::test_generated_suite_passes",
    "tests/test_golden_suites.py",
    "tests/test_first_run.py",
    "tests/test_evolution.py",
    "tests/test_mutations.py",
    "tests/test_generated_projects.py::test_mypy_strict_passes",
    "tests/test_two_instances.py",
    "tests/test_precommit.py",
)


def cost_rank(item: pytest.Item) -> int:
    """Where `item` runs: COSTLIEST_FIRST in order, then the other slow tests, then the rest."""
    for rank, prefix in enumerate(COSTLIEST_FIRST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(COSTLIEST_FIRST) + (0 if item.get_closest_marker("slow") else 1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=cost_rank)  # stable: the order within a rank is pytest's


@pytest.fixture(scope="session")
def built_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """output/ as the specs build it now: built once over a copy of the committed output (so
    the migration history is the committed one, extended if the specs changed), by the first
    pytest-xdist worker that asks; the others wait for it and read the same folder."""
    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    out, done = shared / "built-output", shared / "built-output.done"
    with (shared / "built-output.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            # Not what runs left in output/: a Hypothesis example database would replay them.
            leftovers = shutil.ignore_patterns(".hypothesis", ".*_cache", "__pycache__", "*.db")
            shutil.copytree(ROOT / "output", out, ignore=leftovers)
            result = build(ROOT / "specs", out_dir=out, label_root="specs")
            assert result.ok, [d.render() for d in result.diagnostics]
            write_output(out, result.files, result.once)
            done.touch()
    return out
