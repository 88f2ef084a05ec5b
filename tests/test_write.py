"""generator/write.py: the only writer of the output folder (validation, atomicity, manifest)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import write as w
from generator.write import (
    MANIFEST_NAME,
    UnsafePathError,
    compare_output,
    plan_write,
    write_output,
)

FILES = {
    "README.md": "# Blog\n",
    "blog/__init__.py": "",
    "blog/models.py": "class Post:\n    pass\n",
    "blog/api/routes.py": "ROUTES = []\n",
    "blog/api/schemas.py": "SCHEMAS = {}\n",
    "config/settings.toml": "debug = false\n",
}


def snapshot(root: Path) -> dict[str, tuple[bytes | str, int]]:
    """Every entry under root (links not followed): relative path -> (content or kind, mtime)."""
    out: dict[str, tuple[bytes | str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link:" + os.readlink(path), 0)
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", 0)
            else:
                out[rel] = (path.read_bytes(), info.st_mtime_ns)
    return out


def leftovers(root: Path) -> list[str]:
    """Temp/backup files the writer may have left behind."""
    return [
        p.as_posix() for p in root.rglob("*") if p.name.endswith((w._TMP_SUFFIX, w._BACKUP_SUFFIX))
    ]


def manifest(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    return data


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def age(root: Path) -> None:
    """Push every mtime into the past, so a rewrite would be visible even on coarse clocks."""
    for path in [root, *root.rglob("*")]:
        os.utime(path, ns=(1_000_000_000, 1_000_000_000), follow_symlinks=False)


# ---------------------------------------------------------------------------------------------
# basic behaviour
# ---------------------------------------------------------------------------------------------


def test_creates_all_files_and_a_manifest_in_a_new_folder(out: Path) -> None:
    """A first write creates out_dir, every file with exact bytes, and the manifest."""
    result = write_output(out, FILES)
    assert result.written == tuple(sorted(FILES))
    assert result.unchanged == result.removed == result.created_once == result.kept_once == ()
    for rel, text in FILES.items():
        assert (out / rel).read_bytes() == text.encode()
    assert sorted(manifest(out)["files"]) == sorted(FILES)
    assert leftovers(out) == []


def test_bytes_are_written_exactly_utf8_without_newline_translation(out: Path) -> None:
    """CRLF, lone CR, no trailing newline and non-ASCII text come back byte for byte."""
    files = {"a.txt": "one\r\ntwo\rthree", "ü/ñ.py": "s = 'héllo \u2013 日本'\n"}
    write_output(out, files)
    for rel, text in files.items():
        assert (out / rel).read_bytes() == text.encode("utf-8")


def test_identical_rewrite_writes_nothing_and_keeps_mtimes(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing the same mapping again stages nothing, replaces nothing and keeps every mtime."""
    write_output(out, FILES)
    age(out)
    before = snapshot(out)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("nothing should be written")

    monkeypatch.setattr(w, "_stage", forbidden)
    monkeypatch.setattr(os, "replace", forbidden)
    result = write_output(out, FILES)
    assert result.written == ()
    assert result.unchanged == tuple(sorted(FILES))
    assert not result.changed
    assert snapshot(out) == before


def test_one_changed_file_rewrites_only_that_file(out: Path) -> None:
    """Only the file whose bytes differ is replaced; all others (and their mtimes) stay."""
    write_output(out, FILES)
    age(out)
    before = snapshot(out)
    changed = dict(FILES, **{"blog/models.py": "class Post:\n    title: str\n"})
    result = write_output(out, changed)
    assert result.written == ("blog/models.py",)
    assert len(result.unchanged) == len(FILES) - 1
    after = snapshot(out)
    for rel in FILES:
        if rel != "blog/models.py":
            assert after[rel] == before[rel], rel
    assert after["blog/models.py"][0] == changed["blog/models.py"].encode()
    assert after["blog/models.py"][1] != before["blog/models.py"][1]


