"""Wall and CPU time of each stage of one real `gen` command (bench/stages.py times the stages
one by one instead), without a profiler's overhead.

    python bench/cli_stages.py -- build /tmp/b200/specs -o /tmp/out200
    python bench/cli_stages.py --openapi-from DOC.json -- build /tmp/b200/specs -o /tmp/out200
    python bench/cli_stages.py --loaded -- build /tmp/b200/specs -o /tmp/out200

`--loaded` loads what a `gen daemon` child has loaded (`watch.load_gen`) before the clock
starts: the stages of a build through the daemon. `--openapi-from` answers every openapi.json
with the text of DOC.json instead of rendering it (generator/openapi.py `served_document`): the
figures are then those of every other stage.

With a worker process (generator/aside.py), the worker prints its own stages when it ends and
`worker.result` is how long this process waited for it.

Printed to stderr: imports, each stage's wall and CPU seconds (summed over its calls), the whole
command's wall and CPU (this process, and its children: ruff), the peak resident memory and the
load average, which says how much the wall times are worth on a shared machine.
"""

from __future__ import annotations

import atexit
import functools
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

STARTED = (time.perf_counter(), time.process_time())
# As bench/run.py: a user's machine keeps __pycache__ (a sandbox may export
# PYTHONDONTWRITEBYTECODE, and gen would be compiled from source on every run).
sys.dont_write_bytecode = False
TOTALS: dict[str, tuple[float, float]] = {}


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            before = TOTALS.get(name, (0.0, 0.0))
            TOTALS[name] = (
                before[0] + time.perf_counter() - wall,
                before[1] + time.process_time() - cpu,
            )

    return wrapper


def report(imports: tuple[float, float]) -> None:
    rows = [("imports", imports), *TOTALS.items()]
    for name, (wall, cpu) in rows:
        print(f"  {name:18s} {wall:7.3f} s wall {cpu:7.3f} s CPU", file=sys.stderr)
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"  {'total':18s} {time.perf_counter() - STARTED[0]:7.3f} s wall "
        f"{time.process_time() - STARTED[1]:7.3f} s CPU + "
        f"{children.ru_utime + children.ru_stime:.3f} s CPU in subprocesses; "
        f"peak RSS {own.ru_maxrss // 1024} MB (largest subprocess "
        f"{children.ru_maxrss // 1024} MB); load average {os.getloadavg()[0]:.2f}",
        file=sys.stderr,
    )


def _time_the_worker(pipeline: Any) -> None:
    """The worker process (generator/aside.py) prints its own stages when it is done; this
    process's table shows how long it waited for it (`worker.result`)."""
    import generator.aside as aside

    share = pipeline._worker_share

    def worker_share(*args: Any, **kwargs: Any) -> Any:
        forked = os.getpid() != PARENT
        if forked:
            TOTALS.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return share(*args, **kwargs)
        finally:
            if forked:
                print("worker process:", file=sys.stderr)
                for name, (w, c) in TOTALS.items():
                    print(f"  {name:18s} {w:7.3f} s wall {c:7.3f} s CPU", file=sys.stderr)
                print(
                    f"  {'worker total':18s} {time.perf_counter() - wall:7.3f} s wall "
                    f"{time.process_time() - cpu:7.3f} s CPU",
                    file=sys.stderr,
                )

    pipeline._worker_share = worker_share
    aside.Aside.result = timed("worker.result", aside.Aside.result)


PARENT = os.getpid()


def main(argv: list[str]) -> None:
    document = None
    if argv[:1] == ["--openapi-from"]:
        document, argv = argv[1], argv[2:]
    if argv[:1] == ["--loaded"]:  # as a `gen daemon` child: gen loaded before the clock starts
        from generator import watch

        watch.load_gen()
        global STARTED
        STARTED = (time.perf_counter(), time.process_time())
        argv = argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    import generator.cli as cli
    import generator.format as fmt
    import generator.pipeline as pipeline
    import generator.write as write

    imports = (time.perf_counter() - STARTED[0], time.process_time() - STARTED[1])
    stages = ("compile_specs", "plan_migrations", "emit_project", "emit_here", "emit_aside")
    for name in (*stages, "client_files", "format_python"):
        if hasattr(pipeline, name):
            setattr(pipeline, name, timed(name, getattr(pipeline, name)))
    if document is not None:
        with open(document, encoding="utf-8") as handle:
            text = handle.read()
        pipeline.served_document = timed("served_document", lambda *_a, **_k: text)
    else:
        pipeline.served_document = timed("served_document", pipeline.served_document)
    fmt.format_python = timed("format_python", fmt.format_python)
    write.write_output = timed("write_output", write.write_output)
    if hasattr(pipeline, "_worker_share"):
        _time_the_worker(pipeline)
    atexit.register(report, imports)
    sys.argv = ["gen", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
