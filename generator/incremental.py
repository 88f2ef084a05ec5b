"""Incremental builds: what one build rendered, reused by the next when its inputs are equal.

A cached unit (the files one emitter makes for one entity, a router's part of openapi.json, a
table of the schema snapshot, the client's operation modules) records what it read of the
project while it was produced: the emitter runs on a `TrackedProject`,
which notes every entity, table and project-level attribute it hands out. The unit is stored
with those reads and a digest of their values; a later build reuses it only when every read
gives the same value again (digests of the IR pieces, computed at most once per build). Nothing
is keyed by a timestamp, and nothing the unit did not read can make it stale. Inputs that do
not come from the project (a value the caller computed from the whole project) are part of the
unit's key, given by the caller.

One store per project in the build's cache folder (`<cache_dir>/incremental-v1/`, a
`CacheStore`: one record per unit, read when the unit is asked for, and a save appends only the
units this build rendered anew: a one-entity change writes kilobytes, not the 16 MB of every
unit at N=200). `FileCache` keeps what is computed from one spec file's text alone (its YAML)
in one file per spec folder, loaded once and replaced atomically once. Both are valid only for
the same generator code, templates, Python and installed distributions (a store written by
other code is started afresh); an unreadable, corrupt or foreign file only costs the cache.

`GEN_EMIT_CACHE` (a stamp input, like `GEN_OPENAPI`): unset or `on` uses the cache; `off`
neither reads nor writes it; `verify` renders every unit and fails on any difference from a
cache entry that would have been used.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar, cast

from generator import ir, modes
from generator.cache_store import CacheStore, replace_file

FOLDER = "incremental-v1"

#: What a unit read: ("entity", name), ("class", class name), ("table", name) or
#: ("attr", a Project field such as "api", "auth", "roles", "entities").
Read = tuple[str, str]

#: The Project fields a unit may read as a whole.
PROJECT_FIELDS = frozenset(f for f in ir.Project.__dataclass_fields__ if not f.startswith("_"))

T = TypeVar("T")


class CacheMismatch(Exception):
    """`GEN_EMIT_CACHE=verify`: a cache entry that a build would have used differs from what
    rendering gives."""


def cache_mode() -> str:
    """What `GEN_EMIT_CACHE` selects: `on` (unset), `off` or `verify`."""
    try:
        return modes.mode("GEN_EMIT_CACHE")
    except modes.ModeError as exc:
        raise CacheMismatch(str(exc)) from None


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).digest()


class TrackedProject(ir.Project):
    """The project as a unit sees it: every entity, table and project attribute handed out is
    noted in `reads`. Built by `track`, never by the dataclass constructor."""

    def __getattribute__(self, name: str) -> Any:
        if name in PROJECT_FIELDS:
            object.__getattribute__(self, "_reads").add(("attr", name))
        return object.__getattribute__(self, name)

    def entity(self, name: str) -> ir.Entity:
        self._reads.add(("entity", name))
        return self._project.entity(name)

    def has_entity(self, name: str) -> bool:
        self._reads.add(("entity", name))
        return self._project.has_entity(name)

    def entities_of_class(self, class_name: str) -> tuple[ir.Entity, ...]:
        self._reads.add(("class", class_name))
        return self._project.entities_of_class(class_name)

    def table(self, name: str) -> ir.Table:
        self._reads.add(("table", name))
        return self._project.table(name)

    @property
    def _project(self) -> ir.Project:
        project: ir.Project = object.__getattribute__(self, "_tracked")
        return project

    @property
    def _reads(self) -> set[Read]:
        reads: set[Read] = object.__getattribute__(self, "_read_set")
        return reads


def track(project: ir.Project) -> tuple[ir.Project, set[Read]]:
    """A view of project that records what is read through it, and the set it records into."""
    tracked = object.__new__(TrackedProject)
    state = object.__getattribute__(tracked, "__dict__")
    state.update(vars(project))
    reads: set[Read] = set()
    state["_tracked"] = project
    state["_read_set"] = reads
    return tracked, reads


class ProjectDigests:
    """The digest of each IR piece a unit may read, computed at most once per build.

    An entity is digested once however it is read: a class read's digest is made of its
    members' digests (in order), not of their text again (0.03 s of the build's worker at N=200).
    """

    def __init__(self, project: ir.Project) -> None:
        self.project = project
        self._memo: dict[Read, bytes] = {}
        # Keyed by id(): the project holds every entity for as long as this object lives.
        self._entities: dict[int, bytes] = {}

    def of(self, read: Read) -> bytes:
        found = self._memo.get(read)
        if found is None:
            found = self._memo[read] = self._value_digest(read)
        return found

    def _value_digest(self, read: Read) -> bytes:
        kind, name = read
        if kind == "entity" and self.project.has_entity(name):
            return self._entity(self.project.entity(name))
        if kind == "class":
            return self._class(self.project.entities_of_class(name))
        return _digest(self._value_text(read))

    def _entity(self, entity: ir.Entity) -> bytes:
        found = self._entities.get(id(entity))
        if found is None:
            found = self._entities[id(entity)] = _digest(repr(entity))
        return found

    def _class(self, members: tuple[ir.Entity, ...]) -> bytes:
        """The digest of the members' digests in order (their count first: exact, since each
        digest has one length)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(f"class\0{len(members)}\0".encode())
        for member in members:
            h.update(self._entity(member))
        return h.digest()

    def _value_text(self, read: Read) -> str:
        kind, name = read
        project = self.project
        if kind == "entity":
            return "absent"  # a present entity is digested by _entity
        if kind == "table":
            try:
                return repr(project.table(name))
            except KeyError:
                return "absent"
        if kind == "attr" and name in PROJECT_FIELDS:
            return repr(getattr(project, name))
        return f"unknown read {read!r}"  # never equal to a value's text: the entry is not used

    def combined(self, reads: Iterable[Read], key: str) -> bytes:
        """One digest of the caller's key and the current value of every read."""
        h = hashlib.blake2b(digest_size=16)
        h.update(_digest(key))
        for read in sorted(reads):
            h.update(_digest("\0".join(read)))
            h.update(self.of(read))
        return h.digest()


