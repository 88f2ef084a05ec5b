"""Benchmark `gen build` at N = 10, 50, 200, 1000 entities, beside two OpenAPI generators.

    python3 bench/run.py                              # everything (about 25-30 minutes)
    python3 bench/run.py --sizes 10,50 --repeats 1    # a quick look
    python3 bench/run.py --skip-third-party-at 1000   # the other tools only up to N=200
    python3 bench/run.py --profile 200                # also pyinstrument profiles of N=200

Only the standard library is used here; the tools run as subprocesses:

* gen: `GEN_PYTHON -m generator build SPECS -o OUT` (default /work/venv/bin/python).
* openapi-generator (python-fastapi) and fastapi-codegen from `--bench-venv` (default
  /tmp/benchvenv; see bench/README.md for how it is made).
* pyinstrument, for `--profile`, from `--pyinstrument-path` (a `pip install --target` folder,
  put on PYTHONPATH so that nothing is installed into the gen virtualenv).

Measured for each N, in fresh temporary folders, each `--repeats` times (median reported):

cold             empty output folder, HOME a fresh empty folder (so ~/.cache/gen is empty)
cold, warm cache empty output folder, HOME the one a cold build just filled
no-op            the same build again into the output folder it wrote (asserts "0 written")
one-entity       one field's max_length changed in one entity, rebuilt into a copy of the
                 cold build's output (warm cache; each repeat uses another value, so every
                 repeat is a real change and misses the format cache for what changed)
peak RSS         ru_maxrss from wait4() (what `/usr/bin/time -v` reports as "Maximum resident
                 set size": the largest single process of the tree), max over the cold runs;
                 plus one extra cold run that samples /proc every 50 ms for the summed RSS of
                 the whole process tree and the peak of each program in it

If the stock gen build fails at some N (it does above 128 entities: see README), the error is
recorded and that N is measured again with the same gen and the same packages plus a
two-line FastAPI workaround loaded from a sitecustomize.py in a separate tiny virtualenv
(`--workaround-venv`, made on first use; nothing in /work/venv is changed). Those rows are
marked.

gen runs from a frozen copy of this checkout's generator/ and templates/ taken when the run
starts (put first on PYTHONPATH; `--no-snapshot` runs the installed gen as it is), because
other people edit the generator during a half-hour run; results.json records the commit, the
locally modified files and a digest of the copy.

Results: bench/results.json (every sample) and bench/results.md (the table).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth

BENCH = Path(__file__).resolve().parent
WRITTEN_RE = re.compile(r"gen: (\d+) written, (\d+) unchanged, (\d+) removed, (\d+) custom created")
PAGE = os.sysconf("SC_PAGE_SIZE")

# The workaround for FastAPI's 128-entry cache (see README "Failure above 128 entities"):
# fastapi._compat.v2.get_cached_model_fields is an lru_cache(maxsize=128) that returns new
# ModelField objects (hashed by id()) after an eviction, so app.openapi() raises KeyError once
# more than 128 query-parameter models exist. Unbounded, it keeps the objects stable.
SITECUSTOMIZE = '''\
"""bench/run.py workaround venv: gen's own packages plus an unbounded FastAPI model-field cache."""
import functools
import importlib.abc
import site
import sys

site.addsitedir({site_packages!r})


class _PatchFastapiCache(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "fastapi._compat.v2":
            return None
        sys.meta_path.remove(self)
        try:
            import importlib.util
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            module.get_cached_model_fields = functools.lru_cache(maxsize=None)(
                module.get_model_fields)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchFastapiCache())
