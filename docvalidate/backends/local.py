"""The local backend: each job runs in a child Python process in its own process group."""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from docvalidate.backends.base import BlockRun, Job, StatementRun
from docvalidate.backends.cgroup import ThreadCgroups
from docvalidate.backends.sandbox import bwrap_command, interpreter_paths
from docvalidate.model import ErrorInfo

WORKER = Path(__file__).with_name("worker.py")
# The child sees only these variables of ours (plus what the user names): never API keys.
ALLOWED_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "SYSTEMROOT", "TMPDIR")
UNPRIVILEGED = 65534  # "nobody": who examples run as when docvalidate runs as root
STARTUP_TIMEOUT = 60.0  # seconds for the interpreter to start and reach the first block
CANCEL_POLL = 0.2  # seconds between checks for Ctrl-C while a block runs


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


def make_scratch(root: Path) -> Path:
    """A fresh working folder in which the project root's entries are visible as symlinks."""
    scratch = Path(tempfile.mkdtemp(prefix="docvalidate-"))
    try:
        entries = list(root.iterdir())
    except OSError:
        entries = []
    for entry in entries:
        with contextlib.suppress(OSError):
            (scratch / entry.name).symlink_to(entry)
    return scratch


@dataclass(frozen=True)
class Limits:
    """Resource limits of the examples' interpreter (applied by the worker before any example
    runs, so they bind the example and everything it starts)."""

    cpu_seconds: int = 60
    memory_mb: int = 2048
    processes: int = 256
    file_size_mb: int = 64
    open_files: int = 256


@dataclass
class LocalBackend:
    python: str
    env: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    bwrap: str | None = None  # confine each session with bubblewrap when set
    network: bool = False
    # Run examples as UNPRIVILEGED when no pids cgroup is available to cap their processes
    # (docvalidate runs as root, which the kernel exempts from RLIMIT_NPROC).
    unprivileged: bool = False
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        self._cancelled.set()

    def __post_init__(self) -> None:
        self._cgroups = ThreadCgroups(self.limits.processes)

    def close(self) -> None:
        self._cgroups.close()

    def run(self, job: Job) -> Iterator[BlockRun]:
        scratch = make_scratch(job.root)
        cgroup = self._cgroups.current()
        drop = self.unprivileged and cgroup is None
        if drop:
            os.chown(scratch, UNPRIVILEGED, UNPRIVILEGED)
        try:
            yield from self._run(job, scratch, drop, nproc=cgroup is None)
        finally:
            if cgroup is not None:
                cgroup.kill_all()  # detached and double-forked processes included
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self, job: Job, scratch: Path, drop: bool, nproc: bool) -> Iterator[BlockRun]:
        payload = json.dumps({
            "filename": job.filename,
            "doc": job.doc,
            "root": str(job.root),
            "max_output": job.max_output,
            "limits": {
                "cpu": self.limits.cpu_seconds,
                "memory": self.limits.memory_mb * 1024 * 1024,
                "processes": self.limits.processes,
                "file_size": self.limits.file_size_mb * 1024 * 1024,
                "open_files": self.limits.open_files,
                "nproc": nproc,
            },
            "user": UNPRIVILEGED if drop else None,
            "blocks": [
                {
                    "source": block.source,
                    "timeout": block.timeout,
                    "trace_prints": block.trace_prints,
                    "statements": None if block.statements is None else [
                        {"source": st.source, "line": st.line} for st in block.statements
                    ],
                }
                for block in job.blocks
            ],
        }).encode("utf-8")
        read_fd, write_fd = os.pipe()
        # The worker's own stderr (start-up errors, stack dumps before a timeout); closed in
        # the finally below, after the generator is done with it.
        stderr = tempfile.TemporaryFile()  # noqa: SIM115
        env = {**self.env, "HOME": str(scratch)}
        command = [self.python, str(WORKER), str(write_fd)]
        if self.bwrap:
            readable: list[Path | str] = [job.root, *job.readable, WORKER.parent,
                                          *interpreter_paths(self.python)]
            command = [*bwrap_command(self.bwrap, scratch, readable, self.network,
                                      as_root=drop), *command]
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                pass_fds=(write_fd,),
                cwd=scratch,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            stderr.close()
            yield _fatal(0, "WorkerError",
                         f"cannot start the Python interpreter {self.python}: {exc.strerror}")
            return
        os.close(write_fd)
        try:
            yield from self._talk(job, proc, read_fd, payload, stderr)
        finally:
            _kill(proc)
            os.close(read_fd)
            stderr.close()

    def _talk(self, job: Job, proc: subprocess.Popen[bytes], read_fd: int, payload: bytes,
              stderr: BinaryIO) -> Iterator[BlockRun]:
        assert proc.stdin is not None
        try:
            proc.stdin.write(payload)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        with selectors.DefaultSelector() as selector:
            selector.register(read_fd, selectors.EVENT_READ)
            yield from self._events(job, proc, read_fd, selector, stderr)

    def _events(self, job: Job, proc: subprocess.Popen[bytes], read_fd: int,
                selector: selectors.BaseSelector, stderr: BinaryIO) -> Iterator[BlockRun]:
        buffer = b""
        current: int | None = None
        pending = len(job.blocks)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while pending:
            if b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if self._cancelled.is_set():
                    return  # the finally of _run kills the process group
                if remaining > 0 and not selector.select(min(remaining, CANCEL_POLL)):
                    continue
                if remaining <= 0:
                    _kill(proc)
                    if current is None:
                        yield _fatal(0, "WorkerError",
                                     f"the Python interpreter did not start within "
                                     f"{STARTUP_TIMEOUT:g} s")
                        return
                    seconds = job.blocks[current].timeout
                    stack = _read_tail(stderr)
                    yield BlockRun(current, fatal=True, error=ErrorInfo(
                        type="Timeout",
                        message=f"the example did not finish within {seconds:g} s (raise the "
                        "limit with config 'timeout' or <!-- docvalidate: timeout=N -->)",
                        line=_running_line(stack, job.filename),
                        traceback=stack,
                    ))
                    return
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    yield self._crashed(proc, current, stderr)
                    return
                buffer += chunk
                continue
            raw, buffer = buffer.split(b"\n", 1)
            try:
                event = json.loads(raw)
                kind, b = event["e"], int(event["b"])
                if not 0 <= b < len(job.blocks):
                    raise ValueError(b)
                run = _block_run(b, event) if kind == "end" else None
            except (ValueError, KeyError, TypeError, IndexError, AttributeError):
                _kill(proc)
                yield _fatal(current or 0, "WorkerError", "the example wrote into docvalidate's "
                             "result channel and corrupted it; the session was stopped")
                return
            if kind == "start":
                current = b
                deadline = time.monotonic() + job.blocks[b].timeout
            elif run is not None:
                pending -= 1
                current = None
                deadline = time.monotonic() + STARTUP_TIMEOUT
                yield self._name_limit(run)

    def _name_limit(self, run: BlockRun) -> BlockRun:
        """An error caused by one of our limits gets a type and message that say so."""
        error = run.error
        if error is None:
            return run
        limits = self.limits
        if error.type == "MemoryError":
            error = replace(error, type="MemoryLimit", message="the example ran out of memory "
                            f"(limited to {limits.memory_mb} MiB; config limit_memory_mb)")
        elif "[Errno 27]" in error.exception_only:  # EFBIG: RLIMIT_FSIZE
            size = limits.file_size_mb * 1024 * 1024
            if max(len(run.stdout) + run.stdout_dropped,
                   len(run.stderr) + run.stderr_dropped) >= size:
                error = replace(error, type="OutputLimit", message="the example printed more "
                                f"than {limits.file_size_mb} MiB (config limit_file_size_mb); "
                                "output beyond the capture limit was dropped")
            else:
                error = replace(error, type="FileSizeLimit", message="the example wrote a "
                                f"file larger than {limits.file_size_mb} MiB (config "
                                "limit_file_size_mb)")
        elif "[Errno 11]" in error.exception_only and "fork" in error.traceback:  # EAGAIN
            error = replace(error, type="ProcessLimit", message="the example started more "
                            f"than {limits.processes} processes or threads (config "
                            "limit_processes)")
        elif "[Errno 24]" in error.exception_only:  # EMFILE: RLIMIT_NOFILE
            error = replace(error, type="OpenFilesLimit", message="the example opened more "
                            f"than {limits.open_files} files (config limit_open_files)")
        return replace(run, error=error)

    def _crashed(self, proc: subprocess.Popen[bytes], current: int | None,
                 stderr: BinaryIO) -> BlockRun:
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill(proc)
            code = proc.wait()
        if self.bwrap and code > 128:
            # bubblewrap reports a child killed by signal N as exit status 128 + N.
            code = 128 - code
        if code == -signal.SIGXCPU:
            return _fatal(current or 0, "CPULimit", "the example used more than "
                          f"{self.limits.cpu_seconds} s of CPU time (config "
                          "limit_cpu_seconds)")
        how = (f"was killed by signal {signal.Signals(-code).name}" if code < 0
               else f"exited with code {code}")
        tail = _read_tail(stderr)
        if current is None:
            message = f"the Python interpreter {how} before running the example"
        else:
            message = f"the Python process running this example {how}"
        if tail:
            message += f": {tail.splitlines()[-1]}"
        kind = "WorkerError" if current is None else "WorkerCrashed"
        return _fatal(current or 0, kind, message, tail)


