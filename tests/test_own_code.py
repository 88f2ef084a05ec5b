"""gen's own code is held to the house style it asks of the code it generates: ruff's lint and
format over the package, the tests and the benchmarks, and mypy --strict over the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OWN_CODE = ("generator", "tests", "bench")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing_in_gens_own_code() -> None:
    done = _run("ruff", "check", "--no-cache", *OWN_CODE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_gens_own_code_is_ruff_formatted() -> None:
    done = _run("ruff", "format", "--check", "--no-cache", *OWN_CODE)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy_strict_passes_on_the_package() -> None:
    done = _run("mypy", "--strict", "--cache-dir", "/dev/null", "generator")
    assert done.returncode == 0, done.stdout + done.stderr
