"""One line per check, with its pass / fail / skip counts, read from junit XML reports.

The generator's run (`--junitxml`) gives one line per test function run over an example spec
set (its parametrize id names the example), so a new check gets its line without a change here;
every other test counts as the generator's own, golden cases apart. The generated suites' own
reports (`<example>-<backend>.xml` in the folder GEN_JUNIT_DIR names) give one line for the
suite and one for each tool run inside it (pytest-alembic, Schemathesis).

    python3 .ci/summary.py REPORT.xml EXAMPLE_NAMES_COMMA_SEPARATED [JUNIT_DIR]
"""

from __future__ import annotations

import functools
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# Test modules of a generated suite that run one named tool.
INNER_TOOLS = {"test_migrations": "pytest-alembic", "test_schemathesis": "schemathesis"}
GOLDEN_MODULES = {"tests.test_cases", "tests.test_evolution", "tests.test_golden_suites"}


def outcome(case: ET.Element) -> str:
    """passed, failed or skipped."""
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    return "skipped" if case.find("skipped") is not None else "passed"


def outer_label(case: ET.Element, examples: frozenset[str]) -> str:
    """The check a test of the generator's own run belongs to."""
    name = case.get("name", "")
    base, _, param = name.partition("[")
    tokens = set(re.split(r"[-/]", param.rstrip("]"))) if param else set()
    example = sorted(tokens & examples)
    if example:
        return f"{example[0]}: {base.removeprefix('test_').replace('_', ' ')}"
    if case.get("classname", "") in GOLDEN_MODULES:
        return "generator: golden cases"
    return "generator: unit tests"


def inner_labels(case: ET.Element, example: str, backend: str) -> list[str]:
    """The checks a test of a generated suite counts for: the suite, and its tool if any."""
    module = case.get("classname", "").split(".")[-1]
    labels = [f"{example}: generated suite on {backend}"]
    tool = INNER_TOOLS.get(module) or next(
        (tool for key, tool in INNER_TOOLS.items() if key in module), None
    )
    if tool:
        labels.append(f"{example}: {tool} on {backend}")
    return labels


def tally(report: Path, labels_of: Callable[[ET.Element], list[str]]) -> dict[str, Counter[str]]:
    """Outcome counts per check label over the test cases of one report."""
    counts: dict[str, Counter[str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        for label in labels_of(case):
            counts.setdefault(label, Counter())[outcome(case)] += 1
    return counts


def summary(report: Path, examples: frozenset[str], junit_dir: Path | None) -> list[str]:
    """The summary lines, sorted by check."""
    counts: dict[str, Counter[str]] = {}
    if report.is_file():
        counts.update(tally(report, lambda case: [outer_label(case, examples)]))
    for inner in sorted(junit_dir.glob("*-*.xml")) if junit_dir else ():
        # <example>-<backend>[-<part>]: a part (a tool run on its own) counts for its backend.
        example, _, rest = inner.stem.partition("-")
        backend = rest.split("-")[0]
        if example in examples:
            found = tally(inner, functools.partial(inner_labels, example=example, backend=backend))
            for label, counter in found.items():
                counts.setdefault(label, Counter()).update(counter)
    return [
        f"{'FAIL' if c['failed'] else 'pass'}  {label:<58} "
        f"{c['passed']:>4} passed {c['failed']:>3} failed {c['skipped']:>3} skipped"
        for label, c in sorted(counts.items())
    ]


def main(argv: list[str]) -> int:
    junit_dir = Path(argv[3]) if len(argv) > 3 else None
    lines = summary(Path(argv[1]), frozenset(argv[2].split(",")), junit_dir)
    print("\n".join(lines) if lines else "no junit report")
    return 1 if any(line.startswith("FAIL") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
