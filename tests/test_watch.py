"""`gen watch`: a build now and after every change of the spec files, each in a child forked
from a process that keeps gen's modules loaded (generator/watch.py)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from generator import watch as watch_module
from generator.watch import GenChanged, run_build, spec_snapshot, watch
from tests.test_cli import SPEC

counter = {"builds": 0}


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_build_runs_in_a_child_and_its_exit_code_comes_back() -> None:
    def build_ok() -> None:
        counter["builds"] += 1

    def build_invalid() -> None:
        sys.exit(2)

    def build_crashing() -> None:
        raise RuntimeError("boom")

    assert run_build(build_ok) == 0
    assert counter["builds"] == 0  # the child's state is not the watcher's
    assert run_build(build_invalid) == 2
    assert run_build(build_crashing) == 70


def test_an_interrupted_build_ends_its_child_and_never_runs_the_watchers_code(
    tmp_path: Path,
) -> None:
    """Ctrl+C reaches the build's child too: its KeyboardInterrupt ends the child (exit 130)
    instead of unwinding into the watcher's code, which would then run on in the child."""
    watcher = os.getpid()

    def build_interrupted() -> None:
        raise KeyboardInterrupt

    try:
        code = run_build(build_interrupted)
    except KeyboardInterrupt:
        if os.getpid() != watcher:
            (tmp_path / "escaped").touch()
            os._exit(0)
        raise
    assert code == 130
    assert not (tmp_path / "escaped").exists()


def test_a_forked_build_runs_without_the_cycle_collector_and_the_watcher_keeps_it() -> None:
    def build_reporting_the_collector() -> None:
        sys.exit(3 if gc.isenabled() else 0)

    assert gc.isenabled()
    assert run_build(build_reporting_the_collector) == 0
    assert gc.isenabled()


def test_the_snapshot_changes_with_a_spec_file_and_not_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text("a: 1\n", encoding="utf-8")
    first = spec_snapshot(tmp_path)
    (tmp_path / "notes.txt").write_text("not a spec", encoding="utf-8")
    (tmp_path / ".api.yaml.tmp").write_text("an editor's copy", encoding="utf-8")
    assert spec_snapshot(tmp_path) == first
    (tmp_path / "api.yaml").write_text("a: 22\n", encoding="utf-8")
    assert spec_snapshot(tmp_path) != first
    (tmp_path / "more.yml").write_text("b: 1\n", encoding="utf-8")
    assert len(spec_snapshot(tmp_path) or ()) == 2


def test_the_watcher_stops_before_building_with_code_that_changed_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its builds would run the code it loaded under the stamp of the code on disk."""
    code = tmp_path / "module.py"
    code.write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(watch_module, "generator_files", lambda: [code])
    (tmp_path / "api.yaml").write_text("a: 1\n", encoding="utf-8")
    builds: list[int] = []

    def build_then_change_the_code(exit_code: int) -> None:
        builds.append(exit_code)
        code.write_text("x = 22\n", encoding="utf-8")
        (tmp_path / "api.yaml").write_text("a: 22\n", encoding="utf-8")

    with pytest.raises(GenChanged):
        watch(tmp_path, lambda: None, 0.01, on_build=build_then_change_the_code)
    assert builds == [0]


def replace(path: Path, text: str) -> None:
    aside = path.with_name(f".{path.name}.tmp")
    aside.write_text(text, encoding="utf-8")
    os.replace(aside, path)


def next_summary(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        assert line, "gen watch ended early"
        if " written, " in line:
            return line


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the watcher forks a child per build")
def test_watch_rebuilds_after_each_change_reports_errors_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    specs, out = tmp_path / "specs", tmp_path / "output"
    specs.mkdir()
    (specs / "api.yaml").write_text(SPEC, encoding="utf-8")
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "generator", "watch", str(specs), "-o", str(out)]
    watcher = subprocess.Popen(
        [*command, "--interval", "0.05"],
        env=env,
        # Ctrl+C is what stops it: SIGINT at its default even when this test runs under a
        # process that ignores it (a background job of a shell without job control).
        preexec_fn=_interruptible,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = threading.Timer(180, watcher.kill)  # a watcher that never answers fails the test
    deadline.start()
    try:
        assert next_summary(watcher).startswith("gen: ")
        model = out / "notes" / "notes" / "models" / "folder.py"
        assert "color" not in model.read_text(encoding="utf-8")

        replace(
            specs / "api.yaml",
            SPEC + "      color: {type: string, max_length: 20, nullable: true}\n",
        )
        summary = next_summary(watcher)
        assert not summary.startswith("gen: 0 written"), summary
        assert "color" in model.read_text(encoding="utf-8")

        replace(specs / "api.yaml", SPEC + "      color: {type: nope}\n")
        time.sleep(1.0)  # an invalid spec: errors on stderr, nothing written, still watching
        replace(
            specs / "api.yaml",
            SPEC + "      color: {type: string, max_length: 30, nullable: true}\n",
        )
        next_summary(watcher)
        assert "30" in model.read_text(encoding="utf-8")
    finally:
        watcher.send_signal(signal.SIGINT)
        _, err = watcher.communicate(timeout=60)
        deadline.cancel()
    assert watcher.returncode == 0, err
    assert "api.yaml:" in err and "error:" in err  # the invalid spec, located
    assert "1 error(s); nothing written." in err
    assert err.rstrip().endswith("gen: stopped watching")
