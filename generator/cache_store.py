"""A cache of many small entries kept in ONE file: read once, written at most once per build.

Creating a file costs up to a millisecond on a busy disk: one file per entry (a formatted
module, a compiled template) cost half a second of a cold build at N=200 (bench/README.md). A
``CacheStore`` maps text keys to bytes in a single file of records, oldest first:

    header   b"gen-cache-store-v2\\n"
    record   key length, value length, CRC-32 of key and value (three little-endian uint32),
             then the key (UTF-8) and the value

``save()`` appends the records this process added (a build that changed one entity writes a few
kilobytes, not the whole store); when the file would outgrow ``max_bytes`` it is rewritten
instead (a temporary file, then ``os.replace``) with the entries this process used last and the
oldest dropped, down to three quarters of the bound. Reading tolerates anything: a missing or
unreadable file, or a foreign header, is an empty cache; a record whose length or checksum is
wrong (a torn append) ends the file there, and the next save rewrites it. A store that cannot
be written only costs the next build its hits.

Saves hold an exclusive ``flock`` on ``<file>.lock`` while they read what is on disk and write,
so concurrent builds (or a build and its worker) neither tear the file nor lose each other's
entries; where there is no ``flock`` the last rewrite wins whole.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, concurrent saves may lose entries
    fcntl = None  # type: ignore[assignment]

__all__ = ["CacheStore"]

_HEADER = b"gen-cache-store-v2\n"
_RECORD = struct.Struct("<III")


def _record(key: str, value: bytes) -> bytes:
    raw_key = key.encode("utf-8")
    check = zlib.crc32(value, zlib.crc32(raw_key))
    return _RECORD.pack(len(raw_key), len(value), check) + raw_key + value


def _parse(blob: bytes) -> tuple[dict[str, bytes], int]:
    """The entries of a store file (later records win) and where its good records end."""
    if not blob.startswith(_HEADER):
        return {}, 0
    entries: dict[str, bytes] = {}
    offset, size = len(_HEADER), len(blob)
    view = memoryview(blob)
    while offset + _RECORD.size <= size:
        key_size, value_size, check = _RECORD.unpack_from(blob, offset)
        start = offset + _RECORD.size
        end = start + key_size + value_size
        if end > size:
            break
        raw_key, value = view[start : start + key_size], view[start + key_size : end]
        if zlib.crc32(value, zlib.crc32(raw_key)) != check:
            break
        try:
            key = str(raw_key, "utf-8")
        except UnicodeDecodeError:
            break
        entries.pop(key, None)  # keep the order of the latest record
        entries[key] = bytes(value)
        offset = end
    return entries, offset


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
    """Entries ``key -> bytes`` in the file ``path``, about ``max_bytes`` of them at most."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._entries: dict[str, bytes] | None = None
        self._used: dict[str, None] = {}  # keys read or added by this process, in order
        self._added: dict[str, bytes] = {}
        self._identity: tuple[int, int] | None = None  # inode and size when last read
        self._end = 0

    def _read(self) -> tuple[dict[str, bytes], int, int]:
        """The entries on disk, where the good records end, and the file's size."""
        try:
            with open(self.path, "rb") as handle:
                blob = handle.read()
                self._identity = (os.fstat(handle.fileno()).st_ino, len(blob))
        except (OSError, MemoryError):
            return {}, 0, -1
        entries, end = _parse(blob)
        return entries, end, len(blob)

    def _loaded(self) -> dict[str, bytes]:
        if self._entries is None:
            self._entries, self._end, _ = self._read()
        return self._entries

    def _current(self) -> tuple[dict[str, bytes], int, int]:
        """``_read()``, without reading when the file is still the one this process read."""
        if self._entries is not None and self._identity is not None:
            try:
                st = os.stat(self.path)
            except OSError:
                st = None
            if st is not None and (st.st_ino, st.st_size) == self._identity:
                return dict(self._entries), self._end, st.st_size
        return self._read()

    def __len__(self) -> int:
        """How many entries the store holds (on disk when first read, and added since)."""
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
        """Write what this process added, if anything; never raises for the disk."""
        if not self._added:
            return
        with _locked(self.path):
            on_disk, end, size = self._current()  # with what others saved since this read
            new = {k: v for k, v in self._added.items() if on_disk.get(k) != v}
            appended = b"".join(_record(k, v) for k, v in new.items())
            if end == size and end > 0 and size + len(appended) <= self.max_bytes:
                if appended:
                    self._append(appended, end)
            else:
                self._rewrite(on_disk)
            on_disk.update(new)
        self._entries = on_disk
        self._added = {}
        self._identity = None  # read again before the next save

    def _append(self, records: bytes, end: int) -> None:
        try:
            with open(self.path, "r+b") as handle:
                handle.seek(end)
                handle.write(records)
        except OSError:
            pass

    def _rewrite(self, on_disk: dict[str, bytes]) -> None:
        """The file again: older entries first, this process's last, the oldest dropped."""
        entries = {k: v for k, v in on_disk.items() if k not in self._used}
        for key in self._used:
            value = self._added.get(key, on_disk.get(key, self._loaded().get(key)))
            if value is not None:
                entries[key] = value
        records = [_record(k, v) for k, v in entries.items()]
        size = len(_HEADER) + sum(map(len, records))
        first = 0
        while size > self.max_bytes * 3 // 4 and first < len(records) - 1:
            size -= len(records[first])
            first += 1
        self._replace(b"".join([_HEADER, *records[first:]]))

    def _replace(self, blob: bytes) -> None:
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
