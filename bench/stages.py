"""Where a cold `gen build` spends its time, stage by stage, at N = 10, 50, 200, 1000.

    /work/venv/bin/python bench/stages.py                 # all sizes (about 10 minutes)
    /work/venv/bin/python bench/stages.py --sizes 200

Runs the stages of `generator.pipeline.build` one by one, in a fresh process per N, on the
synthetic specs of bench/synth.py, with an empty format cache, and times each:

compile      load + validate + compile (`compile_specs`)
plan         the migration plan against an empty output (`plan_migrations`)
emit         every template rendered (`emit_project`)
format       ruff over every .py file (`format_python`, no cache)
app import   the openapi.json step, part 1: import the generated app and `create_app()`
openapi()    the openapi.json step, part 2: FastAPI's `app.openapi()` and `json.dumps`
write        `write_output` into an empty folder

The openapi.json step is run the way generator/openapi.py runs it (the formatted modules in a
temporary folder, a subprocess of the same interpreter, PYTHONHASHSEED=0, no bytecode written),
but without its 120 s time limit and with the two parts timed separately. Peak RSS: the
generator process (ru_maxrss of this process) and the openapi subprocess (wait4).

The generator is imported from wherever the interpreter finds it (the editable install); the
commit is recorded. Results: bench/stages.json and bench/stages.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import synth  # noqa: E402

CHILD = """\
import json, sys, time
t0 = time.perf_counter()
from bench.main import create_app
app = create_app()
t1 = time.perf_counter()
text = json.dumps(app.openapi(), indent=2, sort_keys=False) + "\\n"
t2 = time.perf_counter()
sys.stderr.write(json.dumps({"import": t1 - t0, "openapi": t2 - t1, "bytes": len(text)}))
"""


def one(n: int) -> dict[str, object]:
    """Run in a fresh process: every stage once at size n."""
    t = time.perf_counter()
    from generator.diagnostics import Diagnostics
    from generator.emit import emit_project
    from generator.format import format_python
    from generator.pipeline import compile_specs, plan_migrations
    from generator.write import write_output

    out: dict[str, object] = {"import generator": time.perf_counter() - t}

    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with tempfile.TemporaryDirectory(prefix="gen-stages-") as tmp_name:
        tmp = Path(tmp_name)
        specs, _ = synth.write_all(n, tmp / "in")
        dest = tmp / "out"

        t = time.perf_counter()
        projects, diags = compile_specs(specs)
        assert not diags.has_errors, diags.sorted()
        (project,) = projects
        out["compile"] = time.perf_counter() - t

        t = time.perf_counter()
        migration = plan_migrations(project, dest, False, Diagnostics())
        out["plan"] = time.perf_counter() - t

        t = time.perf_counter()
        rendered = emit_project(project, migration)
        files = {r.path: r.content for r in rendered}
        once = {r.path for r in rendered if r.once}
        out["emit"] = time.perf_counter() - t
        out["rss after emit (MB)"] = rss_mb()

        t = time.perf_counter()
        files = format_python(files, cache_dir=None)
        out["format"] = time.perf_counter() - t

        package = project.api.name
        prefix = f"{package}/{package}/"
        root = tmp / "app"
        for path, text in files.items():
            if path.startswith(prefix) and path.endswith(".py"):
                target = root / path[len(package) + 1 :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        env = {
            **os.environ,
            "PYTHONPATH": str(root),
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.pop("DATABASE_URL", None)
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD.replace("bench.main", f"{package}.main")],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        stderr = proc.stderr.read() if proc.stderr else b""
        _, status, usage = os.wait4(proc.pid, 0)
        out["openapi step"] = time.perf_counter() - t
        last = stderr.decode("utf-8", "replace").strip().splitlines()[-1]
        if os.waitstatus_to_exitcode(status) != 0:
            out["openapi error"] = last
        else:
            timings = json.loads(last)
            out["app import"] = timings["import"]
            out["openapi()"] = timings["openapi"]
        out["openapi subprocess RSS (MB)"] = usage.ru_maxrss / 1024

        t = time.perf_counter()
        result = write_output(dest, files, frozenset(once))
        out["write"] = time.perf_counter() - t
        out["files"] = len(result.written) + len(result.created_once)
        out["gen process RSS (MB)"] = rss_mb()
    return out


COLUMNS = [
    "import generator",
    "compile",
    "plan",
    "emit",
    "format",
    "app import",
    "openapi()",
    "write",
]


def table(results: dict[str, dict[str, object]]) -> str:
    head = ["N", *COLUMNS, "gen process RSS", "openapi subprocess RSS"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for n, r in sorted(results.items(), key=lambda kv: int(kv[0])):
        cells = [n]
        for c in COLUMNS:
            v = r.get(c)
            cells.append("—" if v is None else f"{v:.2f} s")
        cells += [
            f"{r['gen process RSS (MB)']:.0f} MB",
            f"{r['openapi subprocess RSS (MB)']:.0f} MB",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    # growth from the previous size, per stage: 1.0 means linear in N
    sizes = sorted(results, key=int)
    lines = [
        "",
        "Growth per stage relative to linear (time ratio / N ratio; 1.0 = linear):",
        "",
        "| from → to | " + " | ".join(COLUMNS[1:]) + " |",
        "|---|" + "---:|" * (len(COLUMNS) - 1),
    ]
    for a, b in itertools.pairwise(sizes):
        ra, rb = results[a], results[b]
        cells = [f"{a} → {b}"]
        for c in COLUMNS[1:]:
            va, vb = ra.get(c), rb.get(c)
            cells.append("—" if not va or not vb else f"{(vb / va) / (int(b) / int(a)):.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows + lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200,1000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one)))
        return
    commit = subprocess.run(
        ["git", "-C", str(BENCH.parent), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    results: dict[str, dict[str, object]] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        results[str(n)] = json.loads(done.stdout.strip().splitlines()[-1])
        print(n, results[str(n)], flush=True)
    (BENCH / "stages.json").write_text(
        json.dumps(
            {"commit": commit, "measured": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "sizes": results},
            indent=1,
            sort_keys=True,
        )
        + "\n",
        encoding="utf-8",
    )
    md = table(results)
    (BENCH / "stages.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
