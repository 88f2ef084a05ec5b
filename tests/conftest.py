"""Shared test options: `pytest --update-goldens` rewrites golden expectations."""

from __future__ import annotations

import pytest

# Golden expectations hold generated test suites; they are compared as text, not collected.
collect_ignore_glob = ["cases/*"]


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
