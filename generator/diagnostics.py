"""Located diagnostics: every problem found in a run, collected, sorted and rendered together."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Span:
    """A place in a spec file; line and column are 1-based."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<specs>", 0, 0)


@dataclass(frozen=True)
class Diagnostic:
    """One problem with its place, a stable code and an optional hint."""

    severity: Severity
    code: str
    message: str
    span: Span = NO_SPAN
    hint: str | None = None

    def sort_key(self) -> tuple[Span, str, str]:
        return (self.span, self.code, self.message)

    def render(self) -> str:
        text = f"{self.span}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


@dataclass
class Diagnostics:
    """A collector: stages add to it and go on, so one run reports every problem."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span = NO_SPAN, hint: str | None = None) -> None:
        self.items.append(Diagnostic("error", code, message, span, hint))

    def warning(
        self, code: str, message: str, span: Span = NO_SPAN, hint: str | None = None
    ) -> None:
        self.items.append(Diagnostic("warning", code, message, span, hint))

    def extend(self, items: Iterable[Diagnostic]) -> None:
        self.items.extend(items)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        unique = {(d.severity, d.code, d.message, d.span, d.hint): d for d in self.items}
        return sorted(unique.values(), key=Diagnostic.sort_key)

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.sorted() if d.severity == "error"]

    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.sorted() if d.severity == "warning"]

    def render(self) -> str:
        return "".join(d.render() + "\n" for d in self.sorted())


class SpecError(Exception):
    """Raised by a stage that cannot go on; carries everything collected so far."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{len(diagnostics)} problem(s) in the spec")
        self.diagnostics = diagnostics


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest choice, or None when nothing is close."""
    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None
