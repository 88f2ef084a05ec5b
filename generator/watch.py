"""`gen watch`: build, then build again whenever a spec file changes, until interrupted.

The watching process imports the pipeline and compiles the templates once (``load_gen``, which
`gen daemon` shares); each build runs in a child forked from it, so a rebuild starts with
SQLAlchemy, Alembic, Pydantic and gen's own modules loaded (about 0.4 s of every `gen build`)
and ends as a whole process does, leaving the watcher as it was. Where `os.fork` does not
exist, each build runs in the watching process itself.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from generator.aside import interrupts_held
from generator.stamp import generator_files, spec_files

Snapshot = tuple[tuple[str, int, int], ...]


class GenChanged(Exception):
    """gen's own files changed since the watcher loaded them: its builds would run old code
    under the new code's stamp."""


def files_snapshot(paths: list[Path]) -> Snapshot:
    """Path, modification time and size of each file."""
    return tuple(
        (path.as_posix(), stat.st_mtime_ns, stat.st_size)
        for path in paths
        for stat in (path.stat(),)
    )


def spec_snapshot(specs: Path) -> Snapshot | None:
    """Path, modification time and size of every spec file; None while a file vanishes
    between listing and stat (an editor replacing it), to be read again at the next poll."""
    try:
        return files_snapshot(spec_files(specs))
    except FileNotFoundError:
        return None


def run_build(build: Callable[[], None]) -> int:
    """Run `build` in a forked child and return its exit code (in this process where there is
    no fork)."""
    if not hasattr(os, "fork"):
        return _exit_code(build)
    sys.stdout.flush()
    sys.stderr.flush()
    # Ctrl+C reaches the child too: it takes it only inside its try, so that a KeyboardInterrupt
    # never runs the watcher's code in the child.
    with interrupts_held() as mask:
        pid = os.fork()
        if pid == 0:  # the child: build, then leave without running the watcher's cleanup
            code = 130  # interrupted
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                collect_never()
                code = _exit_code(build)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def collect_never() -> None:
    """In a forked child that runs one build and exits: no cycle collection at all. What the
    build allocates is freed by the exit; the collector's passes cost about 2 % of the
    instructions of a one-entity build at N=200 (callgrind), for 6 MB (one entity) to 10 MB
    (cold) more at the peak."""
    gc.disable()


def _exit_code(build: Callable[[], None]) -> int:
    try:
        build()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:
        traceback.print_exc()
        return 70
    return 0


def load_gen() -> int:
    """Load what every build needs and cannot change while gen's files do not, for the builds
    forked from this process (`gen watch`, `gen daemon`): the pipeline's modules (with
    SQLAlchemy and Alembic, which a build imports only once its worker is forked) and every
    template, compiled. Returns the count of templates."""
    import email.parser  # noqa: F401  (importlib.metadata's, for ruff's version)

    import generator.cli
    import generator.diff.compare
    import generator.emit.migrations
    import generator.pipeline
    import generator.write  # noqa: F401  (each build forked from here has them)

    with contextlib.suppress(ImportError):
        import ruff.__main__  # type: ignore[import-untyped]  # noqa: F401  (format.py's)
    from generator.emit.base import environment, save_compiled_templates

    templates = environment()
    names = templates.list_templates(extensions=["j2"])
    for name in names:
        templates.get_template(name)
    save_compiled_templates()
    # Out of every collection of the children: their pages stay shared with this process.
    gc.collect()
    gc.freeze()
    return len(names)


def watch(
    specs: Path,
    build: Callable[[], None],
    interval: float,
    on_build: Callable[[int], None] = lambda code: None,
) -> None:
    """Build now, then after every change of the spec files, polling every `interval`
    seconds, until interrupted; `on_build` gets each build's exit code. Raises GenChanged,
    before building, once gen's own files differ from those it loaded."""
    code = files_snapshot(generator_files())
    load_gen()  # once: every build forked from here has it
    seen: Snapshot | None = None
    while True:
        current = spec_snapshot(specs)
        if current is not None and current != seen:
            if files_snapshot(generator_files()) != code:
                raise GenChanged("gen's own files changed since `gen watch` started: restart it")
            seen = current
            on_build(run_build(build))
        time.sleep(interval)
