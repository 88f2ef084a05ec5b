"""The regex sampler: what it returns always matches, and unique fields get distinct values."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.emit.regex_sample import regex_sample, regex_samples

PATTERNS = [
    r"^[A-Z][a-z]+$",
    r"^[A-Z0-9]{3,8}$",
    r"^\+?[0-9 ]{7,20}$",
    r"^[A-Z0-9-]{4,32}$",
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    r"^(red|green|blue)-\d{2}$",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    r"^ISBN (97[89])-\d{10}$",
    r"^(ab)+\1?$",
    r"^.{2,5}$",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_samples_match_their_pattern_and_are_distinct(pattern: str) -> None:
    samples = regex_samples(pattern, 12)
    assert samples, "no sample for a common pattern"
    assert all(re.fullmatch(pattern, s) for s in samples)
    assert len(set(samples)) == len(samples)


def test_samples_are_the_same_every_time() -> None:
    assert [regex_samples(p, 5) for p in PATTERNS] == [regex_samples(p, 5) for p in PATTERNS]


@given(st.sampled_from(PATTERNS), st.integers(min_value=0, max_value=10_000))
def test_any_variant_matches_or_is_none(pattern: str, variant: int) -> None:
    text = regex_sample(pattern, variant)
    assert text is None or re.fullmatch(pattern, text)