#: What a unit read, the digest of their values and its key, and its value (marshal's bytes).
Entry = tuple[tuple[Read, ...], bytes, bytes]

#: `BuildCache.shared()`: the keys of the units used, those rendered anew, and the hit, miss
#: and verified counts.
Shared = tuple[set[str], dict[str, Entry], int, int, int]

#: The size past which a project's store is rewritten without its oldest units.
STORE_MAX_BYTES = 256 << 20
#: The key of the store's record naming the code that wrote it (`code_identity`).
_CODE_KEY = "\0code"


def _same_value(blob: bytes, value: Any) -> bool:
    """Whether blob (marshal's bytes) holds value, types included. marshal's bytes of two equal
    values may differ (objects shared, strings interned); its version 2 writes neither, and
    tells True from 1 and 0.0 from -0.0, which `==` would not."""
    with contextlib.suppress(EOFError, ValueError, TypeError):
        return marshal.dumps(marshal.loads(blob), 2) == marshal.dumps(value, 2)
    return False


class BuildCache:
    """The units of one project: read from its store when asked for, the new ones saved once
    (see the module docstring)."""

    def __init__(self, project: ir.Project, path: Path | None, mode: str = "on") -> None:
        self.digests = ProjectDigests(project)
        self.path = path
        self.mode = mode
        self._code = code_identity() if path is not None else ""
        self._store = CacheStore(path, STORE_MAX_BYTES) if path is not None else None
        self._current = (
            self._store is not None
            and mode != "off"
            and self._store.get(_CODE_KEY) == self._code.encode()
        )
        self._used: set[str] = set()  # keys of the units this build used
        self._fresh: dict[str, Entry] = {}  # the units rendered anew (to save)
        self.hits = 0
        self.misses = 0
        self.verified = 0

    @classmethod
    def open(cls, cache_dir: Path | None, project: ir.Project) -> BuildCache:
        """The cache of project under cache_dir (no cache when cache_dir is None)."""
        mode = cache_mode()
        if cache_dir is None or mode == "off":
            return cls(project, None, mode)
        name = hashlib.sha256(f"{project.api.name}\0{project.source}".encode()).hexdigest()
        return cls(project, cache_dir / FOLDER / f"{name[:32]}.store", mode)

    def _old(self, key: str) -> Entry | None:
        """The unit stored under key by an earlier build of the same code, if any."""
        blob = self._store.get(key) if self._store is not None and self._current else None
        if blob is None:
            return None
        with contextlib.suppress(EOFError, ValueError, TypeError):
            entry = marshal.loads(blob)
            if isinstance(entry, tuple) and len(entry) == 3:
                return cast(Entry, entry)
        return None

    def _keep(self, key: str, entry: Entry, old: Entry | None) -> None:
        self._used.add(key)
        if old is None or old != entry:
            self._fresh[key] = entry

    def unit(
        self,
        key: str,
        produce: Callable[[ir.Project], T],
        usable: Callable[[T], bool] | None = None,
    ) -> T:
        """produce(project)'s value, from the cache when everything it read last time reads the
        same now (and `usable(value)`, for a condition outside the project). key names the unit
        and every input produce takes from elsewhere than the project it is given. The value
        must be made of what `marshal` stores (str, int, float, bool, None, bytes, tuple, list,
        dict); it is kept as a copy, so the caller may change what it gets."""
        if self.path is None:
            return produce(self.digests.project)
        old = self._old(key)
        cached: T | None = None
        if self._reads_alike(old, key):
            assert old is not None
            with contextlib.suppress(EOFError, ValueError, TypeError):
                cached = marshal.loads(old[2])
            if cached is not None and usable is not None and not usable(cached):
                cached = None
        if cached is not None and self.mode != "verify":
            assert old is not None
            self.hits += 1
            self._used.add(key)
            return cached
        self.misses += 1
        tracked, reads = track(self.digests.project)
        value = produce(tracked)
        if cached is not None:
            if cached != value:
                shown = key.replace("\0", " ")
                raise CacheMismatch(f"GEN_EMIT_CACHE=verify: the cached `{shown}` differs")
            self.verified += 1
        try:
            stored = marshal.dumps(cast(Any, value))
        except ValueError:  # a value marshal cannot hold: not cached
            return value
        ordered = tuple(sorted(reads))
        self._keep(key, (ordered, self.digests.combined(ordered, key), stored), old)
        return value

    def holds(self, key: str) -> bool:
        """Whether `unit(key, ...)` would give its stored value without producing one: the
        unit is stored and everything it read reads the same now (never in `verify` mode)."""
        if self.path is None or self.mode == "verify":
            return False
        return self._reads_alike(self._old(key), key)

    def _reads_alike(self, old: Entry | None, key: str) -> bool:
        """Whether everything the stored unit read reads the same now."""
        return old is not None and self.digests.combined(old[0], key) == old[1]

    def stored(self, key: str) -> Any:
        """The value `store` kept under key in the last build (None when there is none), for a
        caller that checks by itself what of it still holds (`GEN_EMIT_CACHE=verify` included)."""
        old = self._old(key) if self.path is not None else None
        if old is None or old[0] or old[1]:
            return None
        with contextlib.suppress(EOFError, ValueError, TypeError):
            return marshal.loads(old[2])
        return None

    def store(self, key: str, value: Any) -> None:
        """Keep value (made of what `marshal` stores) under key for the next build's `stored`;
        a value equal to the stored one (in type too) is not written again."""
        if self.path is None:
            return
        try:
            data = marshal.dumps(value)
        except ValueError:  # a value marshal cannot hold: not kept
            return
        old = self._old(key)
        if old is not None and old[2] != data and _same_value(old[2], value):
            old = (old[0], old[1], data)
        self._keep(key, ((), b"", data), old)

    def keep(self, key: str) -> None:
        """Keep what `store` put under key in an earlier build, as it is, for the next build: for
        a caller that knows the value is unchanged (one `stored` gave that it did not change)."""
        if self.path is not None:
            self._used.add(key)

    def shared(self) -> Shared:
        """The units this process used or rendered, and its counts: a build's worker process
        (generator/aside.py) hands them to the process that saves the cache."""
        return set(self._used), dict(self._fresh), self.hits, self.misses, self.verified

    def adopt(self, shared: Shared) -> None:
        """Count in what another process of this build did with the cache (its `shared()`)."""
        used, fresh, hits, misses, verified = shared
        self._used |= used
        self._fresh.update(fresh)
        self.hits += hits
        self.misses += misses
        self.verified += verified

    def save(self) -> None:
        """Append the units rendered anew to the store (a store of other code is started
        afresh); the units reused are kept first when it is rewritten past its bound. Any
        OSError only costs the cache."""
        if self._store is None or self.mode == "off":
            return
        if not self._current:
            if not self._fresh:
                return
            assert self.path is not None
            with contextlib.suppress(OSError):
                self.path.unlink()  # another code's units: none can be used again
            self._store = CacheStore(self.path, STORE_MAX_BYTES)
            self._store.put(_CODE_KEY, self._code.encode())
        for key in self._used:
            entry = self._fresh.get(key)
            if entry is None:
                self._store.keep(key)
                continue
            with contextlib.suppress(ValueError):
                self._store.put(key, marshal.dumps(entry))
        self._store.save()


