"""`gen daemon`: `gen build` and `gen check` hand their build to a warm process that runs the
same gen, and the result is the one an in-process build gives (generator/daemon.py).

Real processes and sockets throughout; every test has a HOME of its own (so it never meets a
developer's daemon), and every daemon a test started is killed when it ends, whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import daemon, stamp
from generator.cli import main
from tests.test_cli import SPEC

ROOT = Path(__file__).resolve().parent.parent
COMMAND_SECONDS = 300  # a loaded 2-core machine: generous, never a synchronization
needs_daemon = pytest.mark.skipif(not daemon.supported(), reason="fork and Unix sockets needed")


class Gen:
    """`python -m generator` in a HOME of its own, and the daemons it started."""

    def __init__(self, home: Path, gen_root: Path = ROOT) -> None:
        self.home = home
        self.gen_root = gen_root
        self.env = {**os.environ, "HOME": str(home)}
        self.env.pop("GEN_DAEMON", None)

    def run(
        self, *args: str, cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "generator", *args],
            cwd=cwd or self.gen_root,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            check=False,
        )

    def log(self) -> str:
        logs = sorted((self.home / ".cache" / "gen" / "daemon").glob("*.log"))
        return "".join(p.read_text(encoding="utf-8") for p in logs)

    def pids(self) -> list[int]:
        """Every daemon this HOME has seen start (its log)."""
        return [int(pid) for pid in re.findall(r"\[(\d+)\] listening on", self.log())]

    def builds(self) -> int:
        """Builds the daemons of this HOME ran (their logs)."""
        return len(re.findall(r"\] build \d+: ", self.log()))

    def kill_all(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.run("daemon", "stop")
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat_file:
            return stat_file.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def wait_until_gone(pid: int, seconds: float = 120) -> bool:
    """Poll for the end of a process (it is not ours to wait for: the daemon is detached)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def gen(tmp_path: Path) -> Iterator[Gen]:
    runner = Gen(tmp_path / "home")
    try:
        yield runner
    finally:
        runner.kill_all()


