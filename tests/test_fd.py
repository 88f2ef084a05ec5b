"""Tests for generator.compile.fd: hand-checked units, brute-force oracles and properties.

The oracles are deliberately independent of the module under test: closures come from the
two-tuple (Armstrong-relation) semantics or from saturating Armstrong's axioms, keys and
normal forms from enumerating every subset, all on bitmasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from functools import reduce
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.compile.fd import (
    FD,
    Relation,
    attrs_key,
    candidate_keys,
    canonical_cover,
    closure,
    equivalent,
    implies,
    is_3nf,
    is_bcnf,
    is_lossless,
    is_superkey,
    minimal_cover,
    parse_fds,
    preserves_dependencies,
    project,
    singletons,
    synthesize_3nf,
)

NAMES = "abcdefg"
Schema = tuple[frozenset[str], tuple[FD, ...]]


def S(text: str) -> frozenset[str]:
    """One-letter attribute set: S("ABC") == {"A", "B", "C"}."""
    return frozenset(text)


def F(text: str) -> tuple[FD, ...]:
    """One-letter FDs: F("AB->C; C->D")."""
    pairs = (part.split("->") for part in text.split(";") if part.strip())
    return tuple(FD(S(lhs.strip()), S(rhs.strip())) for lhs, rhs in pairs)


def sets(*texts: str) -> set[frozenset[str]]:
    return {S(text) for text in texts}


# --- bitmask oracles -----------------------------------------------------------------------


class Oracle:
    """Brute-force answers over a small universe, via the closed sets of the FDs.

    A set is closed when every FD whose lhs it contains has its rhs in it too; these are
    exactly the agree-sets of two-tuple relations satisfying the FDs, so X+ is the
    intersection of the closed sets containing X (completeness of Armstrong's axioms).
    """

    def __init__(self, universe: Iterable[str], fds: Iterable[FD]) -> None:
        self.names = sorted(set(universe).union(*(fd.attrs for fd in fds)))
        self.bit = {name: 1 << i for i, name in enumerate(self.names)}
        self.full = (1 << len(self.names)) - 1
        pairs = [(self.mask(fd.lhs), self.mask(fd.rhs)) for fd in fds]
        self.closed = [
            s for s in range(self.full + 1) if all(lhs & ~s or not rhs & ~s for lhs, rhs in pairs)
        ]

    def mask(self, attrs: Iterable[str]) -> int:
        return sum(self.bit[a] for a in set(attrs))

    def unmask(self, mask: int) -> frozenset[str]:
        return frozenset(n for n in self.names if mask & self.bit[n])

    def closure_mask(self, x: int) -> int:
        return reduce(lambda acc, s: acc & s, (s for s in self.closed if x & ~s == 0), self.full)

    def closure(self, attrs: Iterable[str]) -> frozenset[str]:
        return self.unmask(self.closure_mask(self.mask(attrs)))

    def submasks(self, mask: int) -> list[int]:
        subs, sub = [], mask
        while True:
            subs.append(sub)
            if sub == 0:
                return subs
            sub = (sub - 1) & mask

    def keys(self, schema: Iterable[str]) -> set[frozenset[str]]:
        r = self.mask(schema)
        supers = [x for x in self.submasks(r) if self.closure_mask(x) & r == r]
        minimal = [x for x in supers if not any(y != x and y & ~x == 0 for y in supers)]
        return {self.unmask(x) for x in minimal}

    def prime(self, schema: Iterable[str]) -> frozenset[str]:
        return frozenset().union(*self.keys(schema))

    def violations(self, schema: Iterable[str]) -> list[tuple[int, int]]:
        """Every nontrivial X -> a implied with X ⊆ R, a ∈ R, X not a superkey of R."""
        r = self.mask(schema)
        found: list[tuple[int, int]] = []
        for x in self.submasks(r):
            c = self.closure_mask(x) & r
            if c != r:
                found.extend((x, b) for b in (self.bit[n] for n in self.names) if b & c & ~x)
        return found

    def is_bcnf(self, schema: Iterable[str]) -> bool:
        return not self.violations(schema)

    def is_3nf(self, schema: Iterable[str]) -> bool:
        prime = self.mask(self.prime(schema))
        return all(b & prime for _, b in self.violations(schema))

    def projection(self, part: Iterable[str]) -> list[FD]:
        """Every X -> (X+ ∩ part) with X ⊆ part: the projection, uncompressed."""
        r = self.mask(part)
        return [FD(self.unmask(x), self.unmask(self.closure_mask(x) & r)) for x in self.submasks(r)]


def armstrong_closure(universe: Sequence[str], fds: Iterable[FD], x: Iterable[str]) -> set[str]:
    """X+ read off the saturation of F under reflexivity, augmentation and transitivity."""
    bit = {name: 1 << i for i, name in enumerate(universe)}
    full = 1 << len(universe)

    def m(attrs: Iterable[str]) -> int:
        return sum(bit[a] for a in set(attrs))

    derived = {(a, b) for a in range(full) for b in range(full) if b & ~a == 0}
    derived |= {(m(fd.lhs), m(fd.rhs)) for fd in fds}
    while True:
        new = {(a | z, b | z) for a, b in derived for z in range(full)}
        by_lhs: dict[int, set[int]] = {}
        for a, b in derived:
            by_lhs.setdefault(a, set()).add(b)
        new |= {(a, c) for a, b in derived for c in by_lhs.get(b, ())}
        if new <= derived:
            break
        derived |= new
    xm = m(x)
    rhs = reduce(lambda acc, pair: acc | pair[1], (p for p in derived if p[0] == xm), 0)
    return {name for name in universe if rhs & bit[name]}


# --- strategies ----------------------------------------------------------------------------


@st.composite
def schemas(draw: st.DrawFn, max_attrs: int = 7, max_fds: int = 8) -> Schema:
    """A random attribute set and FDs over it (small left sides, possibly empty ones)."""
    names = draw(st.lists(st.sampled_from(NAMES[:max_attrs]), unique=True, max_size=max_attrs))
    if not names:
        return frozenset(), ()
    pool = st.sampled_from(sorted(names))
    fd = st.builds(
        FD,
        st.frozensets(pool, max_size=min(3, len(names))),
        st.frozensets(pool, min_size=1, max_size=min(3, len(names))),
    )
    return frozenset(names), tuple(draw(st.lists(fd, max_size=max_fds)))


def subsets_of(attrs: frozenset[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(sorted(attrs))) if attrs else st.just(frozenset())


FAST = settings(max_examples=150, deadline=None)
SLOW = settings(max_examples=60, deadline=None)


# --- FD basics -----------------------------------------------------------------------------


def test_fd_str_sorts_names_and_round_trips_through_parse() -> None:
    fd = FD(frozenset({"b", "a"}), frozenset({"c"}))
    assert str(fd) == "a, b -> c"
    assert FD.parse(str(fd)) == fd
    assert str(FD(frozenset(), frozenset({"x"}))) == "{} -> x"
    assert FD.parse("{} -> x") == FD(frozenset(), frozenset({"x"}))


def test_parse_fds_accepts_multi_letter_names_and_separators() -> None:
    fds = parse_fds("emp_id -> name, dept\ndept dept_head->  floor; a->b")
    assert fds == (
        FD(frozenset({"emp_id"}), frozenset({"name", "dept"})),
        FD(frozenset({"dept", "dept_head"}), frozenset({"floor"})),
        FD(frozenset({"a"}), frozenset({"b"})),
    )
    with pytest.raises(ValueError):
        FD.parse("a, b")


def test_fd_rejects_a_bare_string_side() -> None:
    """FD("ab", ...) would silently mean {"a", "b"}; it is refused."""
    with pytest.raises(TypeError):
        # A wrongly typed argument on purpose: the check under test is the runtime one.
        FD("ab", frozenset({"c"}))  # type: ignore[arg-type]


def test_fd_coerces_plain_sets_and_is_hashable() -> None:
    # Plain sets on purpose (the type says frozenset): the coercion under test is at runtime.
    fd = FD({"a"}, {"b"})  # type: ignore[arg-type]
    assert isinstance(fd.lhs, frozenset) and fd in {FD(S("a"), S("b"))}


def test_fd_order_is_by_lhs_size_names_then_rhs() -> None:
    fds = [FD(S("AB"), S("C")), FD(S("B"), S("A")), FD(S("A"), S("C")), FD(S("A"), S("B"))]
    assert [str(fd) for fd in sorted(fds)] == ["A -> B", "A -> C", "B -> A", "A, B -> C"]


@FAST
@given(
    st.lists(
        st.builds(FD, st.frozensets(st.sampled_from("abc")), st.frozensets(st.sampled_from("abc")))
    )
)
def test_fd_order_is_a_total_order_consistent_with_equality(fds: list[FD]) -> None:
    for x in fds:
        for y in fds:
            assert sum([x < y, x == y, y < x]) == 1
            assert (x == y) == ((x.lhs, x.rhs) == (y.lhs, y.rhs))


def test_attrs_key_orders_by_size_then_names() -> None:
    keys = [S("BC"), S("A"), S("AD"), S("")]
    assert sorted(keys, key=attrs_key) == [S(""), S("A"), S("AD"), S("BC")]


# --- closure, implication, equivalence -----------------------------------------------------


def test_closure_textbook_example() -> None:
    """Silberschatz's running example: (AG)+ = ABCGHI."""
    fds = F("A->B; A->C; CG->H; CG->I; B->H")
    assert closure(S("AG"), fds) == S("ABCGHI")
    assert closure(S("B"), fds) == S("BH")
    assert closure(S(""), fds) == S("")


def test_closure_uses_empty_lhs_fds() -> None:
    assert closure(S(""), F("->A; A->B")) == S("AB")


def test_closure_accepts_generators() -> None:
    assert closure(iter("A"), iter(F("A->B; B->C"))) == S("ABC")


def test_implies_and_equivalent() -> None:
    fds = F("A->B; B->C")
    assert implies(fds, FD(S("A"), S("C")))
    assert implies(fds, FD(S("AC"), S("A")))  # trivial
    assert not implies(fds, FD(S("C"), S("A")))
    assert equivalent(F("A->BC; B->C"), F("A->B; B->C"))
    assert not equivalent(F("A->B"), F("A->B; B->A"))
    assert equivalent([], F("A->A"))


@FAST
@given(st.data(), schemas())
def test_closure_is_extensive_monotone_and_idempotent(data: st.DataObject, schema: Schema) -> None:
    attrs, fds = schema
    x = data.draw(subsets_of(attrs))
    y = data.draw(subsets_of(attrs))
    cx = closure(x, fds)
    assert x <= cx
    assert cx <= closure(x | y, fds)
    assert closure(cx, fds) == cx


@FAST
@given(schemas())
def test_closure_matches_two_tuple_semantics_for_every_subset(schema: Schema) -> None:
    attrs, fds = schema
    oracle = Oracle(attrs, fds)
    for x in oracle.submasks(oracle.full):
        assert closure(oracle.unmask(x), fds) == oracle.unmask(oracle.closure_mask(x))


@settings(max_examples=40, deadline=None)
@given(st.data(), schemas(max_attrs=4, max_fds=4))
def test_closure_matches_armstrong_axiom_saturation(data: st.DataObject, schema: Schema) -> None:
    attrs, fds = schema
    x = data.draw(subsets_of(attrs))
    assert closure(x, fds) == armstrong_closure(sorted(attrs), fds, x)


# --- covers --------------------------------------------------------------------------------


def test_minimal_cover_removes_extraneous_lhs_before_redundant_fds() -> None:
    """R&G 3e ch. 19 example: A->B, ABCD->E, EF->GH, ACDF->EG."""
    cover = minimal_cover(F("A->B; ABCD->E; EF->GH; ACDF->EG"))
    assert set(cover) == set(F("A->B; ACD->E; EF->G; EF->H"))


def test_minimal_cover_drops_trivial_and_duplicate_fds() -> None:
    assert minimal_cover(F("AB->A; A->B; A->B; A->AB")) == F("A->B")
    assert minimal_cover([]) == ()


def test_minimal_cover_breaks_ties_in_fd_order() -> None:
    """A->B, B->A, A->C, B->C: one of the last two goes; the earlier (A->C) is tried first."""
    assert minimal_cover(F("B->C; A->C; B->A; A->B")) == F("A->B; B->A; B->C")


def test_canonical_cover_merges_equal_left_sides() -> None:
    assert canonical_cover(F("A->B; A->C; B->C; AB->D")) == F("A->BD; B->C")


def test_singletons_split_and_drop_trivial_parts() -> None:
    assert singletons(F("A->AB; BC->CD")) == F("A->B; BC->D")


def minimality_problems(cover: Sequence[FD]) -> list[str]:
    problems = []
    for fd in cover:
        others = [g for g in cover if g != fd]
        if len(fd.rhs) != 1 or fd.trivial:
            problems.append(f"not a nontrivial singleton: {fd}")
        if implies(others, fd):
            problems.append(f"redundant: {fd}")
        for name in fd.lhs:
            if implies(cover, FD(fd.lhs - {name}, fd.rhs)):
                problems.append(f"extraneous {name} in {fd}")
    return problems


@FAST
@given(schemas())
def test_minimal_cover_is_an_equivalent_minimal_sorted_cover(schema: Schema) -> None:
    _, fds = schema
    cover = minimal_cover(fds)
    assert equivalent(cover, fds)
    assert minimality_problems(cover) == []
    assert list(cover) == sorted(set(cover))
    assert minimal_cover(cover) == cover


@FAST
@given(schemas())
def test_canonical_cover_is_the_minimal_cover_grouped_by_lhs(schema: Schema) -> None:
    _, fds = schema
    canon = canonical_cover(fds)
    assert singletons(canon) == minimal_cover(fds)
    assert len({fd.lhs for fd in canon}) == len(canon)
    assert list(canon) == sorted(canon)


# --- projection ----------------------------------------------------------------------------


def test_project_finds_transitive_fds() -> None:
    assert project(F("A->B; B->C"), S("AC")) == F("A->C")
    assert project(F("A->B; B->C"), S("B")) == ()


@SLOW
@given(st.data(), schemas())
def test_project_is_exactly_the_implied_fds_on_the_subset(
    data: st.DataObject, schema: Schema
) -> None:
    attrs, fds = schema
    part = data.draw(subsets_of(attrs))
    proj = project(fds, part)
    oracle = Oracle(attrs, fds)
    assert all(fd.attrs <= part for fd in proj)
    assert minimality_problems(proj) == []
    for x in oracle.submasks(oracle.mask(part)):
        sub = oracle.unmask(x)
        assert closure(sub, proj) == oracle.closure(sub) & part


# --- keys ----------------------------------------------------------------------------------


def test_candidate_keys_hand_checked() -> None:
    assert candidate_keys(S("ABCDE"), F("A->BC; CD->E; B->D; E->A")) == (
        S("A"),
        S("E"),
        S("BC"),
        S("CD"),
    )
    assert candidate_keys(S("ABCD"), F("AB->C; C->D; D->A")) == (S("AB"), S("BC"), S("BD"))
    assert candidate_keys(S("ABC"), ()) == (S("ABC"),)
    assert candidate_keys(S(""), ()) == (S(""),)


def test_candidate_keys_of_a_subschema_use_fds_through_outside_attributes() -> None:
    """On AC with A->B, B->C, the key is A (A->C holds through B)."""
    assert candidate_keys(S("AC"), F("A->B; B->C")) == (S("A"),)
    assert candidate_keys(S("BC"), F("A->B; B->C; C->A")) == (S("B"), S("C"))


def test_is_superkey() -> None:
    fds = F("A->B; B->C")
    assert is_superkey(S("A"), S("ABC"), fds)
    assert is_superkey(S("AB"), S("ABC"), fds)
    assert not is_superkey(S("B"), S("ABC"), fds)
    assert not is_superkey(S("AD"), S("ABC"), fds)  # not inside the schema


@FAST
@given(schemas())
def test_candidate_keys_match_all_minimal_superkeys(schema: Schema) -> None:
    attrs, fds = schema
    keys = candidate_keys(attrs, fds)
    assert set(keys) == Oracle(attrs, fds).keys(attrs)
    assert list(keys) == sorted(keys, key=attrs_key)


@FAST
@given(st.data(), schemas())
def test_candidate_keys_of_subschemas_match_brute_force(
    data: st.DataObject, schema: Schema
) -> None:
    """Exercises the subset-search branch (FDs mention attributes outside the subschema)."""
    attrs, fds = schema
    part = data.draw(subsets_of(attrs))
    assert set(candidate_keys(part, fds)) == Oracle(attrs, fds).keys(part)


@FAST
@given(st.data(), schemas())
def test_is_superkey_matches_closure(data: st.DataObject, schema: Schema) -> None:
    attrs, fds = schema
    x = data.draw(subsets_of(attrs))
    assert is_superkey(x, attrs, fds) == (Oracle(attrs, fds).closure(x) >= attrs)


# --- normal forms --------------------------------------------------------------------------


def test_normal_forms_hand_checked() -> None:
    # Keys AB, BC, BD: every attribute is prime, so 3NF; C->D breaks BCNF.
    assert is_3nf(S("ABCD"), F("AB->C; C->D; D->A"))
    assert not is_bcnf(S("ABCD"), F("AB->C; C->D; D->A"))
    # Key A; B->C is a transitive dependency of a nonprime attribute.
    assert not is_3nf(S("ABC"), F("A->B; B->C"))
    assert is_bcnf(S("AB"), F("A->B"))
    assert is_bcnf(S("ABC"), ())
    assert is_3nf(S(""), ())


def test_normal_forms_project_fds_that_leave_the_schema() -> None:
    """On ACD with A->B, B->C, D->A: the implied D->C makes C transitively dependent on D."""
    fds = F("A->B; B->C; D->A")
    assert not is_3nf(S("ACD"), fds)
    assert not is_3nf(S("ACD"), project(fds, S("ACD")))
    assert is_bcnf(S("AB"), fds)


@FAST
@given(st.data(), schemas())
def test_is_3nf_and_is_bcnf_match_brute_force(data: st.DataObject, schema: Schema) -> None:
    attrs, fds = schema
    part = data.draw(subsets_of(attrs))
    oracle = Oracle(attrs, fds)
    local = project(fds, part)
    assert is_3nf(part, local) == oracle.is_3nf(part)
    assert is_bcnf(part, local) == oracle.is_bcnf(part)
    assert is_3nf(part, fds) == oracle.is_3nf(part)
    assert not is_bcnf(part, local) or is_3nf(part, local)


# --- lossless join and dependency preservation ---------------------------------------------


def test_is_lossless_hand_checked() -> None:
    fds = F("A->B")
    assert is_lossless(S("ABC"), [S("AB"), S("AC")], fds)
    assert not is_lossless(S("ABC"), [S("AB"), S("BC")], fds)
    assert not is_lossless(S("ABC"), [S("AB")], fds)  # C is missing
    assert is_lossless(S("ABC"), [S("ABC")], ())
    # GMUW 2nd ed. Exercise 3.5.4: the chase proves Example 3.27's decomposition lossless.
    assert is_lossless(S("ABCDE"), [S("ABC"), S("AD"), S("ABE")], F("AB->C; C->B; A->D"))


def test_is_lossless_needs_repeated_passes_of_the_chase() -> None:
    """Ullman, Principles of Database and Knowledge-Base Systems vol. I, ch. 7 chase example.

    Five relations; the all-distinguished row appears only after several rounds in which
    symbols equated by one FD enable another.
    """
    fds = F("A->C; B->C; C->D; DE->C; CE->A")
    parts = [S("AD"), S("AB"), S("BE"), S("CDE"), S("AE")]
    assert is_lossless(S("ABCDE"), parts, fds)
    assert not is_lossless(S("ABCDE"), [S("AB"), S("CD"), S("E")], fds)


def test_is_lossless_rejects_relations_outside_the_schema() -> None:
    with pytest.raises(ValueError):
        is_lossless(S("AB"), [S("AC")], ())


@FAST
@given(st.data(), schemas())
def test_chase_agrees_with_the_binary_lossless_criterion(
    data: st.DataObject, schema: Schema
) -> None:
    """R1 ⋈ R2 is lossless iff (R1 ∩ R2)+ contains R1 or R2."""
    attrs, fds = schema
    r1 = data.draw(subsets_of(attrs))
    r2 = (attrs - r1) | data.draw(subsets_of(attrs))
    common = Oracle(attrs, fds).closure(r1 & r2)
    assert is_lossless(attrs, [r1, r2], fds) == (r1 <= common or r2 <= common)


@FAST
@given(st.data(), schemas())
def test_lossless_is_monotone_in_the_relations(data: st.DataObject, schema: Schema) -> None:
    attrs, fds = schema
    parts = data.draw(st.lists(subsets_of(attrs), max_size=4))
    extra = data.draw(subsets_of(attrs))
    if is_lossless(attrs, parts, fds):
        assert frozenset().union(*parts) == attrs
        assert is_lossless(attrs, [*parts, extra], fds)
    assert is_lossless(attrs, [*parts, attrs], fds)


def test_preserves_dependencies_hand_checked() -> None:
    fds = F("A->B; B->C")
    assert preserves_dependencies([S("AB"), S("BC")], fds)
    assert not preserves_dependencies([S("AB"), S("AC")], fds)  # B->C is lost
    # Needs the iteration: A->C is enforced only through AB then BC.
    assert preserves_dependencies([S("AB"), S("BC")], F("A->C; A->B; B->C"))
    # CSZ: C,S->Z; Z->C split as SZ, CZ loses CS->Z.
    assert not preserves_dependencies([S("SZ"), S("CZ")], F("CS->Z; Z->C"))


@SLOW
@given(st.data(), schemas())
def test_preserves_dependencies_matches_union_of_projections(
    data: st.DataObject, schema: Schema
) -> None:
    attrs, fds = schema
    parts = data.draw(st.lists(subsets_of(attrs), max_size=3))
    oracle = Oracle(attrs, fds)
    projected = [fd for part in parts for fd in oracle.projection(part)]
    assert preserves_dependencies(parts, fds) == all(implies(projected, fd) for fd in fds)


# --- 3NF synthesis -------------------------------------------------------------------------


def test_synthesize_3nf_adds_the_first_key_and_drops_contained_relations() -> None:
    """GMUW 2nd ed. Example 3.27: ABC, BC, AD plus key ABE; BC is contained in ABC."""
    rels = synthesize_3nf(S("ABCDE"), F("AB->C; C->B; A->D"))
    assert [r.attrs for r in rels] == [S("AD"), S("ABC"), S("ABE")]
    assert rels[-1] == Relation(S("ABE"), (S("ABE"),), ())
    abc = rels[1]
    assert abc.keys == (S("AB"), S("AC")) and set(abc.fds) == set(F("C->B; AB->C"))


def test_synthesize_3nf_merges_equivalent_left_sides() -> None:
    """A<->B are equivalent: A->BC and B->AD form one relation with keys A and B."""
    fds = F("A->B; B->A; A->C; B->D; D->E")
    merged = synthesize_3nf(S("ABCDE"), fds)
    assert {r.attrs for r in merged} == sets("ABCD", "DE")
    assert merged[0].keys == (S("A"), S("B"))
    split = synthesize_3nf(S("ABCDE"), fds, merge_equivalent=False)
    assert {r.attrs for r in split} == sets("ABC", "ABD", "DE")


def test_synthesize_3nf_puts_fd_free_attributes_in_the_key_relation() -> None:
    rels = synthesize_3nf(S("ABCXY"), F("A->B; B->C"))
    assert {r.attrs for r in rels} == sets("AB", "BC", "AXY")
    assert rels[-1].fds == ()


def test_synthesize_3nf_edge_cases() -> None:
    assert synthesize_3nf(S("AB"), ()) == (Relation(S("AB"), (S("AB"),), ()),)
    assert synthesize_3nf(S(""), ()) == (Relation(S(""), (S(""),), ()),)
    rels = synthesize_3nf(S("AB"), F("->A"))
    assert {r.attrs for r in rels} == sets("A", "B")
    with pytest.raises(ValueError):
        synthesize_3nf(S("AB"), F("A->C"))


def test_synthesize_3nf_hands_fds_of_dropped_relations_to_their_container() -> None:
    """C->B's relation BC is dropped inside ABC, which then lists both FDs."""
    rels = synthesize_3nf(S("ABC"), F("AB->C; C->B"))
    assert len(rels) == 1 and set(rels[0].fds) == set(F("AB->C; C->B"))


def test_synthesize_3nf_merging_eliminates_transitive_dependencies() -> None:
    """Found by the property tests: merging alone is not enough (Bernstein 1976, step 4).

    BC and CD are equivalent (both determine ABCD), as are AB and BD. Merging the groups
    naively gives ABCD with keys BC, CD, where BD -> A makes the nonprime A transitively
    dependent. With J = {BC -> D, CD -> B}, BC -> A follows from BC -> D and BD -> A, so it
    is dropped and the merged relation is BCD.
    """
    fds = F("CD->B; BD->A; BC->A; AB->D")
    assert not is_3nf(S("ABCD"), fds)
    rels = synthesize_3nf(S("ABCD"), fds)
    assert [(r.attrs, r.keys) for r in rels] == [
        (S("ABD"), (S("AB"), S("BD"))),
        (S("BCD"), (S("BC"), S("CD"))),
    ]
    assert set(rels[1].fds) == set(F("BC->D; CD->B"))
    textbook = synthesize_3nf(S("ABCD"), fds, merge_equivalent=False)
    assert {r.attrs for r in textbook} == sets("ABC", "ABD", "BCD")


def check_decomposition(attrs: frozenset[str], fds: Sequence[FD], rels: Sequence[Relation]) -> None:
    parts = [r.attrs for r in rels]
    oracle = Oracle(attrs, fds)
    assert frozenset().union(*parts) == attrs
    assert not any(a <= b for a, b in combinations(parts, 2))
    assert not any(b <= a for a, b in combinations(parts, 2))
    assert is_lossless(attrs, parts, fds)
    assert preserves_dependencies(parts, fds)
    assert any(key <= part for key in oracle.keys(attrs) for part in parts)
    assert equivalent([fd for r in rels for fd in r.fds], fds)
    # Only the last relation may be an added key relation (no FDs, exactly a key).
    assert all(r.fds for r in rels[:-1])
    assert rels[-1].fds or rels[-1].attrs in oracle.keys(attrs)
    for rel in rels:
        assert oracle.is_3nf(rel.attrs)
        assert is_3nf(rel.attrs, project(fds, rel.attrs))
        assert set(rel.keys) == oracle.keys(rel.attrs)
        assert all(fd.attrs <= rel.attrs for fd in rel.fds)


@SLOW
@given(schemas(), st.booleans())
def test_synthesize_3nf_is_3nf_lossless_preserving_and_irredundant(
    schema: Schema, merge: bool
) -> None:
    attrs, fds = schema
    rels = synthesize_3nf(attrs, fds, merge_equivalent=merge)
    check_decomposition(attrs, fds, rels)
    if not merge:  # the textbook algorithm hands out exactly the canonical cover
        assert sorted(fd for r in rels for fd in r.fds) == list(canonical_cover(fds))


@SLOW
@given(schemas(max_attrs=6, max_fds=10))
def test_synthesize_3nf_on_dense_fd_sets(schema: Schema) -> None:
    attrs, fds = schema
    check_decomposition(attrs, fds, synthesize_3nf(attrs, fds))


# --- determinism ---------------------------------------------------------------------------


def everything(attrs: frozenset[str], fds: Sequence[FD]) -> tuple[object, ...]:
    return (
        minimal_cover(fds),
        canonical_cover(fds),
        candidate_keys(attrs, fds),
        project(fds, attrs),
        synthesize_3nf(attrs, fds),
        synthesize_3nf(attrs, fds, merge_equivalent=False),
    )


@FAST
@given(st.data(), schemas())
def test_results_do_not_depend_on_fd_order_or_duplicates(
    data: st.DataObject, schema: Schema
) -> None:
    attrs, fds = schema
    shuffled = data.draw(st.permutations(fds))
    expected = everything(attrs, fds)
    assert everything(attrs, shuffled) == expected
    assert everything(attrs, (*shuffled, *fds)) == expected
    assert everything(attrs, singletons(fds)) == expected


def test_results_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """Run the same syntheses under several PYTHONHASHSEEDs; the printed output must match."""
    script = (
        "import json\n"
        "from generator.compile.fd import FD, synthesize_3nf, candidate_keys\n"
        "cases = [('ABCDEGH', 'AB->CD; D->C; DE->B; DEH->AB; AC->DC'),\n"
        "         ('CTHRSG', 'C->T; HR->C; HT->R; HS->R; CS->G'),\n"
        "         ('ABCDE', 'A->BC; CD->E; B->D; E->A')]\n"
        "out = []\n"
        "for attrs, text in cases:\n"
        "    pairs = [part.split('->') for part in text.split(';')]\n"
        "    fds = [FD(frozenset(l.strip()), frozenset(r.strip())) for l, r in pairs]\n"
        "    out.append([sorted(k) for k in candidate_keys(attrs, fds)])\n"
        "    for merge in (True, False):\n"
        "        rels = synthesize_3nf(attrs, fds, merge_equivalent=merge)\n"
        "        out.append([[sorted(r.attrs), [sorted(k) for k in r.keys],\n"
        "                     [str(f) for f in r.fds]] for r in rels])\n"
        "print(json.dumps(out))\n"
    )
    outputs = set()
    # The child imports `generator` exactly as this process did.
    path = os.pathsep.join(str(Path(entry).absolute()) for entry in sys.path if entry)
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": path}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop())
