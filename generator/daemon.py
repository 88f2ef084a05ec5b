"""`gen daemon`: a warm process that `gen build` and `gen check` hand their builds to.

The daemon imports the pipeline and compiles every template once, then listens on a Unix socket
in a 0700 folder of gen's cache (``~/.cache/gen/daemon/``, one socket per interpreter and gen
installation). A command whose stamp says a build is needed (generator/stamp.py: the no-op stays
in the command) connects, and sends its arguments, working folder, environment, umask, the
settings of its standard streams and the streams themselves (SCM_RIGHTS). The daemon checks
that the peer is its own user and runs the same gen (``identity``), then forks a child that
takes on the caller's streams, folder, environment and umask and runs the command as `gen`
would: its output goes straight to the caller's terminal or pipes, and no state of one build
reaches the next (as in `gen watch`). The daemon sends back the child's exit status; the
command forwards SIGINT, SIGTERM and SIGHUP to the child, and a command that goes away has its
child terminated. A command that finds no daemon, a daemon of another gen, or a daemon that
fails before the child starts, builds in its own process.

What the child does not take on: the command's resource limits, nice value, cgroup and
controlling terminal (it has the daemon's); the output is the same, the scheduling may not be.

The daemon exits after ``--idle-timeout`` seconds without a build, on `gen daemon stop` or
SIGTERM (after the builds it runs), and when gen's own files or the installed distributions
differ from those it loaded (it looks every few seconds, and every command sends its digest).

Protocol (one connection per request): the command sends a 4-byte big-endian length and a JSON
object, its three descriptors riding with the first bytes; the daemon answers with JSON lines:
``{"refused": why}``, or ``{"started": pid}`` then ``{"exit": code}`` or ``{"signal": number}``;
``{"status": {...}}``; ``{"stopping": pid}``, then the end of the stream once it has exited.

This module's command side imports only the standard library and generator.stamp: the command
that talks to a daemon never loads Pydantic, Jinja2 or SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import signal
import socket
import stat
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from generator import stamp

if TYPE_CHECKING:
    from generator.cli import Handed

PROTOCOL = 1
FOLDER = "daemon"
#: How often a daemon without work looks at gen's files.
CHECK_SECONDS = 5.0
#: How long a command waits for the daemon to accept and answer before building itself.
ANSWER_SECONDS = 30.0
#: How long `gen daemon start` waits for the daemon to load gen and listen.
START_SECONDS = 300.0
#: The longest path a Unix socket address holds (sun_path, with its terminating NUL).
SUN_PATH_MAX = 107
#: Exit code of a command whose daemon ended during its build (as `gen watch`'s crashed build).
EXIT_DAEMON_DIED = 70
#: A longer log is started afresh by the next start.
LOG_MAX_BYTES = 1024 * 1024
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GEN_ROOT = Path(__file__).resolve().parent
_LENGTH = struct.Struct(">I")
_MAX_REQUEST = 16 * 1024 * 1024


class DaemonError(Exception):
    """A daemon could not be reached, started or stopped (the text says why)."""


def supported() -> bool:
    """True where the daemon can run: fork, Unix sockets, descriptor passing, peer credentials."""
    return hasattr(os, "fork") and all(
        hasattr(socket, name) for name in ("AF_UNIX", "SO_PEERCRED", "send_fds", "recv_fds")
    )


class Place:
    """Where the daemon of this interpreter, environment (sys.prefix) and gen lives under a
    cache root."""

    def __init__(self, cache_root: Path) -> None:
        self.folder = cache_root / FOLDER
        key = f"{interpreter()}\0{sys.prefix}\0{GEN_ROOT}".encode("utf-8", "surrogateescape")
        name = hashlib.sha256(key).hexdigest()[:16]
        self.socket = self.folder / f"{name}.sock"
        self.lock = self.folder / f"{name}.lock"
        self.log = self.folder / f"{name}.log"

    def secure_folder(self) -> None:
        """Create the folder, 0700; raise DaemonError when it is not this user's own."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.private():
            info = os.lstat(self.folder)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                raise DaemonError(f"{self.folder} is not a folder of this user's")
            os.chmod(self.folder, 0o700)

    def private(self) -> bool:
        """True when the folder exists, is this user's and no one else may enter it."""
        try:
            info = os.lstat(self.folder)
        except OSError:
            return False
        return (
            stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
        )


@contextlib.contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """``path`` as a socket address; through /proc/self/fd (Linux) when it is longer than
    sun_path holds (a HOME deep in a test's temporary folder)."""
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        yield str(path)
        return
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


def interpreter() -> str:
    """The interpreter's file: `python` and `python3` of one virtual environment are one (the
    environment itself is told apart by sys.path, in ``identity``)."""
    return os.path.realpath(sys.executable)


def identity(code: str, cache_root: Path) -> dict[str, Any]:
    """What must be equal for a daemon to build for a command: the same interpreter, flags,
    import path, gen code (``stamp.code_digest()``), installed distributions and cache."""
    path = sys.path[1:]  # sys.path[0] is the script's folder or the current one
    return {
        "protocol": PROTOCOL,
        "executable": interpreter(),
        "version": sys.version,
        "root": str(GEN_ROOT),
        "code": code,
        "distributions": stamp.distributions(path),
        "path": path,
        "flags": list(sys.flags),
        "warnoptions": list(sys.warnoptions),
        "uid": os.getuid(),
        "cache_root": str(cache_root),
    }


