"""Packaging: the wheel lists every subpackage and ships the templates."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_generator_subpackage_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "generator").rglob("__init__.py")
    }
    assert found | {"generator.templates"} == listed


def test_every_template_is_shipped_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["generator.templates"]
    templates = [p for p in (ROOT / "templates").rglob("*") if p.is_file()]
    assert templates
    assert all(
        any(p.match(pattern) or p.suffix == pattern.removeprefix("**/*") for pattern in patterns)
        for p in templates
    ), patterns
