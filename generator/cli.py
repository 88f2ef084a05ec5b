"""The `gen` command line: parse arguments, call the pipeline, print, choose the exit code.

Exit codes: 0 fine, 1 output stale (check, build under --check-like use), 2 invalid input.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from generator import __version__

if TYPE_CHECKING:
    from generator import stamp
    from generator.diagnostics import Diagnostic, Diagnostics
    from generator.ir import Project
    from generator.pipeline import BuildResult

EXIT_OK, EXIT_STALE, EXIT_INVALID = 0, 1, 2

_SPECS = click.argument("specs", type=click.Path(path_type=Path, file_okay=False))
_OUT = click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("output"),
    show_default=True,
    help="Output folder.",
)
_ALLOW_DESTRUCTIVE = click.option(
    "--allow-destructive",
    is_flag=True,
    help="Accept a migration that drops or narrows stored data.",
)
#: Seconds without a build after which a daemon exits (`gen daemon start`, or `--daemon`).
DAEMON_IDLE_SECONDS = 30 * 60.0
_IDLE_TIMEOUT = click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0.1),
    default=DAEMON_IDLE_SECONDS,
    show_default=True,
    help="Seconds without a build after which the daemon exits.",
)
_DAEMON = click.option(
    "--daemon/--no-daemon",
    "use_daemon",
    default=None,
    help="Hand the build to a `gen daemon`, starting one when none runs (--daemon), or build "
    "in this process (--no-daemon). Default: GEN_DAEMON (auto: a running daemon is used, none "
    "is started).",
)


def _print_diagnostics(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for d in diagnostics:
        click.echo(d.render(), err=True)


def _fail_invalid(result_diags: tuple[Diagnostic, ...] | list[Diagnostic]) -> NoReturn:
    _print_diagnostics(result_diags)
    errors = sum(d.severity == "error" for d in result_diags)
    click.echo(f"{errors} error(s); nothing written.", err=True)
    sys.exit(EXIT_INVALID)


def _build(specs: Path, out: Path, allow_destructive: bool = False) -> BuildResult:
    from generator.pipeline import build

    _collect_less_often()
    result = build(specs, out_dir=out, cache_dir=_cache_dir(), allow_destructive=allow_destructive)
    # What the build made lives until the process ends: out of every later collection, and out
    # of the one at exit, which scanned it all for nothing (0.25 s CPU at N=200).
    gc.freeze()
    if not result.ok:
        _fail_invalid(result.diagnostics)
    _print_diagnostics(result.diagnostics)
    return result


def _collect_less_often() -> None:
    """A build allocates millions of objects that live until it ends (the IR, SQLAlchemy
    tables, rendered text): with the default thresholds the cycle collector rescans them over
    and over (a quarter of the CPU time of compile, plan and emit at N=1000, bench/README.md).
    The modules imported so far are left out of every scan and collections run less often:
    half of that time saved, the peak memory unchanged."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def compile_specs(specs: Path) -> tuple[tuple[Project, ...], Diagnostics]:
    """The pipeline's compile_specs, imported when a command needs it (a no-op build does not)."""
    from generator.pipeline import compile_specs as compile_

    return compile_(specs)


def _check_switches() -> None:
    """Exit with one error line per `GEN_*` switch set to a value it does not know."""
    from generator.modes import mode_errors

    errors = mode_errors()
    for error in errors:
        click.echo(f"gen: error: {error}", err=True)
    if errors:
        sys.exit(EXIT_INVALID)


def _cache_root() -> Path:
    return Path.home() / ".cache" / "gen"


def _cache_dir() -> Path:
    return _cache_root() / "format"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gen")
def main() -> None:
    """Generate a production-grade FastAPI backend from YAML API specs.

    Typical use: `gen build specs/` after editing a spec; `gen check specs/` in CI and
    pre-commit. Exit codes: 0 fine, 1 output stale, 2 invalid spec.
    """


