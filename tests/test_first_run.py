"""First run, as the README and the tutorial say: a fresh virtualenv, `pip install .`, then
`gen build specs/` gives exactly the committed output; and `gen init` -> `gen build` gives a
project whose own tests pass. Slow: they install packages and run a generated suite."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    environment.pop("TEST_DATABASE_URL", None)
    result = subprocess.run(
        args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _differences(left: Path, right: Path) -> list[str]:
    compared = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [*compared.left_only, *compared.right_only, *compared.diff_files]
    for sub in compared.common_dirs:
        found += [f"{sub}/{d}" for d in _differences(left / sub, right / sub)]
    return found


def test_pip_install_then_gen_build_reproduces_the_committed_output(tmp_path: Path) -> None:
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(ROOT)], tmp_path)
    # The README builds into the committed output/, whose migration history (and snapshot) a
    # build extends; an empty directory would start the history over at 0001.
    shutil.copytree(ROOT / "output", tmp_path / "out")
    _run(
        [str(tmp_path / "venv" / "bin" / "gen"), "build", "specs/", "-o", str(tmp_path / "out")],
        ROOT,
        HOME=str(tmp_path),
    )
    assert _differences(tmp_path / "out", ROOT / "output") == []


def test_gen_init_builds_a_project_whose_tests_pass(tmp_path: Path) -> None:
    gen = [sys.executable, "-m", "generator"]
    _run([*gen, "init", "myapi"], tmp_path)
    _run([*gen, "build", "myapi/specs", "-o", "myapi/output"], tmp_path)
    project = tmp_path / "myapi" / "output" / "myapi"
    _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        project,
        PYTHONPATH=str(project),
    )
