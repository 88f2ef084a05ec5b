"""The daemon's side of `gen daemon` (see generator/daemon.py): load gen once, listen, and run
each command in a child forked for it."""

from __future__ import annotations

import contextlib
import fcntl
import io
import locale
import os
import selectors
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Any

from generator import daemon, stamp
from generator.watch import Snapshot, collect_never, files_snapshot, load_gen

#: How long the daemon waits for a connected command's request.
REQUEST_SECONDS = 10.0


def log(message: str) -> None:
    """One line of the daemon's log (its standard output, the log file in its folder)."""
    stamped = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamped} [{os.getpid()}] {message}", flush=True)


def serve(cache_root: Path, idle_seconds: float, ready_fd: int | None) -> int:
    """Run a daemon until it is stopped, idle or stale; the exit code of `gen daemon serve`.
    Writes ``ready PID`` to ``ready_fd`` once it listens."""
    if os.fork() != 0:  # the starter waits for this process; the daemon is its child
        os._exit(0)
    place = daemon.Place(cache_root)
    place.secure_folder()
    lock = open(place.lock, "a")  # noqa: SIM115  (held, and so locked, while the daemon lives)
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("another daemon holds the lock")
        return 1
    snapshot = files_snapshot(stamp.generator_files())
    code = stamp.code_digest()
    started = time.perf_counter()
    templates = load_gen()
    if stamp.code_digest() != code:
        log("gen's files changed while it loaded them")
        return 1
    own = daemon.identity(code, cache_root)
    listener = _listen(place)
    os.chdir("/")
    log(
        f"listening on {place.socket}: gen loaded and {templates} templates compiled in "
        f"{time.perf_counter() - started:.2f} s; idle timeout {idle_seconds:g} s"
    )
    if ready_fd is not None:
        os.write(ready_fd, f"ready {os.getpid()}\n".encode("ascii"))
        os.close(ready_fd)
    server = Server(place, listener, own, snapshot, idle_seconds, lock)
    reason = server.run()
    log(f"exiting: {reason}")
    lock.close()  # free for the next daemon before `gen daemon stop` hears that this one ended
    for connection in server.stop_connections:
        connection.close()
    return 0


def _listen(place: daemon.Place) -> socket.socket:
    """The listening socket; what was left at its path (a daemon that was killed) is removed:
    whoever holds the lock owns the path."""
    with contextlib.suppress(FileNotFoundError):
        place.socket.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with daemon.socket_address(place.socket) as address:
        listener.bind(address)
    listener.listen(64)
    listener.setblocking(False)
    return listener


