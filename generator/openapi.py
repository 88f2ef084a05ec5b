"""openapi.json, exactly as the generated application serves it.

FastAPI derives the document from the routes and models, so the faithful way to get it is to
import the generated app: its modules are written to a temporary folder and a subprocess asks
FastAPI for the document. What is slow at scale is FastAPI building the schema of every model
(about 9 s at 200 entities) and the import itself, so the document is built and cached in parts:

* a **group** is the routes whose handler lives in one module (`routes/post.py`, `routes/auth.py`,
  `routes/health.py`, ...), in the order the app serves them (the **layout**);
* each group's **fragment** is `fastapi.openapi.utils.get_openapi` over that group's routes alone,
  with the app's title, version and options: its paths, schemas and security schemes;
* the document is the fragments merged (paths in route order, schemas sorted by name, keys in the
  order of FastAPI's `OpenAPI` model), which is what `get_openapi` does over all routes at once.

Each cache entry records the generated modules it depends on, with the sha256 of their text, and
is used only when every one of them is unchanged. The dependencies of a fragment: every module
outside the per-entity folders (`main`, `deps`, `enums`, `core/*`, every `__init__`), every
module of the group's own entity (same file name in any folder), and the modules found by walking
its routes in the subprocess: handlers, every dependency callable, every Pydantic model and enum
reachable from a parameter, a body or a response model. So a change to one entity recomputes the
fragments that show that entity's models (its own, and those that embed it), not all of them.

The subprocess always imports the whole app: the result is FastAPI's own. `GEN_OPENAPI=full`
bypasses the parts and the cache (one `app.openapi()`, as before); `GEN_OPENAPI=verify` computes
both and raises `OpenApiError` when they differ (tests/test_openapi_parts.py does this for every
example and golden case).

When the generated app changes, nothing here needs to change as long as:
1. the document is `create_app().openapi()` with FastAPI's default `openapi()` (an override, such
   as extra top-level keys or post-processing, must be applied in `_DUMP` after the merge);
2. a route's documentation comes from its module, its dependencies, its models, or modules
   outside the per-entity folders. A `responses=` constant defined in ANOTHER entity's module is
   not tracked: move it to `core/` or add its module in `_walk_route`.
Run `GEN_OPENAPI=verify gen build specs/` (or the slow test) after such a change.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

CACHE_FOLDER = "openapi-v2"
MODE_VARIABLE = "GEN_OPENAPI"

# Key order of FastAPI's `OpenAPI` and `Components` models (fastapi/openapi/models.py), which
# `get_openapi` passes its output through; the methods of a path stay in route order.
_TOP_LEVEL = (
    "openapi",
    "info",
    "jsonSchemaDialect",
    "servers",
    "paths",
    "webhooks",
    "components",
    "security",
    "tags",
    "externalDocs",
)
_COMPONENTS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
)

_DUMP = r"""
import enum, inspect, json, sys, typing
import pydantic
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from {package}.main import create_app

try:  # FastAPI >= 0.165 keeps included routers nested; get_openapi takes their flat contexts
    from fastapi.routing import iter_route_contexts
except ImportError:
    def iter_route_contexts(routes):
        return list(routes)

request = json.loads(sys.stdin.read())
app = create_app()


def options():
    return dict(
        title=app.title, version=app.version, openapi_version=app.openapi_version,
        summary=app.summary, description=app.description,
        terms_of_service=app.terms_of_service, contact=app.contact,
        license_info=app.license_info, webhooks=app.webhooks.routes, tags=app.openapi_tags,
        servers=app.servers, separate_input_output_schemas=app.separate_input_output_schemas,
        external_docs=app.openapi_external_docs,
    )


def declared(route):
    return getattr(route, "original_route", route)


def group_of(route):
    call = getattr(declared(route), "endpoint", None)
    return getattr(call, "__module__", None) or "<app>"


