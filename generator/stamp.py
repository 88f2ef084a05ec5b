"""The no-op build: `gen build` stops before compiling when neither its inputs nor its output
changed since the build that left a stamp.

A stamp is a small JSON file in the user's cache (``~/.cache/gen/build-v1/``, one per output
folder) that records two digests and the messages of the build that wrote it:

* ``inputs``: every spec file (relative path and bytes), how the specs were named on the command
  line, the output folder, the options, every file of the generator package and of its templates,
  the Python version, the installed distributions (the dist-info names carry versions: ruff,
  FastAPI and Pydantic shape the output too) and the ruff executable on PATH;
* ``output``: the manifest's bytes, and each file the manifest lists hashed again from disk (so
  an edited or deleted output file, a deleted custom file, or a migration revision the manifest
  does not list, which a build would read, makes the next build run).

Anything not in these digests must not change what a build writes; when it does, add it to
``input_digest``. A stamp that does not match is ignored, never trusted in part.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.modes import RUN_ONLY, SWITCHES

STAMP_FOLDER = "build-v1"
_GENERATOR_ROOT = Path(__file__).resolve().parent
_MANIFEST_NAME = ".gen-manifest.json"  # write.MANIFEST_NAME; write.py is not imported here
_REVISIONS = "*/migrations/versions/[0-9][0-9][0-9][0-9]_*.py"  # load/previous.py's revisions


@dataclass(frozen=True)
class Stamp:
    """What a successful build recorded: its digests and what it printed."""

    inputs: str
    output: str
    unchanged: int  # generated files on disk (custom files aside)
    messages: tuple[str, ...]
    files: int = 0  # every file the build produced, custom files included


def _feed(update: Callable[[bytes], object], *parts: str | bytes) -> None:
    """Length-prefixed, so that no two sequences of parts feed the same bytes."""
    for part in parts:
        data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        update(len(data).to_bytes(8, "big"))
        update(data)


def _tree_files(root: Path) -> list[Path]:
    skip = {"__pycache__"}
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        found += [Path(folder) / n for n in sorted(names) if not n.endswith((".pyc", ".pyo"))]
    return found


def generator_files() -> list[Path]:
    """The generator's own code and templates (a checkout's or an installation's)."""
    roots = [_GENERATOR_ROOT, _GENERATOR_ROOT.parent / "templates"]
    return [f for root in roots if root.is_dir() for f in _tree_files(root)]


def distributions(entries: Iterable[str]) -> list[str]:
    """dist-info / egg-info names in the sys.path entries given: each names a distribution and
    its version."""
    names = []
    for entry in entries:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        names += [f"{entry}/{n}" for n in listing if n.endswith((".dist-info", ".egg-info"))]
    return sorted(names)


def _distributions() -> list[str]:
    """The distributions on sys.path, the current folder left out (`python -m generator` puts
    it first, `gen` does not): in a checkout it holds gen's own egg-info, and gen's code is in
    the digest anyway."""
    here = os.getcwd()
    return distributions(e for e in sys.path if e not in ("", ".", here))


def _ruff_identity() -> str:
    """The ruff executable on PATH (size and mtime): format.py may use it instead of the
    packaged one, whose version the distributions already name."""
    found = shutil.which("ruff")
    if found is None:
        return "ruff: none"
    try:
        st = os.stat(found)
    except OSError:
        return f"ruff: {found}"
    return f"ruff: {found} {st.st_size} {st.st_mtime_ns}"


def spec_files(spec_dir: Path) -> list[Path]:
    """load.find_spec_files without importing the YAML loader (tests keep the two equal)."""
    files = [p for p in spec_dir.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(spec_dir).as_posix())


def code_digest() -> str:
    """The digest of gen's own code and templates (every file of ``generator_files()``)."""
    digest = hashlib.sha256()
    for path in generator_files():
        _feed(digest.update, path.relative_to(_GENERATOR_ROOT.parent).as_posix(), path.read_bytes())
    return digest.hexdigest()


