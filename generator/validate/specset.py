"""A spec set: the validated files of one API merged, every definition keeping its place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from generator.diagnostics import Span
from generator.load import LoadedFile, Path_
from generator.validate.models import Api, Auth, EntitySpec, Role

T = TypeVar("T")


@dataclass(frozen=True)
class Located(Generic[T]):
    """A validated value with the file and key path it came from."""

    value: T
    file: LoadedFile
    path: Path_

    def span(self, *subpath: str | int) -> Span:
        """Where a part of this value is written (the value itself with no subpath)."""
        return self.file.span((*self.path, *subpath))

    def key_span(self, *subpath: str | int) -> Span:
        """Where the key naming a part of this value is written."""
        return self.file.key_span((*self.path, *subpath))

    def has(self, *subpath: str | int) -> bool:
        """True when the spec wrote this part explicitly (not a default)."""
        return self.file.has((*self.path, *subpath))


@dataclass
class SpecSet:
    """Everything one API's spec files define, merged."""

    root: str
    api: Located[Api]
    roles: dict[str, Located[Role]] = field(default_factory=dict)
    auth: Located[Auth] | None = None
    enums: dict[str, Located[list[str]]] = field(default_factory=dict)
    entities: dict[str, Located[EntitySpec]] = field(default_factory=dict)
    seed: dict[str, list[Located[dict[str, Any]]]] = field(default_factory=dict)