def walk_type(value, found, seen):
    if id(value) in seen:
        return
    seen.add(id(value))
    try:
        is_model = isinstance(value, type) and issubclass(value, pydantic.BaseModel)
        is_enum = isinstance(value, type) and issubclass(value, enum.Enum)
    except TypeError:  # a parametrized generic such as list[int]
        is_model = is_enum = False
    if is_model or is_enum:
        found.add(value.__module__)
    if is_model:
        meta = getattr(value, "__pydantic_generic_metadata__", None) or {{}}
        for arg in (meta.get("origin"), *meta.get("args", ())):
            if arg is not None:
                walk_type(arg, found, seen)
        for field in value.model_fields.values():
            walk_type(field.annotation, found, seen)
        for base in value.__mro__[1:]:
            if issubclass(base, pydantic.BaseModel) and base is not pydantic.BaseModel:
                walk_type(base, found, seen)
    for arg in typing.get_args(value):
        walk_type(arg, found, seen)


def walk_dependant(dependant, found, seen):
    call = getattr(dependant, "call", None)
    if call is not None:
        found.add(getattr(call, "__module__", None) or "")
        walk_type(call, found, seen)
    for param in (
        *dependant.path_params, *dependant.query_params, *dependant.header_params,
        *dependant.cookie_params, *dependant.body_params,
    ):
        walk_type(param.field_info.annotation, found, seen)
    for sub in dependant.dependencies:
        walk_dependant(sub, found, seen)


def walk_route(context):
    found, seen = set(), set()
    found.add(group_of(context))
    route = declared(context)
    if isinstance(route, APIRoute):
        walk_dependant(route.dependant, found, seen)
        walk_type(route.response_model, found, seen)
        for response in route.responses.values():
            walk_type(response.get("model"), found, seen)
    return found


order, members = [], {{}}
for route in iter_route_contexts(app.routes):
    group = group_of(route)
    if group not in members:
        order.append(group)
        members[group] = []
    members[group].append(route)
wanted = order if request["groups"] is None else [g for g in request["groups"] if g in members]
fragments = {{}}
for group in wanted:
    modules = set()
    for route in members[group]:
        modules |= walk_route(route)
    doc = get_openapi(routes=members[group], **options())
    fragments[group] = {{"modules": sorted(m for m in modules if m), "document": doc}}
answer = {{"layout": order, "fragments": fragments}}
if request["full"]:
    answer["full"] = app.openapi()
sys.stdout.write(json.dumps(answer))
"""


class OpenApiError(Exception):
    """The generated application could not be imported to produce its OpenAPI document, or its
    parts did not add up to the document it serves."""


def document_text(document: Mapping[str, Any]) -> str:
    """The bytes of openapi.json for a document: what the generated test compares with."""
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def merge_fragments(fragments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One document from the per-group documents, as `get_openapi` over all routes makes it."""
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for fragment in fragments:
        for key, value in fragment.items():
            if key not in ("paths", "components"):
                top.setdefault(key, value)
        for path, item in fragment.get("paths", {}).items():
            paths.setdefault(path, {}).update(item)
        for kind, entries in fragment.get("components", {}).items():
            components.setdefault(kind, {}).update(entries)
    if "schemas" in components:
        components["schemas"] = dict(sorted(components["schemas"].items()))
    top["paths"] = paths
    if components:
        top["components"] = _ordered(components, _COMPONENTS)
    return _ordered(top, _TOP_LEVEL)


def _ordered(mapping: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any]:
    rank = {key: index for index, key in enumerate(order)}
    return {key: mapping[key] for key in sorted(mapping, key=lambda k: rank.get(k, len(rank)))}


def module_path(module: str) -> str:
    """`blog.routes.post` -> `blog/routes/post.py` (a package's own file is its `__init__.py`)."""
    return "/".join(module.split(".")) + ".py"


def is_shared_module(path: str) -> bool:
    """Modules every fragment depends on: outside the per-entity folders, or a package init."""
    parts = PurePosixPath(path).parts
    return len(parts) <= 2 or parts[1] == "core" or parts[-1] == "__init__.py"


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


