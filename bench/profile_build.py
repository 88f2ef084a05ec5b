"""pyinstrument over one `gen` command in ONE process: the build's worker share runs in this
process (generator/aside.py's fork switched off), so every stage shows in one tree.

    python bench/profile_build.py OUT.txt build /tmp/b200/specs -o /tmp/o200
    python bench/profile_build.py --loaded OUT.txt build /tmp/b200/specs -o /tmp/o200

`--loaded` imports and compiles what a `gen daemon` child has loaded (`watch.load_gen`) before
the profile starts, so the tree is that of a build through the daemon.

Writes the text profile to OUT.txt. The seconds are those of a single-process build plus the
profiler's overhead; read the proportions.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyinstrument import Profiler

from generator import aside
from generator.cli import main as gen


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["--loaded"]:
        from generator import watch

        watch.load_gen()
        argv = argv[1:]
    target, args = Path(argv[0]), argv[1:]
    aside.can_fork = lambda: False
    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        gen(args, standalone_mode=False)
    finally:
        profiler.stop()
        target.write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")


if __name__ == "__main__":
    main()
