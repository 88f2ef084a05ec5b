"""Functional-dependency algebra: closures, covers, keys, normal forms and 3NF synthesis.

Everything here is a pure function of its arguments. Attributes are ``str``; sets of attributes
are ``frozenset[str]``.

Ordering (every returned collection is sorted this way, never by set or hash order):

* attribute names: plain ``str`` order (code points);
* attribute sets: by size, then by the sorted tuple of names (:func:`attrs_key`);
* FDs: by left side, then by right side, each compared with :func:`attrs_key` (``FD``'s ``<``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

__all__ = [
    "FD",
    "Relation",
    "attrs_key",
    "candidate_keys",
    "canonical_cover",
    "closure",
    "equivalent",
    "implies",
    "is_3nf",
    "is_bcnf",
    "is_lossless",
    "is_superkey",
    "merge_by_lhs",
    "minimal_cover",
    "parse_fds",
    "preserves_dependencies",
    "project",
    "singletons",
    "synthesize_3nf",
]

AttrSet = frozenset[str]
SetKey = tuple[int, tuple[str, ...]]

_EMPTY = "{}"
_NAME_SEP = re.compile(r"[\s,]+")


def attrs_key(attrs: Iterable[str]) -> SetKey:
    """Sort key for attribute sets: size, then sorted names."""
    names = tuple(sorted(attrs))
    return (len(names), names)


def _names(text: str) -> AttrSet:
    """Attribute names in ``text``, separated by commas and/or spaces (``{}`` is empty)."""
    text = text.strip()
    if text == _EMPTY:
        return frozenset()
    return frozenset(name for name in _NAME_SEP.split(text) if name)


def _render(attrs: AttrSet) -> str:
    return ", ".join(sorted(attrs)) if attrs else _EMPTY


@dataclass(frozen=True, order=True)
class FD:
    """The functional dependency ``lhs -> rhs``.

    Equality, hashing and ``<`` use ``sort_key`` (derived from lhs and rhs), so FDs sort in
    the documented total order rather than by frozenset inclusion.
    """

    lhs: AttrSet = field(compare=False)
    rhs: AttrSet = field(compare=False)
    sort_key: tuple[SetKey, SetKey] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.lhs, str) or isinstance(self.rhs, str):
            raise TypeError("FD sides are sets of names; use FD.parse for text")
        object.__setattr__(self, "lhs", frozenset(self.lhs))
        object.__setattr__(self, "rhs", frozenset(self.rhs))
        object.__setattr__(self, "sort_key", (attrs_key(self.lhs), attrs_key(self.rhs)))

    def __str__(self) -> str:
        return f"{_render(self.lhs)} -> {_render(self.rhs)}"

    @classmethod
    def parse(cls, text: str) -> FD:
        """Parse ``"a, b -> c"`` (the inverse of ``str``); names split on commas/spaces."""
        lhs, sep, rhs = text.partition("->")
        if not sep:
            raise ValueError(f"not an FD (no '->'): {text!r}")
        return cls(_names(lhs), _names(rhs))

    @property
    def attrs(self) -> AttrSet:
        """All attributes the FD mentions."""
        return self.lhs | self.rhs

    @property
    def trivial(self) -> bool:
        """True if ``rhs`` is contained in ``lhs``."""
        return self.rhs <= self.lhs


def parse_fds(text: str) -> tuple[FD, ...]:
    """Parse FDs separated by ``;`` or newlines, in input order."""
    parts = (part.strip() for part in re.split(r"[;\n]", text))
    return tuple(FD.parse(part) for part in parts if part)


@dataclass(frozen=True)
class Relation:
    """One relation of a decomposition.

    ``keys`` are its candidate keys under the projected FDs (sorted by :func:`attrs_key`);
    ``fds`` are the FDs it was built from, merged by left side and sorted: its cover FDs,
    those between its equivalent keys when groups were merged, and those of any relation it
    absorbed. Empty for an added key relation. All of them together imply the input FDs.
    """

    attrs: AttrSet
    keys: tuple[AttrSet, ...]
    fds: tuple[FD, ...]


# --- closure and implication ----------------------------------------------------------------


def closure(attrs: Iterable[str], fds: Iterable[FD]) -> AttrSet:
    """The closure ``attrs+`` of a set of attributes under ``fds``."""
    result = set(attrs)
    pending = [fd for fd in fds if not fd.trivial]
    changed = True
    while changed:
        changed = False
        waiting = []
        for fd in pending:
            if fd.lhs <= result:
                changed = changed or not fd.rhs <= result
                result |= fd.rhs
            else:
                waiting.append(fd)
        pending = waiting
    return frozenset(result)


def implies(fds: Iterable[FD], fd: FD) -> bool:
    """True if ``fds`` logically imply ``fd``."""
    return fd.rhs <= closure(fd.lhs, fds)


def equivalent(fds1: Iterable[FD], fds2: Iterable[FD]) -> bool:
    """True if each set of FDs implies every FD of the other."""
    first, second = tuple(fds1), tuple(fds2)
    return all(implies(first, fd) for fd in second) and all(implies(second, fd) for fd in first)


# --- covers ---------------------------------------------------------------------------------


def singletons(fds: Iterable[FD]) -> tuple[FD, ...]:
    """The nontrivial singleton-rhs FDs ``X -> a`` of ``fds``, deduplicated and sorted."""
    split = {FD(fd.lhs, frozenset({a})) for fd in fds for a in fd.rhs - fd.lhs}
    return tuple(sorted(split))


def _reduce_lhs(cover: Sequence[FD]) -> list[FD]:
    """Remove extraneous left-side attributes (FD order, then name order)."""
    reduced = list(cover)
    for i, fd in enumerate(reduced):
        lhs = fd.lhs
        for name in sorted(fd.lhs):
            if fd.rhs <= closure(lhs - {name}, reduced):
                lhs = lhs - {name}
        reduced[i] = FD(lhs, fd.rhs)
    return sorted(set(reduced))


def _drop_redundant(cover: Sequence[FD]) -> tuple[FD, ...]:
    """Remove FDs implied by the others, trying them in FD order."""
    kept = list(cover)
    for fd in cover:
        others = [other for other in kept if other != fd]
        if implies(others, fd):
            kept = others
    return tuple(kept)


def minimal_cover(fds: Iterable[FD]) -> tuple[FD, ...]:
    """A minimal cover: singleton right sides, no extraneous lhs attribute, no redundant FD.

    Deterministic: extraneous attributes are removed first (FDs in FD order, attributes in
    name order), then redundant FDs (in FD order). The result is sorted.
    """
    return _drop_redundant(_reduce_lhs(singletons(fds)))


def merge_by_lhs(fds: Iterable[FD]) -> tuple[FD, ...]:
    """The nontrivial FDs of ``fds`` with equal left sides merged, sorted."""
    merged: dict[AttrSet, set[str]] = {}
    for fd in singletons(fds):
        merged.setdefault(fd.lhs, set()).update(fd.rhs)
    return tuple(sorted(FD(lhs, frozenset(rhs)) for lhs, rhs in merged.items()))


def canonical_cover(fds: Iterable[FD]) -> tuple[FD, ...]:
    """The minimal cover with FDs of equal left side merged, sorted."""
    return merge_by_lhs(minimal_cover(fds))


def project(fds: Iterable[FD], attrs: Iterable[str]) -> tuple[FD, ...]:
    """A minimal cover of the FDs that ``fds`` imply among ``attrs``.

    Exponential: computes the closure of every subset of ``attrs`` that does not contain a
    superkey already found, so at most ``2 ** len(attrs)`` closures.
    """
    target, given = frozenset(attrs), tuple(fds)
    found: list[FD] = []
    superkeys: list[AttrSet] = []
    for subset in _subsets(sorted(target)):
        if any(key <= subset for key in superkeys):
            continue
        derived = closure(subset, given) & target
        if derived - subset:
            found.append(FD(subset, derived - subset))
        if derived == target:
            superkeys.append(subset)
    return minimal_cover(found)


def _subsets(names: Sequence[str], base: AttrSet = frozenset()) -> Iterable[AttrSet]:
    """``base`` plus each subset of ``names``, by size, then in combination order."""
    for size in range(len(names) + 1):
        for combo in combinations(names, size):
            yield base | frozenset(combo)


def _restrict(fds: Iterable[FD], attrs: AttrSet) -> tuple[FD, ...]:
    """FDs over ``attrs`` with the same closures within ``attrs`` as ``fds``.

    Cheap when every left side lies in ``attrs`` (right sides are cut to ``attrs``);
    otherwise :func:`project` (exponential).
    """
    given = tuple(fds)
    if all(fd.lhs <= attrs for fd in given):
        return tuple(FD(fd.lhs, fd.rhs & attrs) for fd in given)
    return project(given, attrs)


# --- keys -----------------------------------------------------------------------------------


def is_superkey(attrs_subset: Iterable[str], attrs: Iterable[str], fds: Iterable[FD]) -> bool:
    """True if ``attrs_subset`` lies in ``attrs`` and determines all of ``attrs``."""
    subset, schema = frozenset(attrs_subset), frozenset(attrs)
    return subset <= schema and schema <= closure(subset, fds)


def _shrink(superkey: AttrSet, schema: AttrSet, fds: Sequence[FD]) -> AttrSet:
    """A candidate key inside ``superkey`` (drops attributes in name order)."""
    key = superkey
    for name in sorted(superkey):
        if schema <= closure(key - {name}, fds):
            key = key - {name}
    return key


def _keys_lucchesi_osborn(schema: AttrSet, fds: Sequence[FD]) -> list[AttrSet]:
    """All keys (Lucchesi & Osborn 1978); needs every lhs inside ``schema``."""
    keys = [_shrink(schema, schema, fds)]
    for key in keys:  # grows while iterating
        for fd in fds:
            candidate = fd.lhs | (key - fd.rhs)
            if not any(known <= candidate for known in keys):
                keys.append(_shrink(candidate, schema, fds))
    return keys


def _keys_by_search(schema: AttrSet, fds: Sequence[FD]) -> list[AttrSet]:
    """All keys by enumerating subsets by size; attributes in no rhs are in every key."""
    derivable = frozenset().union(*(fd.rhs for fd in fds))
    core = schema - derivable
    keys: list[AttrSet] = []
    for subset in _subsets(sorted(schema - core), core):
        if not any(key <= subset for key in keys) and schema <= closure(subset, fds):
            keys.append(subset)
    return keys


def candidate_keys(attrs: Iterable[str], fds: Iterable[FD]) -> tuple[AttrSet, ...]:
    """All candidate keys of ``attrs`` under ``fds``, sorted by :func:`attrs_key`.

    Output-polynomial (Lucchesi-Osborn) when every lhs lies in ``attrs``; otherwise it
    enumerates subsets (exponential in ``len(attrs)``).
    """
    schema, given = frozenset(attrs), tuple(fds)
    if all(fd.lhs <= schema for fd in given):
        keys = _keys_lucchesi_osborn(schema, _restrict(given, schema))
    else:
        keys = _keys_by_search(schema, given)
    return tuple(sorted(set(keys), key=attrs_key))


# --- normal forms ---------------------------------------------------------------------------


def is_bcnf(attrs: Iterable[str], fds: Iterable[FD]) -> bool:
    """True if every nontrivial FD implied on ``attrs`` has a superkey left side.

    ``fds`` should be a cover over ``attrs`` (e.g. from :func:`project`); FDs that mention
    other attributes are projected first.
    """
    schema = frozenset(attrs)
    local = singletons(_restrict(fds, schema))
    return all(is_superkey(fd.lhs, schema, local) for fd in local)


def is_3nf(attrs: Iterable[str], fds: Iterable[FD]) -> bool:
    """True if every nontrivial implied ``X -> a`` has a superkey ``X`` or a prime ``a``.

    ``fds`` should be a cover over ``attrs``; FDs that mention other attributes are
    projected first. Testing the FDs of a cover suffices.
    """
    schema = frozenset(attrs)
    local = singletons(_restrict(fds, schema))
    bad = [fd for fd in local if not is_superkey(fd.lhs, schema, local)]
    if not bad:
        return True
    prime = frozenset().union(*candidate_keys(schema, local))
    return all(fd.rhs <= prime for fd in bad)


# --- decompositions -------------------------------------------------------------------------


def is_lossless(
    attrs: Iterable[str], relations: Iterable[frozenset[str]], fds: Iterable[FD]
) -> bool:
    """True if the join of the projections onto ``relations`` is always ``attrs`` (chase).

    Builds the tableau (one row per relation; 0 is a distinguished symbol) and equates
    symbols per FD until nothing changes; lossless iff some row becomes all distinguished.
    """
    schema = frozenset(attrs)
    parts = [frozenset(part) for part in relations]
    if any(not part <= schema for part in parts):
        raise ValueError("every relation must be a subset of attrs")
    rows = [{a: 0 if a in part else i + 1 for a in schema} for i, part in enumerate(parts)]
    rules = singletons(_restrict(fds, schema))
    while any([_chase_step(rows, fd) for fd in rules]):
        pass
    return any(not any(row.values()) for row in rows)


def _chase_step(rows: list[dict[str, int]], fd: FD) -> bool:
    """Equate the ``fd.rhs`` symbols of rows that agree on ``fd.lhs``; True if any changed."""
    (target,) = fd.rhs
    lhs = sorted(fd.lhs)
    groups: dict[tuple[int, ...], list[dict[str, int]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[a] for a in lhs), []).append(row)
    changed = False
    for members in groups.values():
        symbols = {row[target] for row in members}
        if len(symbols) > 1:
            keep = min(symbols)
            for row in rows:
                if row[target] in symbols:
                    row[target] = keep
            changed = True
    return changed


def preserves_dependencies(relations: Iterable[frozenset[str]], fds: Iterable[FD]) -> bool:
    """True if the projections onto ``relations`` together imply every FD in ``fds``.

    Polynomial: for each ``X -> Y`` grows ``Z = X`` by ``(Z & R)+ & R`` over every relation
    ``R`` until stable, then checks ``Y <= Z``; no projection is computed.
    """
    parts = [frozenset(part) for part in relations]
    given = tuple(fds)
    return all(fd.rhs <= _closure_through(fd.lhs, parts, given) for fd in given)


def _closure_through(attrs: AttrSet, parts: Sequence[AttrSet], fds: Sequence[FD]) -> AttrSet:
    """What ``attrs`` determines using only FDs enforced inside single relations."""
    result = set(attrs)
    changed = True
    while changed:
        changed = False
        for part in parts:
            gained = (closure(result & part, fds) & part) - result
            if gained:
                result |= gained
                changed = True
    return frozenset(result)


# --- 3NF synthesis --------------------------------------------------------------------------

Part = tuple[AttrSet, tuple[FD, ...]]


def _plain_groups(cover: Sequence[FD]) -> list[Part]:
    """One part per left side of the minimal cover: ``X`` plus everything ``X`` determines."""
    groups: dict[AttrSet, list[FD]] = {}
    for fd in cover:
        groups.setdefault(fd.lhs, []).append(fd)
    return [_part(group) for group in groups.values()]


def _merged_groups(cover: Sequence[FD]) -> list[Part]:
    """Bernstein's groups: one part per class of left sides with equal closures.

    Each part holds its class's left sides, its surviving cover FDs and the FDs ``J``
    between its equivalent left sides; classes left without FDs are dropped.
    """
    classes = _lhs_classes(cover)
    j = [FD(x, y - x) for lhss in classes for x in lhss for y in lhss if not y <= x]
    kept = _drop_transitive(cover, j)
    parts = []
    for lhss in classes:
        fds = [fd for fd in (*kept, *j) if fd.lhs in lhss]
        if fds:
            parts.append(_part(fds, lhss))
    return parts


def _lhs_classes(cover: Sequence[FD]) -> list[list[AttrSet]]:
    """Left sides grouped by closure, in first-FD order."""
    classes: dict[AttrSet, list[AttrSet]] = {}
    for fd in cover:
        lhss = classes.setdefault(closure(fd.lhs, cover), [])
        if fd.lhs not in lhss:
            lhss.append(fd.lhs)
    return list(classes.values())


def _drop_transitive(cover: Sequence[FD], j: Sequence[FD]) -> list[FD]:
    """Cover FDs not implied by ``j`` plus the other survivors (tried in FD order).

    Without this step (Bernstein 1976) a merged part can hide a transitive dependency.
    """
    kept = [fd for fd in cover if not implies(j, fd)]
    for fd in tuple(kept):
        rest = [other for other in kept if other != fd]
        if implies([*rest, *j], fd):
            kept = rest
    return kept


def _part(fds: Sequence[FD], lhss: Iterable[AttrSet] = ()) -> Part:
    """The attributes of ``fds`` and ``lhss``, with ``fds`` merged by left side."""
    attrs = frozenset().union(*lhss, *(fd.attrs for fd in fds))
    return attrs, merge_by_lhs(fds)


def _absorb(parts: Sequence[Part]) -> list[Part]:
    """Drop parts contained in another; the first container in order takes over their FDs."""

    def contained(i: int, j: int) -> bool:
        a, b = parts[i][0], parts[j][0]
        return i != j and a <= b and (a != b or j < i)

    kept = [i for i in range(len(parts)) if not any(contained(i, j) for j in range(len(parts)))]
    fds: dict[int, list[FD]] = {i: list(parts[i][1]) for i in kept}
    for i in range(len(parts)):
        if i not in fds:
            owner = next(j for j in kept if parts[i][0] <= parts[j][0])
            fds[owner].extend(parts[i][1])
    return [(parts[i][0], merge_by_lhs(fds[i])) for i in kept]


def synthesize_3nf(
    attrs: Iterable[str], fds: Iterable[FD], *, merge_equivalent: bool = True
) -> tuple[Relation, ...]:
    """A lossless, dependency-preserving 3NF decomposition (Bernstein synthesis).

    Minimal cover; one part per left side, or with ``merge_equivalent`` (the default) one
    per class of equivalent left sides (``X+ == Y+``) after Bernstein's elimination of
    FDs made transitive by the key equivalences; add the first candidate key (in
    :func:`candidate_keys` order) if no part holds a key; drop parts contained in another.
    Relations come in the order of their first FD, the key relation last. With
    ``merge_equivalent=False`` this is the textbook algorithm (Silberschatz, Elmasri, GMUW).
    """
    schema, given = frozenset(attrs), tuple(fds)
    stray = frozenset().union(*(fd.attrs for fd in given)) - schema
    if stray:
        raise ValueError(f"FDs mention attributes outside attrs: {sorted(stray)}")
    cover = minimal_cover(given)
    parts = _merged_groups(cover) if merge_equivalent else _plain_groups(cover)
    keys = candidate_keys(schema, cover)
    if not any(key <= part for key in keys for part, _ in parts):
        parts.append((keys[0], ()))
    return tuple(
        Relation(part, candidate_keys(part, cover), part_fds) for part, part_fds in _absorb(parts)
    )