@main.command("build")
@_SPECS
@_OUT
@_ALLOW_DESTRUCTIVE
@click.option(
    "--force",
    is_flag=True,
    help="Build even when neither the specs, gen, nor the output changed since the last build.",
)
@_DAEMON
def build_cmd(
    specs: Path, out: Path, allow_destructive: bool, force: bool, use_daemon: bool | None
) -> None:
    """Generate OUT (default output/) from the specs in SPECS.

    Writes only files whose bytes change, atomically; removes files it generated before and no
    longer produces; never touches files it did not generate, nor custom/ code once created.
    Stops early when nothing changed since the last build (see generator/stamp.py); builds in
    a `gen daemon` when one runs (see --daemon).
    """
    _check_switches()
    flags = [
        *(["--allow-destructive"] if allow_destructive else []),
        *(["--force"] if force else []),
    ]
    command = ["build", str(specs), "-o", str(out), *flags]
    _build_unless_unchanged(specs, out, allow_destructive, force, (command, use_daemon))


def _build_unless_unchanged(
    specs: Path,
    out: Path,
    allow_destructive: bool,
    force: bool,
    hand_off: tuple[list[str], bool | None] | None = None,
) -> None:
    """What `gen build` does once its switches are checked (`gen watch` runs it per change);
    ``hand_off``: the command and the --daemon choice, to build in a daemon when one serves."""
    from generator import stamp

    if HANDED is not None:  # the command looked at the stamp already
        inputs = HANDED.inputs
    else:
        code = stamp.code_digest()
        inputs = _build_inputs(specs, out, allow_destructive, code)
        if inputs is not None and not force:
            unchanged = stamp.unchanged_stamp(_cache_root(), out, inputs)
            if unchanged is not None:
                for message in unchanged.messages:
                    click.echo(message, err=True)
                click.echo(
                    f"gen: 0 written, {unchanged.unchanged} unchanged, 0 removed, "
                    f"0 custom created in {out}"
                )
                return
        if hand_off is not None:
            _hand_off(*hand_off, code, inputs)
    stamp.forget_stamp(_cache_root(), out)
    built, manifest = _write_build(specs, out, allow_destructive)
    if inputs is not None:
        output = stamp.output_digest(out, written=manifest)
        if output is not None:
            stamp.write_stamp(_cache_root(), out, stamp.Stamp(inputs, output, *built))


def _unchanged_since_build(specs: Path, out: Path, code: str) -> stamp.Stamp | None:
    """The stamp of the last build when it still holds for specs and out (see build_cmd)."""
    from generator import stamp

    inputs = _build_inputs(specs, out, False, code)
    return None if inputs is None else stamp.unchanged_stamp(_cache_root(), out, inputs)


def _build_inputs(specs: Path, out: Path, allow_destructive: bool, code: str) -> str | None:
    """The digest of what a build of specs into out reads; None when specs is no folder."""
    from generator.stamp import input_digest, spec_files

    if not specs.is_dir():
        return None
    options = [f"allow_destructive={allow_destructive}"]
    return input_digest(specs, spec_files(specs), out, options, code)


@dataclasses.dataclass(frozen=True)
class Handed:
    """What a command found before it handed its build to a daemon: gen's code digest (the
    daemon runs that code: it checked) and the build's input digest (None: no spec folder)."""

    code: str
    inputs: str | None


#: Set in a daemon's child (generator/daemon_server.py): the command's digests, so that the
#: child neither computes them again nor looks at the stamp the command found stale.
HANDED: Handed | None = None


def _hand_off(command: list[str], use_daemon: bool | None, code: str, inputs: str | None) -> None:
    """Run `gen COMMAND` in a daemon serving this gen and exit with its code; return when the
    build is to run in this process (generator/daemon.py)."""
    from generator.modes import mode

    choice = {None: mode("GEN_DAEMON"), True: "start", False: "off"}[use_daemon]
    if choice == "off":
        return
    from generator import daemon

    program = click.get_current_context().find_root().info_name or "gen"
    exit_code = daemon.run_command(
        [*command, "--no-daemon"],
        program,
        _cache_root(),
        Handed(code, inputs),
        start=DAEMON_IDLE_SECONDS if choice == "start" else None,
    )
    if exit_code is not None:
        # The build ran in the daemon: nothing here to tear down (saves about 0.01 s).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)