def input_digest(
    spec_dir: Path,
    spec_files: Iterable[Path],
    out_dir: Path,
    options: Iterable[str] = (),
    code: str | None = None,
) -> str:
    """The digest of everything a build reads, except the output folder itself; ``code``:
    ``code_digest()`` when the caller has it already."""
    digest = hashlib.sha256()
    _feed(digest.update, STAMP_FOLDER, sys.version, spec_dir.as_posix(), str(spec_dir.resolve()))
    _feed(digest.update, str(out_dir.resolve()), *options)
    # How openapi.json, the client models and the cached units are produced (`modes.SWITCHES`):
    # a `verify` build must not be a no-op.
    _feed(digest.update, *(os.environ.get(name, "") for name in SWITCHES if name not in RUN_ONLY))
    for path in spec_files:
        _feed(digest.update, path.relative_to(spec_dir).as_posix(), path.read_bytes())
    _feed(digest.update, code or code_digest(), *_distributions(), _ruff_identity())
    return digest.hexdigest()


def output_digest(out_dir: Path, written: bytes | None = None) -> str | None:
    """The digest of the output folder as its manifest describes it; None when it is not
    exactly what the manifest says (a file edited, missing or unreadable, no manifest).

    ``written``: the manifest a write just left in out_dir, having compared or written every
    file it lists (``WriteResult.manifest``): those files are not read and hashed again."""
    try:
        raw = (out_dir / _MANIFEST_NAME).read_bytes()
        manifest = json.loads(raw)
        files: dict[str, str] = manifest["files"]
        once: list[str] = manifest.get("once", [])
        if raw != written:
            for path, expected in files.items():
                if hashlib.sha256((out_dir / path).read_bytes()).hexdigest() != expected:
                    return None
        if not all((out_dir / path).is_file() for path in once):
            return None
        # A build also reads every revision file it finds (load/previous.py), listed or not.
        for found in out_dir.glob(_REVISIONS):
            if found.relative_to(out_dir).as_posix() not in files:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return hashlib.sha256(raw).hexdigest()


def stamp_path(cache_root: Path, out_dir: Path) -> Path:
    """Where the stamp of the output folder out_dir lives."""
    key = hashlib.sha256(str(out_dir.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return cache_root / STAMP_FOLDER / f"{key}.json"


def read_stamp(cache_root: Path, out_dir: Path) -> Stamp | None:
    """The stamp of out_dir, or None (absent, unreadable or of another shape)."""
    try:
        data = json.loads(stamp_path(cache_root, out_dir).read_text(encoding="utf-8"))
        return Stamp(
            inputs=str(data["inputs"]),
            output=str(data["output"]),
            unchanged=int(data["unchanged"]),
            messages=tuple(str(m) for m in data["messages"]),
            files=int(data["files"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_stamp(cache_root: Path, out_dir: Path, stamp: Stamp) -> None:
    """Store atomically; a cache that cannot be written only costs the next build its shortcut."""
    target = stamp_path(cache_root, out_dir)
    text = json.dumps(
        {
            "inputs": stamp.inputs,
            "output": stamp.output,
            "unchanged": stamp.unchanged,
            "messages": list(stamp.messages),
            "files": stamp.files,
        },
        indent=1,
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError:
        pass


def forget_stamp(cache_root: Path, out_dir: Path) -> None:
    """Remove the stamp of out_dir (before a build that may fail or write)."""
    with contextlib.suppress(OSError):
        stamp_path(cache_root, out_dir).unlink()


def unchanged_stamp(cache_root: Path, out_dir: Path, inputs: str) -> Stamp | None:
    """The stamp when a build with these inputs would change nothing in out_dir, else None."""
    stamp = read_stamp(cache_root, out_dir)
    if stamp is None or stamp.inputs != inputs:
        return None
    return stamp if output_digest(out_dir) == stamp.output else None
