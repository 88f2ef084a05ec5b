"""Names: one place that turns spec names into table, class, URL and Python names.

Spec names are lowercase ASCII snake_case. The wire name (JSON key, column name) stays as
written; only Python identifiers are mangled, always the same way, by appending `_`.
"""

from __future__ import annotations

import functools
import hashlib
import keyword
import re
import unicodedata

MAX_IDENTIFIER_BYTES = 63

# Attribute names that a pydantic model or a SQLAlchemy declarative class already uses.
RESERVED_ATTRIBUTES = frozenset(
    {
        "metadata",
        "registry",
        "query",
        "query_class",
        "awaitable_attrs",
        "model_config",
        "model_fields",
        "model_computed_fields",
        "model_extra",
        "model_fields_set",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
        "copy",
        "dict",
        "json",
        "schema",
        "schema_json",
        "construct",
        "validate",
        "fields",
        "self",
        "cls",
    }
)

# Class names the generated modules import or define themselves.
RESERVED_CLASS_NAMES = frozenset(
    {
        "Base",
        "Any",
        "Annotated",
        "BaseModel",
        "ConfigDict",
        "Field",
        "Mapped",
        "Decimal",
        "Enum",
        "StrEnum",
        "Optional",
        "List",
        "Dict",
        "Uuid",
        "UUID",
        "Session",
        "AsyncSession",
        "Select",
        "Request",
        "Response",
        "APIRouter",
        "Depends",
        "Query",
        "Path",
        "Body",
        "HTTPException",
        "Page",
        "Envelope",
        "ListEnvelope",
        "ErrorEnvelope",
        "AppError",
        "Settings",
    }
)

_IRREGULAR_PLURALS = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "goose": "geese",
    "foot": "feet",
    "tooth": "teeth",
    "ox": "oxen",
    "datum": "data",
    "criterion": "criteria",
    "index": "indices",
    "matrix": "matrices",
    "vertex": "vertices",
    "analysis": "analyses",
    "axis": "axes",
    "crisis": "crises",
    "thesis": "theses",
    "leaf": "leaves",
    "life": "lives",
    "knife": "knives",
    "wife": "wives",
    "half": "halves",
    "shelf": "shelves",
    "quiz": "quizzes",
}
_UNCOUNTABLE = frozenset(
    {
        "news",
        "series",
        "species",
        "information",
        "equipment",
        "data",
        "media",
        "staff",
        "sheep",
        "fish",
        "deer",
        "metadata",
        "feedback",
        "software",
        "hardware",
        "inventory",
        "settings",
    }
)

# Names the auth block takes: the refresh-token table and model, and the auth routes' modules
# (routes/auth.py, services/auth.py, schemas/auth.py), so no entity may take them.
REFRESH_TOKEN_TABLE = "refresh_tokens"
REFRESH_TOKEN_CLASS = "RefreshToken"
AUTH_MODULE_CLASS = "Auth"


#: The names of a spec are asked for by the rules, the resolver, the normalizer and every
#: emitter, each many times a build: pure functions of one string, remembered (bounded).
_memo = functools.lru_cache(maxsize=8192)


@_memo
def pluralize(name: str) -> str:
    """English plural of a snake_case name, last word only (order_line -> order_lines)."""
    head, _, last = name.rpartition("_")
    prefix = f"{head}_" if head else ""
    return prefix + _plural_word(last)


def _plural_word(word: str) -> str:
    if word in _UNCOUNTABLE or not word:
        return word
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


@_memo
def pascal(name: str) -> str:
    """order_line -> OrderLine (digits kept: line_2 -> Line2)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def camel(name: str) -> str:
    """order_line -> orderLine."""
    first, *rest = name.split("_")
    return first + pascal("_".join(rest))


def kebab(name: str) -> str:
    """order_line -> order-line."""
    return name.replace("_", "-")


def table_name(entity: str) -> str:
    """Default table of an entity: plural snake_case."""
    return pluralize(entity)


def url_path(entity: str) -> str:
    """Default URL segment of an entity: plural kebab-case."""
    return kebab(pluralize(entity))


@_memo
def py_attr(name: str) -> str:
    """A safe Python attribute name for a spec name (keywords and reserved names get `_`)."""
    if keyword.iskeyword(name) or name in RESERVED_ATTRIBUTES or name.startswith("model_"):
        return name + "_"
    return name


@_memo
def class_name(name: str) -> str:
    """The Python class for an entity or enum (reserved class names get `_`)."""
    result = pascal(name)
    return result + "_" if result in RESERVED_CLASS_NAMES else result


@_memo
def enum_member(value: str) -> str:
    """An UPPER_SNAKE member name for any enum value (`PG-13` -> PG_13, `2fa` -> V_2FA)."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    name = re.sub(r"[^0-9A-Za-z]+", "_", ascii_text).strip("_").upper()
    if not name:
        name = "V_" + hashlib.sha256(value.encode()).hexdigest()[:8].upper()
    if name[0].isdigit():
        name = "V_" + name
    if name.startswith("_") or name in {"NAME", "VALUE"}:
        name = "V_" + name.lstrip("_")
    return name


def fits_identifier(name: str) -> bool:
    """True when a SQL identifier fits PostgreSQL's 63-byte limit."""
    return len(name.encode()) <= MAX_IDENTIFIER_BYTES


def constraint_name(name: str) -> str:
    """A constraint name of at most 63 bytes: long names keep a prefix and a content hash."""
    if fits_identifier(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER_BYTES - 9]}_{digest}"


SNAKE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def is_spec_name(name: str) -> bool:
    """Valid spec name: lowercase ASCII snake_case, no `__`, no trailing `_`."""
    return bool(SNAKE_NAME.match(name)) and "__" not in name and not name.endswith("_")


def to_snake(text: str) -> str:
    """A best-effort snake_case spelling, for hints (`OrderLine` -> order_line)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    spaced = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", ascii_text)
    snake = re.sub(r"[^0-9a-zA-Z]+", "_", spaced).strip("_").lower()
    snake = re.sub(r"_+", "_", snake)
    if snake and snake[0].isdigit():
        snake = "n_" + snake
    return snake or "name"


_SINGULAR_IRREGULAR = {plural: single for single, plural in _IRREGULAR_PLURALS.items()}


@_memo
def singularize(name: str) -> str:
    """The singular of a snake_case plural, for wire names (categories -> category)."""
    head, _, last = name.rpartition("_")
    prefix = f"{head}_" if head else ""
    return prefix + _singular_word(last)


def _singular_word(word: str) -> str:
    if word in _UNCOUNTABLE or len(word) < 3:
        return word
    if word in _SINGULAR_IRREGULAR:
        return _SINGULAR_IRREGULAR[word]
    if word.endswith("ies"):
        return word[:-3] + "y"
    if re.search(r"(ss|x|z|ch|sh)es$", word) or word.endswith("uses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
