"""The writer puts staged files on disk with one sync before renaming them into place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator import write
from generator.write import write_output


def test_one_sync_for_all_staged_files_before_any_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(os, "sync", lambda: events.append("sync"))
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync"))

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    files = {f"p/m{i}.py": f"x = {i}\n" for i in range(50)}
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")  # not a fresh folder
    write_output(tmp_path, files)
    assert events[0] == "sync" and events.count("sync") == 1
    assert events[1:51] == ["replace"] * 50
    assert {p: (tmp_path / p).read_text(encoding="utf-8") for p in files} == files


def test_without_sync_every_staged_file_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    monkeypatch.delattr(os, "sync")
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    write_output(tmp_path, {"a.txt": "a\n", "b.txt": "b\n"})
    write_output(tmp_path, {"a.txt": "a2\n", "b.txt": "b\n"})
    # two files and the manifest; then one file, its backup and the manifest
    assert len(synced) == 3 + 3
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "a2\n"
    assert write._TMP_SUFFIX not in " ".join(os.listdir(tmp_path))


@pytest.mark.parametrize("fresh", ["absent", "empty"])
def test_a_fresh_folder_is_synced_once_before_it_appears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: str
) -> None:
    out = tmp_path / "out"
    if fresh == "empty":
        out.mkdir()
    events: list[str] = []
    real_rename = os.rename

    def sync() -> None:
        assert not (out / "p").exists()
        events.append("sync")

    def rename(src: str | Path, dst: str | Path) -> None:
        events.append("rename")
        real_rename(src, dst)

    monkeypatch.setattr(os, "sync", sync)
    monkeypatch.setattr(os, "rename", rename)
    files = {f"p/m{i}.py": f"x = {i}\n" for i in range(50)}
    write_output(out, files)
    # absent: the staged folder renamed once; empty: its two entries (p/, the manifest)
    assert events == ["sync", *["rename"] * (1 if fresh == "absent" else 2)]
    assert {p: (out / p).read_text(encoding="utf-8") for p in files} == files
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert sorted(os.listdir(out)) == [write.MANIFEST_NAME, "p"]
