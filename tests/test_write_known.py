"""generator/write.py `KnownFiles`: a write skips reading a file whose stat is the one noted when
it was last found unchanged, and never misses an edit made since."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from generator import write as w
from generator.write import KnownFiles, text_digests, write_output

FILES = {f"pkg/module_{i}.py": f"VALUE = {i}\n" for i in range(5)}


@pytest.fixture
def settled_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stat is settled 50 ms after the file's last change (instead of seconds): the tests
    wait that long, far longer than a coarse file-system clock's tick."""
    monkeypatch.setattr(w, "SETTLED_NS", 50_000_000)


def _write(out: Path, known: Path, files: dict[str, str] = FILES) -> w.WriteResult:
    return write_output(out, files, frozenset(), known)


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The output files the writer opens from now on."""
    opened: list[str] = []
    real_open = open

    def tracking_open(file: str, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(w, "open", tracking_open, raising=False)
    return opened


def test_unchanged_files_are_not_read_once_noted(
    tmp_path: Path, settled_soon: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, known = tmp_path / "out", tmp_path / "known.bin"
    _write(out, known)
    time.sleep(0.1)
    assert _write(out, known).written == ()  # reads every file, notes them
    opened = _reads(monkeypatch)
    result = _write(out, known, {**FILES, "pkg/module_0.py": "VALUE = 'new'\n"})
    assert result.written == ("pkg/module_0.py",)
    assert opened == []  # the changed one is known to differ: its old text is not needed
    assert (out / "pkg/module_0.py").read_text() == "VALUE = 'new'\n"


def test_an_edit_keeping_size_and_mtime_is_still_found(tmp_path: Path, settled_soon: None) -> None:
    out, known = tmp_path / "out", tmp_path / "known.bin"
    _write(out, known)
    time.sleep(0.1)
    _write(out, known)  # notes every file
    target = out / "pkg/module_3.py"
    before = target.stat()
    time.sleep(0.02)
    target.write_text("VALUE = 7\n")  # same size
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # and same mtime
    assert target.stat().st_size == before.st_size
    result = _write(out, known)
    assert result.written == ("pkg/module_3.py",)
    assert target.read_text() == "VALUE = 3\n"


def test_a_file_replaced_by_another_is_found(tmp_path: Path, settled_soon: None) -> None:
    out, known = tmp_path / "out", tmp_path / "known.bin"
    _write(out, known)
    time.sleep(0.1)
    _write(out, known)
    target = out / "pkg/module_1.py"
    before = target.stat()
    time.sleep(0.02)
    replacement = out / "pkg/other.txt"
    replacement.write_text("VALUE = 9\n")
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, target)
    assert _write(out, known).written == ("pkg/module_1.py",)
    assert target.read_text() == "VALUE = 1\n"


def test_a_recently_changed_file_is_not_noted(tmp_path: Path) -> None:
    """With the real bound, files written a moment ago are not settled: nothing is noted, so
    an edit in the same tick of a coarse clock cannot hide."""
    out, known = tmp_path / "out", tmp_path / "known.bin"
    _write(out, known)
    _write(out, known)
    noted = KnownFiles(known)
    assert all(noted.digest(p, (out / p).stat()) is None for p in FILES)


def test_a_damaged_known_file_costs_only_reads(tmp_path: Path, settled_soon: None) -> None:
    out, known = tmp_path / "out", tmp_path / "known.bin"
    _write(out, known)
    known.write_bytes(b"\x00garbage")
    (out / "pkg/module_2.py").write_text("edited\n")
    assert _write(out, known).written == ("pkg/module_2.py",)


def test_digests_given_beforehand_write_the_same(tmp_path: Path) -> None:
    files = {**FILES, "pkg/new.py": "NEW = 1\n"}
    plain = _write(tmp_path / "plain", tmp_path / "plain.bin")
    given = write_output(
        tmp_path / "given", files, frozenset(), tmp_path / "given.bin", text_digests(files)
    )
    assert given.manifest != plain.manifest  # one more file
    again = write_output(tmp_path / "plain", files, frozenset(), None, text_digests(files))
    assert again.written == ("pkg/new.py",) and again.manifest == given.manifest


def test_a_text_that_is_not_unicode_still_fails_the_write(tmp_path: Path) -> None:
    files = {**FILES, "pkg/bad.py": "X = '\udc80'\n"}
    digests = text_digests(files)
    assert "pkg/bad.py" not in digests
    with pytest.raises(UnicodeEncodeError):
        write_output(tmp_path / "out", files, frozenset(), None, digests)
