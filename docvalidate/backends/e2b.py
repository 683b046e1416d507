"""The E2B backend: each session runs docvalidate's own worker inside a code context of an E2B
sandbox (a Jupyter kernel in a remote VM), through the ``e2b-code-interpreter`` SDK.

A transport only, like the local backend: it starts the one worker program (defined once per
context, then each block is sent through it), moves its frames, and removes the context. The
kernel's own display, traceback format and line numbering never reach a verdict: the worker
captures the example's output and describes its errors exactly as it does locally, and
``protocol.py`` judges its answers.

* A frame to the worker is a cell that hands the block (marshal bytes, as locally) to the
  worker; the worker's answer is one line on the cell's stdout after a marker of this
  connection's own. Examples' output never reaches that stream: the worker captures it.
* Sandboxes come from a pool of at most ``jobs`` (and ``e2b.max_sandboxes``), made lazily,
  no faster than the service allows, reused across sessions, kept alive while in use, and all
  killed when the backend closes (the engine closes it on every way out).
* Each session gets a code context of its own and a fresh copy of the project, uploaded once
  per sandbox; the context is removed when the session ends.
* Trouble of the service (a sandbox that cannot be made, 429, 502, 503, a dropped stream, a
  context that vanished) is a "fault", never the example's failure: the runner retries the
  session, and reports the example as an error when the retries are spent.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import gzip
import hashlib
import io
import os
import queue
import secrets
import tarfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from docvalidate.backends.base import (
    BackendError,
    BackendFault,
    Job,
    Limits,
    Received,
    time_left,
)
from docvalidate.backends.local import WORKER
from docvalidate.protocol import max_frame
from docvalidate.workspace import Entry, Survey, Surveys

REMOTE = "/tmp/docvalidate"  # where projects and sessions live in a sandbox
POLL = 0.2  # seconds between checks for cancellation
GRACE = 30.0  # seconds the SDK waits for an execution beyond the block's own limit
UPLOAD_CHUNK = 4 * 1024 * 1024  # bytes of base64 per cell when uploading a project
CREATE_INTERVAL = 1.0  # seconds between sandbox creations (the free tier's rate)
CREATE_TRIES = 4  # attempts to make a sandbox before the session is lost to the fault
CREATE_BACKOFF = 1.0  # seconds before the second attempt; doubled each time
SPARE_WAIT = 60.0  # seconds to wait for a context made ahead
STACK_WAIT = 2.0  # seconds to wait for a stuck session's stack dump
PIP_TIMEOUT = 600.0  # seconds for one pip install in a sandbox


@dataclass(frozen=True)
class E2BSettings:
    """``[tool.docvalidate.e2b]`` and what the environment says (the key, debug mode)."""

    template: str | None = None
    lifetime: int = 300  # e2b.timeout: seconds a sandbox lives unless extended
    max_sandboxes: int = 20
    requirements: tuple[str, ...] = ()
    install_project: bool = False
    upload: tuple[str, ...] | None = None  # globs; None: the project as a local session sees it
    api_key: str | None = None
    debug: bool = False


class Sandboxes(Protocol):
    """How sandboxes are made, kept alive and ended: the SDK's control plane. The pool's logic
    is tested through this seam (in debug mode the SDK makes no control-plane calls)."""

    def create(self) -> Any: ...

    def extend(self, sandbox: Any, seconds: int) -> None: ...

    def kill(self, sandbox: Any) -> None: ...


class SdkSandboxes:
    """Sandboxes made by the real SDK."""

    def __init__(self, settings: E2BSettings) -> None:
        self.settings = settings

    def create(self) -> Any:
        from e2b_code_interpreter import Sandbox

        options: dict[str, Any] = {"timeout": self.settings.lifetime, "envs": {}}
        if self.settings.template:
            options["template"] = self.settings.template
        if self.settings.debug:
            options["debug"] = True
        else:
            options["api_key"] = self.settings.api_key
        return Sandbox.create(**options)

    def extend(self, sandbox: Any, seconds: int) -> None:
        sandbox.set_timeout(seconds)

    def kill(self, sandbox: Any) -> None:
        sandbox.kill()


def is_fault(exc: BaseException) -> bool:
    """Whether an exception of the SDK (or its HTTP layer) is trouble of the service, not of
    the example: worth retrying, never the example's failure."""
    import httpx
    from e2b.exceptions import (
        NotFoundException,
        RateLimitException,
        SandboxException,
        ServiceBusyException,
        TimeoutException,
    )

    return isinstance(exc, (RateLimitException, TimeoutException, ServiceBusyException,
                            NotFoundException, SandboxException, httpx.HTTPError, OSError))


