"""What the compile stage computed for one entity, reused by the next build when its inputs are
equal.

Two per-entity steps read nothing of the spec set but the entity's own spec file and the
declared enums: resolving the entity into its IR (`Resolver.entity`, with the inline enums its
fields declare) and checking its field definitions (`check_fields` over its sites). Each result
is kept under a digest of exactly those inputs: the entity's file (label and text, which fix
its spec and every span) and name, the declared enums (names and values, in order) and gen's
code identity (`incremental.code_identity`). Nothing else can change such a result, so a
one-entity change recomputes one entity's and reuses the others'. Whatever reads other
entities (every other rule, normalization, smells) runs as before.

One store per spec folder, beside the build cache (`<cache_dir>/incremental-v1/`, a
`CacheStore`: read once, a save appends only the entries this build computed). Values are
pickles of IR and diagnostics; only gen's IR and diagnostic classes are unpickled.

`GEN_EMIT_CACHE` (as for the build cache): `off` neither reads nor writes; `verify` computes
every result and raises `CacheMismatch` on any difference from a stored one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from generator.cache_store import CacheStore
from generator.incremental import FOLDER, CacheMismatch, cache_mode, code_identity

if TYPE_CHECKING:
    from generator.validate.specset import Located, SpecSet

__all__ = ["CompileCache"]

T = TypeVar("T")

#: The size past which the store is rewritten without its oldest entries (a live set at N=200
#: is under 1 MB: a store this size holds a few versions of it, and reads in a millisecond).
STORE_MAX_BYTES = 8 << 20
_CODE_KEY = "\0code"
#: The modules whose classes a stored value may hold, and the other classes it may hold (a
#: default or an example the YAML wrote as a date or a timestamp).
_MODULES = frozenset({"generator.ir.model", "generator.diagnostics"})
_CLASSES = frozenset(
    ("datetime", name) for name in ("date", "datetime", "time", "timedelta", "timezone")
)


class _Unpickler(pickle.Unpickler):
    """Unpickles gen's IR and diagnostics, and nothing that could run code."""

    def find_class(self, module: str, name: str) -> Any:
        if module in _MODULES or (module, name) in _CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not stored in the compile cache")


def _loads(blob: bytes) -> Any:
    """The stored value, None when it cannot be read."""
    with contextlib.suppress(Exception):  # a damaged or foreign entry only costs the cache
        return _Unpickler(io.BytesIO(blob)).load()
    return None


class CompileCache:
    """The per-entity results of one spec folder's compile stage (see the module docstring)."""

    def __init__(self, path: Path | None, mode: str = "on") -> None:
        self.path = path
        self.mode = mode
        self._code = code_identity() if path is not None else ""
        self._store = CacheStore(path, STORE_MAX_BYTES) if path is not None else None
        stored_code = self._store.get(_CODE_KEY) if self._store is not None else None
        self._current = stored_code is not None and stored_code == self._code.encode()
        self._fresh: dict[str, bytes] = {}
        self._enums: dict[int, str] = {}  # by id() of a spec set alive for this cache's build
        self.hits = 0
        self.misses = 0
        self.verified = 0

    @classmethod
    def open(cls, cache_dir: Path | None, name: str) -> CompileCache:
        """The cache called name under cache_dir (none when cache_dir is None or
        `GEN_EMIT_CACHE=off`)."""
        mode = cache_mode()
        if cache_dir is None or mode == "off":
            return cls(None, mode)
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()
        return cls(cache_dir / FOLDER / f"compile-{digest[:32]}.store", mode)

    def entity_inputs(self, located: Located[Any], spec: SpecSet) -> str | None:
        """What fixes an entity's own results: its file (label, text digest), its place in it,
        and the declared enums; None for a file not read by `load_specs` (no digest)."""
        file = located.file
        if not file.digest:
            return None
        enums = self._enums.get(id(spec))
        if enums is None:
            declared = tuple((name, tuple(loc.value)) for name, loc in spec.enums.items())
            enums = self._enums[id(spec)] = repr(declared)
        return f"{file.label}\0{file.digest}\0{located.path!r}\0{enums}"

    def value(self, kind: str, inputs: str | None, compute: Callable[[], T]) -> T:
        """compute()'s value, from the store when it was computed before from the same inputs
        (`inputs` must name every input compute reads, None when they cannot be named; kind
        names the step)."""
        if self._store is None or inputs is None:
            return compute()
        key = hashlib.blake2b(
            f"{kind}\0{inputs}".encode("utf-8", "surrogateescape"), digest_size=16
        ).hexdigest()
        blob = self._store.get(key) if self._current else None
        cached = _loads(blob) if blob is not None else None
        if cached is not None and self.mode != "verify":
            self.hits += 1
            return cached  # type: ignore[no-any-return]
        self.misses += 1
        value = compute()
        if cached is not None:
            if cached != value or repr(cached) != repr(value):
                raise CacheMismatch(f"GEN_EMIT_CACHE=verify: the cached {kind} differs")
            self.verified += 1
            return value
        with contextlib.suppress(Exception):  # a value pickle cannot hold: not stored
            self._fresh[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return value

    def save(self) -> None:
        """Append what this build computed anew (a store of other code is started afresh);
        any OSError only costs the cache."""
        if self._store is None or not self._fresh:
            return
        if not self._current:
            assert self.path is not None
            with contextlib.suppress(OSError):
                self.path.unlink()  # another code's entries: none can be used again
            self._store = CacheStore(self.path, STORE_MAX_BYTES)
            self._store.put(_CODE_KEY, self._code.encode())
            self._current = True
        for key, blob in self._fresh.items():
            self._store.put(key, blob)
        self._fresh = {}
        self._store.save()
