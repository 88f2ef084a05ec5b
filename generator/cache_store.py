"""A cache of many small entries kept in ONE file: loaded once, written once per build.

Creating a file costs up to a few tenths of a millisecond on some disks: one file per entry (a
formatted module, a compiled template) cost half a second of a cold build at N=200
(bench/README.md). A ``CacheStore`` maps text keys to bytes in a single file: read on first
use, written back by ``save()`` atomically (a temporary file, then ``os.replace``), bounded in
size (the entries this build used or added are kept first, then the others, most recent first),
and tolerant of anything on disk: a missing, truncated, corrupt or unreadable file is an empty
cache, and a file that cannot be written only costs the next build its hits.

Two processes may save the same store at once (two builds, or a build and its worker): each
holds an exclusive ``flock`` on ``<file>.lock`` while it merges what is on disk and replaces the
file, so neither loses the other's entries; where there is no ``flock`` the last ``os.replace``
wins whole (entries only the other added are lost, the file is never torn).
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, saves may lose entries (see above)
    fcntl = None  # type: ignore[assignment]

__all__ = ["CacheStore"]

#: The marshal format can change between Python versions: part of the header.
_MAGIC = f"gen-cache-store-v1 marshal-{marshal.version}\n".encode("ascii")
_DIGEST_SIZE = 32


def _decode(blob: bytes) -> dict[str, bytes]:
    """The entries of a store file, most recent first; empty for anything not a whole store."""
    if not blob.startswith(_MAGIC):
        return {}
    digest = blob[len(_MAGIC) : len(_MAGIC) + _DIGEST_SIZE]
    payload = blob[len(_MAGIC) + _DIGEST_SIZE :]
    if hashlib.sha256(payload).digest() != digest:
        return {}
    try:
        keys, values = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return {}
    if not (
        isinstance(keys, tuple)
        and isinstance(values, tuple)
        and len(keys) == len(values)
        and all(isinstance(k, str) for k in keys)
        and all(isinstance(v, bytes) for v in values)
    ):
        return {}
    return dict(zip(keys, values, strict=True))


def _encode(entries: dict[str, bytes]) -> bytes:
    payload = marshal.dumps((tuple(entries), tuple(entries.values())))
    return _MAGIC + hashlib.sha256(payload).digest() + payload


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (no lock where it cannot be had)."""
    handle = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "ab")  # noqa: SIM115
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    except OSError:
        pass
    try:
        yield
    finally:
        if handle is not None:
            handle.close()  # releases the lock


class CacheStore:
    """Entries ``key -> bytes`` in the file ``path``, at most about ``max_bytes`` of them."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._entries: dict[str, bytes] | None = None
        self._used: dict[str, None] = {}  # keys read or added by this process, in order
        self._added: dict[str, bytes] = {}

    def _read(self) -> dict[str, bytes]:
        try:
            return _decode(self.path.read_bytes())
        except (OSError, MemoryError):
            return {}

    def _loaded(self) -> dict[str, bytes]:
        if self._entries is None:
            self._entries = self._read()
        return self._entries

    def __len__(self) -> int:
        """How many entries the store holds (on disk, and added since)."""
        return len(self._loaded().keys() | self._added.keys())

    def get(self, key: str) -> bytes | None:
        """The stored value, or None."""
        value = self._added.get(key)
        if value is None:
            value = self._loaded().get(key)
        if value is not None:
            self._used[key] = None
        return value

    def put(self, key: str, value: bytes) -> None:
        """Store ``value`` (on disk at the next ``save()``)."""
        self._added[key] = value
        self._used[key] = None

    def save(self) -> None:
        """Write the store when this process added anything; never raises for the disk."""
        if not self._added:
            return
        with _locked(self.path):
            self._merge_and_write()

    def _merge_and_write(self) -> None:
        on_disk = self._read()  # what other builds saved since this one loaded
        kept: dict[str, bytes] = {}
        size = 0
        for key in self._used:
            value = self._added.get(key)
            if value is None:
                value = on_disk.get(key, self._loaded().get(key))
            if value is not None:
                kept[key] = value
                size += len(key) + len(value)
        for key, value in on_disk.items():
            if size >= self.max_bytes:
                break
            if key not in kept:
                kept[key] = value
                size += len(key) + len(value)
        while size > self.max_bytes and kept:  # this build alone is over the bound
            key = next(reversed(kept))
            size -= len(key) + len(kept.pop(key))
        self._write(_encode(kept))
        self._entries = kept
        self._added = {}

    def _write(self, blob: bytes) -> None:
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            os.replace(tmp, self.path)
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
