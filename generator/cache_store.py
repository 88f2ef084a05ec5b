"""A cache of many small entries kept in ONE file: a build reads only the records it asks for,
and writes at most once.

Creating a file costs up to a millisecond on a busy disk: one file per entry (a formatted
module, a compiled template) cost half a second of a cold build at N=200 (bench/README.md). A
``CacheStore`` maps text keys to bytes in a single file of records, oldest first:

    header   b"gen-cache-store-v2\\n"
    record   key length, value length, CRC-32 of key and value (three little-endian uint32),
             then the key (UTF-8) and the value

``save()`` appends the records this process added (a build that changed one entity writes a few
kilobytes, not the whole store); when the file would outgrow ``max_bytes`` it is rewritten
instead (a temporary file, then ``os.replace``) with the entries this process used last and the
oldest dropped, down to three quarters of the bound. The file is only ever appended to or
replaced whole.

Every save also writes an index beside the file (``<file>.index``, replaced whole): where the
latest record of each key is, and which file it describes (device, inode, the end of its records
and the CRC-32 of the last bytes before that end). Loading a store (at 29 MB, a 20 ms read and a
6 ms parse) is then reading its index (0.5 to 1.5 ms) and each asked-for record at
its offset (``os.pread``: an ``mmap`` would raise SIGBUS if the file were cut under it). The
file stays open: a store reads the version of the file it opened, even after a save of another
process replaced it. Whatever the index does not describe exactly, the file is parsed as before
(so a wrong index can cost time, never a wrong value): a missing, foreign or torn index, or one
of another file (another inode, a shorter file: a crash came between a rewrite and its index);
records after the end it describes (a crash between an append and its index, or an older gen
that does not write one) are parsed alone; a record found at an offset that is not the key's
(the key, or the lengths, differ) has the whole file parsed. The next save writes the index
anew (a save with nothing to add writes just the index when it was not up to date).

Reading tolerates anything: a missing or unreadable file, or a foreign header, is an empty
cache; a record whose length is wrong (a torn append) ends the file there, and the next save
rewrites it; a record's checksum is checked when its entry is first read (a store holds every
version of a large module a project had, up to 64 MB, and a build reads few of them): a wrong
one is a miss, and the next save rewrites the file without it. A store that cannot be written
only costs the next build its hits.

Saves hold an exclusive ``flock`` on ``<file>.lock`` while they read what is on disk and write
(the file, then its index), so concurrent builds (or a build and its worker) neither tear the
file nor lose each other's entries; where there is no ``flock`` the last rewrite wins whole.
Where there is no ``os.pread`` (Windows) no index is written and a store reads its whole file.
The files a store creates are its owner's alone unless it is given a mode; a file it may read but
not write (another user's, in a folder it may write) is replaced by a save, not appended to.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat
import struct
import tempfile
import weakref
import zlib
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, concurrent saves may lose entries
    fcntl = None  # type: ignore[assignment]

__all__ = ["CacheStore", "replace_file"]

_HEADER = b"gen-cache-store-v2\n"
_RECORD = struct.Struct("<III")
_INDEX_HEADER = b"gen-cache-store-index-v1\n"
_INDEX_CHECK = struct.Struct("<I")  # the CRC-32 of the marshalled contents that follow it
#: How many bytes before the end an index describes it keeps the CRC-32 of: a file written
#: since under the same (reused) inode number differs there.
_TAIL = 4096
#: Reading at an offset without moving the offset a forked worker shares: no index without it.
_PREAD = hasattr(os, "pread")
#: A record's location is ``offset << _LENGTH_BITS | length`` (a record is under 2**34 bytes);
#: one int per key marshals and loads faster than a tuple.
_LENGTH_BITS = 34
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1


def _record(key: str, value: bytes) -> bytes:
    raw_key = key.encode("utf-8")
    check = zlib.crc32(value, zlib.crc32(raw_key))
    return _RECORD.pack(len(raw_key), len(value), check) + raw_key + value


def _record_size(key: str, value: bytes) -> int:
    return _RECORD.size + len(key.encode("utf-8")) + len(value)


def _parse_into(entries: dict[str, int], blob: bytes, start: int) -> int:
    """Add to entries the location of each whole record in blob (the file's bytes from offset
    start), later records winning; the offset where they end."""
    offset, size = 0, len(blob)
    view = memoryview(blob)
    while offset + _RECORD.size <= size:
        key_size, value_size, _ = _RECORD.unpack_from(blob, offset)
        end = offset + _RECORD.size + key_size + value_size
        if end > size:
            break
        try:
            key = str(view[offset + _RECORD.size : offset + _RECORD.size + key_size], "utf-8")
        except UnicodeDecodeError:
            break
        entries.pop(key, None)  # keep the order of the latest record
        entries[key] = (start + offset) << _LENGTH_BITS | (end - offset)
        offset = end
    return start + offset


def _read_at(fd: int, offset: int, size: int) -> bytes:
    """Up to size bytes of the file from offset (fewer past its end)."""
    chunks = []
    while size > 0:
        if _PREAD:
            chunk = os.pread(fd, min(size, 1 << 30), offset)
        else:  # pragma: no cover - Windows: the descriptor is this store's alone
            os.lseek(fd, offset, os.SEEK_SET)
            chunk = os.read(fd, min(size, 1 << 30))
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _is_record_of(record: bytes, raw_key: bytes) -> bool:
    """Whether record is a whole record of this key (its checksum not verified)."""
    if len(record) < _RECORD.size:
        return False
    key_size, value_size, _ = _RECORD.unpack_from(record)
    whole = len(record) == _RECORD.size + key_size + value_size
    return whole and record[_RECORD.size : _RECORD.size + key_size] == raw_key


def _intact(record: bytes) -> bool:
    check: int = _RECORD.unpack_from(record)[2]
    return zlib.crc32(memoryview(record)[_RECORD.size :]) == check


def _index_path(path: Path) -> Path:
    return path.with_name(path.name + ".index")


def _index(fd: int, identity: tuple[int, int], end: int, entries: dict[str, int]) -> bytes:
    """The index of the file open as fd (device and inode: identity) up to end, whose latest
    records are at these locations."""
    start = max(0, end - _TAIL)
    tail = zlib.crc32(_read_at(fd, start, end - start))
    contents = marshal.dumps((identity[0], identity[1], end, tail, entries))
    return _INDEX_HEADER + _INDEX_CHECK.pack(zlib.crc32(contents)) + contents


def _index_contents(blob: bytes) -> tuple[tuple[int, int], int, int, dict[str, int]] | None:
    """What an index says (identity, end, tail CRC, locations), None when it is not one."""
    start = len(_INDEX_HEADER) + _INDEX_CHECK.size
    if not blob.startswith(_INDEX_HEADER) or len(blob) < start:
        return None
    contents = memoryview(blob)[start:]
    if zlib.crc32(contents) != _INDEX_CHECK.unpack_from(blob, len(_INDEX_HEADER))[0]:
        return None
    try:
        device, inode, end, tail, entries = marshal.loads(contents)
    except (EOFError, ValueError, TypeError):
        return None
    fields_are_ints = all(type(n) is int for n in (device, inode, end, tail))
    if not fields_are_ints or type(entries) is not dict:
        return None
    return (device, inode), end, tail, entries


def replace_file(path: Path, blob: bytes, mode: int | None = None) -> None:
    """Replace the file at path with blob whole (a temporary file, then ``os.replace``), with
    these permissions (None: the owner's alone)."""
    tmp: str | None = None
    try:
        fd, tmp = _temporary(path, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _temporary(path: Path, mode: int | None) -> tuple[int, str]:
    """A new file beside path to replace it with (mkstemp's permissions: the owner's alone)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    if mode is not None:
        with contextlib.suppress(OSError):  # at worst the file is the owner's alone
            os.chmod(tmp, mode)
    return fd, tmp


class _Snapshot:
    """One version of the store file, kept open: where the latest record of each key is (read
    from the index, or from parsing the file), and the values saved on top of it."""

    def __init__(self, fd: int | None, identity: tuple[int, int] | None, size: int) -> None:
        self.fd = fd  # None: no file, or no pread (the whole file is in blob)
        self.identity = identity  # device and inode
        self.size = size  # the file's size when read, -1 when there is none
        self.entries: dict[str, int] = {}  # key -> location of its latest record
        self.end = 0  # where the whole records end
        self.blob: bytes | None = None  # the whole file, when it was parsed
        self.indexed_end = 0  # the end its index described (0: no index was used)
        self.damaged = False  # a record's checksum was wrong: the next save rewrites the file
        self.saved: dict[str, bytes] = {}  # what a save of this process added since
        if fd is not None:
            weakref.finalize(self, os.close, fd)

    @classmethod
    def open(cls, path: Path) -> _Snapshot:
        """The store file as it is now: from its index when that describes it, else parsed."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError:
            return cls(None, None, -1)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise IsADirectoryError(path)
            snapshot = cls(fd if _PREAD else None, (st.st_dev, st.st_ino), st.st_size)
        except OSError:
            os.close(fd)
            return cls(None, None, -1)
        try:
            if not (_PREAD and snapshot._read_index(path)):
                snapshot._parse(fd)
        except (OSError, MemoryError):
            snapshot._parse(fd)
        finally:
            if not _PREAD:  # pragma: no cover - Windows: everything is in blob
                os.close(fd)
        return snapshot

    def _read_index(self, path: Path) -> bool:
        """Take the locations from the file's index if it describes this file (records it does
        not describe at the end are parsed); False when it does not."""
        try:
            described = _index_contents(_index_path(path).read_bytes())
        except OSError:
            return False
        if described is None:
            return False
        identity, end, tail, entries = described
        if end > self.size and self.fd is not None:
            self.size = os.fstat(self.fd).st_size  # an append and its index since it was opened
        if identity != self.identity or not len(_HEADER) <= end <= self.size:
            return False
        start = max(0, end - _TAIL)
        if self._read(0, len(_HEADER)) != _HEADER:
            return False
        if zlib.crc32(self._read(start, end - start)) != tail:
            return False
        self.entries, self.end, self.indexed_end = entries, end, end
        if end < self.size:
            self.end = _parse_into(entries, self._read(end, self.size - end), end)
        return True

    def _parse(self, fd: int) -> None:
        """Read the whole file and find its records (none when it cannot be read)."""
        try:
            self.blob = _read_at(fd, 0, self.size)
        except (OSError, MemoryError):
            self.blob = b""
        self.size = len(self.blob)
        self.entries, self.end, self.indexed_end = {}, 0, 0
        if self.blob.startswith(_HEADER):
            self.end = _parse_into(self.entries, self.blob[len(_HEADER) :], len(_HEADER))

    def _read(self, offset: int, size: int) -> bytes:
        if self.blob is not None and offset + size <= len(self.blob):
            return self.blob[offset : offset + size]
        if self.fd is None:
            return b""
        try:
            return _read_at(self.fd, offset, size)
        except OSError:
            return b""

    @property
    def whole(self) -> bool:
        """Whether the file is a header and whole, intact records (a save may append to it)."""
        return self.end == self.size and self.end > 0 and not self.damaged

    def keys_in_order(self) -> dict[str, None]:
        """The keys in the order of their latest records (oldest first)."""
        return {**dict.fromkeys(self.entries), **dict.fromkeys(self.saved)}

    def __contains__(self, key: str) -> bool:
        return key in self.saved or key in self.entries

    def value(self, key: str) -> bytes | None:
        """key's value, None when there is none or its record is damaged (then dropped: the
        next save rewrites the file)."""
        value = self.saved.get(key)
        location = self.entries.get(key) if value is None else None
        if location is None:
            return value
        record = self._read(location >> _LENGTH_BITS, location & _LENGTH_MASK)
        raw_key = key.encode("utf-8")
        if not _is_record_of(record, raw_key):
            if self.indexed_end and self.fd is not None:  # the index does not describe the file
                self._parse(self.fd)
                return self.value(key)
            self.damaged = True  # pragma: no cover - a parsed file's records are where found
        elif _intact(record):
            return record[_RECORD.size + len(raw_key) :]
        del self.entries[key]
        self.damaged = True
        return None


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
    """Entries ``key -> bytes`` in the file ``path``, about ``max_bytes`` of them at most; the
    files it creates have permissions ``mode`` (None: the owner's alone)."""

    def __init__(self, path: Path, max_bytes: int, mode: int | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.mode = mode
        self._snapshot: _Snapshot | None = None
        self._saved_since = False  # a save changed the file since the snapshot was read
        self._used: dict[str, None] = {}  # keys read or added by this process, in order
        self._added: dict[str, bytes] = {}

    def _loaded(self) -> _Snapshot:
        if self._snapshot is None:
            self._snapshot = _Snapshot.open(self.path)
        return self._snapshot

    def _current(self) -> _Snapshot:
        """The file as it is now, without reading it again when it is still the snapshot."""
        snapshot = self._snapshot
        if snapshot is not None and not self._saved_since and snapshot.identity is not None:
            try:
                st = os.stat(self.path)
            except OSError:
                st = None
            if st is not None and (st.st_dev, st.st_ino, st.st_size) == (
                *snapshot.identity,
                snapshot.size,
            ):
                return snapshot
        return _Snapshot.open(self.path)

    def __len__(self) -> int:
        """How many entries the store holds (on disk when first read, and added since)."""
        return len(self._loaded().keys_in_order().keys() | self._added.keys())

    def get(self, key: str) -> bytes | None:
        """The stored value, or None."""
        value = self._added.get(key)
        if value is None:
            value = self._loaded().value(key)
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
            self._save_index()
            return
        with _locked(self.path):
            on_disk = self._current()  # with what others saved since this read
            new = {k: v for k, v in self._added.items() if on_disk.value(k) != v}
            growth = sum(_record_size(k, v) for k, v in new.items())
            appended = on_disk.whole and on_disk.size + growth <= self.max_bytes
            if appended and (new or on_disk.indexed_end != on_disk.end):
                # A file this user may read but not write (another's, in a shared folder) is
                # replaced instead.
                appended = self._append(on_disk, new)
            if not appended:
                self._rewrite(on_disk)
            on_disk.saved.update(new)
        self._snapshot = on_disk
        self._saved_since = True  # read again before the next save
        self._added = {}

    def _save_index(self) -> None:
        """Write the index when the file read had none describing all of it."""
        snapshot = self._snapshot
        if not _PREAD or snapshot is None or self._saved_since:
            return
        if snapshot.whole and snapshot.indexed_end != snapshot.end:
            with _locked(self.path):
                if self._current() is snapshot:
                    self._append(snapshot, {})

    def _append(self, on_disk: _Snapshot, new: dict[str, bytes]) -> bool:
        """Append the records of new to the file on_disk read, then write its index; False
        when the file could not be written."""
        entries = dict(on_disk.entries)
        records = []
        end = on_disk.end
        for key, value in new.items():
            record = _record(key, value)
            records.append(record)
            entries.pop(key, None)
            entries[key] = end << _LENGTH_BITS | len(record)
            end += len(record)
        try:
            with open(self.path, "r+b") as handle:
                st = os.fstat(handle.fileno())
                if (st.st_dev, st.st_ino) != on_disk.identity:
                    return True  # pragma: no cover - replaced under the lock: by no save of ours
                if records:
                    handle.seek(on_disk.end)
                    handle.write(b"".join(records))
                    handle.flush()
                index = _index(handle.fileno(), on_disk.identity, end, entries) if _PREAD else None
        except OSError:
            return False
        if index is not None:
            replace_file(_index_path(self.path), index, self.mode)
        return True

    def _rewrite(self, on_disk: _Snapshot) -> None:
        """The file again: older entries first, this process's last, the oldest dropped (and
        any whose checksum is wrong)."""
        entries: dict[str, bytes] = {}
        for key in on_disk.keys_in_order():
            value = on_disk.value(key) if key not in self._used else None
            if value is not None:
                entries[key] = value
        for key in self._used:
            value = self._added.get(key)
            if value is None:
                value = on_disk.value(key) if key in on_disk else self._loaded().value(key)
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
        into one blob: a cold build's stores hold tens of megabytes), then its index."""
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _temporary(self.path, self.mode)
            with os.fdopen(fd, "wb") as handle:
                locations: dict[str, int] = {}
                end = handle.write(_HEADER)
                for key, value in entries:
                    raw_key = key.encode("utf-8")
                    check = zlib.crc32(value, zlib.crc32(raw_key))
                    handle.write(_RECORD.pack(len(raw_key), len(value), check) + raw_key)
                    handle.write(value)
                    size = _RECORD.size + len(raw_key) + len(value)
                    locations[key] = end << _LENGTH_BITS | size
                    end += size
                handle.flush()
                st = os.fstat(fd)
                identity = (st.st_dev, st.st_ino)
                index = _index(fd, identity, end, locations) if _PREAD else None
            os.replace(tmp, self.path)
            tmp = None
        except OSError:
            return
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        if index is not None:
            replace_file(_index_path(self.path), index, self.mode)
