"""A fresh output folder (absent, or empty) is staged whole and moved into place at once: the
same files, modes, manifest and result as the per-file write, and a failure leaves the folder
as it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from generator import write as w
from generator.write import write_output

FILES = {
    **{f"pkg/part{i % 5}/m{i}.py": f"x = {i}\n" for i in range(120)},
    "README.md": "top\n",
    "pkg/custom/hooks.py": "# yours\n",
}
ONCE = frozenset({"pkg/custom/hooks.py"})


def tree(root: Path) -> dict[str, tuple[bytes | None, int]]:
    found = {".": (None, stat.S_IMODE(root.stat().st_mode))}
    for path in sorted(root.rglob("*")):
        data = path.read_bytes() if path.is_file() else None
        found[path.relative_to(root).as_posix()] = (data, stat.S_IMODE(path.stat().st_mode))
    return found


def per_file(out: Path, monkeypatch: pytest.MonkeyPatch) -> w.WriteResult:
    with monkeypatch.context() as patch:
        patch.setattr(w, "_fresh_kind", lambda plan: None)
        return write_output(out, FILES, ONCE)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("fresh", ["absent", "empty"])
def test_a_fresh_folder_gets_what_the_per_file_write_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: str, threads: int
) -> None:
    monkeypatch.setattr(w, "_staging_threads", lambda plan: threads)
    out = tmp_path / "fresh" / "out"
    if fresh == "empty":
        out.mkdir(parents=True)
    assert w._fresh_kind(w.plan_write(out, FILES, ONCE)) == fresh
    result = write_output(out, FILES, ONCE)
    expected = per_file(tmp_path / "per-file", monkeypatch)
    assert result == expected
    assert tree(out) == tree(tmp_path / "per-file")
    assert sorted(os.listdir(out.parent)) == ["out"]  # no staging folder left
    # and the next write of the same mapping writes nothing
    assert write_output(out, FILES, ONCE).written == ()


def test_a_folder_with_anything_in_it_is_not_fresh(tmp_path: Path) -> None:
    (tmp_path / ".hidden").write_text("mine\n", encoding="utf-8")
    assert w._fresh_kind(w.plan_write(tmp_path, FILES, ONCE)) is None
    write_output(tmp_path, FILES, ONCE)
    assert (tmp_path / ".hidden").read_text(encoding="utf-8") == "mine\n"
    assert w._fresh_kind(w.plan_write(tmp_path / "pkg", {"a.txt": "a\n"})) is None


@pytest.mark.parametrize("nth", [1, 60, 123])
@pytest.mark.parametrize("fresh", ["absent", "empty"])
def test_a_failure_leaves_the_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: str, nth: int
) -> None:
    monkeypatch.setattr(w, "_staging_threads", lambda plan: 2)
    out = tmp_path / "out"
    if fresh == "empty":
        out.mkdir()
    calls = {"n": 0}
    real = w._create

    def failing(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == nth:
            raise OSError(28, "No space left on device (simulated)")
        real(*args)

    monkeypatch.setattr(w, "_create", failing)
    with pytest.raises(OSError, match="simulated"):
        write_output(out, FILES, ONCE)
    if fresh == "absent":
        assert sorted(os.listdir(tmp_path)) == []
    else:
        assert sorted(os.listdir(out)) == []


def test_a_failed_move_into_an_empty_folder_moves_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    real = os.rename

    def rename(src: Any, dst: Any) -> None:
        if Path(dst).name == w.MANIFEST_NAME:
            raise OSError(5, "I/O error (simulated)")
        real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="simulated"):
        write_output(out, FILES, ONCE)
    assert sorted(os.listdir(out)) == []


@pytest.mark.parametrize("fresh", ["absent", "empty"])
def test_the_result_holds_the_manifest_left_on_disk(tmp_path: Path, fresh: str) -> None:
    out = tmp_path / "out"
    if fresh == "empty":
        out.mkdir()
    result = write_output(out, FILES, ONCE)
    assert result.manifest == (out / w.MANIFEST_NAME).read_bytes()
