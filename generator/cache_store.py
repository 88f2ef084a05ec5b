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
unreadable file, or a foreign header, is an empty cache; a record whose length is wrong (a torn
append) ends the file there, and the next save rewrites it; a record's checksum is checked when
its entry is first read (a store holds every version of a large module a project had, up to
64 MB, and a build reads few of them): a wrong one is a miss, and the next save rewrites the
file without it. A store that cannot be written only costs the next build its hits.

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


#: An entry as read from the file, its checksum not verified yet: the value's bytes, the CRC-32
#: of its key and the record's checksum.
_Unchecked = tuple[memoryview, int, int]


def _record_size(key: str, value: bytes) -> int:
    return _RECORD.size + len(key.encode("utf-8")) + len(value)


def _parse(blob: bytes) -> tuple[dict[str, bytes | _Unchecked], int]:
    """The entries of a store file (later records win) and where its whole records end; the
    checksums are verified when an entry is read (`_checked`)."""
    if not blob.startswith(_HEADER):
        return {}, 0
    entries: dict[str, bytes | _Unchecked] = {}
    offset, size = len(_HEADER), len(blob)
    view = memoryview(blob)
    while offset + _RECORD.size <= size:
        key_size, value_size, check = _RECORD.unpack_from(blob, offset)
        start = offset + _RECORD.size
        end = start + key_size + value_size
        if end > size:
            break
        raw_key = view[start : start + key_size]
        try:
            key = str(raw_key, "utf-8")
        except UnicodeDecodeError:
            break
        entries.pop(key, None)  # keep the order of the latest record
        entries[key] = (view[start + key_size : end], zlib.crc32(raw_key), check)
        offset = end
    return entries, offset


def _checked(entry: bytes | _Unchecked | None) -> bytes | None:
    """An entry's value, None when there is none or its checksum is wrong."""
    if entry is None or isinstance(entry, bytes):
        return entry
    value, key_check, check = entry
    return bytes(value) if zlib.crc32(value, key_check) == check else None


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
        self._entries: dict[str, bytes | _Unchecked] | None = None
        self._used: dict[str, None] = {}  # keys read or added by this process, in order
        self._added: dict[str, bytes] = {}
        self._identity: tuple[int, int] | None = None  # inode and size when last read
        self._end = 0

    def _read(self) -> tuple[dict[str, bytes | _Unchecked], int, int]:
        """The entries on disk, where the good records end, and the file's size."""
        try:
            with open(self.path, "rb") as handle:
                blob = handle.read()
                self._identity = (os.fstat(handle.fileno()).st_ino, len(blob))
        except (OSError, MemoryError):
            return {}, 0, -1
        entries, end = _parse(blob)
        return entries, end, len(blob)

    def _loaded(self) -> dict[str, bytes | _Unchecked]:
        if self._entries is None:
            self._entries, self._end, _ = self._read()
        return self._entries

    def _value(self, key: str) -> bytes | None:
        """The value read from the file for key, a copy not kept here (a damaged record is
        dropped and the next save rewrites the file)."""
        entries = self._loaded()
        entry = entries.get(key)
        value = _checked(entry)
        if value is None and entry is not None:
            del entries[key]
            self._end = -1
        return value

    def _current(self) -> tuple[dict[str, bytes | _Unchecked], int, int]:
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
            value = self._value(key)
        if value is not None:
            self._used[key] = None
        return value

    def keep(self, key: str) -> None:
        """Count key as used by this process without reading it: kept first when the file is
        rewritten past its bound."""
        self._used[key] = None

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
            new = {k: v for k, v in self._added.items() if _checked(on_disk.get(k)) != v}
            growth = sum(_record_size(k, v) for k, v in new.items())
            if end == size and end > 0 and size + growth <= self.max_bytes:
                if new:
                    self._append(b"".join(_record(k, v) for k, v in new.items()), end)
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

    def _rewrite(self, on_disk: dict[str, bytes | _Unchecked]) -> None:
        """The file again: older entries first, this process's last, the oldest dropped (and
        any whose checksum is wrong)."""
        entries: dict[str, bytes] = {}
        for key, entry in on_disk.items():
            value = _checked(entry) if key not in self._used else None
            if value is not None:
                entries[key] = value
        for key in self._used:
            value = self._added.get(key)
            if value is None:
                value = _checked(on_disk.get(key)) if key in on_disk else self._value(key)
            if value is not None:
                entries[key] = value
        kept = list(entries.items())
        size = len(_HEADER) + sum(_record_size(k, v) for k, v in kept)
        first = 0
        while size > self.max_bytes * 3 // 4 and first < len(kept) - 1:
            size -= _record_size(*kept[first])
            first += 1
        self._replace(kept[first:])

    def _replace(self, entries: list[tuple[str, bytes]]) -> None:
        """A new file of these entries, written record by record (the values are not copied
        into one blob: a cold build's stores hold tens of megabytes)."""
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            with os.fdopen(fd, "wb") as handle:
                handle.write(_HEADER)
                for key, value in entries:
                    raw_key = key.encode("utf-8")
                    check = zlib.crc32(value, zlib.crc32(raw_key))
                    handle.write(_RECORD.pack(len(raw_key), len(value), check) + raw_key)
                    handle.write(value)
            os.replace(tmp, self.path)
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
