"""What a previous build left in the output folder that the next build must know: the schema
snapshot and the migration revisions already written (never rewritten)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SNAPSHOT_PATH = "migrations/schema.json"
VERSIONS_DIR = "migrations/versions"


@dataclass(frozen=True)
class PreviousOutput:
    """The last emitted stored schema (None before the first build) and existing revisions."""

    snapshot: str | None = None
    revisions: tuple[tuple[str, str], ...] = ()


def load_previous(project_dir: Path) -> PreviousOutput:
    """Read the snapshot and revision files of one generated project, if any."""
    snapshot_file = project_dir / SNAPSHOT_PATH
    snapshot = snapshot_file.read_text(encoding="utf-8") if snapshot_file.is_file() else None
    versions = project_dir / VERSIONS_DIR
    revisions = (
        tuple(
            (p.name, p.read_text(encoding="utf-8"))
            for p in sorted(versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
            if p.is_file()
        )
        if versions.is_dir()
        else ()
    )
    return PreviousOutput(snapshot, revisions)


__all__ = ["SNAPSHOT_PATH", "VERSIONS_DIR", "PreviousOutput", "load_previous"]
