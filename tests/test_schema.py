"""The JSON Schema of the language: committed for editors, and it agrees with the validator."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "spec.schema.json").read_text(encoding="utf-8"))
EXAMPLE_FILES = sorted((ROOT / "specs").rglob("*.yaml"))


def test_committed_schema_is_what_gen_schema_prints() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert json.loads(result.stdout) == SCHEMA, "run: gen schema > docs/spec.schema.json"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_spec_file_validates_against_the_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, SCHEMA)


@pytest.mark.parametrize(
    "document",
    [
        {"api": {"name": "x", "titel": "typo"}},
        {"entities": {"post": {"fields": {"title": {"type": "string", "max_lenght": 3}}}}},
        {"api": {"name": "x", "id_type": "serial"}},
        {"roles": ["admin"]},
    ],
)
def test_invalid_documents_fail_the_schema(document: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)