def test_existing_file_mode_is_preserved_and_new_files_follow_umask(out: Path) -> None:
    """A rewritten file keeps its permission bits; a new file gets 0o666 minus the umask."""
    write_output(out, {"run.sh": "echo 1\n"})
    os.chmod(out / "run.sh", 0o750)
    write_output(out, {"run.sh": "echo 2\n", "new.txt": "x\n"})
    assert stat.S_IMODE((out / "run.sh").stat().st_mode) == 0o750
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((out / "new.txt").stat().st_mode) == 0o666 & ~umask


def test_files_no_longer_produced_are_removed_with_their_empty_dirs(out: Path) -> None:
    """Dropped generated files are deleted and directories the writer made, now empty, go too."""
    write_output(out, FILES)
    kept = {k: v for k, v in FILES.items() if not k.startswith("blog/api/")}
    result = write_output(out, kept)
    assert result.removed == ("blog/api/routes.py", "blog/api/schemas.py")
    assert not (out / "blog/api").exists()
    assert (out / "blog/models.py").exists()
    assert sorted(manifest(out)["files"]) == sorted(kept)
    assert "blog/api" not in manifest(out)["dirs"]

    result = write_output(out, {})
    assert set(result.removed) == set(kept)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME]


def test_unknown_files_are_never_touched_even_inside_generated_folders(out: Path) -> None:
    """A user's file in a generated folder survives rewrites and removals, and so does its dir."""
    write_output(out, FILES)
    notes = out / "blog/api/NOTES.md"
    notes.write_text("my notes\n")
    (out / "mine.txt").write_text("mine\n")
    age(out)
    before = snapshot(out)
    result = write_output(out, {"README.md": "# Blog v2\n"})
    assert "blog/api/NOTES.md" not in result.removed
    after = snapshot(out)
    assert after["blog/api/NOTES.md"] == before["blog/api/NOTES.md"]
    assert after["mine.txt"] == before["mine.txt"]
    assert not (out / "blog/api/routes.py").exists()
    assert not (out / "config").exists()  # emptied and created by the writer
    assert "blog/api" in manifest(out)["dirs"]  # still holds notes: kept, still tracked
    notes.unlink()
    write_output(out, {"README.md": "# Blog v2\n"})
    assert not (out / "blog").exists()  # now empty: removed on the next write


def test_pre_existing_directory_is_not_removed_by_the_writer(out: Path) -> None:
    """A directory that existed before the writer used it is not tracked, so never removed."""
    (out / "docs").mkdir(parents=True)
    write_output(out, {"docs/api.md": "x\n"})
    write_output(out, {})
    assert (out / "docs").is_dir()
    assert manifest(out)["dirs"] == []


def test_existing_unmanaged_file_at_a_produced_path_is_overwritten_and_owned(out: Path) -> None:
    """Documented choice: the generator owns what it produces, even over an unknown file."""
    out.mkdir()
    (out / "app.py").write_text("hand written\n")
    result = write_output(out, {"app.py": "generated\n"})
    assert result.written == ("app.py",)
    assert (out / "app.py").read_text() == "generated\n"
    result = write_output(out, {})
    assert result.removed == ("app.py",)


def test_removal_skips_paths_that_are_no_longer_regular_files(out: Path) -> None:
    """A generated path since replaced by a user's directory or symlink is not deleted."""
    write_output(out, {"a.py": "a\n", "b.py": "b\n"})
    (out / "a.py").unlink()
    (out / "a.py").mkdir()
    (out / "b.py").unlink()
    (out / "b.py").symlink_to("a.py")
    result = write_output(out, {})
    assert result.removed == ()
    assert (out / "a.py").is_dir() and (out / "b.py").is_symlink()


# ---------------------------------------------------------------------------------------------
# once files
# ---------------------------------------------------------------------------------------------


