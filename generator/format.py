"""Formatting of generated Python: pure in, pure out (the temporary directory is private).

``format_python`` takes a mapping of relative posix paths to text and returns the same mapping
with every ``*.py`` value run through ``ruff format``.  All ``.py`` files go to ONE ruff process:
they are written into a private temporary directory under their relative paths, formatted there
with a pinned configuration and read back.  Nothing outside that temporary directory (and the
optional cache directory) is touched, and the user's own ruff configuration is never consulted.

The pinned configuration (``RUFF_CONFIG``) is black-compatible: line length 100, target py311,
double quotes, spaces, magic trailing commas respected, ``\\n`` line endings, no preview style.
``black_check`` runs ``black --check`` with the same line length and target so a test can prove
the two agree on the code we generate.

An optional content cache (``cache_dir``) maps
``sha256(ruff version + configuration + unformatted text)`` to the formatted text, so repeated
generation of unchanged files does not start ruff at all.  Its entries live in one file
(``generator/cache_store.py``): one file per entry cost half a second of a cold build.

A large module made of many top-level parts (``ModuleParts``: the typed client's models, one
class per component schema) is formatted in groups of parts, each cached by its content, and
put together again: a change to one part formats one group, not the whole module anew, and the
cache keeps the groups, not one more copy of the module per build.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from generator.cache_store import CacheStore

__all__ = [
    "BLACK_CONFIG",
    "RUFF_CONFIG",
    "FormatError",
    "ModuleParts",
    "black_check",
    "format_python",
    "ruff_binary",
    "ruff_version",
]

LINE_LENGTH = 100
TARGET_VERSION = "py311"

#: Written verbatim as ``ruff.toml`` into the temporary directory and passed with ``--config``, so
#: these settings (and nothing from the user's environment) apply.  Part of every cache key.
RUFF_CONFIG = f"""\
line-length = {LINE_LENGTH}
indent-width = 4
target-version = "{TARGET_VERSION}"
preview = false
respect-gitignore = false
force-exclude = false
exclude = []

