"""The local backend: a transport that runs the worker as a child process on this machine,
inside bubblewrap (``isolation = "sandbox"``) or as a plain process (``"process"``).

Either way the worker runs as a user that is not root (see identity.py), in a folder of its
session's own holding a copy of the project (see workspace.py), with the resource limits, and
everything it leaves behind is killed when the session ends: by its PID namespace (sandbox),
its cgroup (where one can be made), its user (when it is a user of its own) or its supervisor,
which adopts orphaned processes (plain processes).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docvalidate.backends import seccomp
from docvalidate.backends.access import trusted_program
from docvalidate.backends.base import BackendError, Job, Limits, Received, time_left
from docvalidate.backends.cgroup import Cgroup, ThreadCgroups
from docvalidate.backends.identity import IDENTITIES, Identity
from docvalidate.backends.leftovers import kill_user, sweep_user
from docvalidate.backends.runfolder import RunFolder
from docvalidate.backends.sandbox import Layout, as_user, bwrap_command, drop_to
from docvalidate.backends.view import View, ViewError, make_view
from docvalidate.protocol import STACK_SIGNAL, max_frame
from docvalidate.workspace import Snapshot, Survey, Surveys, materialize

WORKER = Path(__file__).with_name("worker.py")
# The child sees only these variables of ours (plus what the user names): never API keys.
ALLOWED_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "SYSTEMROOT", "TMPDIR")
POLL = 0.2  # seconds between checks for cancellation while a block runs
DIAGNOSTICS = 64 * 1024  # bytes kept of the worker's own stderr (the end)
STACK_WAIT = 2.0  # seconds a stuck worker gets to write its stack dump
_CREDENTIALS = struct.calcsize("3i")


def child_environment(
    environ: Mapping[str, str], extra: Mapping[str, str], pass_env: Sequence[str]
) -> dict[str, str]:
    env = {
        k: v for k, v in environ.items() if k in ALLOWED_ENV or k.startswith("LC_")
    }
    env.update({name: environ[name] for name in pass_env if name in environ})
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


@dataclass
class LocalBackend:
    python: str
    env: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    bwrap: str | None = None  # confine each session with bubblewrap when set
    network: bool = False
    readable: tuple[str, ...] = ()  # what the interpreter needs to read (its prefixes, sys.path)
    # Run the interpreter from a read-only view the sessions' user can read (view.py): as root
    # without the sandbox, for an interpreter under /root.
    view: bool = False
    name: str = "local"
    retries: int = 0  # nothing here fails but the example
    # Set by cancel() for the sessions running then; sessions started later get a new one,
    # so a cancelled run leaves the backend usable (a `mkdocs serve` rebuild after Ctrl-C).
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        _not_dumpable()
        self._cgroups = ThreadCgroups(self.limits.processes)
        self._identities = IDENTITIES
        self._folder = RunFolder()
        self._surveys = Surveys()
        self._lock = threading.Lock()
        self._accounts: tuple[Path, Path] | None = None
        self._views: dict[Path, View] = {}  # the interpreter's view, by run folder
        # Unchanged copies of a project, by project root and owner, ready for a session.
        self._copies: dict[tuple[Path, int], list[tuple[Path, Snapshot]]] = {}

    def cancel(self) -> None:
        with self._lock:
            stop, self._stop = self._stop, threading.Event()
        stop.set()

    def _stop_event(self) -> threading.Event:
        with self._lock:
            return self._stop

    def refresh(self) -> None:
        """The project's files may have changed (fix wrote a page, `mkdocs serve` saw an
        edit): look at them again, and drop the copies made from what they were."""
        self._surveys.clear()
        with self._lock:
            copies = [copy for pool in self._copies.values() for copy, _ in pool]
            self._copies.clear()
        for copy in copies:
            shutil.rmtree(copy, ignore_errors=True)

    def close(self) -> None:
        self._cgroups.close()
        with self._lock:
            self._copies.clear()
        self._folder.remove()
        with self._lock:
            self._accounts = None

    def usage(self) -> str:
        return ""

    def describe(self) -> list[str]:
        """What this backend does, one line each (shown with -v)."""
        return [f"project copy: {s.describe()}" for s in self._surveys.all()]

    def survey(self, root: Path) -> Survey:
        return self._surveys.get(root)

    def _account_files(self) -> tuple[Path, Path]:
        with self._lock:
            if self._accounts is None:
                self._accounts = self._identities.account_files(self._folder.path)
            return self._accounts

    @contextlib.contextmanager
    def connect(self, job: Job) -> Iterator[_Connection]:
        stop = self._stop_event()  # taken first: a cancel while the session starts stops it
        identity = self._identities.acquire()
        folder = self._folder.session()
        try:
            with self._started(job, identity, folder, stop) as conn:
                yield conn
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            self._identities.release(identity)

    @contextlib.contextmanager
    def _started(self, job: Job, identity: Identity, folder: Path, stop: threading.Event
                 ) -> Iterator[_Connection]:
        home = folder / "home"
        home.mkdir()
        owner = (identity.uid, identity.gid) if identity.switch else None
        if owner is not None:
            for path in (folder, home):
                os.chown(path, *owner)
        found = self.survey(job.root)
        reused = self._take_copy(job.root, identity.uid)
        copy, snapshot = reused if reused else (self._folder.copy(), None)
        if owner is not None and reused is None:
            os.chown(copy, *owner)
        cgroup = self._cgroups.current()
        counted = cgroup is not None and cgroup.caps_processes
        # Copies serve again only in the sandbox without network: elsewhere sessions running
        # at the same time can talk (abstract sockets) and hand each other open files,
        # written after any check.
        reusable = bool(self.bwrap) and not self.network
        filter_program = seccomp.program()
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The kernel attaches the writer's pid to every byte we read: how we know that an
        # answer came from the worker itself, not from a process an example started.
        parent_end.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        passed = [child_end.fileno()]
        # The examples' environment (config env and pass_env: LD_PRELOAD, PYTHONPATH...) is
        # set by `env -i` once the examples' user is in place, never for bwrap or setpriv,
        # which run as root before it.
        examples_env = {**self.env, "HOME": str(home), "TMPDIR": str(home)}
        python, interpreter_paths, worker_path = self._interpreter()
        worker = [*_with_env(examples_env), python, worker_path, str(child_end.fileno())]
        env = dict(TRUSTED_ENV)
        start_as: dict[str, object] = {}
        filter_read = None
        if self.bwrap:
            layout = Layout(copy=copy, root=job.root, home=home, shared=found.shared,
                            sockets=found.sockets,
                            accounts=self._account_files() if identity.dedicated else None)
            # Not the documents' folders: a page outside the project root (config cwd) would
            # show its folder's whole tree as it is on disk, sockets and .git included.
            readable: list[Path | str] = [*interpreter_paths, WORKER.parent]
            command = bwrap_command(self.bwrap, layout, readable, self.network,
                                    as_root=identity.switch)
            if filter_program is not None:
                filter_read = _pipe_with(filter_program)
                command += ["--seccomp", str(filter_read)]
                passed.append(filter_read)
            # bwrap starts as us (it must read what it shows); drop_to() switches user.
            command += [*drop_to(identity), *worker]
            settings: dict[str, Any] = {"root": str(job.root), "seccomp": None,
                        # A user of its own, or a user namespace of its own: the count is
                        # this session's.
                        "nproc": None if counted else "exact"}
        else:
            prefix = drop_to(identity, always=True)
            command = [*prefix, *worker, "--reaper"]
            if not prefix:
                # No setpriv here: the worker sets no_new_privs, and Popen switches user
                # before the interpreter starts (so the environment may be given to it).
                command.append("--no-new-privs")
                start_as = as_user(identity)
                env = examples_env
            if identity.dedicated and cgroup is None:
                command.append("--kill-uid")
            settings = {"root": str(copy), "seccomp": filter_program,
                        "nproc": None if counted else "exact" if identity.dedicated
                        else "relative"}
        diag_read, diag_write = os.pipe()
        try:
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=diag_write, pass_fds=passed, cwd=copy, env=env,
                start_new_session=True, **start_as)  # type: ignore[call-overload]
        except OSError as exc:
            parent_end.close()
            os.close(diag_read)
            raise BackendError(f"cannot start the Python interpreter {self.python}: "
                               f"{exc.strerror}") from None
        finally:
            child_end.close()
            os.close(diag_write)
            if filter_read is not None:
                os.close(filter_read)
        conn = _Connection(self, proc, parent_end, diag_read, job, settings,
                           sandboxed=bool(self.bwrap), stop=stop)
        try:
            if snapshot is None:
                # Copied while the interpreter starts: the worker waits for its setup, sent
                # after. Recorded as made, so that an untouched copy can serve again.
                materialize(found, copy, owner, stubs=bool(self.bwrap))
                snapshot = Snapshot.of(copy) if reusable else None
            yield conn
        finally:
            conn.close(cgroup, identity)
            # Everything the session ran is gone: the copy serves the next session of this
            # user only if nothing in it changed, else it goes.
            if snapshot is not None and snapshot.matches(copy):
                with self._lock:
                    self._copies.setdefault((job.root, identity.uid), []).append(
                        (copy, snapshot))
            else:
                shutil.rmtree(copy, ignore_errors=True)

    def _interpreter(self) -> tuple[str, tuple[str, ...], str]:
        """The interpreter to start, the folders it reads, and the worker's path."""
        if not self.view:
            return self.python, self.readable, str(WORKER)
        with self._lock:
            made = self._views.get(self._folder.path)
            if made is None:
                folder = self._folder.path / "interpreter"
                folder.mkdir()
                try:
                    made = make_view(folder, self.readable, (str(WORKER.parent),))
                except ViewError as exc:
                    raise BackendError(str(exc)) from None
                self._views = {self._folder.path: made}
        worker = made.shown.get(str(WORKER.parent), str(WORKER.parent))
        return made.python, made.paths, str(Path(worker) / WORKER.name)

    def _take_copy(self, root: Path, uid: int) -> tuple[Path, Snapshot] | None:
        with self._lock:
            pool = self._copies.get((root, uid))
            taken = pool.pop() if pool else None
        if taken is not None and not taken[1].matches(taken[0]):
            shutil.rmtree(taken[0], ignore_errors=True)  # changed while it waited: never
            return None
        return taken