#: Identity fields whose difference means the daemon runs code no longer on disk.
STALE_FIELDS = ("version", "code", "distributions")


def refusal(own: dict[str, Any], theirs: object) -> tuple[str, bool] | None:
    """Why a daemon of identity ``own`` must not build for ``theirs``, and whether that makes
    the daemon stale; None when it may."""
    if not isinstance(theirs, dict):
        return "no identity", False
    for name, value in own.items():
        if theirs.get(name) != value:
            return f"another {name}", name in STALE_FIELDS
    return None


# --- the wire ---------------------------------------------------------------------------------


def send_request(connection: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    payload = json.dumps(request).encode("ascii")
    data = _LENGTH.pack(len(payload)) + payload
    sent = socket.send_fds(connection, [data], fds) if fds else connection.send(data)
    if sent < len(data):  # the daemon may have answered and closed once it had it all
        connection.sendall(data[sent:])


def receive_request(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The request and the descriptors that came with it; ValueError when malformed."""
    data, fds, _, _ = socket.recv_fds(connection, 65536, 3)
    try:
        while len(data) < _LENGTH.size or len(data) < _LENGTH.size + _LENGTH.unpack_from(data)[0]:
            if len(data) >= _LENGTH.size and _LENGTH.unpack_from(data)[0] > _MAX_REQUEST:
                raise ValueError("request too long")
            more = connection.recv(65536)
            if not more:
                raise ValueError("request cut short")
            data += more
        request = json.loads(data[_LENGTH.size :])
        if not isinstance(request, dict):
            raise ValueError("request is no object")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return request, fds


def send_line(connection: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        connection.sendall(json.dumps(message).encode("ascii") + b"\n")


def peer_uid(connection: socket.socket) -> int:
    creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def connect(place: Place, timeout: float = ANSWER_SECONDS) -> socket.socket | None:
    """A connection to the daemon at ``place``, run by this user; None when there is none."""
    if not supported() or not place.private() or not place.socket.exists():
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    try:
        with socket_address(place.socket) as address:
            connection.connect(address)
        if peer_uid(connection) != os.getuid():
            raise OSError("the socket's owner is another user")
    except OSError:
        connection.close()
        return None
    return connection


def _ask(place: Place, request: dict[str, Any]) -> tuple[socket.socket, Any] | None:
    """Send a request without descriptors; the connection and the first answer line."""
    connection = connect(place)
    if connection is None:
        return None
    try:
        send_request(connection, request, [])
        line = connection.makefile("rb").readline()
        return connection, json.loads(line)
    except (OSError, ValueError):
        connection.close()
        return None


# --- the command's side -------------------------------------------------------------------------


def _own_streams() -> bool:
    """True when sys.stdin/stdout/stderr are the process's own, on descriptors 0, 1 and 2 (not
    a test runner's capture: the daemon writes to the descriptors)."""
    pairs: tuple[tuple[Any, Any], ...] = (
        (sys.stdin, sys.__stdin__),
        (sys.stdout, sys.__stdout__),
        (sys.stderr, sys.__stderr__),
    )
    for fd, (stream, original) in enumerate(pairs):
        if stream is None or stream is not original:
            return False
        try:
            if stream.fileno() != fd:
                return False
        except (OSError, ValueError, AttributeError):
            return False
    return True


def _stream_settings() -> list[dict[str, Any]]:
    return [
        {
            "encoding": stream.encoding,
            "errors": stream.errors,
            "line_buffering": stream.line_buffering,
            "write_through": getattr(stream, "write_through", False),
        }
        for stream in (sys.stdin, sys.stdout, sys.stderr)
    ]


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


class _Forwarder:
    """SIGINT, SIGTERM and SIGHUP sent on to the child once its pid is known (kept until then)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.pending: list[int] = []
        self.previous = {number: signal.signal(number, self._handle) for number in FORWARDED}

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.pid is None:
            self.pending.append(number)
        else:
            with contextlib.suppress(OSError):
                os.kill(self.pid, number)

    def started(self, pid: int) -> None:
        self.pid = pid
        for number in self.pending:
            with contextlib.suppress(OSError):
                os.kill(pid, number)

    def restore(self) -> None:
        """The previous handlers back, and a signal that came before any child, raised here."""
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        if self.pid is None:
            for pending in self.pending:
                signal.raise_signal(pending)


def run_command(
    args: list[str], prog_name: str, cache_root: Path, handed: Handed, start: float | None
) -> int | None:
    """Run `gen ARGS` in the daemon and return its exit code (the command dies by the child's
    signal); None when it must run in this process: no daemon (``start``: the idle timeout of
    one to start when none runs; none could be started), another gen's, the streams not the
    process's own, or a failure before the child started. ``handed``: the command's digests,
    which the child uses."""
    if not supported() or not _own_streams() or not _main_thread():
        return None
    own = identity(handed.code, cache_root)
    request = {
        "kind": "build",
        "identity": own,
        "handed": {"code": handed.code, "inputs": handed.inputs},
        "args": args,
        "prog": prog_name,
        "argv": sys.argv,
        "path0": sys.path[0] if sys.path else "",
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": _umask(),
        "streams": _stream_settings(),
    }
    sys.stdout.flush()
    sys.stderr.flush()
    exit_code = _attempt(Place(cache_root), request)
    if exit_code is None and start is not None:
        # None answered, or one of another gen did (start_daemon replaces it).
        with contextlib.suppress(DaemonError, OSError):
            pid = start_daemon(cache_root, own, start)
            print(f"gen: started a daemon (pid {pid}; `gen daemon stop` ends it)", file=sys.stderr)
            exit_code = _attempt(Place(cache_root), request)
    return exit_code


def _attempt(place: Place, request: dict[str, Any]) -> int | None:
    """One request to the daemon at ``place`` (see ``run_command``)."""
    connection = connect(place)
    if connection is None:
        return None
    forwarder = _Forwarder()
    try:
        return _converse(connection, request, forwarder)
    finally:
        connection.close()
        forwarder.restore()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _converse(
    connection: socket.socket, request: dict[str, Any], forwarder: _Forwarder
) -> int | None:
    answers = connection.makefile("rb")
    try:
        send_request(connection, request, [0, 1, 2])
        first = json.loads(answers.readline())
        if not isinstance(first, dict) or "started" not in first:
            return None
    except (OSError, ValueError):
        return None
    forwarder.started(int(first["started"]))
    connection.settimeout(None)  # a build takes as long as it takes
    try:
        last = json.loads(answers.readline())
    except (OSError, ValueError):
        last = None
    if isinstance(last, dict) and "exit" in last:
        return int(last["exit"])
    if isinstance(last, dict) and "signal" in last:
        forwarder.restore()
        number = int(last["signal"])
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        return 128 + number
    print("gen: error: the gen daemon ended during the build", file=sys.stderr)
    return EXIT_DAEMON_DIED


# --- start, stop, status ----------------------------------------------------------------------


def status(cache_root: Path) -> dict[str, Any] | None:
    """What the daemon under cache_root says of itself; None when none answers."""
    asked = _ask(Place(cache_root), {"kind": "status"})
    if asked is None:
        return None
    connection, answer = asked
    connection.close()
    found = answer.get("status") if isinstance(answer, dict) else None
    return found if isinstance(found, dict) else None


def stop_daemon(cache_root: Path, timeout: float = 600.0) -> int | None:
    """Stop the daemon (after the builds it runs); its pid, or None when none answered."""
    asked = _ask(Place(cache_root), {"kind": "stop"})
    if asked is None:
        return None
    connection, answer = asked
    with connection:
        connection.settimeout(timeout)
        try:
            while connection.recv(4096):  # the daemon holds the stream open until it exits
                pass
        except OSError as exc:
            raise DaemonError(f"the daemon did not stop within {timeout:.0f} s") from exc
    return int(answer["stopping"]) if isinstance(answer, dict) and "stopping" in answer else None


def start_daemon(cache_root: Path, own: dict[str, Any], idle_seconds: float) -> int:
    """Start a daemon unless one serving this gen runs (one of another gen is stopped first);
    return its pid once it listens. Raises DaemonError when it cannot start."""
    import subprocess

    found = status(cache_root)
    if found is not None:
        if refusal(found.get("identity", {}), own) is None:
            return int(found["pid"])
        stop_daemon(cache_root)
    place = Place(cache_root)
    place.secure_folder()
    with contextlib.suppress(OSError):
        if place.log.stat().st_size > LOG_MAX_BYTES:
            place.log.unlink()
    ready, ready_for_child = os.pipe()
    try:
        with open(place.log, "ab") as log:
            starter = subprocess.Popen(
                [
                    *(sys.executable, "-m", "generator", "daemon", "serve"),
                    *("--idle-timeout", repr(idle_seconds), "--ready-fd", str(ready_for_child)),
                ],
                cwd=GEN_ROOT.parent,  # `-m generator` finds the gen this command runs
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(ready_for_child,),
                start_new_session=True,
            )
        os.close(ready_for_child)
        ready_for_child = -1
        starter.wait()  # it forks the daemon and exits
        with os.fdopen(ready, "rb") as answer:
            ready = -1
            # The end of the stream: the daemon ended instead; nothing in time: it hangs.
            readable, _, _ = select.select([answer], [], [], START_SECONDS)
            line = answer.readline() if readable else b""
    finally:
        for fd in (ready, ready_for_child):
            if fd >= 0:
                os.close(fd)
    if line.startswith(b"ready "):
        return int(line.split()[1])
    found = status(cache_root)  # another command may have started one meanwhile
    if found is not None and refusal(found.get("identity", {}), own) is None:
        return int(found["pid"])
    tail = place.log.read_text(encoding="utf-8", errors="replace")[-2000:]
    raise DaemonError(f"the daemon did not start ({place.log}):\n{tail}")