[format]
quote-style = "double"
indent-style = "space"
skip-magic-trailing-comma = false
line-ending = "lf"
docstring-code-format = false
preview = false
"""

#: Passed to black with ``--config`` (black ignores any other configuration file then).
BLACK_CONFIG = f"""\
[tool.black]
line-length = {LINE_LENGTH}
target-version = ["{TARGET_VERSION}"]
"""

#: The format cache's file in ``cache_dir``, and its bound (N=200 formats about 15 MB of code).
CACHE_FILE = "formatted.store"
CACHE_MAX_BYTES = 64 * 1024 * 1024
_SUBPROCESS_TIMEOUT = 300


class FormatError(Exception):
    """Ruff (or black) could not format a generated file: the generated code has a bug.

    ``path`` is the relative path of the first failing file (``None`` when ruff failed without
    naming a file) and ``message`` ruff's own explanation; ``str()`` gives both, for the caller
    to show.
    """

    def __init__(self, path: str | None, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path is not None else message)


class ModuleParts(str):
    """A module's text made of top-level parts joined by two blank lines, which
    ``format_python`` formats in groups of consecutive parts.

    Each part is one or more whole top-level statements (a class definition, the imports), not
    blank, and no ``# fmt: off`` region spans two parts. ruff then formats every top-level
    statement on its own and keeps the two blank lines between two parts (it allows two at
    most, and puts two around a class or function definition), so the formatted groups joined
    by two blank lines are the formatted module: tests/test_format.py checks it on the client
    models of every golden case and of the N=200 benchmark project, and on messy modules.
    """

    parts: tuple[str, ...]

    def __new__(cls, parts: Sequence[str]) -> ModuleParts:
        if not parts or any(not part.strip() for part in parts):
            raise ValueError("a module's parts may not be blank")
        text = super().__new__(cls, "\n\n\n".join(parts) + "\n")
        text.parts = tuple(parts)
        return text

    def __getnewargs__(self) -> tuple[tuple[str, ...]]:  # type: ignore[override]
        return (self.parts,)


#: About how many parts of a ``ModuleParts`` one group holds: the typed client's models at
#: N=200 (1,800 classes) are about 120 groups, which one ruff process formats faster than the
#: whole module (on every core), and a one-entity change formats a handful of them.
PARTS_PER_GROUP = 16


def _groups(parts: Sequence[str]) -> list[str]:
    """The parts in groups of consecutive parts, each group's text as the module holds it.

    A group ends after a part whose first line's checksum is a multiple of
    ``PARTS_PER_GROUP``: where the groups end depends on their own parts only, so a part
    changed, added or removed changes one group (two when it is a group's last part).
    """
    groups: list[str] = []
    start = 0
    for index, part in enumerate(parts):
        end = part.find("\n")
        first_line = part if end < 0 else part[:end]
        if zlib.crc32(first_line.encode("utf-8", "surrogatepass")) % PARTS_PER_GROUP == 0:
            groups.append("\n\n\n".join(parts[start : index + 1]))
            start = index + 1
    if start < len(parts):
        groups.append("\n\n\n".join(parts[start:]))
    return groups


# --------------------------------------------------------------------------------------------
# locating ruff
# --------------------------------------------------------------------------------------------


def _packaged_ruff() -> str | None:
    """The binary shipped with the installed ``ruff`` package, if there is one."""
    try:
        # The ruff package ships no type information (no py.typed), so mypy cannot check it.
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return os.fsdecode(find_ruff_bin())
    except FileNotFoundError:
        return None


@lru_cache(maxsize=1)
def ruff_binary() -> str:
    """The ruff executable: the one shipped with the installed ``ruff`` package, else ``$PATH``."""
    found = _packaged_ruff() or shutil.which("ruff")
    if found is None:
        raise FormatError(None, "ruff is not installed (pip install ruff)")
    return found


@lru_cache(maxsize=1)
def ruff_version() -> str:
    """The version of ``ruff_binary()``; no process is started when the package is installed."""
    if _packaged_ruff() is not None:
        try:
            return "ruff " + importlib.metadata.version("ruff")
        except importlib.metadata.PackageNotFoundError:
            pass
    done = subprocess.run(
        [ruff_binary(), "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=_SUBPROCESS_TIMEOUT,
    )
    return done.stdout.strip()


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _check_relpath(path: str) -> None:
    """Refuse a path that could land outside the temporary directory."""
    # Plain string tests: a PurePosixPath per file cost 10 ms of a build's 500 files.
    if (
        not path
        or "\x00" in path
        or "\\" in path
        or path.startswith("/")
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise ValueError(f"not a safe relative path: {path!r}")


def _write_tree(root: Path, files: Mapping[str, str], config_name: str, config: str) -> None:
    (root / config_name).write_text(config, encoding="utf-8", newline="")
    folders = {root}
    for rel, text in files.items():
        _check_relpath(rel)
        target = root.joinpath(*rel.split("/"))
        if target.parent not in folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            folders.add(target.parent)
        target.write_text(text, encoding="utf-8", newline="")


def _cache_key(text: str) -> str:
    digest = _key_prefix(ruff_version(), RUFF_CONFIG).copy()
    data = text.encode("utf-8", "surrogatepass")
    digest.update(len(data).to_bytes(8, "big"))
    digest.update(data)
    return digest.hexdigest()


@lru_cache(maxsize=4)
def _key_prefix(version: str, config: str) -> hashlib._Hash:
    """What every cache key starts with: the ruff version and the configuration."""
    digest = hashlib.sha256()
    for part in (version, config):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest


def _match_path(line: str, prefix: str, paths: Sequence[str], root: Path) -> str | None:
    """The known path that ``line`` (``<prefix><path>:...``) is about, longest match first."""
    if not line.startswith(prefix):
        return None
    rest = line[len(prefix) :]
    for candidate in (rest, rest.removeprefix(str(root) + os.sep)):
        for path in sorted(paths, key=len, reverse=True):
            if candidate.startswith(path + ":") or candidate == path:
                return path
    return None


#: Where the temporary tree goes when it can: a memory file system. On a disk, removing the
#: tree ruff has just rewritten took seconds for a large project (bench/README.md).
_MEMORY_TMP = Path("/dev/shm")


def _scratch_parent() -> str | None:
    """A memory-backed folder for the temporary tree, or None for the system's default."""
    if _MEMORY_TMP.is_dir() and os.access(_MEMORY_TMP, os.W_OK | os.X_OK):
        return str(_MEMORY_TMP)
    return None


def _run_ruff(texts: Mapping[str, str]) -> dict[str, str]:
    """Format ``texts`` (all ``.py``) with one ruff process; return the formatted texts."""
    parent = _scratch_parent()
    if parent is None:
        return _run_ruff_in(texts, None)
    try:
        return _run_ruff_in(texts, parent)
    except OSError:
        # A small or full memory file system: the default temporary folder has room.
        return _run_ruff_in(texts, None)


#: Below this much text ruff formats on one thread: starting its pool of threads took longer
#: (2 ms of the 7 ms of a one-entity change's ruff in the build's worker) than the work.
ONE_THREAD_BELOW = 64 * 1024


def _ruff_environment(texts: Mapping[str, str]) -> dict[str, str] | None:
    """ruff's environment: this one, on one thread for a small job (None: this one as is)."""
    if sum(len(text) for text in texts.values()) >= ONE_THREAD_BELOW:
        return None
    return dict(os.environ, RAYON_NUM_THREADS="1")


def _run_ruff_in(texts: Mapping[str, str], parent: str | None) -> dict[str, str]:
    paths = sorted(texts)
    with tempfile.TemporaryDirectory(prefix="gen-format-", dir=parent) as tmp:
        root = Path(tmp)
        _write_tree(root, texts, "ruff.toml", RUFF_CONFIG)
        argv = [ruff_binary(), "format", "--no-cache", "--config", "ruff.toml", "--", *paths]
        done = subprocess.run(
            argv,
            cwd=root,
            env=_ruff_environment(texts),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=_SUBPROCESS_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            stderr = done.stderr.strip()
            prefix = "error: Failed to parse "
            failures = sorted(
                (path, line[len(prefix) :])
                for line in stderr.splitlines()
                if (path := _match_path(line, prefix, paths, root)) is not None
            )
            if failures:
                # ruff works in parallel: sort so the reported (first) file is deterministic.
                message = "; ".join(detail for _, detail in failures)
                raise FormatError(failures[0][0], f"ruff could not parse generated code: {message}")
            raise FormatError(None, f"ruff format failed (exit {done.returncode}): {stderr}")
        return {rel: root.joinpath(*rel.split("/")).read_text(encoding="utf-8") for rel in paths}


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def format_python(files: Mapping[str, str], *, cache_dir: Path | None = None) -> dict[str, str]:
    """Return ``files`` with every ``*.py`` value formatted by ``ruff format``.

    Other values are returned untouched, and the result has the same keys in the same order.
    All cache misses go to a single ruff process; when every ``.py`` file hits the cache (or
    there is none) no process is started. A ``ModuleParts`` value is formatted in groups of its
    parts. Raises ``FormatError`` naming the file when ruff reports a syntax error, and
    ``ValueError`` for a key that is not a plain relative path.
    """
    py = {rel: text for rel, text in files.items() if rel.endswith(".py")}
    for rel in py:
        _check_relpath(rel)
    inputs, grouped = _inputs(py)
    try:
        done = _formatted(inputs, cache_dir)
    except FormatError as error:
        owner = next((rel for rel, names in grouped.items() if error.path in names), None)
        if owner is None:
            raise
        _run_ruff({owner: str(py[owner])})  # ruff's own message, its lines the module's
        raise FormatError(owner, error.message) from error
    for rel, names in grouped.items():
        done[rel] = "\n\n".join(done.pop(name) for name in names)
    return {rel: done.get(rel, text) for rel, text in files.items()}


def _inputs(py: Mapping[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """What ruff formats: each file, or each group of a ``ModuleParts`` file's parts under a
    path of its own (``<file>.parts/<n>.py``); and the paths of each file's groups."""
    inputs: dict[str, str] = {}
    grouped: dict[str, list[str]] = {}
    for rel, text in py.items():
        groups = _groups(text.parts) if isinstance(text, ModuleParts) else []
        names = [f"{rel}.parts/{index}.py" for index in range(len(groups))]
        if not names or any(name in py for name in names):
            inputs[rel] = str(text)
            continue
        grouped[rel] = names
        inputs.update(zip(names, groups, strict=True))
    return inputs, grouped


def _formatted(py: Mapping[str, str], cache_dir: Path | None) -> dict[str, str]:
    """The formatted texts: from the cache under cache_dir, else from one ruff process."""
    done: dict[str, str] = {}
    keys: dict[str, str] = {}
    store = CacheStore(cache_dir / CACHE_FILE, CACHE_MAX_BYTES) if cache_dir else None
    if store is not None:
        for rel, text in py.items():
            keys[rel] = _cache_key(text)
            hit = store.get(keys[rel])
            if hit is not None:
                with contextlib.suppress(UnicodeDecodeError):
                    done[rel] = hit.decode("utf-8")
    missing = {rel: text for rel, text in py.items() if rel not in done}
    if missing:
        formatted = _run_ruff(missing)
        done.update(formatted)
        if store is not None:
            for rel, text in formatted.items():
                store.put(keys[rel], text.encode("utf-8"))
            store.save()
    return done


def _black_command() -> list[str]:
    if importlib.util.find_spec("black") is not None:
        return [sys.executable, "-m", "black"]
    found = shutil.which("black")
    if found is None:
        raise FormatError(None, "black is not installed (pip install black)")
    return [found]


def black_check(files: Mapping[str, str]) -> list[str]:
    """Run ``black --check`` (line length 100, target py311) over the ``.py`` values of ``files``.

    Returns the sorted relative paths black would reformat; raises ``FormatError`` when black
    cannot parse a file.  Used only to prove our ruff configuration is black-compatible.
    """
    py = {rel: text for rel, text in files.items() if rel.endswith(".py")}
    if not py:
        return []
    paths = sorted(py)
    with tempfile.TemporaryDirectory(prefix="gen-black-") as tmp:
        root = Path(tmp)
        _write_tree(root, py, "black.toml", BLACK_CONFIG)
        env = dict(os.environ, BLACK_CACHE_DIR=str(root / ".black-cache"))
        done = subprocess.run(
            [*_black_command(), "--check", "--config", "black.toml", "--", *paths],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=_SUBPROCESS_TIMEOUT,
            check=False,
        )
    output = done.stderr + done.stdout
    if done.returncode not in (0, 1):
        raise FormatError(None, f"black failed (exit {done.returncode}): {output.strip()}")
    changed = {
        path
        for line in output.splitlines()
        if (path := _match_path(line, "would reformat ", paths, root)) is not None
    }
    return sorted(changed)
