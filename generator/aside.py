"""Run one function in a forked worker process while this one goes on: a build uses both cores.

``aside(function)`` forks (on Linux, when this process may run on two CPUs or more); the child
calls ``function()``, sends back its pickled result or its exception through a pipe and exits
without running any of the parent's clean-up. ``Aside.result()`` waits for it and returns the
value or raises the same exception (a ``WorkerError`` with the child's traceback when the
exception cannot be pickled, or when the child died without answering). Used as a context
manager, leaving the ``with`` block before ``result()`` interrupts (then kills) and reaps the
child: no zombie. Elsewhere ``function`` runs in this process, at ``result()``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

__all__ = ["Aside", "WorkerError", "aside", "can_fork", "interrupts_held"]

T = TypeVar("T")

#: How long a cancelled worker has to clean up after its interrupt.
_GRACE_SECONDS = 5.0


class WorkerError(Exception):
    """The worker failed in a way its own exception cannot say (the text says how)."""


def can_fork() -> bool:
    """True when a forked worker can run beside this process: where ``os.sched_getaffinity``
    exists (Linux, where a fork without exec is safe; macOS's system libraries are not) and
    this process may use two CPUs or more."""
    if not hasattr(os, "fork") or not hasattr(os, "sched_getaffinity"):
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except OSError:
        return False


class Aside(Generic[T]):
    """The pending result of ``function`` (see the module docstring)."""

    def __init__(self, function: Callable[[], T], fork: bool) -> None:
        self._function = function
        self._pid: int | None = None
        self._reader: int | None = None
        if fork:
            self._start()

    def _start(self) -> None:
        reader, writer = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        with interrupts_held() as mask:
            pid = os.fork()
            if pid == 0:  # the child: never returns into the caller's code
                _answer(writer, self._function, reader, mask)
        os.close(writer)
        self._pid, self._reader = pid, reader

    def result(self) -> T:
        """The function's value; raises what it raised."""
        if self._pid is None:
            return self._function()
        assert self._reader is not None
        with os.fdopen(self._reader, "rb") as pipe:
            self._reader = None
            blob = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        try:
            ok, value = pickle.loads(blob)
        except Exception:  # nothing, or an answer cut short
            raise WorkerError(
                f"the worker process ended without a result ({_status(status)})"
            ) from None
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def cancel(self) -> None:
        """Stop the worker if it still runs and reap it: an interrupt first, so that it cleans
        up after itself (a ruff process it started, its temporary folder), then a kill."""
        if self._reader is not None:
            os.close(self._reader)
            self._reader = None
        if self._pid is None:
            return
        started = time.monotonic()
        # One interrupt is enough: the child holds it blocked until it can take it (`_answer`).
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGINT)
        while os.waitpid(self._pid, os.WNOHANG)[0] == 0:
            if time.monotonic() > started + _GRACE_SECONDS:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
                break
            time.sleep(0.005)
        self._pid = None

    def __enter__(self) -> Aside[T]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.cancel()


@contextlib.contextmanager
def interrupts_held() -> Iterator[set[int | signal.Signals]]:
    """SIGINT blocked while the block forks; yields the signal mask to restore. A forked child
    restores it inside its own try (and leaves by `os._exit`): an interrupt that reached it
    before that try would raise KeyboardInterrupt into the caller's code, which would run on in
    the child (a pytest-xdist worker's child reported itself interrupted). In this process an
    interrupt waits the few microseconds of the fork; it is not lost."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield mask
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def aside(function: Callable[[], T], *, fork: bool | None = None) -> Aside[T]:
    """Start ``function`` in a worker process (``fork=None``: when ``can_fork()``)."""
    return Aside(function, can_fork() if fork is None else fork)


def _answer(
    writer: int, function: Callable[[], object], reader: int, mask: set[int | signal.Signals]
) -> None:
    """The child's whole life: run, send (ok, value) or (False, exception), exit. Starts with
    SIGINT blocked (`interrupts_held`) and puts the signal mask back to ``mask``."""
    code = 0
    try:
        os.close(reader)
        # `cancel` interrupts the worker so that it cleans up; a process started in the
        # background by a shell inherits SIGINT ignored, and its worker would only be killed.
        # Inside the try: an interrupt from here on ends this process, never the caller's code.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        try:
            blob = pickle.dumps((True, function()), pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # every failure goes to the parent
            code = 1
            blob = _pickled_error(exc)
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(blob)
    except BaseException:  # the parent reports an empty answer
        code = 2
    finally:
        os._exit(code)


def _pickled_error(exc: BaseException) -> bytes:
    try:
        blob = pickle.dumps((False, exc), pickle.HIGHEST_PROTOCOL)
        pickle.loads(blob)  # an exception whose constructor cannot be replayed fails here
        return blob
    except Exception:  # fall back to the text of the error
        text = "".join(traceback.format_exception(exc))
        return pickle.dumps((False, WorkerError(f"the worker process failed:\n{text}")))


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
