""".ci/summary.py: one line per check, derived from junit XML names and parametrize ids."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_summary() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_summary", ROOT / ".ci" / "summary.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OUTER = """<testsuites><testsuite>
<testcase classname="tests.test_generated_projects" name="test_mypy_strict_passes[blog]"/>
<testcase classname="tests.test_generated_projects" name="test_mypy_strict_passes[shop]">
  <failure message="x"/></testcase>
<testcase classname="tests.test_openapi_lint" name="test_new_check[blog-extra]"/>
<testcase classname="tests.test_cases" name="test_case[basic_entity]"/>
<testcase classname="tests.test_fd" name="test_closure"/>
<testcase classname="tests.test_fd" name="test_cover"><skipped/></testcase>
</testsuite></testsuites>"""

INNER = """<testsuite>
<testcase classname="tests.test_migrations" name="test_upgrade"/>
<testcase classname="tests.test_posts" name="test_create"/>
<testcase classname="tests.test_schemathesis" name="test_api"><error message="x"/></testcase>
</testsuite>"""


def test_lines_per_check_with_counts(tmp_path: Path) -> None:
    summary = load_summary()
    (tmp_path / "outer.xml").write_text(OUTER)
    inner = tmp_path / "junit"
    inner.mkdir()
    (inner / "blog-sqlite.xml").write_text(INNER)
    lines = summary.summary(tmp_path / "outer.xml", frozenset({"blog", "shop"}), inner)
    by_label = {line[6:64].strip(): line for line in lines}
    assert sorted(by_label) == [
        "blog: generated suite on sqlite",
        "blog: mypy strict passes",
        "blog: new check",
        "blog: pytest-alembic on sqlite",
        "blog: schemathesis on sqlite",
        "generator: golden cases",
        "generator: unit tests",
        "shop: mypy strict passes",
    ]
    assert by_label["shop: mypy strict passes"].startswith("FAIL")
    assert by_label["blog: generated suite on sqlite"].split()[-6:] == [
        "2",
        "passed",
        "1",
        "failed",
        "0",
        "skipped",
    ]
    assert by_label["generator: unit tests"].split()[-6:] == [
        "1",
        "passed",
        "0",
        "failed",
        "1",
        "skipped",
    ]
    assert summary.main(["summary", str(tmp_path / "outer.xml"), "blog,shop", str(inner)]) == 1
