"""The typed client of a generated project, derived from its `openapi.json` alone.

`<pkg>/client/models.py` holds the Pydantic v2 models datamodel-code-generator makes of the
document's component schemas; `<pkg>/client/api.py` is our template: one async method per
operation, named by its operationId, around an `httpx.AsyncClient`, and the table of response
models per operation that the generated tests check every response against.

The models are rendered by `generator.client_models` (milliseconds); datamodel-code-generator
itself (about 10 ms per schema, linear, cached by the document's hash) stays the reference,
selected by the environment variable `GEN_CLIENT`:

- unset or `render`: render them; a document with a construct the renderer does not reproduce
  (`client_models.Unsupported`) falls back to datamodel-code-generator;
- `datamodel`: run datamodel-code-generator only;
- `verify`: both, and fail unless the two modules are equal once formatted.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib.metadata
import json
import keyword
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import ir, jsontext, modes
from generator.client_models import (
    MODELS_HEADER,
    Event,
    ModelsMemo,
    Unsupported,
    render_models,
)
from generator.client_models import class_name as class_name
from generator.emit.base import header, render
from generator.emit.literals import py_literal
from generator.incremental import BuildCache, CacheMismatch
from generator.openapi import cached_text
from generator.openapi_document import DocumentText

_CACHE_VERSION = "gen-client-models-v1"
UNKNOWN_UUID = "00000000-0000-4000-8000-999999999999"
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCALARS = {"integer": "int", "number": "float", "boolean": "bool", "string": "str"}
# Names the generated methods use for themselves.
_TAKEN = frozenset({"self", "body", "headers", "response", "models"})


class ClientError(Exception):
    """The OpenAPI document has something the typed client cannot express, or
    (`GEN_CLIENT=verify`) the rendered models differ from datamodel-code-generator's."""


@dataclass(frozen=True)
class Parameter:
    """One path or query parameter of an operation, with its Python annotation."""

    name: str
    annotation: str
    required: bool


@dataclass(frozen=True)
class Operation:
    """One operation as the client calls it."""

    name: str
    method: str
    path: str
    summary: str
    path_params: tuple[Parameter, ...]
    query_params: tuple[Parameter, ...]
    body: str | None
    result: str | None
    responses: tuple[tuple[str, str | None], ...]
    public: bool


