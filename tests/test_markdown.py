"""Markdown escaping: spec text placed in generated READMEs and docs cannot start markup or break
a table row, and a Markdown reader shows the text itself."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from generator.emit.base import MARKDOWN_INLINE_SPECIAL, markdown_code, markdown_text

TEXT = st.text(alphabet=st.sampled_from(sorted(MARKDOWN_INLINE_SPECIAL) + list("ab .-\n\t")))


def _unescape(markdown: str) -> str:
    """What CommonMark shows for backslash escapes of ASCII punctuation."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


@given(TEXT)
def test_markdown_text_reads_back_as_the_folded_text(text: str) -> None:
    assert _unescape(markdown_text(text)) == " ".join(text.split())


@given(TEXT)
def test_markdown_text_never_ends_a_table_cell_or_a_line(text: str) -> None:
    escaped = markdown_text(text)
    assert "\n" not in escaped
    assert re.search(r"(?<!\\)(?:\\\\)*\|", escaped) is None


def test_markdown_text_escapes_emphasis_links_and_html() -> None:
    assert markdown_text("a | b *c* [d](e) <b>") == r"a \| b \*c\* \[d\](e) \<b\>"


def test_markdown_code_survives_backticks() -> None:
    assert markdown_code("a `b` c") == "``a `b` c``"
