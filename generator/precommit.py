"""`python -m generator.precommit build SPECS [-o OUT]`: `gen build` as a pre-commit hook.

It writes exactly what `gen build` writes, then, like a formatter, fails (exit 1) when it wrote,
created or removed anything, naming each file: the commit stops so that the regenerated output
can be reviewed and staged with the spec change. (pre-commit notices modified tracked files on
its own, but not new files nor, for a hook, its reason; hence the exit code.) Exit 2: invalid
specs, nothing written. `.pre-commit-hooks.yaml` runs it as the `gen-build` hook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from generator.cli import EXIT_INVALID, EXIT_OK, EXIT_STALE, _build
from generator.write import UnsafePathError, write_output


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """gen for pre-commit hooks."""


@main.command("build")
@click.argument("specs", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("output"),
    show_default=True,
    help="Output folder.",
)
@click.option(
    "--allow-destructive",
    is_flag=True,
    help="Accept a migration that drops or narrows stored data.",
)
def build_cmd(specs: Path, out: Path, allow_destructive: bool) -> None:
    """`gen build SPECS -o OUT`; exit 1 when that changed any file."""
    result = _build(specs, out, allow_destructive)
    try:
        written = write_output(out, result.files, result.once)
    except UnsafePathError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    for label, paths in (
        ("written", written.written),
        ("created", written.created_once),
        ("removed", written.removed),
    ):
        for path in paths:
            click.echo(f"{label}: {out / path}")
    if not written.changed:
        click.echo(f"gen: {out} is up to date")
        sys.exit(EXIT_OK)
    count = len(written.written) + len(written.created_once) + len(written.removed)
    click.echo(
        f"gen: {count} file(s) in {out} changed to follow {specs}; "
        f"review them, `git add {out}`, and commit again",
        err=True,
    )
    sys.exit(EXIT_STALE)


if __name__ == "__main__":  # pragma: no cover
    main()