def _write_build(
    specs: Path, out: Path, allow_destructive: bool
) -> tuple[tuple[int, tuple[str, ...], int], bytes]:
    """Build and write: the count of generated files now on disk, the messages printed, and the
    count of files the build produced; and the manifest the write left."""
    from generator.write import UnsafePathError, known_files_path, write_output

    result = _build(specs, out, allow_destructive)
    try:
        known = known_files_path(_cache_root(), out)
        written = write_output(out, result.files, result.once, known, result.digests)
    except UnsafePathError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(
        f"gen: {len(written.written)} written, {len(written.unchanged)} unchanged, "
        f"{len(written.removed)} removed, {len(written.created_once)} custom created "
        f"in {out}"
    )
    warnings = [
        f"warning: kept {out / path}: custom code for `{Path(path).stem}`, which the spec no "
        "longer has; gen never deletes your code, but this file may import modules gen "
        "removed: move what you still need, then delete it"
        for path in written.orphaned_once
    ]
    for warning in warnings:
        click.echo(warning, err=True)
    messages = (*(d.render() for d in result.diagnostics), *warnings)
    counts = len(written.written) + len(written.unchanged), messages, len(result.files)
    return counts, written.manifest


@main.command("watch")
@_SPECS
@_OUT
@_ALLOW_DESTRUCTIVE
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=0.2,
    show_default=True,
    help="Seconds between two looks at the spec files.",
)
def watch_cmd(specs: Path, out: Path, allow_destructive: bool, interval: float) -> None:
    """Build OUT now, then again whenever a spec file in SPECS changes, until Ctrl+C.

    Each build is the one `gen build` makes, with gen's modules already loaded: a rebuild after
    a small change skips the imports that every `gen build` pays. Restart it after upgrading gen.
    """
    _check_switches()
    if not specs.is_dir():
        click.echo(f"error: {specs} is not a folder", err=True)
        sys.exit(EXIT_INVALID)
    from generator.watch import GenChanged, watch

    click.echo(f"gen: watching {specs} (Ctrl+C to stop)", err=True)
    try:
        watch(
            specs, lambda: _build_unless_unchanged(specs, out, allow_destructive, False), interval
        )
    except KeyboardInterrupt:
        click.echo("gen: stopped watching", err=True)
    except GenChanged as exc:
        click.echo(f"gen: error: {exc}", err=True)
        sys.exit(EXIT_INVALID)


@main.command("check")
@_SPECS
@_OUT
@_DAEMON
def check_cmd(specs: Path, out: Path, use_daemon: bool | None) -> None:
    """Exit 1 when OUT differs from what `gen build` would write (for CI and pre-commit)."""
    _check_switches()
    from generator.stamp import code_digest

    if HANDED is None:
        code = code_digest()
        unchanged = _unchanged_since_build(specs, out, code)
        if unchanged is not None:
            for message in unchanged.messages:
                click.echo(message, err=True)
            click.echo(f"gen: {out} is up to date ({unchanged.files} files)")
            return
        _hand_off(["check", str(specs), "-o", str(out)], use_daemon, code, None)
    from generator.write import compare_output

    result = _build(specs, out)
    comparison = compare_output(out, result.files, result.once)
    if comparison.ok:
        click.echo(f"gen: {out} is up to date ({len(result.files)} files)")
        return
    for label, paths in (
        ("stale", comparison.stale),
        ("missing", comparison.missing),
        ("extra", comparison.extra),
    ):
        for path in paths:
            click.echo(f"{label}: {out / path}")
    if comparison.manifest_stale and not (
        comparison.stale or comparison.missing or comparison.extra
    ):
        click.echo(f"stale: {out / '.gen-manifest.json'}")
    click.echo(f"gen: {out} is out of date; run `gen build {specs} -o {out}`", err=True)
    sys.exit(EXIT_STALE)


