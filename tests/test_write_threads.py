"""A large write is staged by two threads, each folder by one of them; a failure in either
still leaves the previous output intact, and the result equals the one-thread write."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from generator import write as w
from generator.write import write_output

BEFORE = {f"pkg/part{i % 5}/m{i}.py": f"x = {i}\n" for i in range(120)}
AFTER = {
    **{path: text.replace("x", "y") for path, text in BEFORE.items()},
    **{f"pkg/new{i % 3}/n{i}.py": f"n = {i}\n" for i in range(60)},
}


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_shares_keep_each_folder_whole_and_are_balanced() -> None:
    plan = w.plan_write(Path("/nonexistent-gen-out"), AFTER)
    shares = w._shares(plan.writes, 2)
    folders = [{wr.path.rpartition("/")[0] for wr in share} for share in shares]
    assert len(shares) == 2 and not folders[0] & folders[1]
    assert abs(len(shares[0]) - len(shares[1])) <= 24
    assert sorted(wr.path for share in shares for wr in share) == sorted(AFTER)


def test_two_threads_write_what_one_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(w, "_staging_threads", lambda plan: 2)
    two = write_output(tmp_path / "two", AFTER)
    monkeypatch.setattr(w, "_staging_threads", lambda plan: 1)
    one = write_output(tmp_path / "one", AFTER)
    assert two == one
    assert tree(tmp_path / "two") == tree(tmp_path / "one")


@pytest.mark.parametrize("nth", [1, 2, 90, 180])
def test_a_failure_in_either_thread_leaves_the_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nth: int
) -> None:
    out = tmp_path / "out"
    write_output(out, BEFORE)
    before = tree(out)
    monkeypatch.setattr(w, "_staging_threads", lambda plan: 2)
    calls = {"n": 0}
    real = w._stage

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == nth:
            raise OSError(28, "No space left on device (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(w, "_stage", failing)
    with pytest.raises(OSError, match="simulated"):
        write_output(out, AFTER)
    assert tree(out) == before
    assert sorted(os.listdir(out / "pkg")) == [f"part{i}" for i in range(5)]
    assert not [p for p in out.rglob("*") if p.name.endswith((w._TMP_SUFFIX, w._BACKUP_SUFFIX))]


def test_the_resolver_agrees_with_resolving_each_path(tmp_path: Path) -> None:
    """Folders resolved once give what Path.resolve() of every path gives, links included."""
    base = (tmp_path / "out").resolve()
    (base / "real" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (base / "inside").symlink_to(base / "real")
    (base / "outside").symlink_to(tmp_path / "elsewhere")
    (base / "loop").symlink_to(base / "loop")
    (base / "real" / "file.py").write_text("", encoding="utf-8")
    (base / "real" / "link.py").symlink_to(tmp_path / "elsewhere" / "x.py")
    (base / "real" / "back.py").symlink_to(base / "real" / "file.py")
    paths = [
        "a.py",
        "new/dir/a.py",
        "real/file.py",
        "real/deep/b.py",
        "inside/deep/b.py",
        "inside/back.py",
        "outside/a.py",
        "real/link.py",
        "loop/a.py",
        "real/file.py/under.py",
    ]
    resolver = w._Resolver(base)

    def outcome(resolve: Any, path: str) -> object:
        try:
            return resolve(path)
        except w.UnsafePathError:
            return "unsafe"

    for path in paths:
        expected = outcome(lambda p: w._resolve_inside(base, p), path)
        assert outcome(resolver.resolve, path) == expected, path
