"""`gen build` through a `gen daemon` against `gen build --no-daemon`: the one-entity change at N,
the cold build, the no-op, and the command's own overhead.

    python bench/daemon.py --size 200 --repeats 7 --gen-python .venv/bin/python

Writes the synthetic spec set (bench/synth.py) to a temporary folder, HOME a fresh folder (the
caches and the daemon are this run's), builds it once, starts `gen daemon start`, then:

* one entity: widens one field's max_length of the middle entity, then runs `gen build` (through
  the daemon) and, after the next widening, `gen build --no-daemon`, in alternation, `--repeats`
  times each; the wall time of the whole command;
* no-op: `gen build` again with nothing changed (answered in the command, daemon or not);
* overhead: `gen build` of a folder that does not exist (the command starts, connects, the daemon
  forks a child that prints the error: everything but the build), and `gen --version`;
* cold: a never-used output folder and an empty cache (the daemon's own folder kept), through
  the daemon and in process, in alternation, `--cold-repeats` times each.

CPU: the command's (user + system of it and what it waited for); for a build in the daemon, its
child's as the daemon logs it (the child, its worker and ruff). Prints medians and ranges.

`--boost` (Linux, root, `sched_autogroup_enabled=1`; run as `setsid python bench/daemon.py
--boost ...`): this session's autogroup and the daemon's (a session of its own) get nice -15, so
that on a machine shared with other sessions both sides get the CPUs alike.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import synth  # noqa: E402


class Runner:
    """Runs gen with a HOME of its own; times each command (wall, CPU)."""

    def __init__(self, gen_python: Path, home: Path) -> None:
        self.gen = [str(gen_python), "-m", "generator"]
        self.env = {**os.environ, "HOME": str(home)}
        self.env.pop("GEN_DAEMON", None)
        # As bench/run.py: a user's machine keeps __pycache__ (this sandbox exports the
        # variable, and gen would compile its modules from source in every process).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.log = home / ".cache" / "gen" / "daemon"

    def run(self, *args: str) -> tuple[float, float, float, str]:
        """Wall s, the command's CPU s, the daemon child's CPU s (0 when none), stdout."""
        logged = self._logged_builds()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [*self.gen, *args], env=self.env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 2):
            raise RuntimeError(f"gen {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
        new = self._logged_builds()[len(logged) :]
        return wall, cpu, sum(new), done.stdout.strip()

    def _logged_builds(self) -> list[float]:
        text = "".join(p.read_text(encoding="utf-8") for p in sorted(self.log.glob("*.log")))
        return [float(cpu) for cpu in re.findall(r"\] build \d+: .* ([0-9.]+) s CPU", text)]


def boost(process: str) -> None:
    """nice -15 for the autogroup (the session) of a process."""
    Path(f"/proc/{process}/autogroup").write_text("-15", encoding="ascii")
    print(f"boosted: {Path(f'/proc/{process}/autogroup').read_text(encoding='ascii').strip()}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def summary(label: str, runs: list[tuple[float, float, float, str]]) -> str:
    walls = [r[0] for r in runs]
    cpus = [r[1] + r[2] for r in runs]
    return (
        f"{label}: median {statistics.median(walls):.3f} s wall "
        f"({min(walls):.3f}-{max(walls):.3f}), {statistics.median(cpus):.3f} s CPU "
        f"({min(cpus):.3f}-{max(cpus):.3f}) over {len(runs)} runs"
    )


def alternate(
    repeats: int, first: Callable[[], tuple[float, float, float, str]], second: Callable[[], ...]
) -> tuple[list[tuple[float, float, float, str]], list[tuple[float, float, float, str]]]:
    ones, twos = [], []
    for _ in range(repeats):
        ones.append(first())
        twos.append(second())
        print(f"  load {load()}: {ones[-1][:3]} / {twos[-1][:3]}", flush=True)
    return ones, twos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cold-repeats", type=int, default=3)
    parser.add_argument("--gen-python", type=Path, default=Path(sys.executable))
    parser.add_argument("--boost", action="store_true")
    args = parser.parse_args()
    if args.boost:
        boost("self")
    with tempfile.TemporaryDirectory(prefix="gen-daemon-") as tmp:
        base = Path(tmp)
        specs, out, home = base / "specs", base / "out", base / "home"
        synth.write_specs(args.size, specs)
        home.mkdir()
        gen = Runner(args.gen_python, home)
        print(f"load {load()}; first build:", gen.run("build", str(specs), "-o", str(out))[3])
        started = gen.run("daemon", "start")[3]
        print(started)
        if args.boost:
            boost(re.findall(r"pid (\d+)", started)[0])
        try:
            changed = synth.entity_file(specs, args.size // 2)
            bumps = iter(range(1, 10_000))

            def one_entity(*flags: str) -> tuple[float, float, float, str]:
                text = synth.entity_yaml(args.size // 2, synth.TITLE_MAX_LENGTH + next(bumps))
                changed.write_text(text, encoding="utf-8")
                return gen.run("build", str(specs), "-o", str(out), *flags)

            # One of each first: the daemon's first child and the page cache warm up.
            one_entity()
            one_entity("--no-daemon")
            print(f"one entity changed at N={args.size}, daemon / in process:")
            daemon, alone = alternate(args.repeats, one_entity, lambda: one_entity("--no-daemon"))
            noop = [gen.run("build", str(specs), "-o", str(out)) for _ in range(args.repeats)]
            missing = str(base / "missing")
            overhead = [gen.run("build", missing, "-o", str(out)) for _ in range(args.repeats)]
            alone_overhead = [
                gen.run("build", missing, "-o", str(out), "--no-daemon")
                for _ in range(args.repeats)
            ]
            version = [gen.run("--version") for _ in range(args.repeats)]
            cache = home / ".cache" / "gen"

            fresh = iter(range(1, 1 << 30))

            def cold(*flags: str) -> tuple[float, float, float, str]:
                # A never-used output folder, as bench/run.py's: creating files where many were
                # just deleted costs ext4 0.2 to 0.3 s more at N=200 (bench/README.md).
                target = base / f"out-cold-{next(fresh)}"
                for entry in cache.iterdir():
                    if entry.name != "daemon":
                        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                time.sleep(1.0)  # the deletion's and the last build's writeback settle
                return gen.run("build", str(specs), "-o", str(target), *flags)

            print(f"cold N={args.size}, daemon / in process:")
            cold_daemon, cold_alone = alternate(
                args.cold_repeats, cold, lambda: cold("--no-daemon")
            )
        finally:
            print(gen.run("daemon", "stop")[3])
    print(summary(f"N={args.size} one entity, gen build through the daemon", daemon))
    print(summary(f"N={args.size} one entity, gen build --no-daemon", alone))
    print(summary(f"N={args.size} no-op", noop))
    print(summary("a missing spec folder through the daemon (the command's overhead)", overhead))
    print(summary("a missing spec folder, --no-daemon", alone_overhead))
    print(summary("gen --version", version))
    print(summary(f"N={args.size} cold through the daemon", cold_daemon))
    print(summary(f"N={args.size} cold, --no-daemon", cold_alone))
    print(f"load at the end {load()}")


if __name__ == "__main__":
    main()