class Server:
    """The daemon's loop: accept, answer or fork, reap, and stop when it should."""

    def __init__(
        self,
        place: daemon.Place,
        listener: socket.socket,
        own: dict[str, Any],
        snapshot: Snapshot,
        idle_seconds: float,
        lock: IO[str],
    ) -> None:
        self.place = place
        self.listener: socket.socket | None = listener
        self.own = own
        self.snapshot = snapshot
        self.idle_seconds = idle_seconds
        self.lock = lock
        info = os.stat(place.socket)
        self.socket_id = (info.st_dev, info.st_ino)
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, tuple[socket.socket, float]] = {}
        self.stop_connections: list[socket.socket] = []
        self.stopping: str | None = None
        self.signalled = False
        self.builds = 0
        self.started = time.time()
        self.last_active = time.monotonic()
        self.wake_read, self.wake_write = os.pipe()

    def run(self) -> str:
        """Serve until stopped; the reason."""
        for fd in (self.wake_read, self.wake_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, _ignore)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        assert self.listener is not None
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        self.selector.register(self.wake_read, selectors.EVENT_READ, self._drain)
        checked = time.monotonic()
        while True:
            self._reap()
            if self.signalled and self.stopping is None:
                self._stop("SIGTERM")
            idle = time.monotonic() - self.last_active
            if self.stopping is None and not self.children and idle >= self.idle_seconds:
                self._stop(f"no build for {self.idle_seconds:g} s")
            if self.stopping is not None and not self.children:
                break
            timeout = min(daemon.CHECK_SECONDS, max(0.0, self.idle_seconds - idle))
            for key, _ in self.selector.select(timeout):
                key.data(key.fileobj)
            if self.stopping is None and time.monotonic() - checked >= daemon.CHECK_SECONDS:
                checked = time.monotonic()
                stale = self._stale()
                if stale is not None:
                    self._stop(stale)
        return self.stopping or "stopped"

    def _on_sigterm(self, number: int, frame: FrameType | None) -> None:
        self.signalled = True

    def _drain(self, fd: Any) -> None:
        with contextlib.suppress(OSError):
            while os.read(self.wake_read, 512):
                pass

    def _stop(self, reason: str) -> None:
        """Accept nothing more, free the socket's path; the loop ends once the builds have."""
        self.stopping = reason
        if self.listener is None:
            return
        self.selector.unregister(self.listener)
        self.listener.close()
        self.listener = None
        with contextlib.suppress(OSError):
            info = os.stat(self.place.socket)
            if (info.st_dev, info.st_ino) == self.socket_id:
                self.place.socket.unlink()

    def _stale(self) -> str | None:
        """Why this daemon no longer serves the gen on disk; None while it does."""
        try:
            current = files_snapshot(stamp.generator_files())
            if current != self.snapshot:
                if stamp.code_digest() != self.own["code"]:
                    return "gen's files changed"
                self.snapshot = current
            info = os.stat(self.place.socket)
        except OSError:
            return "its socket or gen's files were removed"
        if (info.st_dev, info.st_ino) != self.socket_id:
            return "its socket was replaced"
        if stamp.distributions(sys.path[1:]) != self.own["distributions"]:
            return "the installed distributions changed"
        return None

    def _accept(self, listener: Any) -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        connection.setblocking(True)
        connection.settimeout(REQUEST_SECONDS)
        try:
            if daemon.peer_uid(connection) != os.getuid():
                connection.close()
                return
            request, fds = daemon.receive_request(connection)
        except (OSError, ValueError):
            connection.close()
            return
        try:
            self._answer(connection, request, fds)
        finally:
            for fd in fds:
                os.close(fd)

    def _answer(self, connection: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        kind = request.get("kind")
        if kind == "status":
            daemon.send_line(connection, {"status": self.status()})
            connection.close()
        elif kind == "stop":
            daemon.send_line(connection, {"stopping": os.getpid()})
            self.stop_connections.append(connection)
            self._stop("gen daemon stop")
        elif kind == "build":
            self._build(connection, request, fds)
        else:
            daemon.send_line(connection, {"refused": f"unknown request {kind!r}"})
            connection.close()

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "socket": str(self.place.socket),
            "log": str(self.place.log),
            "started": self.started,
            "idle_timeout": self.idle_seconds,
            "idle_for": time.monotonic() - self.last_active,
            "builds": self.builds,
            "running": len(self.children),
            "identity": self.own,
        }

    def _build(self, connection: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        refused = daemon.refusal(self.own, request.get("identity"))
        if refused is None and len(fds) != 3:
            refused = "not the three standard streams", False
        if refused is None and self.stopping is not None:
            refused = "stopping", False
        if refused is not None:
            daemon.send_line(connection, {"refused": refused[0]})
            connection.close()
            if refused[1]:
                self._stop(f"a command runs {refused[0]}: gen changed on disk")
            return
        pid = os.fork()
        if pid == 0:
            self._child(connection, request, fds)
        self.children[pid] = connection, time.monotonic()
        log(f"build {pid} started: gen {' '.join(map(str, request.get('args', ())))}")
        self.selector.register(connection, selectors.EVENT_READ, self._client_gone(pid))

    def _client_gone(self, pid: int) -> Callable[[Any], None]:
        """What to do when the command's connection becomes readable: the command has gone
        (killed: it sends nothing more), so its build is terminated as it would have been."""

        def gone(connection: socket.socket) -> None:
            self.selector.unregister(connection)
            with contextlib.suppress(OSError):
                if connection.recv(1):
                    return
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
            log(f"build {pid}: its command went away, terminated")

        return gone

    def _reap(self) -> None:
        """Send each ended child's exit status to its command."""
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection, began = self.children.pop(pid, (None, 0.0))
            if connection is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(connection)
            if os.WIFSIGNALED(status):
                ended: dict[str, Any] = {"signal": os.WTERMSIG(status)}
            else:
                ended = {"exit": os.waitstatus_to_exitcode(status)}
            self.builds += 1
            self.last_active = time.monotonic()
            # Logged before the command hears of it (tests and bench/daemon.py read the log).
            # CPU: the child's and that of the processes it waited for (its worker, ruff).
            log(
                f"build {pid}: {ended}, {self.last_active - began:.3f} s wall, "
                f"{usage.ru_utime + usage.ru_stime:.3f} s CPU"
            )
            daemon.send_line(connection, ended)
            connection.close()

    def _child(self, connection: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        """The forked child: become the command's process and run it; never returns."""
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
                signal.signal(number, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.selector.close()
            for fd in (self.wake_read, self.wake_write):
                os.close(fd)
            for other in (self.listener, self.lock, *(c for c, _ in self.children.values())):
                if other is not None:
                    other.close()
            for other in self.stop_connections:
                other.close()
            take_on(request, fds)
            daemon.send_line(connection, {"started": os.getpid()})
            connection.close()
            collect_never()
            code = run_command(request)
        except BaseException:
            with contextlib.suppress(BaseException):
                traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(BaseException):
                    stream.flush()
            os._exit(code)


def _ignore(number: int, frame: FrameType | None) -> None:
    """SIGCHLD's handler: its only use is to wake the loop (signal.set_wakeup_fd)."""


def take_on(request: dict[str, Any], fds: list[int]) -> None:
    """Become the command's process: its folder, environment, umask and, last (what fails
    before goes to the daemon's log), its standard streams."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.umask(int(request["umask"]))
    sys.argv = [str(arg) for arg in request["argv"]]
    # The script's folder or the current one: the stamp leaves the latter out of its digest.
    sys.path[0] = str(request["path0"])
    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_CTYPE, "")  # what the interpreter's start does, from env
    tempfile.tempdir = None  # found again from TMPDIR, if anything asked before
    streams = [_text_stream(fd, settings) for fd, settings in enumerate(request["streams"])]
    sys.stdout.flush()
    sys.stderr.flush()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin, sys.stdout, sys.stderr = streams


def _text_stream(fd: int, settings: dict[str, Any]) -> io.TextIOWrapper:
    """A text stream on fd set up as the command's own was (encoding, errors, buffering)."""
    raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
    buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered,
        encoding=settings["encoding"],
        errors=settings["errors"],
        line_buffering=bool(settings["line_buffering"]),
        write_through=bool(settings["write_through"]),
    )


def run_command(request: dict[str, Any]) -> int:
    """Run `gen ARGS` as the command would have; its exit code."""
    from generator import cli

    handed = request.get("handed")
    if isinstance(handed, dict):
        cli.HANDED = cli.Handed(str(handed["code"]), handed["inputs"])
    try:
        cli.main.main(
            args=list(request["args"]), prog_name=str(request["prog"]), standalone_mode=True
        )
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # outside click's own handling: as Python ends, by the signal
        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0