def test_once_files_are_created_when_missing_then_never_overwritten(out: Path) -> None:
    """A once-file is created the first time, kept (with user edits) afterwards."""
    files = dict(FILES, **{"blog/custom/hooks.py": "# add hooks here\n"})
    once = {"blog/custom/hooks.py"}
    result = write_output(out, files, once)
    assert result.created_once == ("blog/custom/hooks.py",)
    assert "blog/custom/hooks.py" not in result.written
    data = manifest(out)
    assert data["once"] == ["blog/custom/hooks.py"]
    assert "blog/custom/hooks.py" not in data["files"]

    (out / "blog/custom/hooks.py").write_text("def hook(): ...\n")
    files["blog/custom/hooks.py"] = "# new template text\n"
    result = write_output(out, files, once)
    assert result.kept_once == ("blog/custom/hooks.py",)
    assert result.created_once == ()
    assert (out / "blog/custom/hooks.py").read_text() == "def hook(): ...\n"


def test_once_files_are_never_deleted_even_when_no_longer_produced(out: Path) -> None:
    """Dropping a once-file from the mapping leaves it (and its folder) on disk."""
    write_output(out, {"custom/hooks.py": "x\n", "a.py": "a\n"}, {"custom/hooks.py"})
    result = write_output(out, {"a.py": "a\n"})
    assert result.removed == ()
    assert (out / "custom/hooks.py").read_text() == "x\n"
    assert manifest(out)["once"] == []


def test_generated_file_turned_once_is_kept(out: Path) -> None:
    """A path generated before and now declared once is neither rewritten nor deleted."""
    write_output(out, {"hooks.py": "v1\n"})
    result = write_output(out, {"hooks.py": "v2\n"}, {"hooks.py"})
    assert result.kept_once == ("hooks.py",) and result.removed == ()
    assert (out / "hooks.py").read_text() == "v1\n"
    assert manifest(out)["files"] == {}


def test_once_path_without_content_is_rejected(out: Path) -> None:
    """Every once path must be a key of files (its initial content)."""
    with pytest.raises(ValueError, match="once"):
        write_output(out, {"a.py": ""}, {"b.py"})
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# unsafe paths
# ---------------------------------------------------------------------------------------------

UNSAFE = [
    "../x",
    "/etc/x",
    "a/../../b",
    "a/..",
    "a\\b",
    "..\\x",
    "a/./b",  # refused, not normalised: one file must have exactly one key
    "./a",
    ".",
    "",
    "a//b",
    "a/",
    "x\x00y",
    "a\nb",
    "C:/x",
    "C:x",
    "\udc80.py",  # lone surrogate: not UTF-8
    MANIFEST_NAME,
    f"{MANIFEST_NAME}/x",
]


@pytest.mark.parametrize("bad", UNSAFE, ids=repr)
def test_unsafe_paths_are_rejected_and_nothing_is_written(out: Path, bad: str) -> None:
    """One bad key among good ones raises UnsafePathError and leaves out_dir untouched."""
    write_output(out, {"keep.py": "old\n"})
    before = snapshot(out)
    with pytest.raises(UnsafePathError):
        write_output(out, {"keep.py": "new\n", "new.py": "x\n", bad: "evil\n"})
    assert snapshot(out) == before
    with pytest.raises(UnsafePathError):
        plan_write(out, {bad: "x"})
    with pytest.raises(UnsafePathError):
        write_output(out, {"ok.py": "x", bad: "x"}, {bad})  # as a once path too


def test_symlinked_parent_pointing_outside_is_rejected(tmp_path: Path, out: Path) -> None:
    """A directory symlink inside out_dir leading outside makes paths through it unsafe."""
    outside = tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / "escape").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="outside"):
        write_output(out, {"ok.py": "x\n", "escape/evil.py": "evil\n"})
    assert list(outside.iterdir()) == []
    assert not (out / "ok.py").exists()


