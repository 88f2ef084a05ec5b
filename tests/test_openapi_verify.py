"""The reference for the IR renderer: the document each generated app serves when it is
imported (`GEN_OPENAPI=verify` in one subprocess per project), for every example and every
golden case that has an openapi.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.diagnostics import Diagnostics
from generator.emit import emit_project
from generator.format import format_python
from generator.openapi import openapi_document
from generator.openapi_document import render_openapi_text
from generator.pipeline import compile_specs, plan_migrations
from tests.test_openapi_render import documents

pytestmark = pytest.mark.slow


def _id(item: tuple[Path, Path]) -> str:
    return item[1].parent.relative_to(Path(__file__).resolve().parent.parent).as_posix()


@pytest.mark.parametrize("spec_and_document", documents(), ids=_id)
def test_imported_app_serves_the_rendered_document(spec_and_document: tuple[Path, Path]) -> None:
    spec, document = spec_and_document
    projects, diags = compile_specs(spec)
    assert not diags.has_errors
    (project,) = [p for p in projects if p.api.name == document.parent.name]
    migrations = plan_migrations(project, None, True, Diagnostics())
    files = {r.path: r.content for r in emit_project(project, migrations)}
    files = format_python(files, cache_dir=None)
    assert openapi_document(project.api.name, files, None) == render_openapi_text(project)
