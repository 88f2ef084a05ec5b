"""The JSON Schema of the language: committed for editors, and it agrees with the validator."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from generator import ir
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


def test_each_writable_field_is_typed_once_for_the_create_and_update_models(
    projects: dict[str, ir.Project], monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.emit import schemas

    project = projects["blog"]
    entity = next(e for e in project.entities if schemas.writable_fields(e))
    typed: list[str] = []
    real = schemas.input_type

    def counted(module: schemas.SchemaModule, f: ir.Field, **kw: bool) -> str:
        typed.append(f.name)
        return real(module, f, **kw)

    monkeypatch.setattr(schemas, "input_type", counted)
    schemas.entity_schemas(project, entity)
    writable = [f.name for f in schemas.writable_fields(entity)]
    assert typed[: len(writable)] == writable
    assert all(typed.count(name) == 1 for name in writable)