def read_cache_file(path: Path, code: str) -> dict[str, Any]:
    """The entries of a cache file written by the same code, else none."""
    try:
        stored_code, entries = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if stored_code != code or not isinstance(entries, dict):
        return {}
    return entries


def write_cache_file(path: Path, code: str, entries: dict[str, Any]) -> None:
    """Replace path atomically; an OSError (or a value marshal cannot hold) only costs the
    cache."""
    try:
        data = marshal.dumps((code, entries))
    except ValueError:
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, data)


class FileCache:
    """Values computed from one file's text alone (a spec file's YAML), keyed by a digest of
    what they are computed from; one cache file per spec folder, loaded and saved once."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._code = code_identity() if path is not None else ""
        self._old: dict[str, Any] = read_cache_file(path, self._code) if path else {}
        self._new: dict[str, Any] = {}

    @classmethod
    def open(cls, cache_dir: Path | None, name: str) -> FileCache:
        """The cache called name under cache_dir (none when cache_dir is None or
        `GEN_EMIT_CACHE=off`)."""
        if cache_dir is None or cache_mode() == "off":
            return cls(None)
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()
        return cls(cache_dir / FOLDER / f"files-{digest[:32]}.bin")

    def get(self, inputs: str) -> Any:
        """The value stored for inputs (None when there is none)."""
        if self.path is None:
            return None
        key = hashlib.blake2b(inputs.encode("utf-8", "surrogateescape"), digest_size=16).digest()
        found = self._old.get(key.hex())
        if found is not None:
            self._new[key.hex()] = found
            with contextlib.suppress(EOFError, ValueError, TypeError):
                return marshal.loads(found)
        return None

    def put(self, inputs: str, value: Any) -> None:
        """Store value for inputs (not stored when marshal cannot hold it)."""
        if self.path is None:
            return
        key = hashlib.blake2b(inputs.encode("utf-8", "surrogateescape"), digest_size=16).digest()
        with contextlib.suppress(ValueError):
            self._new[key.hex()] = marshal.dumps(value)

    def save(self) -> None:
        if self.path is not None and self._new != self._old:
            write_cache_file(self.path, self._code, self._new)


_CODE_IDENTITY: list[str] = []


def code_identity() -> str:
    """gen's code and templates, the Python version and the installed distributions: what
    makes the same reads render the same text."""
    if not _CODE_IDENTITY:
        from generator import stamp

        h = hashlib.sha256()
        h.update(f"{FOLDER}\0{sys.version}\0".encode())
        for path in stamp.generator_files():
            with contextlib.suppress(OSError):
                data = path.read_bytes()
                h.update(f"{path.name}\0{len(data)}\0".encode())
                h.update(data)
        for name in stamp._distributions():
            h.update(f"{name}\0".encode())
        _CODE_IDENTITY.append(h.hexdigest())
    return _CODE_IDENTITY[0]