def _block_run(block: int, event: dict[str, Any]) -> BlockRun:
    """The BlockRun of an "end" event; a malformed event raises (KeyError, TypeError, ...)."""
    return BlockRun(
        block=block,
        error=_error(event["error"]),
        stdout=str(event["stdout"]),
        stderr=str(event["stderr"]),
        stdout_dropped=int(event["stdout_dropped"]),
        stderr_dropped=int(event["stderr_dropped"]),
        duration=float(event["duration"]),
        prints=tuple((None if line is None else int(line), str(text))
                     for line, text in event["prints"]),
        statements=tuple(
            StatementRun(str(st["output"]), _error(st["error"])) for st in event["statements"]
        ),
    )


def _error(data: dict[str, Any] | None) -> ErrorInfo | None:
    if not data:
        return None
    line = data["line"]
    return ErrorInfo(type=str(data["type"]), message=str(data["message"]),
                     line=None if line is None else int(line),
                     traceback=str(data["traceback"]), mro=tuple(map(str, data["mro"])),
                     exception_only=str(data["exception_only"]))


def _read_tail(stderr: BinaryIO, size: int = 4000) -> str:
    stderr.seek(0)
    return stderr.read()[-size:].decode("utf-8", "replace").strip()


def _running_line(stack: str, filename: str) -> int | None:
    """The innermost line of the document in a faulthandler dump (most recent call first)."""
    m = re.search(r'File "' + re.escape(filename) + r'", line (\d+)', stack)
    return int(m.group(1)) if m else None


def _fatal(block: int, kind: str, message: str, detail: str = "") -> BlockRun:
    return BlockRun(block=block, fatal=True,
                    error=ErrorInfo(type=kind, message=message, traceback=detail))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the whole process group, children left behind by the example included. The kernel
    does not reuse a group's id while any member lives, so this is safe after the worker exits."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