@dataclass
class _Slot:
    """One sandbox of the pool and what it holds."""

    sandbox: Any
    expires: float  # time.monotonic() when it ends unless extended
    # local root -> (remote copy, digest of what was uploaded); ``current``: the roots whose
    # copy was checked against the project since the last refresh
    projects: dict[Path, tuple[str, str]] = field(default_factory=dict)
    current: set[Path] = field(default_factory=set)
    control: Any = None  # a code context of docvalidate's own: uploads, stack dumps
    # The next session's code context, made while this one runs: a new context is a new
    # kernel, about a second that the next session would otherwise wait for.
    spare: Future[Any] | None = None
    sessions: int = 0
    born: float = field(default_factory=time.monotonic)


class _Pool:
    def __init__(self, sandboxes: Sandboxes, size: int, lifetime: int,
                 interval: float = CREATE_INTERVAL) -> None:
        self.sandboxes, self.size, self.lifetime, self.interval = (
            sandboxes, size, lifetime, interval)
        self._free: list[_Slot] = []
        self._all: list[_Slot] = []
        self._making = 0
        self._cond = threading.Condition()
        self._next_create = 0.0
        self._create_lock = threading.Lock()
        self.backoff = CREATE_BACKOFF
        self.made = 0
        self.lived = 0.0  # seconds the killed sandboxes lived, in all

    def acquire(self, stop: threading.Event) -> _Slot:
        slot: _Slot | None = None
        with self._cond:
            while True:
                if stop.is_set():
                    raise BackendError("the run was stopped")
                if self._free:
                    slot = self._free.pop()
                    break
                if len(self._all) + self._making < self.size:
                    self._making += 1
                    break
                self._cond.wait(POLL)
        if slot is None:
            try:
                slot = self._create()
            finally:
                with self._cond:
                    self._making -= 1
            with self._cond:
                self._all.append(slot)
        self.keep_alive(slot)
        return slot

    def _create(self) -> _Slot:
        """A new sandbox: no faster than the service allows (one creation per interval,
        whoever asks), and after a refusal for the rate (429) or a passing fault, again after
        a growing pause, a few times."""
        from e2b.exceptions import RateLimitException

        for attempt in range(CREATE_TRIES):
            with self._create_lock:
                wait = self._next_create - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self._next_create = time.monotonic() + self.interval
                try:
                    sandbox = self.sandboxes.create()
                    break
                except Exception as exc:
                    if attempt + 1 == CREATE_TRIES or not is_fault(exc):
                        raise
                    pause = self.backoff * 2 ** attempt
                    if isinstance(exc, RateLimitException):
                        pause *= 2  # the service said to slow down: slow down more
                    self._next_create = time.monotonic() + pause
        self.made += 1
        return _Slot(sandbox, time.monotonic() + self.lifetime)

    def keep_alive(self, slot: _Slot) -> None:
        """Extend a sandbox in use before it ends (a long run outlives ``e2b.timeout``)."""
        if slot.expires - time.monotonic() < self.lifetime / 2:
            self.sandboxes.extend(slot.sandbox, self.lifetime)
            slot.expires = time.monotonic() + self.lifetime

    def release(self, slot: _Slot, broken: bool = False) -> None:
        if broken:
            with self._cond:
                if slot in self._all:
                    self._all.remove(slot)
                self._cond.notify()
            self._kill(slot)
            return
        with self._cond:
            self._free.append(slot)
            self._cond.notify()

    def forget_current(self) -> None:
        """Every sandbox's project copies are checked against the project again (and
        uploaded again only when it changed)."""
        with self._cond:
            for slot in self._all:
                slot.current.clear()

    def usage(self) -> tuple[int, float]:
        """Sandboxes made so far, and the seconds they have lived (or lived) in all."""
        now = time.monotonic()
        with self._cond:
            return self.made, self.lived + sum(now - slot.born for slot in self._all)

    def close(self) -> None:
        with self._cond:
            slots, self._all, self._free = list(self._all), [], []
        for slot in slots:
            self._kill(slot)

    def _kill(self, slot: _Slot) -> None:
        self.lived += time.monotonic() - slot.born
        # Killing a sandbox ends its contexts; docvalidate's own is removed first all the same
        # (a sandbox that outlives the kill, as in debug mode, keeps nothing of ours).
        contexts = [slot.control]
        if slot.spare is not None:
            with contextlib.suppress(Exception):
                contexts.append(slot.spare.result(timeout=SPARE_WAIT))
        for context in contexts:
            if context is not None:
                with contextlib.suppress(Exception):
                    slot.sandbox.remove_code_context(context)
        with contextlib.suppress(Exception):  # already gone is gone
            self.sandboxes.kill(slot.sandbox)