def test_symlinked_file_pointing_outside_is_rejected(tmp_path: Path, out: Path) -> None:
    """A target that is itself a symlink to a file outside out_dir is refused."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out.mkdir()
    (out / "a.py").symlink_to(victim)
    with pytest.raises(UnsafePathError):
        write_output(out, {"a.py": "evil\n"})
    assert victim.read_text() == "precious\n"


def test_symlink_loop_is_rejected(out: Path) -> None:
    """A symlink loop on the way is an UnsafePathError, not a crash."""
    out.mkdir()
    (out / "loop").symlink_to("loop")
    with pytest.raises(UnsafePathError):
        write_output(out, {"loop/x.py": "x\n"})


def test_two_keys_reaching_one_file_through_an_inner_symlink_are_rejected(out: Path) -> None:
    """An in-tree symlink may be used, but not to give one file two keys."""
    (out / "real").mkdir(parents=True)
    (out / "alias").symlink_to("real", target_is_directory=True)
    write_output(out, {"alias/x.py": "x\n"})
    assert (out / "real/x.py").read_text() == "x\n"
    with pytest.raises(UnsafePathError, match="same file"):
        write_output(out, {"alias/y.py": "1\n", "real/y.py": "2\n"})


def test_key_below_another_key_is_rejected(out: Path) -> None:
    """'a' and 'a/b' cannot both be files."""
    with pytest.raises(UnsafePathError, match="below"):
        write_output(out, {"a": "x\n", "a/b": "y\n"})
    assert not out.exists()


def test_parent_that_is_a_file_on_disk_is_rejected_before_writing(out: Path) -> None:
    """A key under an existing regular file is refused at plan time."""
    out.mkdir()
    (out / "notes").write_text("user\n")
    with pytest.raises(UnsafePathError, match="not a directory"):
        write_output(out, {"aaa.py": "x\n", "notes/x.py": "y\n"})
    assert sorted(p.name for p in out.iterdir()) == ["notes"]


def test_target_that_is_a_directory_is_rejected_before_writing(out: Path) -> None:
    """A key whose target is an existing directory is refused at plan time."""
    (out / "pkg").mkdir(parents=True)
    with pytest.raises(UnsafePathError, match="not a regular file"):
        write_output(out, {"aaa.py": "x\n", "pkg": "y\n"})
    assert sorted(p.name for p in out.iterdir()) == ["pkg"]


# Valid names (including "...", "a..b" and ".hidden", which are ordinary file names), names that
# lead outside through the "ln" symlink, and hostile segments; mostly valid so that both outcomes
# (refused / written) are exercised often.
SAFE_SEGMENTS = ["a", "b", "inner", "é", "日本", ".hidden", "x.py", "a..b", "...", "ln"]
BAD_SEGMENTS = [".", "..", "", "\\", "a\\..", "\x00", "C:", "\udc80", "\n"]
segment = st.one_of(
    st.sampled_from(SAFE_SEGMENTS),
    st.sampled_from(SAFE_SEGMENTS),
    st.sampled_from(SAFE_SEGMENTS),
    st.sampled_from(SAFE_SEGMENTS),
    st.sampled_from(BAD_SEGMENTS),
    st.text(alphabet=["a", ".", "/", "\\", "\x00", "é", "\n"], min_size=0, max_size=4),
)
rel_path = st.builds(
    lambda lead, parts: lead + "/".join(parts),
    st.sampled_from(["", "", "", "", "", "", "/", "./", "../"]),
    st.lists(segment, min_size=1, max_size=4),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paths=st.lists(rel_path, min_size=1, max_size=3, unique=True))
def test_random_paths_either_rejected_or_written_inside_out_dir(paths: list[str]) -> None:
    """Property: any mapping is refused (nothing written) or every file lands inside out_dir."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out, outside = root / "out", root / "outside"
        outside.mkdir()
        (out / "inner").mkdir(parents=True)
        (out / "ln").symlink_to(outside, target_is_directory=True)
        before = snapshot(out)
        files = {p: f"content {i}\n" for i, p in enumerate(paths)}
        try:
            result = write_output(out, files)
        except UnsafePathError:
            assert snapshot(out) == before
        else:
            base = out.resolve()
            for rel in result.written:
                target = (out / rel).resolve()
                assert target.is_relative_to(base) and target != base
                assert target.read_text(encoding="utf-8") == files[rel]
            for dirpath, _, filenames in os.walk(out):
                for name in filenames:
                    assert (Path(dirpath) / name).resolve().is_relative_to(base)
        assert list(outside.iterdir()) == []
        assert leftovers(out) == []