def make_project(root: Path, spec: str = SPEC) -> Path:
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "api.yaml").write_text(spec, encoding="utf-8")
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def started_pid(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode == 0, result.stderr
    found = re.search(r"pid (\d+)", result.stdout)
    assert found, result.stdout
    return int(found.group(1))


def outcome(result: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return result.returncode, result.stdout, result.stderr


@needs_daemon
@pytest.mark.slow
def test_a_build_through_the_daemon_writes_and_prints_what_an_in_process_build_does(
    tmp_path: Path, gen: Gen
) -> None:
    """Output tree, stdout, stderr and exit code, for a first build and a one-entity change."""
    there, here = make_project(tmp_path / "there"), make_project(tmp_path / "here")
    started_pid(gen.run("daemon", "start"))
    changed = SPEC + "      color: {type: string, max_length: 20, nullable: true}\n"
    for step, spec in enumerate((SPEC, changed), start=1):
        for project in (there, here):
            (project / "specs" / "api.yaml").write_text(spec, encoding="utf-8")
        through = gen.run("build", "specs", cwd=there)
        assert gen.builds() == step, gen.log()  # the daemon ran it
        alone = gen.run("build", "specs", "--no-daemon", cwd=here)
        assert gen.builds() == step  # this one did not go to the daemon
        assert outcome(through) == outcome(alone)
        assert through.returncode == 0 and " written, " in through.stdout
        assert tree(there / "output") == tree(here / "output")
    # Nothing changed since: the no-op answers in the command, without the daemon.
    assert gen.run("build", "specs", cwd=there).stdout.startswith("gen: 0 written")
    assert gen.builds() == 2


@needs_daemon
@pytest.mark.slow
def test_an_invalid_spec_gives_the_same_located_errors_and_exit_2(tmp_path: Path, gen: Gen) -> None:
    spec = SPEC + "      color: {type: nope}\n"
    there, here = make_project(tmp_path / "there", spec), make_project(tmp_path / "here", spec)
    started_pid(gen.run("daemon", "start"))
    through = gen.run("build", "specs", cwd=there)
    alone = gen.run("build", "specs", cwd=here, GEN_DAEMON="off")
    assert gen.builds() == 1
    assert outcome(through) == outcome(alone)
    assert through.returncode == 2
    assert "api.yaml:" in through.stderr and "1 error(s); nothing written." in through.stderr
    assert not (there / "output").exists()


@needs_daemon
@pytest.mark.slow
def test_check_through_the_daemon_exits_1_on_stale_output_and_0_once_built(
    tmp_path: Path, gen: Gen
) -> None:
    project = make_project(tmp_path / "project")
    started_pid(gen.run("daemon", "start"))
    assert gen.run("build", "specs", cwd=project).returncode == 0
    model = project / "output" / "notes" / "notes" / "models" / "folder.py"
    model.write_text(model.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    through = gen.run("check", "specs", cwd=project)
    alone = gen.run("check", "specs", "--no-daemon", cwd=project)
    assert gen.builds() == 2  # the build, then the check
    assert outcome(through) == outcome(alone)
    assert through.returncode == 1
    assert "stale: output/notes/notes/models/folder.py" in through.stdout
    assert gen.run("build", "specs", cwd=project).returncode == 0
    assert gen.run("check", "specs", cwd=project).returncode == 0


@needs_daemon
@pytest.mark.slow
def test_a_daemon_running_other_gen_code_is_not_used_and_exits(tmp_path: Path, gen: Gen) -> None:
    """A copy of gen whose code changes after its daemon started: the next command builds in
    its own process, and the daemon, told by the command's digest (or its own look at its
    files), exits."""
    copy = tmp_path / "gen"
    shutil.copytree(ROOT / "generator", copy / "generator", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copytree(ROOT / "templates", copy / "templates")
    other = Gen(gen.home, copy)
    pid = started_pid(other.run("daemon", "start"))
    assert "serves this gen: yes" in other.run("daemon", "status").stdout
    module = copy / "generator" / "explain.py"
    module.write_text(module.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    project = make_project(tmp_path / "project")
    built = other.run("build", str(project / "specs"), "-o", str(project / "output"))
    assert built.returncode == 0, built.stderr
    assert (project / "output" / "notes" / "openapi.json").is_file()
    assert wait_until_gone(pid), other.log()
    assert gen.builds() == 0
    assert "exiting: " in gen.log() and "changed" in gen.log()


@needs_daemon
@pytest.mark.slow
def test_start_status_stop(gen: Gen) -> None:
    status = gen.run("daemon", "status")
    assert (status.returncode, status.stdout) == (1, "gen: no daemon runs\n")
    pid = started_pid(gen.run("daemon", "start"))
    assert alive(pid)
    status = gen.run("daemon", "status")
    assert status.returncode == 0
    assert f"daemon pid {pid}," in status.stdout and "serves this gen: yes" in status.stdout
    again = gen.run("daemon", "start")
    assert again.stdout == f"gen: the daemon already runs (pid {pid})\n"
    stopped = gen.run("daemon", "stop")
    assert stopped.stdout == f"gen: daemon stopped (pid {pid})\n"
    assert wait_until_gone(pid)
    assert gen.run("daemon", "status").returncode == 1
    assert gen.run("daemon", "stop").stdout == "gen: no daemon runs\n"
    assert "exiting: gen daemon stop" in gen.log()


@needs_daemon
@pytest.mark.slow
def test_the_daemon_exits_after_its_idle_timeout(gen: Gen) -> None:
    pid = started_pid(gen.run("daemon", "start", "--idle-timeout", "1"))
    assert wait_until_gone(pid), gen.log()
    assert "exiting: no build for 1 s" in gen.log()
    assert gen.run("daemon", "status").returncode == 1


@needs_daemon
@pytest.mark.slow
def test_gen_daemon_start_starts_one_for_the_next_builds_and_off_builds_alone(
    tmp_path: Path, gen: Gen
) -> None:
    project = make_project(tmp_path / "project")
    first = gen.run("build", "specs", cwd=project, GEN_DAEMON="start")
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith("gen: started a daemon (pid ")
    assert gen.builds() == 1
    color = SPEC + "      color: {type: string, max_length: 20, nullable: true}\n"
    (project / "specs" / "api.yaml").write_text(color, encoding="utf-8")
    assert gen.run("build", "specs", cwd=project, GEN_DAEMON="off").returncode == 0
    assert gen.builds() == 1
    size = color + "      size: {type: integer, nullable: true}\n"
    (project / "specs" / "api.yaml").write_text(size, encoding="utf-8")
    assert gen.run("build", "specs", cwd=project).returncode == 0  # auto: the running one
    assert gen.builds() == 2


@needs_daemon
@pytest.mark.slow
def test_a_home_too_deep_for_a_socket_path_still_reaches_its_daemon(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    runner = Gen(deep / "home")
    try:
        assert len(os.fsencode(daemon.Place(deep / "home/.cache/gen").socket)) > daemon.SUN_PATH_MAX
        started_pid(runner.run("daemon", "start"))
        project = make_project(tmp_path / "project")
        assert runner.run("build", "specs", cwd=project).returncode == 0
        assert runner.builds() == 1
    finally:
        runner.kill_all()


def test_gen_daemon_leaves_the_stamp_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a build runs does not change what it writes: a no-op stays a no-op."""
    monkeypatch.delenv("GEN_DAEMON", raising=False)
    plain = stamp.input_digest(tmp_path, [], tmp_path / "out")
    monkeypatch.setenv("GEN_DAEMON", "start")
    assert stamp.input_digest(tmp_path, [], tmp_path / "out") == plain
    monkeypatch.setenv("GEN_OPENAPI", "verify")
    assert stamp.input_digest(tmp_path, [], tmp_path / "out") != plain


def test_an_unknown_gen_daemon_value_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEN_DAEMON", "always")
    result = CliRunner().invoke(main, ["build", "specs"])
    assert result.exit_code == 2
    assert "GEN_DAEMON='always': expected one of auto, off, start" in result.stderr


def test_without_fork_and_unix_sockets_the_daemon_commands_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(daemon, "supported", lambda: False)
    result = CliRunner().invoke(main, ["daemon", "start"])
    assert result.exit_code == 2
    assert "the daemon needs fork and Unix sockets" in result.stderr
    assert not (tmp_path / ".cache" / "gen" / "daemon").exists()


def test_a_daemon_is_refused_for_another_interpreter_path_or_code() -> None:
    own = daemon.identity("c0de", Path("/cache"))
    assert daemon.refusal(own, dict(own)) is None
    assert daemon.refusal(own, {**own, "code": "other"}) == ("another code", True)
    assert daemon.refusal(own, {**own, "distributions": []}) == ("another distributions", True)
    assert daemon.refusal(own, {**own, "executable": "/usr/bin/python9"}) == (
        "another executable",
        False,
    )
    assert daemon.refusal(own, {**own, "path": ["/elsewhere"]}) == ("another path", False)
    assert daemon.refusal(own, {**own, "cache_root": "/other"}) == ("another cache_root", False)
    assert daemon.refusal(own, None) == ("no identity", False)


def wait_for_line(gen: Gen, pattern: str, seconds: float = 120) -> re.Match[str]:
    """Poll the daemon's log for a line (the daemon is another process: no event to wait on)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(pattern, gen.log())
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {pattern!r} in the log:\n{gen.log()}")


def start_big_build(tmp_path: Path, gen: Gen) -> tuple[subprocess.Popen[str], int]:
    """A cold N=100 build through the daemon (seconds long), once its child has started."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import synth
    finally:
        sys.path.remove(str(ROOT / "bench"))
    synth.write_specs(100, tmp_path / "big" / "specs")
    started_pid(gen.run("daemon", "start"))
    command = subprocess.Popen(
        [sys.executable, "-m", "generator", "build", "specs"],
        cwd=tmp_path / "big",
        env=gen.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    child = int(wait_for_line(gen, r"build (\d+) started: gen build").group(1))
    return command, child


@needs_daemon
@pytest.mark.slow
def test_ctrl_c_on_the_command_interrupts_its_build_in_the_daemon(tmp_path: Path, gen: Gen) -> None:
    command, child = start_big_build(tmp_path, gen)
    try:
        # Inside the build: it has loaded the specs (and saved their cache) and compiles them.
        # Not at a fork: CPython drops a KeyboardInterrupt raised in its fork handlers.
        deadline = time.monotonic() + COMMAND_SECONDS
        while not list((gen.home / ".cache" / "gen").glob("format/*/files-*.bin")):
            assert time.monotonic() < deadline and alive(child), gen.log()
            time.sleep(0.01)
        command.send_signal(signal.SIGINT)
        _, err = command.communicate(timeout=COMMAND_SECONDS)
    finally:
        command.kill()
    assert command.returncode == 1, err  # click's answer to Ctrl+C, as in process
    assert err.endswith("Aborted!\n")
    assert wait_until_gone(child)
    assert f"build {child}: {{'exit': 1}}" in gen.log()


@needs_daemon
@pytest.mark.slow
def test_a_command_killed_has_its_build_terminated(tmp_path: Path, gen: Gen) -> None:
    command, child = start_big_build(tmp_path, gen)
    command.kill()
    command.wait(timeout=COMMAND_SECONDS)
    wait_for_line(gen, rf"build {child}: its command went away, terminated")
    wait_for_line(gen, rf"build {child}: {{'signal': 15}}")  # the daemon reaped it
    assert "serves this gen: yes" in gen.run("daemon", "status").stdout


@needs_daemon
@pytest.mark.slow
def test_a_killed_daemon_leaves_builds_in_process_and_a_new_one_can_start(
    tmp_path: Path, gen: Gen
) -> None:
    pid = started_pid(gen.run("daemon", "start"))
    os.kill(pid, signal.SIGKILL)
    assert wait_until_gone(pid)
    place = daemon.Place(gen.home / ".cache" / "gen")
    assert place.socket.exists()  # nothing removed it: a refused connection
    project = make_project(tmp_path / "project")
    built = gen.run("build", "specs", cwd=project)
    assert built.returncode == 0, built.stderr
    assert built.stderr == "" and " written, " in built.stdout
    assert gen.builds() == 0
    assert gen.run("daemon", "status").returncode == 1
    again = started_pid(gen.run("daemon", "start"))
    assert again != pid and "serves this gen: yes" in gen.run("daemon", "status").stdout