class E2BBackend:
    """Sessions in code contexts of E2B sandboxes (see the module's docstring)."""

    def __init__(self, settings: E2BSettings, limits: Limits, env: dict[str, str], jobs: int,
                 sandboxes: Sandboxes | None = None, retries: int = 3) -> None:
        self.settings = settings
        self.limits = limits
        self.env = dict(env)
        self.retries = retries
        self.name = "e2b"
        self._pool = _Pool(sandboxes or SdkSandboxes(settings),
                           max(1, min(jobs, settings.max_sandboxes)), settings.lifetime)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._surveys = Surveys()
        self._archives: dict[Path, tuple[Survey, tuple[Entry, ...], bytes, str]] = {}
        self._worker = WORKER.read_text(encoding="utf-8")
        # Work done beside the sessions: spare contexts made ahead, finished ones cleared.
        self._chores = ThreadPoolExecutor(max_workers=4, thread_name_prefix="e2b-chores")
        self._pending: set[Future[Any]] = set()
        self._uploaded: list[str] = []

    # -- Backend ---------------------------------------------------------------------------

    def cancel(self) -> None:
        with self._lock:
            stop, self._stop = self._stop, threading.Event()
        stop.set()

    def refresh(self) -> None:
        self._surveys.clear()
        with self._lock:
            self._archives.clear()
        self._pool.forget_current()

    def close(self) -> None:
        self._chores.shutdown(wait=True)  # clean-ups and spares finish before the kill
        self._pool.close()

    def describe(self) -> list[str]:
        with self._lock:
            return list(self._uploaded)

    def usage(self) -> str:
        made, lived = self._pool.usage()
        return (f"E2B: {made} sandbox{'es' * (made != 1)}, {lived:.0f} s of sandbox time"
                if made else "")

    @contextlib.contextmanager
    def connect(self, job: Job) -> Iterator[_Connection]:
        with self._lock:
            stop = self._stop
        try:
            slot = self._pool.acquire(stop)
        except BackendError:
            raise
        except Exception as exc:
            kind = BackendFault if is_fault(exc) else BackendError
            raise kind(f"E2B: could not create a sandbox: {_say(exc)}") from None
        broken = False
        context = None
        try:
            try:
                self._requirements(slot)
                project = self._project(slot, job.root)
                context = self._context(slot)
            except BackendError:
                raise
            except Exception as exc:
                broken = is_fault(exc)
                kind = BackendFault if broken else BackendError
                raise kind(f"E2B: could not prepare a session: {_say(exc)}") from None
            slot.sessions += 1
            folder = f"{REMOTE}/sessions/{secrets.token_hex(8)}"
            conn = _Connection(self, slot, context, job, project, folder, stop)
            try:
                yield conn
            finally:
                broken = conn.broken
        finally:
            if context is not None and not broken:
                # Cleared while the next session on this sandbox already runs.
                self._chore(self._clean, slot, context, folder)
            elif context is not None:
                with contextlib.suppress(Exception):
                    slot.sandbox.remove_code_context(context)
            self._pool.release(slot, broken=broken)

    def _context(self, slot: _Slot) -> Any:
        """A code context for a session (the spare one made ahead, if there is one), and
        the next spare on its way."""
        spare, slot.spare = slot.spare, None
        context = None
        if spare is not None:
            try:
                context = spare.result(timeout=SPARE_WAIT)
            except Exception:  # made ahead for nothing: make one now, and say why if not
                context = None
        if context is None:
            context = slot.sandbox.create_code_context()
        slot.spare = self._chore(slot.sandbox.create_code_context)
        return context

    def _chore(self, work: Any, *args: Any) -> Future[Any]:
        future = self._chores.submit(work, *args)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def settle(self, timeout: float = 60.0) -> None:
        """Wait for the work done beside the sessions (spare contexts, clean-ups)."""
        with self._lock:
            pending = list(self._pending)
        wait(pending, timeout=timeout)

    def _clean(self, slot: _Slot, context: Any, folder: str) -> None:
        """A session's context and folder go (the context first: its kernel ends)."""
        with contextlib.suppress(Exception):
            slot.sandbox.remove_code_context(context)
        with contextlib.suppress(Exception):
            slot.sandbox.run_code(
                f"import shutil, os\nshutil.rmtree({folder!r}, ignore_errors=True)\n"
                f"os.path.exists({folder + '.stack'!r}) and os.remove({folder + '.stack'!r})",
                context=self._control(slot), timeout=30)

    # -- the project ------------------------------------------------------------------------

    def _project(self, slot: _Slot, root: Path) -> str:
        """Where the project's files are in the sandbox: uploaded once per sandbox, and again
        only when they changed (a long-lived backend is refreshed before each run)."""
        known = slot.projects.get(root)
        if known is not None and root in slot.current:
            return known[0]
        found, entries, archive, digest = self._archive(root)
        if known is not None and known[1] == digest:
            slot.current.add(root)
            return known[0]
        remote = f"{REMOTE}/projects/{secrets.token_hex(8)}"
        control = self._control(slot)
        data = base64.b64encode(archive).decode("ascii")
        pieces = [data[i:i + UPLOAD_CHUNK] for i in range(0, len(data), UPLOAD_CHUNK)] or [""]
        stale = known[0] if known is not None else ""  # what it was before it changed
        _checked(slot.sandbox.run_code(
            f"import os, shutil\nos.makedirs({REMOTE + '/projects'!r}, exist_ok=True)\n"
            f"os.makedirs({REMOTE + '/sessions'!r}, exist_ok=True)\n"
            f"if {stale!r}:\n    shutil.rmtree({stale!r}, ignore_errors=True)", context=control))
        for n, piece in enumerate(pieces):
            mode = "w" if n == 0 else "a"
            _checked(slot.sandbox.run_code(
                f"open({remote + '.b64'!r}, {mode!r}).write({piece!r})", context=control))
        _checked(slot.sandbox.run_code(
            "import base64, io, os, tarfile\n"
            f"os.makedirs({remote!r}, exist_ok=True)\n"
            f"with tarfile.open(fileobj=io.BytesIO(base64.b64decode(open({remote + '.b64'!r})"
            ".read()))) as t:\n"
            f"    t.extractall({remote!r}, filter='data')\n"
            f"os.remove({remote + '.b64'!r})\n", context=control))
        files = sum(1 for e in entries if e.kind == "file")
        size = sum(e.size for e in entries if e.kind == "file")
        if self.settings.install_project:
            self._pip(slot, [remote], f"the project {root}")
        slot.projects[root] = (remote, digest)
        slot.current.add(root)
        said = (f"e2b upload: {root}: {files} file{'s' * (files != 1)} ({size / 1024:.0f} "
                f"KiB, {len(archive) / 1024:.0f} KiB compressed) to each sandbox")
        if self.settings.upload is not None:
            said += f", chosen by e2b.upload {list(self.settings.upload)}"
        elif found.shared:
            said += f"; not uploaded: {', '.join(found.shared[:8])}"
        with self._lock:
            if said not in self._uploaded:  # said once, however many sandboxes
                self._uploaded.append(said)
        return remote

    def _archive(self, root: Path) -> tuple[Survey, tuple[Entry, ...], bytes, str]:
        """What to upload of ``root`` (made once per run, whatever the number of sandboxes)."""
        with self._lock:
            made = self._archives.get(root)
        if made is None:
            found = self._surveys.get(root)
            entries = found.entries
            if self.settings.upload is not None:  # the config's globs replace the default
                entries = tuple(e for e in entries if e.kind != "dir" and any(
                    fnmatch.fnmatchcase(e.path, glob) for glob in self.settings.upload))
            archive = _archive(root, entries)
            made = (found, entries, archive, hashlib.sha256(archive).hexdigest())
            with self._lock:
                self._archives[root] = made
        return made

    def _requirements(self, slot: _Slot) -> None:
        """``e2b.requirements``, installed once in each new sandbox, one at a time so that a
        failure names its requirement."""
        if slot.sessions or not self.settings.requirements:
            return
        for requirement in self.settings.requirements:
            self._pip(slot, [requirement], f"requirement {requirement!r}")

    def _pip(self, slot: _Slot, arguments: list[str], what: str) -> None:
        text = self._printed(slot, (
            "import subprocess, sys\n"
            f"r = subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', "
            f"*{arguments!r}], capture_output=True, text=True)\n"
            "print(r.returncode)\nprint(r.stderr[-4000:])"), PIP_TIMEOUT)
        code, _, errors = text.partition("\n")
        if code.strip() != "0":
            last = [line for line in errors.splitlines() if line.strip()]
            raise BackendError(f"E2B: pip could not install {what}: "
                               f"{last[-1].strip() if last else 'exit ' + code.strip()}")

    def _control(self, slot: _Slot) -> Any:
        if slot.control is None:
            slot.control = slot.sandbox.create_code_context()
        return slot.control

    def read_remote(self, slot: _Slot, path: str) -> str:
        """A small text file of the sandbox ("" when it cannot be read)."""
        try:
            return self._printed(slot, f"import os\nif os.path.exists({path!r}):\n"
                                       f"    print(open({path!r}).read())", 10)
        except Exception:
            return ""

    def _printed(self, slot: _Slot, code: str, timeout: float) -> str:
        """What ``code`` prints, run in docvalidate's own context of the sandbox; raises
        BackendError when the code itself failed."""
        got: list[str] = []
        _checked(slot.sandbox.run_code(code, context=self._control(slot), timeout=timeout,
                                       on_stdout=lambda m: got.append(_line(m))))
        return "".join(got)