class _Parts:
    """The cache of layouts and fragments for one package's modules."""

    def __init__(self, package: str, modules: Mapping[str, str], cache_dir: Path | None) -> None:
        self.package = package
        self.hashes = {path: _digest(text) for path, text in modules.items()}
        self.cache_dir = cache_dir / CACHE_FOLDER if cache_dir is not None else None
        shared = sorted(p for p in modules if is_shared_module(p))
        self.shared_key = _digest(
            _DUMP, sys.version, _versions(), package, *(f"{p}\0{self.hashes[p]}" for p in shared)
        )

    def _entry_path(self, kind: str, name: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{_digest(kind, self.package, name, self.shared_key)}.json"

    def read(self, kind: str, name: str) -> Any:
        """The cached value when every module it depends on is unchanged, else None."""
        target = self._entry_path(kind, name)
        if target is None:
            return None
        try:
            entry = json.loads(target.read_text(encoding="utf-8"))
            depends: dict[str, str] = entry["depends"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if any(self.hashes.get(path) != digest for path, digest in depends.items()):
            return None
        return entry["value"]

    def write(self, kind: str, name: str, depends: Sequence[str], value: Any) -> None:
        target = self._entry_path(kind, name)
        if target is None:
            return
        entry = {"depends": {p: self.hashes[p] for p in sorted(set(depends)) if p in self.hashes}}
        entry["value"] = value
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(entry), encoding="utf-8")
            os.replace(temporary, target)
        except OSError:
            pass

    def fragment_depends(self, group: str, modules: Sequence[str]) -> list[str]:
        """The group's own entity's modules and the modules its routes were found to use."""
        stem = PurePosixPath(module_path(group)).name
        own = [p for p in self.hashes if not is_shared_module(p) and p.endswith(f"/{stem}")]
        return [*own, *(module_path(m) for m in modules), module_path(group)]


def _versions() -> str:
    """Versions of what renders the document (FastAPI, Pydantic, Starlette)."""
    import importlib.metadata

    names = ("fastapi", "pydantic", "pydantic-core", "starlette")
    found = []
    for name in names:
        try:
            found.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name}==?")
    return ",".join(found)


def openapi_document(package: str, files: Mapping[str, str], cache_dir: Path | None) -> str:
    """The text of `<package>/openapi.json` for the project whose files are given."""
    prefix = f"{package}/{package}/"
    modules = {
        path[len(package) + 1 :]: text
        for path, text in sorted(files.items())
        if path.startswith(prefix) and path.endswith(".py")
    }
    mode = os.environ.get(MODE_VARIABLE, "parts")
    if mode == "full":
        return document_text(_dump(package, modules, groups=None, full=True)["full"])
    parts = _Parts(package, modules, cache_dir)
    layout: list[str] | None = parts.read("layout", "")
    fragments: dict[str, Any] = {}
    if layout is not None:
        for group in layout:
            cached = parts.read("fragment", group)
            if cached is not None:
                fragments[group] = cached
    verify = mode == "verify"
    served: str | None = None
    if layout is None or len(fragments) < len(layout) or verify:
        missing = None if layout is None else [g for g in layout if g not in fragments]
        answer = _dump(package, modules, groups=missing, full=verify)
        layout = list(answer["layout"])
        parts.write("layout", "", [module_path(g) for g in layout], layout)
        for group, computed in answer["fragments"].items():
            fragments[group] = computed["document"]
            depends = parts.fragment_depends(group, computed["modules"])
            parts.write("fragment", group, depends, computed["document"])
        if verify:
            served = document_text(answer["full"])
    text = document_text(merge_fragments([fragments[g] for g in layout]))
    if served is not None and text != served:
        raise OpenApiError(
            f"the parts of `{package}`'s OpenAPI document do not add up to the document the app "
            "serves; see generator/openapi.py for what a fragment may depend on"
        )
    return text


def _dump(
    package: str, modules: Mapping[str, str], *, groups: list[str] | None, full: bool
) -> dict[str, Any]:
    """Import the app in a subprocess: its layout, the fragments of groups (None: all), and with
    full the whole document as `app.openapi()` serves it."""
    with tempfile.TemporaryDirectory(prefix="gen-openapi-") as tmp:
        root = Path(tmp)
        for path, text in modules.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        env = {
            **os.environ,
            "PYTHONPATH": str(root),
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.pop("DATABASE_URL", None)
        result = subprocess.run(
            [sys.executable, "-c", _DUMP.format(package=package)],
            input=json.dumps({"groups": groups, "full": full}),
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if result.returncode != 0:
        raise OpenApiError(
            f"importing the generated `{package}` app failed:\n{result.stderr[-4000:]}"
        )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer
