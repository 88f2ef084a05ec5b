"""Write a synthetic spec set of N entities, and the equivalent OpenAPI 3.0 document.

    python bench/synth.py N OUT_DIR [--max-length-bump K]

OUT_DIR/specs/api.yaml             the `api` block (name `bench`) and one shared enum
OUT_DIR/specs/entities/<e>.yaml    one file per entity
OUT_DIR/openapi.yaml               N CRUD resources for the third-party generators

Every entity has 8 mixed fields, one list field, up to 2 relations (a many_to_one to the previous
entity, a many_to_many to an earlier one; entity 0 has none, entity 1 only the many_to_one) and
permissions that name `anonymous` for every operation (there is no auth block).

`--max-length-bump K` adds K to entity 0's `title.max_length` (the "one-entity change" of
bench/run.py uses `change_one_entity()` directly). Output is deterministic: same N, same bytes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ENUM_NAME = "bench_status"
ENUM_VALUES = ["draft", "active", "on_hold", "archived"]
BASE_PATH = "/api/v1"
TITLE_MAX_LENGTH = 120
LIST_MAX_ITEMS = 10


def entity_name(i: int) -> str:
    return f"item_{i:04d}"


def plural_path(i: int) -> str:
    """The URL segment (set explicitly in the spec so both documents use the same paths)."""
    return f"items-{i:04d}"


def relations_of(i: int) -> dict[str, tuple[str, int]]:
    """{relation name: (kind, target index)}; the first entities have fewer relations."""
    rels: dict[str, tuple[str, int]] = {}
    if i >= 1:
        rels["parent"] = ("many_to_one", i - 1)
    if i >= 2:
        target = i // 2 if i // 2 != i - 1 else i - 2
        rels["links"] = ("many_to_many", target)
    return rels


# ---------------------------------------------------------------------------------------------
# YAML (written by hand: flow mappings keep each field on one line, like the example specs)
# ---------------------------------------------------------------------------------------------


def api_yaml(n: int) -> str:
    return (
        "# Synthetic benchmark spec set (bench/synth.py); do not edit by hand.\n"
        "api:\n"
        "  name: bench\n"
        f"  title: Bench API ({n} entities)\n"
        "  version: 1.0.0\n"
        f"  base_path: {BASE_PATH}\n"
        "  id_type: integer\n"
        "  timestamps: true\n"
        "  pagination: {default_limit: 20, max_limit: 100}\n"
        "\n"
        "enums:\n"
        f"  {ENUM_NAME}: [{', '.join(ENUM_VALUES)}]\n"
    )


def entity_yaml(i: int, title_max_length: int = TITLE_MAX_LENGTH) -> str:
    name = entity_name(i)
    lines = [
        "entities:",
        f"  {name}:",
        f"    description: Synthetic entity number {i}.",
        f"    path: {plural_path(i)}",
        "    fields:",
        f"      title: {{type: string, max_length: {title_max_length}, searchable: true, "
        "sortable: true}",
        "      body: text",
        "      quantity: {type: integer, min: 0, max: 100000, default: 0, sortable: true}",
        "      price: {type: decimal, precision: 12, scale: 2, min: 0}",
        "      is_active: {type: boolean, default: true, filterable: true}",
        "      due_at: {type: datetime, nullable: true, sortable: true}",
        f"      status: {{type: enum, enum: {ENUM_NAME}, default: draft, filterable: true}}",
        "      contact_email: {type: email, unique: true}",
        f"      tags: {{type: list, of: string, max_items: {LIST_MAX_ITEMS}}}",
    ]
    rels = relations_of(i)
    if rels:
        lines.append("    relations:")
        for rel, (kind, target) in rels.items():
            extra = ", required: false, on_delete: set_null" if kind == "many_to_one" else ""
            lines.append(f"      {rel}: {{type: {kind}, target: {entity_name(target)}{extra}}}")
    lines += [
        "    permissions:",
        "      list: [anonymous]",
        "      read: [anonymous]",
        "      create: [anonymous]",
        "      update: [anonymous]",
        "      delete: [anonymous]",
    ]
    return "\n".join(lines) + "\n"


def entity_file(specs: Path, i: int) -> Path:
    return specs / "entities" / f"{entity_name(i)}.yaml"


def write_specs(n: int, specs: Path) -> None:
    (specs / "entities").mkdir(parents=True, exist_ok=True)
    (specs / "api.yaml").write_text(api_yaml(n), encoding="utf-8")
    for i in range(n):
        entity_file(specs, i).write_text(entity_yaml(i), encoding="utf-8")


def change_one_entity(specs: Path, i: int = 0, bump: int = 1) -> Path:
    """Change one field's max_length in one entity's file (the incremental-rebuild case)."""
    path = entity_file(specs, i)
    old = f"max_length: {TITLE_MAX_LENGTH}"
    text = path.read_text(encoding="utf-8")
    assert old in text, path
    path.write_text(
        text.replace(old, f"max_length: {TITLE_MAX_LENGTH + bump}", 1), encoding="utf-8"
    )
    return path


# ---------------------------------------------------------------------------------------------
# OpenAPI 3.0 (JSON is valid YAML; written as JSON so no YAML library is needed)
# ---------------------------------------------------------------------------------------------


def _camel(i: int) -> str:
    return f"Item{i:04d}"


def _field_schemas() -> dict[str, dict[str, object]]:
    return {
        "title": {"type": "string", "maxLength": TITLE_MAX_LENGTH},
        "body": {"type": "string"},
        "quantity": {"type": "integer", "minimum": 0, "maximum": 100000, "default": 0},
        "price": {"type": "string", "format": "decimal", "pattern": r"^-?\d{1,10}(\.\d{1,2})?$"},
        "is_active": {"type": "boolean", "default": True},
        "due_at": {"type": "string", "format": "date-time", "nullable": True},
        "status": {"$ref": "#/components/schemas/BenchStatus"},
        "contact_email": {"type": "string", "format": "email"},
        "tags": {
            "type": "array",
            "items": {"type": "string", "maxLength": 255},
            "maxItems": LIST_MAX_ITEMS,
        },
    }


def _relation_schemas(i: int) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for rel, (kind, _target) in relations_of(i).items():
        if kind == "many_to_one":
            out[f"{rel}_id"] = {"type": "integer", "format": "int64", "nullable": True}
        else:
            out[f"{rel}_ids"] = {"type": "array", "items": {"type": "integer", "format": "int64"}}
    return out


def _schemas(i: int) -> dict[str, dict[str, object]]:
    cls = _camel(i)
    props = {**_field_schemas(), **_relation_schemas(i)}
    required_create = ["title", "body", "price", "contact_email"]
    create = {"type": "object", "properties": props, "required": required_create}
    update = {"type": "object", "properties": props}
    read_props = {
        "id": {"type": "integer", "format": "int64"},
        **props,
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    }
    read = {
        "type": "object",
        "properties": read_props,
        "required": ["id", *required_create, "created_at", "updated_at"],
    }
    page = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{cls}Read"}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "limit": {"type": "integer"},
        },
        "required": ["items", "total", "page", "limit"],
    }
    return {f"{cls}Create": create, f"{cls}Update": update, f"{cls}Read": read, f"{cls}Page": page}


def _json_body(ref: str) -> dict[str, object]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def _json_response(desc: str, ref: str) -> dict[str, object]:
    return {
        "description": desc,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def _paths(i: int) -> dict[str, dict[str, object]]:
    cls, name, seg = _camel(i), entity_name(i), plural_path(i)
    id_param = {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "format": "int64"},
    }
    list_params = [
        {
            "name": "page",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "default": 1},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        },
        {"name": "sort", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "q", "in": "query", "required": False, "schema": {"type": "string"}},
    ]
    not_found = {"description": "Not found"}
    return {
        f"{BASE_PATH}/{seg}": {
            "get": {
                "operationId": f"list_{name}",
                "tags": [name],
                "parameters": list_params,
                "responses": {"200": _json_response("A page", f"{cls}Page")},
            },
            "post": {
                "operationId": f"create_{name}",
                "tags": [name],
                "requestBody": _json_body(f"{cls}Create"),
                "responses": {
                    "201": _json_response("Created", f"{cls}Read"),
                    "422": {"description": "Invalid"},
                },
            },
        },
        f"{BASE_PATH}/{seg}/{{id}}": {
            "get": {
                "operationId": f"read_{name}",
                "tags": [name],
                "parameters": [id_param],
                "responses": {"200": _json_response("The row", f"{cls}Read"), "404": not_found},
            },
            "patch": {
                "operationId": f"update_{name}",
                "tags": [name],
                "parameters": [id_param],
                "requestBody": _json_body(f"{cls}Update"),
                "responses": {
                    "200": _json_response("Updated", f"{cls}Read"),
                    "404": not_found,
                    "422": {"description": "Invalid"},
                },
            },
            "delete": {
                "operationId": f"delete_{name}",
                "tags": [name],
                "parameters": [id_param],
                "responses": {"204": {"description": "Deleted"}, "404": not_found},
            },
        },
    }


def openapi_document(n: int) -> dict[str, object]:
    schemas: dict[str, object] = {"BenchStatus": {"type": "string", "enum": ENUM_VALUES}}
    paths: dict[str, object] = {}
    for i in range(n):
        schemas.update(_schemas(i))
        paths.update(_paths(i))
    return {
        "openapi": "3.0.3",
        "info": {"title": f"Bench API ({n} entities)", "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def write_openapi(n: int, path: Path) -> None:
    path.write_text(json.dumps(openapi_document(n), indent=1) + "\n", encoding="utf-8")


def write_all(n: int, out: Path) -> tuple[Path, Path]:
    specs = out / "specs"
    write_specs(n, specs)
    openapi = out / "openapi.yaml"
    write_openapi(n, openapi)
    return specs, openapi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--max-length-bump", type=int, default=0)
    args = parser.parse_args()
    specs, openapi = write_all(args.n, args.out)
    if args.max_length_bump:
        change_one_entity(specs, 0, args.max_length_bump)
    print(f"wrote {args.n} entities to {specs} and {openapi}")


if __name__ == "__main__":
    main()