'''


# ---------------------------------------------------------------------------------------------
# running one process
# ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    argv: list[str]
    wall: float = 0.0
    maxrss_kb: int = 0
    rc: int | None = None
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    cpu: float = 0.0  # user + system seconds of the whole tree (wait4)
    busy_before: float = 0.0  # CPUs kept busy by other processes just before the start
    tree_peak_kb: int = 0  # sampled sum over the process tree (only when sampled)
    per_program_peak_kb: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out

    def error(self) -> str:
        if self.timed_out:
            return f"timed out after {self.wall:.0f} s"
        lines = [ln for ln in (self.stderr + "\n" + self.stdout).splitlines() if ln.strip()]
        interesting = [ln for ln in lines if re.match(r"^\w*(Error|Exception)\b|^\S+Error:", ln)]
        return (interesting or lines or [f"exit {self.rc}"])[-1].strip()[:400]


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("utf-8", "replace")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _program(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode("utf-8", "replace") for a in argv if a]
    if not words:
        return "?"
    name = Path(words[0]).name
    if name.startswith("python"):
        if "-c" in words:
            return "python -c (gen openapi dump)"
        rest = [w for w in words[1:] if not w.startswith("-")]
        return f"python {rest[0] if rest else ''}".strip()
    return name


def _sample(root_pid: int, stop: threading.Event, run: Run) -> None:
    while not stop.is_set():
        kids = _children_map()
        todo, total = [root_pid], 0
        while todo:
            pid = todo.pop()
            todo.extend(kids.get(pid, ()))
            try:
                with open(f"/proc/{pid}/statm") as fh:
                    rss = int(fh.read().split()[1]) * PAGE // 1024
            except (OSError, IndexError, ValueError):
                continue
            total += rss
            prog = _program(pid)
            run.per_program_peak_kb[prog] = max(run.per_program_peak_kb.get(prog, 0), rss)
        run.tree_peak_kb = max(run.tree_peak_kb, total)
        stop.wait(0.05)


QUIET_MAX_WAIT = 30.0
QUIET_BUSY = 0.3


def _cpu_busy(interval: float = 0.5) -> float:
    """How many CPUs were busy (all processes) over `interval` seconds, from /proc/stat."""

    def read() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    busy0, total0 = read()
    time.sleep(interval)
    busy1, total1 = read()
    return (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1)


def wait_for_quiet() -> float:
    """Wait (at most QUIET_MAX_WAIT s) until other processes use < QUIET_BUSY CPUs.

    Other people run test suites on this 2-core machine; starting a measurement while they do
    inflates wall times. Returns the busy figure seen last (recorded with the run).
    """
    deadline = time.monotonic() + QUIET_MAX_WAIT
    busy = _cpu_busy()
    while busy >= QUIET_BUSY and time.monotonic() < deadline:
        time.sleep(1.0)
        busy = _cpu_busy()
    return busy


def run_process(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float,
    sample: bool = False,
) -> Run:
    """Run argv; wall time, ru_maxrss of the tree (wait4), output; killed at the timeout."""
    run = Run(argv=[str(a) for a in argv])
    run.busy_before = wait_for_quiet()
    if env is None:
        env = dict(os.environ)
    # This sandbox exports PYTHONDONTWRITEBYTECODE=1; a user's machine keeps __pycache__, so
    # every tool here may write (and after the warm-up, reuse) its bytecode.
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out_f = tempfile.TemporaryFile()  # noqa: SIM115 (closed below, after the wait)
    err_f = tempfile.TemporaryFile()  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen(
        run.argv,
        env=env,
        cwd=cwd,
        stdout=out_f,
        stderr=err_f,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    timer_fired = threading.Event()

    def kill() -> None:
        timer_fired.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    stop = threading.Event()
    sampler = None
    if sample:
        sampler = threading.Thread(target=_sample, args=(proc.pid, stop, run), daemon=True)
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    run.wall = time.perf_counter() - start
    timer.cancel()
    stop.set()
    if sampler:
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    # Leftover grandchildren (only after a kill): make sure they are gone.
    if timer_fired.is_set():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    run.rc = proc.returncode
    run.timed_out = timer_fired.is_set()
    run.maxrss_kb = usage.ru_maxrss
    run.cpu = usage.ru_utime + usage.ru_stime
    for fh, attr in ((out_f, "stdout"), (err_f, "stderr")):
        fh.seek(0)
        setattr(run, attr, fh.read().decode("utf-8", "replace"))
        fh.close()
    return run


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def tree_stats(root: Path) -> dict[str, int]:
    files = lines = size = py_files = py_lines = 0
    for path in root.rglob("*"):
        if not path.is_file() or path.name == ".gen-manifest.json":
            continue
        data = path.read_bytes()
        files += 1
        size += len(data)
        n = data.count(b"\n")
        lines += n
        if path.suffix == ".py":
            py_files += 1
            py_lines += n
    return {
        "files": files,
        "lines": lines,
        "bytes": size,
        "py_files": py_files,
        "py_lines": py_lines,
    }


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def gen_counts(run: Run) -> dict[str, int] | None:
    m = WRITTEN_RE.search(run.stdout)
    if not m:
        return None
    written, unchanged, removed, custom = map(int, m.groups())
    return {"written": written, "unchanged": unchanged, "removed": removed, "custom": custom}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ensure_workaround_venv(venv: Path, gen_python: Path) -> Path:
    python = venv / "bin" / "python"
    site_packages = subprocess.run(
        [str(gen_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not python.exists():
        subprocess.run([str(gen_python), "-m", "venv", "--without-pip", str(venv)], check=True)
    own = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(own, "sitecustomize.py").write_text(
        SITECUSTOMIZE.format(site_packages=site_packages), encoding="utf-8"
    )
    return python


# ---------------------------------------------------------------------------------------------
# gen
# ---------------------------------------------------------------------------------------------


SNAPSHOT: Path | None = None


def snapshot_generator(repo: Path, dest: Path) -> dict[str, object]:
    """Copy generator/ and templates/ (the working tree as it is now) to dest.

    Other people edit the generator while a run takes half an hour; every build of one run
    uses this frozen copy (first on PYTHONPATH, ahead of the editable install). Returns what
    the copy is: the commit, the files that differ from it, and a digest of the copy.
    """
    import hashlib

    for part in ("generator", "templates"):
        shutil.copytree(
            repo / part, dest / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    digest = hashlib.sha256()
    for path in sorted(dest.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(dest).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())

    def git(*argv: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *argv], capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": git("status", "--short", "--", "generator", "templates").splitlines(),
        "snapshot_sha256": digest.hexdigest(),
    }


def gen_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("PYTHONPATH", None)
    if SNAPSHOT is not None:
        env["PYTHONPATH"] = str(SNAPSHOT)
    return env


class Gen:
    def __init__(self, python: Path, work: Path, timeout: float) -> None:
        self.python = python
        self.work = work
        self.timeout = timeout
        self._n = 0

    def fresh(self, label: str) -> Path:
        self._n += 1
        return self.work / f"{label}-{self._n:03d}"

    def build(self, specs: Path, out: Path, home: Path, sample: bool = False) -> Run:
        home.mkdir(parents=True, exist_ok=True)
        env = gen_env(HOME=str(home))
        # cwd: not the checkout, whose generator/ would shadow the snapshot (sys.path[0]).
        return run_process(
            [str(self.python), "-m", "generator", "build", str(specs), "-o", str(out)],
            env=env,
            timeout=self.timeout,
            sample=sample,
            cwd=self.work,
        )


def bench_gen(
    n: int, specs: Path, gen: Gen, repeats: int, stock_python: Path | None = None
) -> dict[str, object]:
    res: dict[str, object] = {"python": str(gen.python)}
    # cold: empty cache, empty output
    cold: list[Run] = []
    homes: list[Path] = []
    outs: list[Path] = []
    for r in range(repeats):
        home, out = gen.fresh("home-cold"), gen.fresh("out-cold")
        run = gen.build(specs, out, home, sample=repeats == 1)
        log(
            f"  gen N={n} cold #{r + 1}: {run.wall:.2f} s, {run.maxrss_kb // 1024} MB"
            + ("" if run.ok else f"  FAILED: {run.error()}")
        )
        if not run.ok:
            res["error"] = run.error()
            res["failed_wall"] = run.wall
            return res
        cold.append(run)
        homes.append(home)
        outs.append(out)
    counts = gen_counts(cold[0])
    res["cold"] = [r.wall for r in cold]
    res["cold_maxrss_kb"] = [r.maxrss_kb for r in cold]
    res["cold_cpu"] = [r.cpu for r in cold]
    res["cold_busy"] = [round(r.busy_before, 2) for r in cold]
    res["cold_counts"] = counts
    res["output"] = tree_stats(outs[0])
    warm_home, baseline = homes[0], outs[0]

    # cold with a warm cache: empty output, the cache a cold build filled
    warm: list[Run] = []
    for r in range(repeats):
        run = gen.build(specs, gen.fresh("out-warm"), warm_home)
        log(f"  gen N={n} cold/warm-cache #{r + 1}: {run.wall:.2f} s")
        assert run.ok, run.error()
        warm.append(run)
    res["warm"] = [r.wall for r in warm]
    res["warm_maxrss_kb"] = [r.maxrss_kb for r in warm]
    res["warm_cpu"] = [r.cpu for r in warm]
    res["warm_busy"] = [round(r.busy_before, 2) for r in warm]
    res["warm_counts"] = gen_counts(warm[0])

    # no-op: the same build into the folder it wrote
    noop: list[Run] = []
    for r in range(repeats):
        run = gen.build(specs, baseline, warm_home)
        counts_noop = gen_counts(run)
        log(f"  gen N={n} no-op #{r + 1}: {run.wall:.2f} s, {counts_noop}")
        assert run.ok, run.error()
        assert (
            counts_noop
            and counts_noop["written"] == 0
            and counts_noop["removed"] == 0
            and counts_noop["custom"] == 0
        ), f"no-op build wrote files: {run.stdout}"
        noop.append(run)
    res["noop"] = [r.wall for r in noop]
    res["noop_maxrss_kb"] = [r.maxrss_kb for r in noop]
    res["noop_cpu"] = [r.cpu for r in noop]
    res["noop_busy"] = [round(r.busy_before, 2) for r in noop]
    res["noop_counts"] = gen_counts(noop[0])

    # one entity changed: a copy of the cold output, one max_length changed (another each time)
    # (The spec is edited in place: every generated file names the spec folder in its header,
    # so building a copy of the specs from another folder would rewrite every file.)
    one: list[Run] = []
    one_counts = []
    changed = n // 2
    spec_file = synth.entity_file(specs, changed)
    original = spec_file.read_bytes()
    try:
        for r in range(repeats):
            synth.change_one_entity(specs, changed, bump=r + 1)
            out = gen.fresh("out-change")
            shutil.copytree(baseline, out, symlinks=True)
            run = gen.build(specs, out, warm_home)
            c = gen_counts(run)
            log(f"  gen N={n} one-entity change #{r + 1}: {run.wall:.2f} s, {c}")
            assert run.ok, run.error()
            one.append(run)
            one_counts.append(c)
            shutil.rmtree(out)
            spec_file.write_bytes(original)
    finally:
        spec_file.write_bytes(original)
    res["one"] = [r.wall for r in one]
    res["one_maxrss_kb"] = [r.maxrss_kb for r in one]
    res["one_cpu"] = [r.cpu for r in one]
    res["one_busy"] = [round(r.busy_before, 2) for r in one]
    res["one_counts"] = one_counts[0]
    res["one_changed_entity"] = synth.entity_name(changed)

    # memory: one more cold build, sampling the whole process tree (with a single repeat, the
    # cold build above was sampled)
    if repeats == 1:
        run = cold[0]
    else:
        run = gen.build(specs, gen.fresh("out-mem"), gen.fresh("home-mem"), sample=True)
    assert run.ok, run.error()
    res["tree_peak_kb"] = run.tree_peak_kb
    res["per_program_peak_kb"] = run.per_program_peak_kb
    log(
        f"  gen N={n} sampled tree peak {run.tree_peak_kb // 1024} MB "
        f"{ {k: v // 1024 for k, v in run.per_program_peak_kb.items()} }"
    )
    if stock_python is not None:
        res["stock_dump_probe"] = stock_dump_probe(n, baseline, stock_python, gen.timeout)
    for path in gen.work.iterdir():
        shutil.rmtree(path, ignore_errors=True)
    return res


def stock_dump_probe(n: int, out: Path, stock_python: Path, timeout: float) -> dict[str, object]:
    """What generator/openapi.py runs, with the stock packages, on the modules gen wrote."""
    run = run_process(
        [str(stock_python), "-c", DUMP],
        env={**os.environ, "PYTHONPATH": str(out / "bench"), "PYTHONHASHSEED": "0"},
        cwd=out / "bench",
        timeout=timeout,
    )
    log(
        f"  stock openapi.json step on N={n}'s generated app: {run.wall:.2f} s, "
        + ("ok" if run.ok else f"FAILED: {run.error()}")
    )
    return {"ok": run.ok, "error": None if run.ok else run.error(), "wall": run.wall}


DUMP = "from bench.main import create_app\ncreate_app().openapi()\n"


# ---------------------------------------------------------------------------------------------
# the other tools
# ---------------------------------------------------------------------------------------------


def bench_tool(
    name: str, argv_for, n: int, work: Path, repeats: int, timeout: float
) -> dict[str, object]:
    res: dict[str, object] = {}
    walls, rss, cpu, busy = [], [], [], []
    for r in range(repeats):
        out = work / f"{name}-{n}-{r}"
        run = run_process(argv_for(out), timeout=timeout, cwd=work)
        log(
            f"  {name} N={n} cold #{r + 1}: {run.wall:.2f} s, {run.maxrss_kb // 1024} MB"
            + ("" if run.ok else f"  FAILED: {run.error()}")
        )
        if not run.ok:
            res["error"] = run.error()
            res["failed_wall"] = run.wall
            return res
        walls.append(run.wall)
        rss.append(run.maxrss_kb)
        cpu.append(run.cpu)
        busy.append(round(run.busy_before, 2))
        if r == 0:
            res["output"] = tree_stats(out)
        shutil.rmtree(out, ignore_errors=True)
    res["cold"] = walls
    res["cold_maxrss_kb"] = rss
    res["cold_cpu"] = cpu
    res["cold_busy"] = busy
    return res


# ---------------------------------------------------------------------------------------------
# profile
# ---------------------------------------------------------------------------------------------


def profile(
    n: int, specs: Path, python: Path, pyinstrument_path: Path, work: Path, timeout: float
) -> dict[str, str]:
    """pyinstrument of the cold build, and of the openapi.json subprocess it starts."""
    home, out = work / "home-prof", work / "out-prof"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "PYTHONPATH": os.pathsep.join(
            [str(p) for p in (SNAPSHOT, pyinstrument_path) if p is not None]
        ),
    }
    build_txt = BENCH / f"profile-{n}-cold.txt"
    run = run_process(
        [
            str(python),
            "-m",
            "pyinstrument",
            "-r",
            "text",
            "-o",
            str(build_txt),
            "-m",
            "generator",
            "build",
            str(specs),
            "-o",
            str(out),
        ],
        env=env,
        timeout=timeout,
        cwd=work,
    )
    assert run.ok, run.error()
    log(f"  profile N={n} cold build: {run.wall:.2f} s -> {build_txt}")
    # The same import + create_app().openapi() that generator/openapi.py runs, on the
    # formatted modules the build just wrote.
    dump_txt = BENCH / f"profile-{n}-openapi-dump.txt"
    env_dump = {
        **env,
        "PYTHONPATH": f"{out / 'bench'}{os.pathsep}{pyinstrument_path}",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    script = work / "openapi_dump.py"
    script.write_text(DUMP, encoding="utf-8")
    run = run_process(
        [
            str(python),
            "-m",
            "pyinstrument",
            "-r",
            "text",
            "-o",
            str(dump_txt),
            "--show",
            "*/fastapi/*",
            str(script),
        ],
        env=env_dump,
        cwd=out / "bench",
        timeout=timeout,
    )
    assert run.ok, run.error()
    log(f"  profile N={n} openapi dump: {run.wall:.2f} s -> {dump_txt}")
    # The no-op rebuild (warm cache, same output), then one entity changed (as bench_gen does).
    noop_txt = BENCH / f"profile-{n}-noop.txt"
    run = run_process(
        [
            str(python),
            "-m",
            "pyinstrument",
            "-r",
            "text",
            "-o",
            str(noop_txt),
            "-m",
            "generator",
            "build",
            str(specs),
            "-o",
            str(out),
        ],
        env=env,
        timeout=timeout,
        cwd=work,
    )
    assert run.ok and "gen: 0 written" in run.stdout, run.stdout + run.error()
    log(f"  profile N={n} no-op: {run.wall:.2f} s -> {noop_txt}")
    one_txt = BENCH / f"profile-{n}-one-entity.txt"
    spec_file = synth.entity_file(specs, n // 2)
    original = spec_file.read_bytes()
    try:
        synth.change_one_entity(specs, n // 2, bump=7)
        run = run_process(
            [
                str(python),
                "-m",
                "pyinstrument",
                "-r",
                "text",
                "-o",
                str(one_txt),
                "-m",
                "generator",
                "build",
                str(specs),
                "-o",
                str(out),
            ],
            env=env,
            timeout=timeout,
            cwd=work,
        )
    finally:
        spec_file.write_bytes(original)
    assert run.ok, run.error()
    log(f"  profile N={n} one-entity change: {run.wall:.2f} s -> {one_txt}")
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "build": str(build_txt),
        "openapi_dump": str(dump_txt),
        "noop": str(noop_txt),
        "one_entity": str(one_txt),
    }


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------


def _s(values: list[float] | None) -> str:
    return "—" if not values else f"{median(values):.2f} s"


def _mb(kb: int | float | None) -> str:
    return "—" if not kb else f"{kb / 1024:.0f} MB"


def table(results: dict[str, object]) -> str:
    rows = [
        "| N | gen cold | gen cold, warm cache | gen no-op (files written) | "
        "gen one-entity change (files written) | gen peak RSS, largest process (tree sum) | "
        "gen output files (lines) | openapi-generator python-fastapi cold | its peak RSS | "
        "its files (lines) | fastapi-codegen cold | its peak RSS | its files (lines) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n_key, r in results["sizes"].items():
        g = r["gen"]
        mark = " †" if g.get("workaround") else ""
        if "cold" not in g:
            gen_cells = [
                f"failed after {g.get('failed_wall', 0):.0f} s{mark}: `{g['error'][:160]}`"
            ] + ["—"] * 5
        else:
            gen_cells = [
                _s(g["cold"]) + mark,
                _s(g["warm"]) + mark,
                f"{_s(g['noop'])} ({g['noop_counts']['written']})",
                f"{_s(g['one'])} ({g['one_counts']['written']})",
                f"{_mb(max(g['cold_maxrss_kb']))} ({_mb(g['tree_peak_kb'])})",
                f"{g['output']['files']} ({g['output']['lines']:,})",
            ]
        label = n_key
        if r.get("repeats", results["repeats"]) != results["repeats"]:
            label += f" ({r['repeats']} run{'s' if r['repeats'] > 1 else ''})"
        cells = [label, *gen_cells]
        for tool in ("openapi_generator", "fastapi_codegen"):
            t = r.get(tool)
            if t is None:
                cells += ["skipped", "—", "—"]
            elif "error" in t:
                cells += [f"failed: `{t['error']}`", "—", "—"]
            else:
                cells += [
                    _s(t["cold"]),
                    _mb(max(t["cold_maxrss_kb"])),
                    f"{t['output']['files']} ({t['output']['lines']:,})",
                ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def cpu_table(results: dict[str, object]) -> str:
    rows = [
        "| N | gen cold | gen cold, warm cache | gen no-op | gen one-entity change | "
        "openapi-generator cold | fastapi-codegen cold | other load seen before runs (CPUs) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n_key, r in results["sizes"].items():
        g = r["gen"]
        cells = [n_key]
        busy: list[float] = []
        for k in ("cold", "warm", "noop", "one"):
            cells.append(_s(g.get(f"{k}_cpu")))
            busy += g.get(f"{k}_busy", [])
        for tool in ("openapi_generator", "fastapi_codegen"):
            t = r.get(tool) or {}
            cells.append(_s(t.get("cold_cpu")))
            busy += t.get("cold_busy", [])
        cells.append(f"max {max(busy):.2f}" if busy else "—")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def stock_failures(results: dict[str, object]) -> str:
    lines = []
    for n_key, r in results["sizes"].items():
        f = r.get("gen_stock_failure")
        if f:
            where = (
                "with the stock packages, gen's openapi.json step (import the generated "
                "app, `create_app().openapi()`)"
                if "where" in f
                else "stock `gen build`"
            )
            lines.append(f"- N={n_key}: {where} failed after {f['wall']:.1f} s: `{f['error']}`")
    return "\n".join(lines) + ("\n" if lines else "")


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark gen build against two tools.")
    parser.add_argument("--sizes", default="10,50,200,1000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--repeats-for",
        action="append",
        default=[],
        metavar="N=R",
        help="another repeat count at one size, e.g. 1000=1 (repeatable)",
    )
    parser.add_argument(
        "--workaround-above",
        type=int,
        default=None,
        metavar="K",
        help="above K entities, measure with the workaround venv directly and "
        "check the stock packages only on the openapi.json step (saves one "
        "full failing build)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="per invocation, seconds")
    parser.add_argument("--gen-python", type=Path, default=Path("/work/venv/bin/python"))
    parser.add_argument("--bench-venv", type=Path, default=Path("/tmp/benchvenv"))
    parser.add_argument("--workaround-venv", type=Path, default=Path("/tmp/gen-fastapi-fix"))
    parser.add_argument(
        "--skip-third-party-at",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="do not run the other tools at this N (repeatable)",
    )
    parser.add_argument("--no-third-party", action="store_true")
    parser.add_argument(
        "--profile",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="write bench/profile-N-*.txt with pyinstrument",
    )
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="with --profile N: only the profiles (no measurements)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="only rewrite bench/results.md from --results"
    )
    parser.add_argument("--pyinstrument-path", type=Path, default=Path("/tmp/pyi-lib"))
    parser.add_argument("--results", type=Path, default=BENCH / "results.json")
    parser.add_argument(
        "--repo",
        type=Path,
        default=BENCH.parent,
        help="the checkout whose generator/ and templates/ are snapshotted",
    )
    parser.add_argument(
        "--no-snapshot", action="store_true", help="run the installed gen as it is (no frozen copy)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.report_only:
        report(json.loads(args.results.read_text()))
        return
    workaround_python: Path | None = None

    results: dict[str, object] = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": subprocess.run(
                [str(args.gen_python), "--version"], capture_output=True, text=True
            ).stdout.strip(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        },
        "repeats": args.repeats,
        "sizes": {},
    }
    if args.results.exists():  # keep sizes measured by an earlier, partial invocation
        try:
            earlier = json.loads(args.results.read_text())
            results["sizes"].update(earlier.get("sizes", {}))
        except (OSError, ValueError):
            pass

    with tempfile.TemporaryDirectory(prefix="gen-bench-") as tmp_name:
        tmp = Path(tmp_name)
        global SNAPSHOT
        if not args.no_snapshot:
            SNAPSHOT = tmp / "gen-snapshot"
            results["generator"] = snapshot_generator(args.repo, SNAPSHOT)
            where = subprocess.run(
                [str(args.gen_python), "-c", "import generator; print(generator.__file__)"],
                env=gen_env(),
                capture_output=True,
                text=True,
                cwd=tmp,
            ).stdout
            assert where.startswith(str(SNAPSHOT)), f"the snapshot is not imported: {where}"
            log(f"generator snapshot: {results['generator']}")
        # Untimed warm-up: the OS page cache and __pycache__ of every tool, at N=10.
        specs10, openapi10 = synth.write_all(10, tmp / "warmup")
        Gen(args.gen_python, tmp, args.timeout).build(specs10, tmp / "w-out", tmp / "w-home")
        if not args.no_third_party:
            bv = args.bench_venv / "bin"
            run_process(
                [
                    str(bv / "openapi-generator-cli"),
                    "generate",
                    "-g",
                    "python-fastapi",
                    "-i",
                    str(openapi10),
                    "-o",
                    str(tmp / "w-oag"),
                ],
                timeout=args.timeout,
            )
            run_process(
                [
                    str(bv / "fastapi-codegen"),
                    "--input",
                    str(openapi10),
                    "--output",
                    str(tmp / "w-fcg"),
                ],
                timeout=args.timeout,
            )
        for n in sizes:
            log(f"N={n}")
            base = tmp / f"n{n}"
            specs, openapi = synth.write_all(n, base)
            check = run_process(
                [str(args.gen_python), "-m", "generator", "validate", str(specs)],
                timeout=args.timeout,
                env=gen_env(),
                cwd=tmp,
            )
            assert check.ok, check.stderr
            work = base / "work"
            work.mkdir()
            entry: dict[str, object] = {
                "specs_lines": sum(p.read_text().count("\n") for p in specs.rglob("*.yaml"))
            }
            if args.profile_only:
                if n in args.profile:
                    python = args.gen_python
                    if n > 128:  # the stock build fails there (see README)
                        python = ensure_workaround_venv(args.workaround_venv, args.gen_python)
                    profile(n, specs, python, args.pyinstrument_path, work, args.timeout)
                continue
            repeats = dict(
                (int(k), int(v)) for k, v in (item.split("=") for item in args.repeats_for)
            ).get(n, args.repeats)
            entry["repeats"] = repeats
            entry["generator"] = results.get("generator")  # sizes may come from other runs
            entry["measured"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
            if args.workaround_above is not None and n > args.workaround_above:
                if workaround_python is None:
                    workaround_python = ensure_workaround_venv(
                        args.workaround_venv, args.gen_python
                    )
                gen_res = bench_gen(
                    n,
                    specs,
                    Gen(workaround_python, work, args.timeout),
                    repeats,
                    stock_python=args.gen_python,
                )
                gen_res["workaround"] = True
                probe = gen_res.get("stock_dump_probe") or {}
                if not probe.get("ok", True):
                    entry["gen_stock_failure"] = {
                        "error": probe["error"],
                        "wall": probe["wall"],
                        "where": "with the stock packages, gen's openapi.json step "
                        "(import the generated app, `create_app().openapi()`)",
                    }
            else:
                gen_res = bench_gen(n, specs, Gen(args.gen_python, work, args.timeout), repeats)
                # Retry only the FastAPI 128-model cache failure (KeyError in openapi()) with
                # the workaround; any other failure is the result.
                if "error" in gen_res and "KeyError" in gen_res["error"]:
                    entry["gen_stock_failure"] = {
                        "error": gen_res["error"],
                        "wall": gen_res["failed_wall"],
                    }
                    if workaround_python is None:
                        workaround_python = ensure_workaround_venv(
                            args.workaround_venv, args.gen_python
                        )
                    log(f"  stock gen failed at N={n}; measuring again with {workaround_python}")
                    gen_res = bench_gen(
                        n, specs, Gen(workaround_python, work, args.timeout), repeats
                    )
                    gen_res["workaround"] = True
            entry["gen"] = gen_res
            if not args.no_third_party and n not in args.skip_third_party_at:
                bv = args.bench_venv / "bin"
                entry["openapi_generator"] = bench_tool(
                    "openapi-generator",
                    lambda out, bv=bv, openapi=openapi: [
                        str(bv / "openapi-generator-cli"),
                        "generate",
                        "-g",
                        "python-fastapi",
                        "-i",
                        str(openapi),
                        "-o",
                        str(out),
                    ],
                    n,
                    work,
                    repeats,
                    args.timeout,
                )
                entry["fastapi_codegen"] = bench_tool(
                    "fastapi-codegen",
                    lambda out, bv=bv, openapi=openapi: [
                        str(bv / "fastapi-codegen"),
                        "--input",
                        str(openapi),
                        "--output",
                        str(out),
                    ],
                    n,
                    work,
                    repeats,
                    args.timeout,
                )
            if n in args.profile:
                python = workaround_python if gen_res.get("workaround") else args.gen_python
                entry["profile"] = profile(
                    n, specs, python, args.pyinstrument_path, work, args.timeout
                )
            results["sizes"][str(n)] = entry
            shutil.rmtree(base, ignore_errors=True)
            args.results.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")

    if args.profile_only:
        return
    args.results.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    report(results)


def report(results: dict[str, object]) -> None:
    results["sizes"] = dict(sorted(results["sizes"].items(), key=lambda kv: int(kv[0])))
    md = table(results)
    md += "\nCPU time (user + system, whole process tree; medians):\n\n" + cpu_table(results)
    failures = stock_failures(results)
    if failures:
        md += "\n† measured with the FastAPI cache workaround (stock gen fails):\n\n" + failures
    (BENCH / "results.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