def _archive(root: Path, entries: Sequence[Entry]) -> bytes:
    """The project's files a session may see, as a gzip'd tar (what a local session copies)."""
    buffer = io.BytesIO()
    # mtime 0 in the gzip header: the same files make the same bytes (and digest) every run.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as packed, \
            tarfile.open(fileobj=packed, mode="w") as tar:
        for entry in entries:
            source = root / entry.path
            info = tarfile.TarInfo(entry.path)
            info.mode = entry.mode
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = entry.target
                tar.addfile(info)
            else:
                try:
                    data = source.read_bytes()
                except OSError:
                    continue
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _line(message: Any) -> str:
    """The text of an SDK output message."""
    return str(getattr(message, "line", message))


def _checked(execution: Any) -> Any:
    error = getattr(execution, "error", None)
    if error is not None:
        raise BackendError(f"{error.name}: {error.value}")
    return execution


def _say(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Connection:
    """One session in one code context."""

    def __init__(self, backend: E2BBackend, slot: _Slot, context: Any, job: Job,
                 project: str, folder: str, stop: threading.Event) -> None:
        self.backend, self.slot, self.context, self.job = backend, slot, context, job
        self.project, self.folder, self.stop = project, folder, stop
        # The worker gives the project root it is told to sys.path: the session's folder.
        self.settings: dict[str, Any] = {"root": folder, "nproc": "relative", "seccomp": None}
        self.marker = f"\x1edocvalidate-{secrets.token_hex(8)}:"
        self.limit = max_frame(job.max_output)
        self.events: queue.Queue[tuple[int, str, Any]] = queue.Queue()
        self.started = False
        self.running: threading.Thread | None = None  # the cell being executed
        self.cell = 0  # cells sent so far
        self.broken = False  # a fault: the sandbox is not to be trusted with more sessions
        self.tail = ""

    def send(self, frame: bytes, deadline: float) -> Received | None:
        if self.stop.is_set():
            return Received("cancelled")
        body = frame[4:]
        if not self.started:
            self.started = True
            code = (
                # The kernel's own history thread writes to stdout when its database fails
                # (many kernels share it): during a block that would be the example's output.
                "try:\n    get_ipython().history_manager.enabled = False\n"
                "except Exception:\n    pass\n"
                "import types as __dv_t\n"
                "__dv_w = __dv_t.ModuleType('docvalidate_worker')\n"
                "__dv_w.__file__ = '/docvalidate/worker.py'\n"
                f"exec(compile({self.backend._worker!r}, '/docvalidate/worker.py', 'exec'), "
                "__dv_w.__dict__)\n"
                f"__dv = __dv_w.embedded_setup({body!r}, {self.marker!r}, {self.project!r}, "
                f"{self.folder!r}, {self.backend.env!r})\n")
        else:
            code = f"__dv_w.embedded_run(__dv, {body!r}, {self.marker!r})\n"
        # The answer to the last cell arrives before its execution ends: let it end first, so
        # that what it says at its end is not read as the end of this one.
        while self.running is not None and self.running.is_alive():
            left = time_left(self.stop, deadline)
            if isinstance(left, Received):
                return left
            self.running.join(min(left, POLL))
        self.backend._pool.keep_alive(self.slot)
        timeout = max(1.0, deadline - time.monotonic()) + GRACE
        self.cell += 1
        self.running = threading.Thread(target=self._execute, args=(self.cell, code, timeout),
                                        daemon=True)
        self.running.start()
        return None

    def _execute(self, cell: int, code: str, timeout: float) -> None:
        """One cell, on a thread of its own; what happens goes to ``events``, tagged with the
        cell's number (events of a cell already answered are not read as this one's)."""
        pending = [""]
        size = [0]

        def stdout(message: Any) -> None:
            text = _line(message)
            size[0] += len(text)
            if size[0] > self.limit:
                self.events.put((cell, "forged", f"an answer over {self.limit} bytes"))
                return
            pending[0] += text
            while "\n" in pending[0]:
                line, pending[0] = pending[0].split("\n", 1)
                if line.startswith(self.marker):
                    self.events.put((cell, "frame", line[len(self.marker):].encode("utf-8")))

        try:
            execution = self.slot.sandbox.run_code(
                code, context=self.context, on_stdout=stdout, on_stderr=self._stderr,
                timeout=timeout)
        except Exception as exc:
            self.events.put((cell, "fault" if is_fault(exc) else "closed", _say(exc)))
            return
        error = getattr(execution, "error", None)
        if error is not None:  # the worker itself failed, outside any example
            self.events.put((cell, "closed", f"{error.name}: {error.value}"))
            return
        self.events.put((cell, "done", None))

    def _stderr(self, message: Any) -> None:
        self.tail = (self.tail + _line(message))[-4096:]

    def receive(self, deadline: float) -> Received:
        while True:
            remaining = time_left(self.stop, deadline)
            if isinstance(remaining, Received):
                return remaining
            try:
                cell, kind, data = self.events.get(timeout=min(remaining, POLL))
            except queue.Empty:
                continue
            if cell != self.cell:
                continue  # the end of a cell already answered
            if kind == "frame":
                return Received("frame", data)
            if kind == "done":
                # The execution ended without the worker's answer: a stream cut short (the
                # SDK reads an unexpected end of execution as a normal one).
                self.broken = True
                return Received("fault", detail="the E2B execution ended without an answer "
                                "(the stream was cut short)")
            if kind == "fault":
                self.broken = True
                return Received("fault", detail=f"E2B: {data}")
            if kind == "forged":
                return Received("forged", detail=data)
            self.tail = data
            return Received("closed")

    def stack(self) -> str:
        # The worker dumps its stack into the session's stack file just before the deadline.
        until = time.monotonic() + STACK_WAIT
        while True:
            text = self.backend.read_remote(self.slot, self.folder + ".stack")
            if text.strip() or time.monotonic() >= until:
                return text
            time.sleep(POLL)

    def exit_status(self) -> tuple[int | None, str]:
        return None, self.tail

    def supervisor_alive(self) -> bool:
        return True



def settings_from_env(values: dict[str, Any], environ: os._Environ[str] | dict[str, str]
                      ) -> E2BSettings:
    """E2B settings from the config's ``e2b`` table and the environment (the key comes from
    ``E2B_API_KEY`` only; ``E2B_DEBUG=true`` needs none)."""
    debug = environ.get("E2B_DEBUG", "").lower() in ("1", "true", "yes")
    upload = values.get("upload")
    return E2BSettings(
        template=values.get("template"),
        lifetime=int(values.get("timeout", 300)),
        max_sandboxes=int(values.get("max_sandboxes", 20)),
        requirements=tuple(values.get("requirements", ())),
        install_project=bool(values.get("install_project", False)),
        upload=None if upload is None else tuple(upload),
        api_key=environ.get("E2B_API_KEY") or None,
        debug=debug,
    )