def _not_dumpable() -> None:
    """Make docvalidate's own process non-dumpable: its /proc files (environ, with the API
    key; mem; fd) then belong to root, and it cannot be traced, so plain processes running as
    the same user (an ordinary user without the sandbox) cannot read them."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE


TRUSTED_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8"}


def _with_env(env: Mapping[str, str]) -> list[str]:
    """The command prefix that starts what follows with exactly ``env``."""
    return [trusted_program("env") or "/usr/bin/env", "-i",
            *(f"{name}={value}" for name, value in env.items())]


def _pipe_with(data: bytes) -> int:
    """The read end of a pipe holding ``data`` (small: it fits in the pipe's buffer)."""
    read, write = os.pipe()
    try:
        os.write(write, data)
    finally:
        os.close(write)
    return read


class _Connection:
    def __init__(self, backend: LocalBackend, proc: subprocess.Popen[bytes],
                 sock: socket.socket, diag: int, job: Job, settings: dict[str, Any],
                 sandboxed: bool, stop: threading.Event) -> None:
        self.backend, self.proc, self.sock, self.diag = backend, proc, sock, diag
        self.stop = stop  # set when the backend is cancelled while this session runs
        self.settings = settings
        self.sandboxed = sandboxed
        self.limit = max_frame(job.max_output)
        self.buffer = bytearray()
        self.scanned = 0  # bytes of the buffer known to hold no newline
        self.worker: int | None = None  # the worker's pid, from its first answer
        self.worker_fd: int | None = None
        self.tail = bytearray()
        self.diag_open = True

    # -- moving bytes --------------------------------------------------------------------

    def send(self, frame: bytes, deadline: float) -> Received | None:
        # Never a blocking sendall: a worker that stops reading (an example can stop it with
        # SIGSTOP) must not hang docvalidate on a full socket buffer.
        view = memoryview(frame)
        while view:
            remaining = time_left(self.stop, deadline)
            if isinstance(remaining, Received):
                return remaining
            if not select.select([], [self.sock], [], min(remaining, POLL))[1]:
                continue
            try:
                view = view[self.sock.send(view, socket.MSG_DONTWAIT):]
            except BlockingIOError:
                continue
            except OSError:
                return None  # the worker is gone: receiving says so, with its exit status
        return None

    def receive(self, deadline: float) -> Received:
        while True:
            end = self.buffer.find(b"\n", self.scanned)
            if end >= 0:
                frame = bytes(self.buffer[:end])
                del self.buffer[:end + 1]
                self.scanned = 0
                return Received("frame", frame)
            self.scanned = len(self.buffer)
            if len(self.buffer) > self.limit:
                return Received("forged", detail=f"an answer over {self.limit} bytes")
            remaining = time_left(self.stop, deadline)
            if isinstance(remaining, Received):
                return remaining
            watched = [self.sock] + ([self.diag] if self.diag_open else [])
            ready, _, _ = select.select(watched, [], [], min(remaining, POLL))
            if self.diag in ready:
                self._drain_diagnostics()
            if self.sock not in ready:
                continue
            try:
                data, ancillary, _, _ = self.sock.recvmsg(
                    1 << 20, socket.CMSG_SPACE(_CREDENTIALS))
            except OSError:
                return Received("closed")
            if not data:
                return Received("closed")
            sender = _sender(ancillary)
            if sender is None:
                return Received("forged", detail="a writer the kernel did not name")
            if self.worker is None:
                self._adopt(sender)  # the first answer comes before any example code runs
            elif sender != self.worker:
                return Received("forged", detail=f"process {sender} wrote into it")
            self.buffer += data

    def _adopt(self, pid: int) -> None:
        """The worker is ``pid``; a pidfd keeps signals from reaching another process that
        reuses the number once the worker is gone."""
        self.worker = pid
        with contextlib.suppress(OSError, AttributeError):
            self.worker_fd = os.pidfd_open(pid)

    def _signal(self, signum: int) -> bool:
        """Send the worker a signal; False when it is gone."""
        try:
            if self.worker_fd is not None:
                signal.pidfd_send_signal(self.worker_fd, signum)
            elif self.worker is not None:
                os.kill(self.worker, signum)
            else:
                return False
        except OSError:
            return False
        return True

    def _drain_diagnostics(self) -> bool:
        try:
            chunk = os.read(self.diag, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.diag_open = False
            return False
        self.tail += chunk
        if len(self.tail) > DIAGNOSTICS:
            del self.tail[:-DIAGNOSTICS]
        return True

    def stack(self) -> str:
        """Signal the worker to dump its stack (faulthandler), and read what it writes."""
        if self.worker is None or not self.diag_open:
            return ""
        while self.diag_open and select.select([self.diag], [], [], 0)[0]:
            self._drain_diagnostics()  # what came before is not the dump
        self.tail.clear()
        if not self._signal(STACK_SIGNAL):
            return ""
        deadline = time.monotonic() + STACK_WAIT
        while self.diag_open:
            # After the first bytes, a short silence means the dump is complete; an example
            # writing there without pause only gets the rest of STACK_WAIT.
            left = deadline - time.monotonic()
            wait = min(0.1, left) if self.tail else left
            if wait <= 0 or not select.select([self.diag], [], [], wait)[0]:
                break
            self._drain_diagnostics()
        return self.tail.decode("utf-8", "replace").strip()

    def exit_status(self) -> tuple[int | None, str]:
        try:
            code: int | None = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        while self.diag_open and select.select([self.diag], [], [], 0.05)[0]:
            self._drain_diagnostics()
        if code is not None and code > 128:
            # bubblewrap and our supervisor report a child killed by signal N as 128 + N.
            code = 128 - code
        return code, self.tail.decode("utf-8", "replace").strip()

    def supervisor_alive(self) -> bool:
        return self.proc.poll() is None

    # -- ending the session --------------------------------------------------------------

    def close(self, cgroup: Cgroup | None, identity: Identity) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        self._signal(signal.SIGKILL)
        if self.worker_fd is not None:
            os.close(self.worker_fd)
        # With the worker gone, what we started ends by itself, and waiting for it is what
        # tells us the session is over: bwrap's init ends the PID namespace (the kernel kills
        # and reaps everything in it first); the supervisor kills what the examples left.
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything still in its process group
        if cgroup is not None:
            cgroup.kill_all()
        elif identity.dedicated and not self.sandboxed:
            kill_user(identity.uid)
        if identity.dedicated and not self.sandboxed:
            sweep_user(identity.uid)
        self.proc.wait()
        os.close(self.diag)


def _sender(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid, _, _ = struct.unpack("3i", data[:_CREDENTIALS])
            return pid
    return None
