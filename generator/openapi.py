"""openapi.json, exactly as the generated application serves it.

The build renders it from the IR (`generator.openapi_document`). Importing the generated app
in a subprocess and printing `create_app().openapi()` is the reference it must equal; it stays
available through the environment variable `GEN_OPENAPI`:

- unset or `ir`: render from the IR (milliseconds, no subprocess);
- `import`: import the generated app (its modules written to a temporary folder; results
  cached by the content of the modules);
- `verify`: both, and fail on any difference.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from generator import ir, modes
from generator.incremental import BuildCache
from generator.openapi_document import render_openapi_text

_DUMP = (
    "import json, sys\n"
    "from {package}.main import create_app\n"
    "sys.stdout.write(json.dumps(create_app().openapi(), indent=2, sort_keys=False) + '\\n')\n"
)


class OpenApiError(Exception):
    """The generated application could not be imported to produce its OpenAPI document, or
    (`GEN_OPENAPI=verify`) the document it serves differs from the one rendered from the IR."""


def openapi_mode() -> str:
    """What `GEN_OPENAPI` selects: `ir` (unset), `import` or `verify`."""
    try:
        return modes.mode("GEN_OPENAPI")
    except modes.ModeError as exc:
        raise OpenApiError(str(exc)) from None


def served_document(
    project: ir.Project,
    files: Mapping[str, str],
    cache_dir: Path | None,
    cache: BuildCache | None = None,
) -> str:
    """The text of `<package>/openapi.json`, by the means `GEN_OPENAPI` selects (rendered
    pieces reused from the build's cache when given)."""
    mode = openapi_mode()
    if mode == "import":
        return openapi_document(project.api.name, files, cache_dir)
    rendered = render_openapi_text(project, cache)
    if mode == "verify":
        imported = openapi_document(project.api.name, files, cache_dir)
        if imported != rendered:
            raise OpenApiError(_difference(project.api.name, imported, rendered))
    return rendered


def _difference(package: str, imported: str, rendered: str) -> str:
    diff = difflib.unified_diff(
        imported.splitlines(),
        rendered.splitlines(),
        f"{package}/openapi.json (imported app)",
        f"{package}/openapi.json (rendered from the IR)",
        lineterm="",
    )
    lines = list(diff)
    shown = "\n".join(lines[:80])
    more = f"\n... {len(lines) - 80} more lines" if len(lines) > 80 else ""
    return f"GEN_OPENAPI=verify: the rendered `{package}` document differs:\n{shown}{more}"


def openapi_document(package: str, files: Mapping[str, str], cache_dir: Path | None) -> str:
    """The text of `<package>/openapi.json` for the project whose files are given."""
    prefix = f"{package}/{package}/"
    modules = {
        path[len(package) + 1 :]: text
        for path, text in sorted(files.items())
        if path.startswith(prefix) and path.endswith(".py")
    }
    digest = hashlib.sha256(sys.version.encode())
    for path, text in modules.items():
        digest.update(f"{path}\0{text}\0".encode())
    cached = cache_dir / f"openapi-{digest.hexdigest()}.json" if cache_dir else None
    return cached_text(cached, lambda: _dump(package, modules))


def cached_text(cached: Path | None, produce: Callable[[], str]) -> str:
    """The text stored at `cached` (a content-addressed cache file), or `produce()` stored
    there atomically first; no cache when `cached` is None."""
    if cached is not None and cached.is_file():
        return cached.read_text(encoding="utf-8")
    text = produce()
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, cached)
    return text


def _dump(package: str, modules: Mapping[str, str]) -> str:
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
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            # FastAPI needs minutes for thousands of models on a busy machine (bench/README.md).
            timeout=1800,
            check=False,
        )
    if result.returncode != 0:
        raise OpenApiError(
            f"importing the generated `{package}` app failed:\n{result.stderr[-4000:]}"
        )
    return result.stdout