@main.group("daemon")
def daemon_group() -> None:
    """A warm gen process that `gen build` and `gen check` hand their builds to.

    It keeps gen's modules loaded and its templates compiled, so that a build skips the half
    second of imports that every command pays. Commands use it when it runs the same gen as
    they do (same Python, same code, same installed packages); otherwise they build in their
    own process. It exits when idle, when gen's files change, or on `gen daemon stop`.
    """
    from generator.daemon import supported

    if not supported():
        click.echo(
            "gen: error: the daemon needs fork and Unix sockets, which this system "
            "lacks; builds run in their own process",
            err=True,
        )
        sys.exit(EXIT_INVALID)


@daemon_group.command("start")
@_IDLE_TIMEOUT
def daemon_start_cmd(idle_timeout: float) -> None:
    """Start the daemon (nothing to do when one serving this gen runs)."""
    from generator import daemon
    from generator.stamp import code_digest

    before = daemon.status(_cache_root())
    try:
        pid = daemon.start_daemon(
            _cache_root(), daemon.identity(code_digest(), _cache_root()), idle_timeout
        )
    except (daemon.DaemonError, OSError) as exc:
        click.echo(f"gen: error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    if before is not None and before.get("pid") == pid:
        click.echo(f"gen: the daemon already runs (pid {pid})")
    else:
        click.echo(f"gen: daemon started (pid {pid}, {daemon.Place(_cache_root()).socket})")


@daemon_group.command("stop")
def daemon_stop_cmd() -> None:
    """Stop the daemon, once the builds it runs have ended."""
    from generator import daemon

    try:
        pid = daemon.stop_daemon(_cache_root())
    except daemon.DaemonError as exc:
        click.echo(f"gen: error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    click.echo("gen: no daemon runs" if pid is None else f"gen: daemon stopped (pid {pid})")


@daemon_group.command("status")
def daemon_status_cmd() -> None:
    """Say whether a daemon runs and whether it serves this gen; exit 1 when none runs."""
    from generator import daemon
    from generator.stamp import code_digest

    found = daemon.status(_cache_root())
    if found is None:
        click.echo("gen: no daemon runs")
        sys.exit(EXIT_STALE)
    own = daemon.identity(code_digest(), _cache_root())
    refused = daemon.refusal(found.get("identity", {}), own)
    serves = "yes" if refused is None else f"no ({refused[0]})"
    click.echo(
        f"gen: daemon pid {found['pid']}, up {time.time() - found['started']:.0f} s, "
        f"{found['builds']} build(s), {found['running']} running, idle {found['idle_for']:.0f} s "
        f"of {found['idle_timeout']:g} s; serves this gen: {serves}\n"
        f"socket {found['socket']}\nlog {found['log']}"
    )


@daemon_group.command("serve", hidden=True)
@_IDLE_TIMEOUT
@click.option("--ready-fd", type=int, default=None)
def daemon_serve_cmd(idle_timeout: float, ready_fd: int | None) -> None:
    """Be the daemon (`gen daemon start` runs this in the background)."""
    from generator.daemon_server import serve

    sys.exit(serve(_cache_root(), idle_timeout, ready_fd))


@main.command("diff")
@_SPECS
@_OUT
@click.option(
    "--summary",
    is_flag=True,
    help="Print a review summary instead (endpoints, migration risks, permissions), "
    "against --against REV (default HEAD) or --old OLD_SPECS.",
)
@click.option(
    "--against",
    metavar="REV",
    default=None,
    help="Compare with the spec folder as committed at this git revision (implies --summary).",
)
@click.option(
    "--old",
    "old_specs",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Compare with this other spec folder (implies --summary).",
)
def diff_cmd(
    specs: Path, out: Path, summary: bool, against: str | None, old_specs: Path | None
) -> None:
    """Print the unified diff of what `gen build` would change in OUT.

    With --summary (or --against / --old): what the spec change means for reviewers instead,
    as Markdown. Exit codes: 0 no change, 1 changes, 2 invalid specs or unknown revision.
    """
    from generator.write import plan_write

    if against is not None and old_specs is not None:
        raise click.UsageError("give --against REV or --old OLD_SPECS, not both")
    if summary or against is not None or old_specs is not None:
        from generator.review import ReviewError, compile_at_revision, render_summary, review

        new_projects, new_diags = compile_specs(specs)
        if new_diags.has_errors:
            _fail_invalid(new_diags.sorted())
        _print_diagnostics(new_diags.sorted())
        rev = against or "HEAD"
        try:
            old_projects, old_diags = (
                compile_specs(old_specs) if old_specs else compile_at_revision(specs, rev)
            )
        except ReviewError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INVALID)
        if old_diags.has_errors:
            _fail_invalid(old_diags.sorted())
        found = review(old_projects, new_projects)
        old_label = str(old_specs) if old_specs else f"{rev}:{specs}"
        click.echo(render_summary(found, old_label, str(specs)), nl=False)
        sys.exit(EXIT_STALE if found.changed else EXIT_OK)
    result = _build(specs, out)
    plan = plan_write(out, result.files, result.once)
    for planned in plan.writes:
        click.echo(planned.unified_diff(), nl=False)
    for path in plan.removals:
        click.echo(f"--- a/{path}\n+++ /dev/null\n(removed)")
    sys.exit(EXIT_STALE if plan.changed else EXIT_OK)


@main.command("validate")
@_SPECS
def validate_cmd(specs: Path) -> None:
    """Check the specs and print every problem (errors and warnings); write nothing."""
    projects, diags = compile_specs(specs)
    if diags.has_errors:
        _fail_invalid(diags.sorted())
    _print_diagnostics(diags.sorted())
    names = ", ".join(p.api.name for p in projects)
    click.echo(f"gen: {len(projects)} spec set(s) valid ({names})")


@main.command("compile")
@_SPECS
@click.option("--json", "as_json", is_flag=True, required=True, help="Print the IR as JSON.")
def compile_cmd(specs: Path, as_json: bool) -> None:
    """Print the compiled IR as JSON (for debugging and tools)."""
    projects, diags = compile_specs(specs)
    if diags.has_errors:
        _fail_invalid(diags.sorted())
    click.echo(json.dumps([to_jsonable(p) for p in projects], indent=2, sort_keys=True))


@main.command("explain")
@_SPECS
@click.option("--json", "as_json", is_flag=True, help="Also print the final stored schema.")
def explain_cmd(specs: Path, as_json: bool) -> None:
    """Print every normalization decision, with the spec line that caused it."""
    from generator.explain import explain_json, explain_text

    projects, diags = compile_specs(specs)
    if diags.has_errors:
        _fail_invalid(diags.sorted())
    if as_json:
        click.echo(json.dumps(explain_json(projects), indent=2, sort_keys=True))
    else:
        click.echo(explain_text(projects), nl=False)


@main.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of a spec file (for editors: yaml-language-server)."""
    from generator.validate.models import language_json_schema

    click.echo(json.dumps(language_json_schema(), indent=2, sort_keys=True))


@main.command("init")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
def init_cmd(directory: Path) -> None:
    """Create a starter project: DIRECTORY/specs with a small, valid spec set."""
    from generator.starter import write_starter

    try:
        written = write_starter(directory)
    except FileExistsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    for path in written:
        click.echo(f"created {path}")
    click.echo(f"next: gen build {directory / 'specs'} -o {directory / 'output'}")


def to_jsonable(value: Any) -> Any:
    """Dataclasses, tuples and spans as plain JSON values (private fields dropped)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


if __name__ == "__main__":  # pragma: no cover
    main()
