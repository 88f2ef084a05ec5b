"""Enums emitter: one StrEnum per spec enum (declared or inline), shared by models and schemas."""

from __future__ import annotations

from generator import ir
from generator.emit.base import RenderedFile, header, render
from generator.emit.literals import docstring_wrapped


def emit(project: ir.Project) -> list[RenderedFile]:
    """<package>/enums.py."""
    package = project.api.name
    enums = [
        {
            "class_name": e.class_name,
            "doc": docstring_wrapped(f"Values of `{e.name}`."),
            "members": list(zip(e.members, e.values, strict=True)),
        }
        for e in project.enums
    ]
    return [
        RenderedFile(
            f"{package}/{package}/enums.py",
            render("enums.py.j2", header=header(project), enums=enums),
        )
    ]
