"""generator/aside.py: a function run in a forked worker returns its value or raises its error,
and no worker outlives its caller."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.aside import Aside, WorkerError, aside, can_fork

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")


class Unpicklable(Exception):
    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} {second}")


def _children() -> set[int]:
    try:
        text = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text("ascii")
    except OSError:
        return set()
    return {int(pid) for pid in text.split()}


@needs_fork
def test_the_value_comes_back_from_the_worker() -> None:
    parent = os.getpid()
    worker = aside(lambda: (os.getpid(), {"text": "é" * 100_000}), fork=True)
    pid, value = worker.result()
    assert pid != parent
    assert value == {"text": "é" * 100_000}
    assert not _children()


@pytest.mark.parametrize("fork", [pytest.param(True, marks=needs_fork), False])
def test_the_workers_exception_is_raised(fork: bool) -> None:
    def fail() -> None:
        raise ValueError("the worker's message")

    with pytest.raises(ValueError, match="the worker's message"):
        aside(fail, fork=fork).result()
    assert not _children()


@needs_fork
def test_an_exception_that_cannot_be_pickled_becomes_a_worker_error() -> None:
    def fail() -> None:
        raise Unpicklable("first", "second")

    with pytest.raises(WorkerError, match="Unpicklable: first second"):
        aside(fail, fork=True).result()


@needs_fork
def test_a_worker_that_dies_is_an_error() -> None:
    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(WorkerError, match="killed by signal 9"):
        aside(die, fork=True).result()


@needs_fork
def test_leaving_the_block_early_kills_and_reaps_the_worker() -> None:
    with pytest.raises(RuntimeError), aside(lambda: time.sleep(60), fork=True) as worker:
        assert isinstance(worker, Aside)
        assert _children()
        raise RuntimeError("the build failed before it needed the worker")
    assert not _children()


def test_without_fork_the_function_runs_here_when_asked() -> None:
    calls: list[int] = []
    worker = aside(lambda: calls.append(os.getpid()) or 7, fork=False)
    assert calls == []
    assert worker.result() == 7
    assert calls == [os.getpid()]


def test_one_cpu_means_no_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert not can_fork()


def _sleeping_then_flagging(flag: Path) -> Callable[[], None]:
    """Work that sleeps until interrupted, then writes "yes" to flag in its clean-up."""

    def work() -> None:
        try:
            time.sleep(60)
        finally:
            flag.write_text("yes", encoding="utf-8")

    return work


@needs_fork
def test_a_cancelled_worker_cleans_up_after_itself(tmp_path: Path) -> None:
    """The worker is interrupted first: its own clean-up (a finally block) still runs."""
    flag = tmp_path / "cleaned"
    work = _sleeping_then_flagging(flag)

    worker = aside(work, fork=True)
    time.sleep(0.2)  # let the worker reach its sleep
    worker.cancel()
    assert flag.read_text(encoding="utf-8") == "yes"
    assert not _children()


@needs_fork
def test_a_worker_is_interrupted_even_when_its_parent_ignores_the_interrupt(
    tmp_path: Path,
) -> None:
    """A build started in the background by a shell inherits SIGINT ignored: cancel() must
    still interrupt its worker, so that the worker cleans up instead of being killed."""
    flag = tmp_path / "cleaned"
    work = _sleeping_then_flagging(flag)

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        worker = aside(work, fork=True)
        time.sleep(0.2)
        worker.cancel()
    finally:
        signal.signal(signal.SIGINT, before)
    assert flag.read_text(encoding="utf-8") == "yes"


@needs_fork
def test_an_interrupt_before_the_worker_runs_never_reaches_the_callers_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cancel() right after the fork, while the child is still on its way to the function: the
    interrupt must end the child, not raise KeyboardInterrupt into the code that called aside()
    (which would then run on in the child: a pytest-xdist worker's child reported itself
    interrupted)."""
    parent = os.getpid()
    close = os.close

    def slow_close_in_the_child(fd: int) -> None:
        if os.getpid() != parent:
            time.sleep(0.3)  # the child's first step: the interrupt arrives meanwhile
        close(fd)

    monkeypatch.setattr(os, "close", slow_close_in_the_child)
    try:
        worker = aside(lambda: time.sleep(60), fork=True)
        time.sleep(0.05)
        started = time.monotonic()
        worker.cancel()
    except KeyboardInterrupt:
        if os.getpid() != parent:
            (tmp_path / f"escaped-{os.getpid()}").touch()
            os._exit(0)
        raise
    assert time.monotonic() - started < 2  # interrupted, not killed after the grace
    assert not list(tmp_path.iterdir())
    assert not _children()


@needs_fork
def test_a_worker_that_ignores_the_interrupt_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("generator.aside._GRACE_SECONDS", 0.3)

    def stubborn() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        time.sleep(60)

    worker = aside(stubborn, fork=True)
    time.sleep(0.2)
    started = time.monotonic()
    worker.cancel()
    assert time.monotonic() - started < 5
    assert not _children()
