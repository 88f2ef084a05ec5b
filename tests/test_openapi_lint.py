"""Every example's openapi.json passes Redocly CLI's `lint` (recommended rules) without errors.

Redocly comes from npm: `.ci/run` installs the pinned version into `.ci/node`. Elsewhere the test
skips when it is missing, except in CI (`CI=true`), where a missing linter is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "specs").iterdir() if p.is_dir())
LOCAL_REDOCLY = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "redocly"

pytestmark = pytest.mark.slow


def redocly() -> str:
    """The Redocly CLI executable: the one .ci/run installs, else one on PATH."""
    found = str(LOCAL_REDOCLY) if LOCAL_REDOCLY.is_file() else shutil.which("redocly")
    if found is None:
        message = "Redocly CLI is missing (npm install --prefix .ci/node @redocly/cli)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@pytest.mark.parametrize("example", EXAMPLES)
def test_openapi_document_passes_redocly_lint(example: str) -> None:
    document = ROOT / "output" / example / "openapi.json"
    result = subprocess.run(
        [redocly(), "lint", "--format=stylish", str(document)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
