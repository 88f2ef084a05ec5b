"""Every generated openapi.json is a valid OpenAPI document (openapi-spec-validator)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted((ROOT / "output").glob("*/openapi.json"))


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.parent.name)
def test_openapi_document_is_valid(path: Path) -> None:
    validate(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.parent.name)
def test_every_string_has_a_max_length_and_every_array_max_items(path: Path) -> None:
    """OWASP API4: unbounded input is refused by the schema itself (request bodies)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    unbounded = []
    for name, schema in schemas.items():
        if not name.endswith(("Create", "Update")):
            continue
        for field, spec in schema.get("properties", {}).items():
            for option in spec.get("anyOf", [spec]):
                if (
                    option.get("type") == "string"
                    and "maxLength" not in option
                    and "format" not in option
                    and "enum" not in option
                ):
                    unbounded.append(f"{name}.{field}")
                if option.get("type") == "array" and "maxItems" not in option:
                    unbounded.append(f"{name}.{field}")
    assert unbounded == []