# ---------------------------------------------------------------------------------------------
# atomicity
# ---------------------------------------------------------------------------------------------

NEXT = {
    "README.md": "# Blog 2\n",
    "blog/__init__.py": "# pkg\n",
    "blog/models.py": "class Post:\n    id: int\n",
    "blog/api/routes.py": "ROUTES = ['x']\n",
    "blog/new/thing.py": "NEW = 1\n",
    "config/settings.toml": "debug = true\n",
}


def fail_on_call(n: int, real: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap real so that its n-th call raises OSError (once)."""
    calls = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(28, "No space left on device (simulated)")
        return real(*args, **kwargs)

    return wrapper


@pytest.fixture
def previous(out: Path) -> Iterator[dict[str, tuple[bytes | str, int]]]:
    write_output(out, FILES)
    (out / "user.txt").write_text("user\n")
    age(out)
    yield snapshot(out)


@pytest.mark.parametrize("nth", [1, 3, 5, 6])
def test_crash_while_staging_leaves_previous_output_intact(
    out: Path,
    previous: dict[str, tuple[bytes | str, int]],
    monkeypatch: pytest.MonkeyPatch,
    nth: int,
) -> None:
    """A failure staging the nth file: every file byte-identical, no temp files, no new dirs."""
    monkeypatch.setattr(w, "_stage", fail_on_call(nth, w._stage))
    with pytest.raises(OSError, match="simulated"):
        write_output(out, NEXT)
    assert snapshot(out) == previous
    assert leftovers(out) == []


@pytest.mark.parametrize("nth", [1, 3, 5, 6])
@pytest.mark.parametrize("hard_links", [True, False], ids=["hardlink-backup", "copy-backup"])
def test_crash_while_replacing_rolls_back_to_previous_output(
    out: Path,
    previous: dict[str, tuple[bytes | str, int]],
    monkeypatch: pytest.MonkeyPatch,
    hard_links: bool,
    nth: int,
) -> None:
    """os.replace failing on the nth file: those already replaced are restored byte-for-byte
    (with their mtimes), new files and dirs are gone, the manifest is unchanged, no temp files."""
    if not hard_links:

        def no_link(*args: Any, **kwargs: Any) -> None:
            raise OSError(1, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(os, "replace", fail_on_call(nth, os.replace))
    with pytest.raises(OSError, match="simulated"):
        write_output(out, NEXT)
    assert snapshot(out) == previous
    assert leftovers(out) == []


def test_crash_is_recoverable_by_writing_again(
    out: Path, previous: dict[str, tuple[bytes | str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failed write, the next write produces the complete new output."""
    with monkeypatch.context() as m:
        m.setattr(os, "replace", fail_on_call(2, os.replace))
        with pytest.raises(OSError):
            write_output(out, NEXT)
    result = write_output(out, NEXT)
    assert set(result.written) == set(NEXT)
    assert result.removed == ("blog/api/schemas.py",)
    for rel, text in NEXT.items():
        assert (out / rel).read_text() == text


# ---------------------------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------------------------


def test_manifest_is_deterministic_and_exactly_formatted(tmp_path: Path) -> None:
    """Same mapping in any insertion order -> identical manifest bytes: sorted, indent 2, \\n."""
    files = {"b/x.py": "x\n", "a.py": "a\n", "c/hooks.py": "h\n"}
    reordered = dict(reversed(list(files.items())))
    write_output(tmp_path / "one", files, {"c/hooks.py"})
    write_output(tmp_path / "two", reordered, {"c/hooks.py"})
    one = (tmp_path / "one" / MANIFEST_NAME).read_bytes()
    assert one == (tmp_path / "two" / MANIFEST_NAME).read_bytes()
    text = one.decode()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert data["files"] == {
        "a.py": hashlib.sha256(b"a\n").hexdigest(),
        "b/x.py": hashlib.sha256(b"x\n").hexdigest(),
    }
    assert data["generator"] == "gen"
    assert data["once"] == ["c/hooks.py"]
    assert data["dirs"] == ["b", "c"]
    assert data["version"] == w.MANIFEST_VERSION


def test_corrupt_manifest_counts_as_empty_and_is_rewritten(out: Path) -> None:
    """Unparseable manifest: nothing is deleted, produced files are written, manifest repaired."""
    write_output(out, {"a.py": "a\n", "b.py": "b\n"})
    (out / MANIFEST_NAME).write_text("{not json")
    result = write_output(out, {"a.py": "a\n"})
    assert result.removed == ()
    assert (out / "b.py").exists()
    assert manifest(out)["files"].keys() == {"a.py"}


def test_tampered_manifest_cannot_delete_outside_or_unsafe_paths(tmp_path: Path, out: Path) -> None:
    """Manifest entries that are unsafe paths are ignored, never followed for deletion."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    write_output(out, {"a.py": "a\n"})
    data = manifest(out)
    data["files"].update({"../victim.txt": "0" * 64, str(victim): "0" * 64})
    data["dirs"] = ["..", "/tmp"]
    (out / MANIFEST_NAME).write_text(json.dumps(data))
    result = write_output(out, {})
    assert result.removed == ("a.py",)
    assert victim.read_text() == "precious\n"


# ---------------------------------------------------------------------------------------------
# plan and compare
# ---------------------------------------------------------------------------------------------


def test_plan_write_writes_nothing_and_holds_old_and_new_text(out: Path) -> None:
    """plan_write reports (path, old_text|None, new_text) for each change without writing."""
    write_output(out, FILES)
    age(out)
    before = snapshot(out)
    nxt = dict(NEXT, **{"custom/hooks.py": "h\n"})
    plan = plan_write(out, nxt, {"custom/hooks.py"})
    assert snapshot(out) == before
    by_path = {p.path: p for p in plan.writes}
    assert by_path["blog/models.py"].old_text == FILES["blog/models.py"]
    assert by_path["blog/models.py"].new_text == NEXT["blog/models.py"]
    assert by_path["blog/new/thing.py"].old_text is None
    assert by_path["custom/hooks.py"].once
    assert plan.removals == ("blog/api/schemas.py",)
    diff = by_path["blog/models.py"].unified_diff()
    assert diff.startswith("--- a/blog/models.py\n+++ b/blog/models.py\n")
    assert "+    id: int\n" in diff


def test_compare_output_reports_stale_missing_and_extra(out: Path) -> None:
    """compare_output lists what gen check needs; once-files are missing only when absent."""
    files = dict(FILES, **{"custom/hooks.py": "h\n"})
    once = {"custom/hooks.py"}
    assert compare_output(out, files, once).missing == tuple(sorted(files))
    write_output(out, files, once)
    clean = compare_output(out, files, once)
    assert clean.ok and (clean.stale, clean.missing, clean.extra) == ((), (), ())

    (out / "custom/hooks.py").write_text("edited\n")  # user edits to once-files are fine
    (out / "README.md").write_text("edited\n")
    (out / "blog/models.py").unlink()
    nxt = {k: v for k, v in files.items() if k != "config/settings.toml"}
    report = compare_output(out, nxt, once)
    assert report.stale == ("README.md",)
    assert report.missing == ("blog/models.py",)
    assert report.extra == ("config/settings.toml",)
    assert report.manifest_stale and not report.ok

    (out / "custom/hooks.py").unlink()
    assert compare_output(out, files, once).missing == ("blog/models.py", "custom/hooks.py")


def test_compare_output_flags_a_missing_manifest(out: Path) -> None:
    """Files all present but no manifest: not ok, because gen would write the manifest."""
    write_output(out, FILES)
    (out / MANIFEST_NAME).unlink()
    report = compare_output(out, FILES)
    assert (report.stale, report.missing, report.extra) == ((), (), ())
    assert report.manifest_stale and not report.ok
