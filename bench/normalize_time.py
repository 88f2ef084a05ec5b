"""How long normalization takes: `python bench/normalize_time.py specs/shop`."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from generator.compile.normalize import normalize_to_3nf
from generator.compile.resolve import Resolver
from generator.diagnostics import Diagnostics
from generator.load import load_specs
from generator.validate import validate_specs


def main(spec_dir: Path, repeat: int = 50) -> None:
    diags = Diagnostics()
    (spec,) = validate_specs(load_specs(spec_dir, diags), diags)
    resolver = Resolver(spec)
    api, entities, enums = resolver.api(), resolver.entities(), resolver.enums()
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        _, tables, decisions = normalize_to_3nf(entities, api, spec, enums)
        timings.append(time.perf_counter() - start)
    print(
        f"{spec_dir}: {len(entities)} entities -> {len(tables)} tables, {len(decisions)} "
        f"decisions; normalize_to_3nf median {statistics.median(timings) * 1000:.2f} ms, "
        f"max {max(timings) * 1000:.2f} ms over {repeat} runs"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "specs/shop"))