def _ref_class(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return None
    return class_name(ref.rsplit("/", 1)[-1])


def annotation(schema: Mapping[str, Any]) -> str:
    """The Python type of a parameter's schema; models are referred to as `models.X`."""
    branches = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if len(branches) == 1:
        return annotation(branches[0])
    if branches:
        return " | ".join(dict.fromkeys(annotation(b) for b in branches))
    ref = _ref_class(schema)
    if ref is not None:
        return f"models.{ref}"
    kind = schema.get("type")
    if kind == "array":
        return f"Sequence[{annotation(schema.get('items', {}))}]"
    return _SCALARS.get(str(kind), "str")


def _identifier(name: str, what: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_") or name in _TAKEN:
        raise ClientError(f"{what} `{name}` is not a Python name the client can use")
    return name


def _json_class(content: Mapping[str, Any] | None) -> str | None:
    schema = (content or {}).get("application/json", {}).get("schema")
    return _ref_class(schema) if isinstance(schema, Mapping) else None


def _parameters(operation: Mapping[str, Any], where: str) -> tuple[Parameter, ...]:
    found = [p for p in operation.get("parameters", ()) if p.get("in") == where]
    return tuple(
        Parameter(
            _identifier(p["name"], "parameter"),
            annotation(p.get("schema", {})),
            bool(p.get("required", False)),
        )
        for p in found
    )


def _operation(method: str, path: str, operation: Mapping[str, Any]) -> Operation:
    responses = tuple(
        (str(status), _json_class(answer.get("content")))
        for status, answer in sorted(operation.get("responses", {}).items())
    )
    successes = [model for status, model in responses if status.startswith("2")]
    return Operation(
        name=_identifier(str(operation.get("operationId", "")), "operationId"),
        method=method.upper(),
        path=path,
        summary=str(operation.get("summary") or operation.get("operationId")),
        path_params=_parameters(operation, "path"),
        query_params=_parameters(operation, "query"),
        body=_json_class(operation.get("requestBody", {}).get("content")),
        result=successes[0] if successes else None,
        responses=responses,
        public="security" not in operation or {} in operation["security"],
    )


def operations(document: Mapping[str, Any]) -> tuple[Operation, ...]:
    """Every operation of the document, in the document's order of paths and methods."""
    found = [
        _operation(method, path, item[method])
        for path, item in document.get("paths", {}).items()
        for method in _HTTP_METHODS
        if method in item
    ]
    counts = Counter(op.name for op in found)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise ClientError(f"operationIds used twice: {', '.join(duplicates)}")
    return tuple(found)


def without_defaults(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with every `default` removed from its component schemas.

    Defaults are the server's business: the client sends only the fields set, and a JSON
    default (a decimal as "0", a time as "09:00:00") would not type-check as the field's type.
    """
    result = copy.deepcopy(dict(document))

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("default", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(result.get("components", {}))
    return result


def _generate_models(document: Mapping[str, Any]) -> str:
    from datamodel_code_generator import PythonVersion, generate
    from datamodel_code_generator.enums import DataModelType, InputFileType
    from datamodel_code_generator.format import Formatter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = generate(
            json.dumps(without_defaults(document)),
            input_file_type=InputFileType.OpenAPI,
            output_model_type=DataModelType.PydanticV2BaseModel,
            target_python_version=PythonVersion.PY_311,
            disable_timestamp=True,
            use_annotated=True,
            use_standard_collections=True,
            use_union_operator=True,
            field_constraints=True,
            extra_fields="forbid",
            use_double_quotes=True,
            use_schema_description=True,
            set_default_enum_member=True,
            formatters=[Formatter.BUILTIN],
            custom_file_header=MODELS_HEADER,
        )
    if not isinstance(text, str):
        raise ClientError("datamodel-code-generator returned several modules, expected one")
    return text


def _models_key(openapi_text: str) -> str:
    digest = hashlib.sha256()
    version = importlib.metadata.version("datamodel-code-generator")
    for part in (_CACHE_VERSION, version, openapi_text):
        data = part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def datamodel_models(openapi_text: str, cache_dir: Path | None) -> str:
    """datamodel-code-generator's `models.py` for the document (unformatted), from the cache
    when it has seen the document."""
    cached = cache_dir / f"client-{_models_key(openapi_text)}.py" if cache_dir else None
    return cached_text(cached, lambda: _generate_models(json.loads(openapi_text)))


def client_mode() -> str:
    """What `GEN_CLIENT` selects: `render` (unset), `datamodel` or `verify`."""
    try:
        return modes.mode("GEN_CLIENT")
    except modes.ModeError as exc:
        raise ClientError(str(exc)) from None


class OpenApiText:
    """openapi.json as its text, parsed only when something needs its data; the texts of its
    members: those it was put together from (`DocumentText`), else as the document holds them
    (`jsontext.member_texts`: None when it is not written with indent 2)."""

    def __init__(self, text: str, data: Mapping[str, Any] | None = None) -> None:
        self.text = text
        self._data = data
        self.placed = text if isinstance(text, DocumentText) else None
        top = jsontext.member_texts(text.removesuffix("\n")) if self.placed is None else None
        self.members = top or {}
        self._schemas = self.placed.schemas if self.placed is not None else None
        self.written = top is not None  # with indent 2: the member texts are usable

    @property
    def data(self) -> Mapping[str, Any]:
        if self._data is None:
            self._data = json.loads(self.text)
        return self._data

    def paths(self) -> Mapping[str, Any]:
        """The document's `paths`; parsed from the texts it was put together from when they are
        at hand: not the whole document (0.03 s of the build's worker at N=200)."""
        if self.placed is not None and self._data is None:
            return {path: json.loads(text) for path, text in self.placed.paths.items()}
        paths: Mapping[str, Any] = self.data.get("paths", {})
        return paths

    def paths_digest(self) -> str:
        """A digest of the document's `paths`: equal digests, equal paths."""
        digest = hashlib.blake2b(digest_size=16)
        if self.placed is not None:
            # each path and its item's text, by length: the text of `paths` is made of them
            digest.update(b"placed:")
            for part in (p for item in self.placed.paths.items() for p in item):
                data = part.encode("utf-8", "surrogatepass")
                digest.update(len(data).to_bytes(8, "big"))
                digest.update(data)
        elif self.written:
            # the text of `paths` as the document holds it (not encoded again: 0.02 s at N=200)
            digest.update(f"text:{self.members.get('paths', 'absent')}".encode())
        else:
            paths = json.dumps(self.data.get("paths", {}), separators=(",", ":"))
            digest.update(f"json:{paths}".encode())
        return digest.hexdigest()

    def schema_texts(self) -> dict[str, str] | None:
        """The text of each component schema (None when the document is not so written)."""
        if self._schemas is None and self.written:
            components = jsontext.member_texts(self.members.get("components", "{}"), 1)
            if components is not None:
                self._schemas = jsontext.member_texts(components.get("schemas", "{}"), 2)
        return self._schemas


class _SchemasFromText(Mapping[str, Any]):
    """The component schemas, each parsed from its text when it is read."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts = texts

    def __getitem__(self, name: str) -> Any:
        return json.loads(self._texts[name])

    def __contains__(self, name: object) -> bool:
        return name in self._texts

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


#: The build-cache entries of what rendering each component of the client models gave
#: (`client_models.ModelsMemo`), by this prefix and the component's key.
MODELS_MEMO = "client model\0"


def _rendered_models(document: OpenApiText, cache: BuildCache | None) -> str:
    """`render_models` of the document's component schemas; with a cache, each component the
    last build rendered is reused when its schema and what it asked are the same."""
    texts = document.schema_texts()
    if cache is None or cache.path is None or texts is None:
        return render_models(document.data.get("components", {}).get("schemas", {}))
    keys = {
        name: hashlib.blake2b(f"{name}\0{text}".encode(), digest_size=16).hexdigest()
        for name, text in texts.items()
    }

    handed: dict[str, list[Event]] = {}

    def recorded(key: str) -> list[Event] | None:
        events = cache.stored(MODELS_MEMO + key)
        if not isinstance(events, list):
            return None
        handed[key] = events
        return events

    memo = ModelsMemo(keys, recorded)
    rendered = render_models(_SchemasFromText(texts), memo)
    if cache.mode == "verify" and memo.hits and rendered != render_models(_SchemasFromText(texts)):
        raise CacheMismatch("GEN_EMIT_CACHE=verify: the client models from the cache differ")
    for key, events in memo.new.items():
        if events is handed.get(key):
            # Replayed, which reads the events and never changes them: the stored entry holds
            # them already (storing 1,000 of them again cost 6 ms of the build's worker).
            cache.keep(MODELS_MEMO + key)
        else:
            cache.store(MODELS_MEMO + key, events)
    return rendered


def client_models(
    openapi_text: str,
    cache_dir: Path | None,
    document: Mapping[str, Any] | OpenApiText | None = None,
    cache: BuildCache | None = None,
) -> str:
    """`models.py` for the document (unformatted), by the means `GEN_CLIENT` selects."""
    mode = client_mode()
    if mode == "datamodel":
        return datamodel_models(openapi_text, cache_dir)
    if not isinstance(document, OpenApiText):
        document = OpenApiText(openapi_text, document)
    try:
        rendered = _rendered_models(document, cache)
    except Unsupported:
        return datamodel_models(openapi_text, cache_dir)
    if mode == "verify":
        verify_models(rendered, datamodel_models(openapi_text, cache_dir), cache_dir)
    return rendered


def verify_models(rendered: str, reference: str, cache_dir: Path | None) -> None:
    """Raise ClientError unless the two modules are the same text once `ruff format`ted (the
    rendered one leaves line wrapping to the formatter)."""
    from generator.format import format_python

    formatted = format_python(
        {"rendered.py": rendered, "datamodel.py": reference}, cache_dir=cache_dir
    )
    if formatted["rendered.py"] != formatted["datamodel.py"]:
        diff = difflib.unified_diff(
            formatted["datamodel.py"].splitlines(),
            formatted["rendered.py"].splitlines(),
            "models.py (datamodel-code-generator)",
            "models.py (rendered)",
            lineterm="",
        )
        lines = list(diff)
        more = f"\n... {len(lines) - 80} more lines" if len(lines) > 80 else ""
        raise ClientError(
            "GEN_CLIENT=verify: the rendered client models differ:\n" + "\n".join(lines[:80]) + more
        )


def path_expression(path: str) -> str:
    """Python source building the request path: literal parts and quoted path parameters."""
    pieces = re.split(r"\{(\w+)\}", path)
    parts = [
        f"_segment({piece})" if index % 2 else py_literal(piece)
        for index, piece in enumerate(pieces)
        if index % 2 or piece
    ]
    return " + ".join(parts)


def path_pattern(path: str) -> str:
    """A regular expression matching the concrete paths of a path template."""
    pieces = re.split(r"\{\w+\}", path)
    return "^" + "[^/]+".join(re.escape(piece) for piece in pieces) + "$"


def defined_classes(models_text: str) -> frozenset[str]:
    """The top-level class names of a models module."""
    # A line's start as a line break: the search skips to each `\n` (`^` tries every position).
    return frozenset(re.findall(r"\nclass (\w+)\b", "\n" + models_text))


@dataclass(frozen=True)
class OperationSource:
    """An operation with the Python source `client/api.py.j2` writes of it, made here once
    (the template wrote each literal by a call: 0.02 s of the build's worker at N=200)."""

    op: Operation
    method: str
    path: str
    pattern: str
    expression: str
    responses: tuple[tuple[str, str], ...]  # (status, the model's class or `None`)


def operation_source(op: Operation) -> OperationSource:
    return OperationSource(
        op,
        method=py_literal(op.method),
        path=py_literal(op.path),
        pattern=py_literal(path_pattern(op.path)),
        expression=path_expression(op.path),
        responses=tuple(
            (py_literal(status), f"models.{model}" if model else "None")
            for status, model in op.responses
        ),
    )


def used_classes(found: tuple[Operation, ...]) -> frozenset[str]:
    """The model classes the operations name."""
    used = {op.body for op in found} | {m for op in found for _, m in op.responses}
    used |= {
        name.removeprefix("models.")
        for op in found
        for p in (*op.path_params, *op.query_params)
        for name in re.findall(r"models\.\w+", p.annotation)
    }
    return frozenset(name for name in used if name is not None)


def _check_names(used: frozenset[str], classes: frozenset[str]) -> None:
    missing = sorted(used - classes)
    if missing:
        raise ClientError(f"client models lack the classes {', '.join(missing)}")


def client_files(
    project: ir.Project,
    openapi_text: str,
    cache_dir: Path | None,
    cache: BuildCache | None = None,
) -> dict[str, str]:
    """The client's modules, `{path: unformatted text}`, under `<package>/<package>/client/`.

    With a cache, the modules made from the operations (all but the models) are kept by the
    document's `paths`, the only part of it they read, and the project's names they print."""
    package = project.api.name
    document = OpenApiText(openapi_text)
    models_text = client_models(openapi_text, cache_dir, document, cache)
    context = {
        "header": header(project),
        "package": package,
        "title": " ".join(project.api.title.split()),
    }

    def operation_modules(_: ir.Project) -> tuple[list[str], str, str, str | None]:
        found = operations({"paths": document.paths()})
        full = {**context, "operations": found}
        sources = [operation_source(op) for op in found]
        checked = checked_operations(found)
        return (
            sorted(used_classes(found)),
            render("client/__init__.py.j2", **full),
            render("client/api.py.j2", **context, sources=sources),
            render("client/test_client.py.j2", **full, **checked) if checked else None,
        )

    if cache is None or cache.path is None:
        used, init, api, test = operation_modules(project)
    else:
        key = "\0".join(["client", document.paths_digest(), *context.values()])
        used, init, api, test = cache.unit(key, operation_modules)
    _check_names(frozenset(used), defined_classes(models_text))
    prefix = f"{package}/{package}/client"
    files = {
        f"{prefix}/__init__.py": init,
        f"{prefix}/api.py": api,
        f"{prefix}/models.py": models_text,
    }
    if test is not None:
        files[f"{package}/tests/test_client.py"] = test
    return files


def checked_operations(found: tuple[Operation, ...]) -> dict[str, str] | None:
    """The public operations the generated client test calls: a list taking `page` and `limit`,
    and a read by id that documents a 404 (with an id no row has); None without both."""
    lists = [
        op.name
        for op in found
        if op.method == "GET"
        and op.public
        and op.name.startswith("list_")
        and {"page", "limit"} <= {p.name for p in op.query_params}
        and not any(p.required for p in (*op.path_params, *op.query_params))
    ]
    reads = [
        op
        for op in found
        if op.method == "GET"
        and op.public
        and len(op.path_params) == 1
        and op.path_params[0].annotation in ("int", "str")
        and ("404", "ErrorEnvelope") in op.responses
        and not any(p.required for p in op.query_params)
    ]
    if not lists or not reads:
        return None
    missing = 999999999 if reads[0].path_params[0].annotation == "int" else UNKNOWN_UUID
    return {"list_op": lists[0], "get_op": reads[0].name, "missing_id": py_literal(missing)}
