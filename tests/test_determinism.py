"""Determinism: same specs, same bytes, whatever the hash seed, file order or key order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.pipeline import build

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "specs").iterdir() if p.is_dir())


@pytest.mark.parametrize("spec_dir", EXAMPLES, ids=lambda p: p.name)
def test_two_builds_give_identical_files(spec_dir: Path) -> None:
    """Building twice in one process yields the same mapping, byte for byte."""
    assert build(spec_dir, format_code=False).files == build(spec_dir, format_code=False).files


def _build_in_subprocess(seed: str) -> dict[str, str]:
    code = (
        "import json, sys; from pathlib import Path; from generator.pipeline import build; "
        "r = build(Path('specs'), format_code=False); "
        "json.dump(r.files, sys.stdout, sort_keys=True)"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out))


def test_hash_seed_does_not_change_the_output() -> None:
    """PYTHONHASHSEED 0 and 1 give byte-identical trees for every example."""
    assert _build_in_subprocess("0") == _build_in_subprocess("1")


SPLIT_A = {
    "a.yaml": "api: {name: demo}\nenums: {color: [red, green]}\n",
    "b.yaml": "entities:\n  shape:\n    fields:\n      color: {type: enum, enum: color}\n"
    "      size: integer\n  box:\n    fields: {label: string}\n",
}
SPLIT_B = {
    "z/1.yaml": "entities:\n  box:\n    fields: {label: string}\n",
    "y.yaml": "entities:\n  shape:\n    fields:\n      color: {enum: color, type: enum}\n"
    "      size: integer\n",
    "x.yaml": "enums: {color: [red, green]}\napi: {name: demo}\n",
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_file_layout_and_key_order_do_not_change_the_output(tmp_path: Path) -> None:
    """Splitting specs differently, reordering files, entities and option keys: same bytes."""
    a = build(_write(tmp_path / "a", SPLIT_A), label_root="specs", format_code=False)
    b = build(_write(tmp_path / "b", SPLIT_B), label_root="specs", format_code=False)
    assert a.ok and b.ok
    assert _without_spec_paths(a.files) == _without_spec_paths(b.files)


def _without_spec_paths(files: dict[str, str]) -> dict[str, str]:
    """Each file without the lines that name a spec file (their paths differ by layout)."""
    return {
        path: "\n".join(line for line in text.splitlines() if "specs/" not in line)
        for path, text in files.items()
    }
