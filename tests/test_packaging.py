"""Packaging: the wheel lists every subpackage and ships the templates."""

from __future__ import annotations

import tomllib
from pathlib import Path

from generator.emit import base

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


def shipped(path: Path) -> bool:
    """Whether the wheel ships this file of templates/ (a package-data pattern matches it)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["generator.templates"]
    return any(
        path.match(pattern) or path.suffix == pattern.removeprefix("**/*") for pattern in patterns
    )


def test_every_template_is_shipped_as_package_data() -> None:
    templates = [
        p for p in (ROOT / "templates").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ]
    assert templates
    assert all(shipped(p) for p in templates), [p for p in templates if not shipped(p)]


def test_compiled_templates_are_not_shipped() -> None:
    """They are compiled beside the installed templates on first use (generator/emit/base.py),
    for that Python and Jinja: never taken stale from the build's machine."""
    cache = base.compiled_templates_dirs(ROOT / "templates")[0]
    names = [base.CompiledTemplates.FILE + end for end in ("", ".index", ".lock")]
    assert not any(shipped(cache / name) for name in names)
