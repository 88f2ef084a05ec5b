"""The one type table: each spec type's storage, Python and OpenAPI shape."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class TypeInfo:
    """How one spec type is stored, typed in Python, and described in OpenAPI."""

    sql: str
    python: str
    openapi: MappingProxyType[str, Any]
    string_like: bool = False
    numeric: bool = False
    default_length: int | None = None
    pattern: str | None = None
    comparable: bool = True


def _info(sql: str, python: str, openapi: dict[str, Any], **kwargs: Any) -> TypeInfo:
    return TypeInfo(sql, python, MappingProxyType(openapi), **kwargs)


SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# Control characters, space and no-break space, spelled out: `\s` means other characters to
# Python's re (all of Unicode's spaces and \x1c-\x1f), pydantic-core's Rust regex (Unicode's
# White_Space), ECMA-262 and Schemathesis (which reads a pattern as ASCII), so a value drawn as
# valid by one was refused by another. NUL among them: PostgreSQL text refuses it.
SPACE_OR_CONTROL = r"\x00-\x20\x7f-\xa0"
EMAIL_PATTERN = rf"^[^@{SPACE_OR_CONTROL}]+@[^@{SPACE_OR_CONTROL}]+\.[^@{SPACE_OR_CONTROL}]+$"

TYPES: MappingProxyType[str, TypeInfo] = MappingProxyType(
    {
        "string": _info("string", "str", {"type": "string"}, string_like=True, default_length=255),
        "text": _info("text", "str", {"type": "string"}, string_like=True, default_length=65_535),
        "integer": _info("integer", "int", {"type": "integer", "format": "int32"}, numeric=True),
        "bigint": _info("bigint", "int", {"type": "integer", "format": "int64"}, numeric=True),
        "float": _info("float", "float", {"type": "number", "format": "double"}, numeric=True),
        "decimal": _info(
            "numeric", "Decimal", {"type": "string", "format": "decimal"}, numeric=True
        ),
        "boolean": _info("boolean", "bool", {"type": "boolean"}),
        "date": _info("date", "date", {"type": "string", "format": "date"}),
        "datetime": _info("datetime", "datetime", {"type": "string", "format": "date-time"}),
        "time": _info("time", "time", {"type": "string", "format": "time-local"}),
        "uuid": _info("uuid", "UUID", {"type": "string", "format": "uuid"}),
        "email": _info(
            "string",
            "str",
            {"type": "string", "format": "email"},
            string_like=True,
            default_length=320,
            pattern=EMAIL_PATTERN,
        ),
        "url": _info(
            "string",
            "str",
            {"type": "string", "format": "uri"},
            string_like=True,
            default_length=2048,
        ),
        "slug": _info(
            "string",
            "str",
            {"type": "string"},
            string_like=True,
            default_length=255,
            pattern=SLUG_PATTERN,
        ),
        "json": _info("json", "Any", {}, comparable=False),
        "enum": _info("string", "str", {"type": "string"}),
        "password": _info(
            "string",
            "str",
            {"type": "string", "format": "password"},
            string_like=True,
            default_length=255,
            comparable=False,
        ),
        "list": _info("child_table", "list", {"type": "array"}, comparable=False),
        "object": _info("flattened", "dict", {"type": "object"}, comparable=False),
    }
)

FIELD_TYPES = tuple(TYPES)
STRING_LIKE = frozenset(name for name, info in TYPES.items() if info.string_like)
NUMERIC = frozenset(name for name, info in TYPES.items() if info.numeric)
TEMPORAL = frozenset({"date", "datetime", "time"})

# Stored length of a password column: an Argon2id PHC string, never the password itself.
PASSWORD_HASH_LENGTH = 255
# Longest password accepted on input (OWASP: cap input to avoid hashing huge strings).
PASSWORD_MAX_LENGTH = 1024
DEFAULT_DECIMAL = (18, 2)


def type_info(kind: str) -> TypeInfo:
    """The row of the table for a spec type."""
    return TYPES[kind]
