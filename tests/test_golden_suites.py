"""The golden projects that cover what the example specs do not (object fields, inverse
relations, entity options, tenancy, every field type, roles and permissions) pass their own
generated suites on SQLite, Schemathesis included. Their expected trees are what gen emits now
(tests/test_cases.py compares them), so this runs gen's output for these specs.

Slow by nature; marked `slow`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.test_generated_projects import assert_ok, run

CASES = Path(__file__).resolve().parent / "cases"
# case -> the project its spec declares
PROJECTS = {
    "auth_roles_permissions": "journal",
    "entity_options": "wiki",
    "field_types": "kinds",
    "object_fields": "places",
    "relations_and_inverse": "forum",
    "tenancy": "saas",
}

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", sorted(PROJECTS))
def test_golden_project_suite_passes_on_sqlite(case: str, tmp_path: Path) -> None:
    project = tmp_path / PROJECTS[case]
    shutil.copytree(CASES / case / "expected" / PROJECTS[case], project)
    assert_ok(run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project))
