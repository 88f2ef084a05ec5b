"""The reference for the client-models renderer: datamodel-code-generator itself
(`GEN_CLIENT=verify`) over every example's and golden case's openapi.json, a build of an
example in verify mode, and the fallback for a construct the renderer refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.client import ClientError, client_models, datamodel_models, verify_models
from generator.client_models import Unsupported, render_models
from generator.pipeline import build
from tests.test_client_models import DOCUMENTS, ROOT

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "document", DOCUMENTS, ids=[d.parent.relative_to(ROOT).as_posix() for d in DOCUMENTS]
)
def test_verify_mode_accepts_every_committed_document(
    document: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEN_CLIENT", "verify")
    text = document.read_text(encoding="utf-8")
    assert client_models(text, None) == render_models(json.loads(text)["components"]["schemas"])


def test_a_verify_build_of_an_example_writes_the_committed_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEN_CLIENT", "verify")
    result = build(ROOT / "specs" / "weather", cache_dir=None)
    path = "weather/weather/client/models.py"
    assert result.files[path] == (ROOT / "output" / path).read_text(encoding="utf-8")


def _document(schemas: dict[str, object]) -> str:
    info = {"title": "t", "version": "1"}
    return json.dumps(
        {"openapi": "3.1.0", "info": info, "paths": {}, "components": {"schemas": schemas}}
    )


def test_a_document_the_renderer_refuses_is_left_to_datamodel_code_generator() -> None:
    schemas = {"M": {"type": "object", "properties": {"v": {"oneOf": [{"type": "string"}]}}}}
    with pytest.raises(Unsupported):
        render_models(schemas)
    text = _document(schemas)
    assert client_models(text, None) == datamodel_models(text, None)


def test_verify_fails_on_a_difference() -> None:
    schemas = {"M": {"type": "object", "properties": {"v": {"type": "integer"}}}}
    reference = datamodel_models(_document(schemas), None)
    with pytest.raises(ClientError, match="differ"):
        verify_models(reference.replace("v: int", "v: str"), reference, None)
