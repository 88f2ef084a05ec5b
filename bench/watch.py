"""A one-entity change under `gen watch`: how long from the spec file's replacement to the
rebuild's summary line, with gen's modules already loaded in the watching process.

    python bench/watch.py --size 200 --repeats 7 --gen-python .venv/bin/python

Writes the synthetic spec set (bench/synth.py) to a temporary folder, builds it once with `gen
build` (HOME a fresh folder, so the caches are this run's), starts `gen watch` on it, then widens
one field's max_length of the middle entity again and again (each a one-entity change, none of
them destructive), replacing the file as an editor does (write aside, rename), and times each
rebuild from the rename to the summary line on the watcher's stdout. Prints each time and the
median. The latency includes the watcher's polling (`--interval`, default 0.02 s here).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import synth  # noqa: E402


def replace_text(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, so the watcher never reads half a file."""
    aside = path.with_name(f".{path.name}.tmp")
    aside.write_text(text, encoding="utf-8")
    os.replace(aside, path)


def next_line(stream: list[str], process: subprocess.Popen[str], timeout: float) -> str:
    """The watcher's next summary line (`gen: ... written ...`)."""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"gen watch ended: {process.poll()}")
        stream.append(line)
        if " written, " in line:
            return line.strip()
    raise TimeoutError("no rebuild within the timeout")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--gen-python", type=Path, default=Path(sys.executable))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gen-watch-") as tmp:
        base = Path(tmp)
        specs, out, home = base / "specs", base / "out", base / "home"
        synth.write_specs(args.size, specs)
        home.mkdir()
        env = {**os.environ, "HOME": str(home)}
        gen = [str(args.gen_python), "-m", "generator"]
        subprocess.run(
            [*gen, "build", str(specs), "-o", str(out)], env=env, check=True, capture_output=True
        )
        watcher = subprocess.Popen(
            [*gen, "watch", str(specs), "-o", str(out), "--interval", str(args.interval)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: list[str] = []
        times: list[float] = []
        try:
            print("first build:", next_line(lines, watcher, 120))
            changed = synth.entity_file(specs, args.size // 2)
            for bump in range(1, args.repeats + 1):
                text = synth.entity_yaml(args.size // 2, synth.TITLE_MAX_LENGTH + bump)
                start = time.perf_counter()
                replace_text(changed, text)
                summary = next_line(lines, watcher, 120)
                times.append(time.perf_counter() - start)
                print(f"change {bump}: {times[-1]:.3f} s  {summary}")
        finally:
            watcher.terminate()
            watcher.wait(30)
    print(
        f"N={args.size}: median {statistics.median(times):.3f} s, "
        f"range {min(times):.3f}-{max(times):.3f} s over {len(times)} changes"
    )


if __name__ == "__main__":
    main()
