"""The worker protocol's client: the only place where what a worker says becomes a BlockRun.

It sits above the backends (which only start the worker, move bytes and kill it) and is the
same for every backend. It sends one block at a time, times it itself, and accepts exactly one
answer per block, in order, carrying that block's nonce; anything else from the channel ends
the session as a failure, never as a pass. Frames are size-capped by the transport.
"""

from __future__ import annotations

import json
import marshal
import re
import secrets
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from docvalidate.backends.base import (
    FAULT,
    Backend,
    BackendError,
    BackendFault,
    BlockRun,
    Connection,
    Job,
    Limits,
    Received,
    StatementRun,
)
from docvalidate.model import ErrorInfo

STARTUP_TIMEOUT = 60.0  # seconds for the interpreter to start and say it is ready
STACK_SIGNAL = signal.SIGUSR2  # asks a stuck worker for its stack (faulthandler)
FORGED = ("the example wrote into docvalidate's result channel and corrupted it; the session "
          "was stopped")


def max_frame(max_output: int) -> int:
    """The largest answer a worker may send: what it captures for one block (stdout, stderr
    and the detailed print and statement records, each at most ``max_output`` characters),
    JSON-escaped at worst six bytes a character, plus the capped exception details."""
    return 18 * max_output + 4 * 1024 * 1024


def run_job(backend: Backend, job: Job) -> Iterator[BlockRun]:
    """Run the job's blocks in order, yielding one BlockRun per finished block; after a
    ``fatal`` BlockRun (the interpreter is gone or cannot be trusted) nothing more is
    yielded."""
    try:
        with backend.connect(job) as conn:
            yield from _Session(backend, conn, job).run()
    except BackendFault as exc:
        yield _fatal(0, FAULT, str(exc))
    except BackendError as exc:
        yield _fatal(0, "WorkerError", str(exc))


class _Session:
    def __init__(self, backend: Backend, conn: Connection, job: Job) -> None:
        self.backend, self.conn, self.job = backend, conn, job

    def run(self) -> Iterator[BlockRun]:
        job = self.job
        settings = self.conn.settings
        ready = self._exchange(time.monotonic() + STARTUP_TIMEOUT, None, {
            "t": "setup",
            "filename": job.filename,
            "root": settings["root"],
            "max_output": job.max_output,
            "limits": {**_limits(job.limits), "nproc": settings["nproc"]},
            "seccomp": settings["seccomp"],
            "stack_signal": int(STACK_SIGNAL),
        })
        if isinstance(ready, BlockRun):
            yield ready
            return
        if ready.get("t") != "ready":
            yield _fatal(0, "WorkerError", FORGED)
            return
        for index, block in enumerate(job.blocks):
            nonce = secrets.token_hex(16)
            started = time.monotonic()
            answer = self._exchange(started + block.timeout, index, {
                "t": "run", "b": index, "n": nonce,
                "name": block.name,
                "timeout": block.timeout,
                "source": block.source,
                "trace_prints": block.trace_prints,
                "statements": None if block.statements is None else [
                    {"source": st.source, "line": st.line} for st in block.statements],
            })
            if isinstance(answer, BlockRun):
                yield answer
                return
            try:
                if answer["t"] != "end" or answer["b"] != index or answer["n"] != nonce:
                    raise ValueError("out of order")
                run = _block_run(index, answer, time.monotonic() - started)
            except (ValueError, KeyError, TypeError, IndexError, AttributeError):
                yield _fatal(index, "WorkerError", FORGED)
                return
            if not self.conn.supervisor_alive():
                yield replace(run, fatal=True, error=ErrorInfo(
                    "WorkerCrashed", "the example killed the process that supervises its "
                    "session; the session was stopped"))
                return
            yield name_limit(run, job.limits)

    def _exchange(self, deadline: float, block: int | None, message: dict[str, Any]
                  ) -> dict[str, Any] | BlockRun:
        """Send ``message``, then wait for the answer; both by ``deadline``."""
        failed = self.conn.send(_frame(message), deadline)
        return self._judge(failed or self.conn.receive(deadline), block)

    def _judge(self, received: Received, block: int | None) -> dict[str, Any] | BlockRun:
        """The worker's answer, or the fatal BlockRun that says why there is none."""
        at = block or 0
        if received.kind == "frame":
            if _values(received.data) > self._most_values(block):
                return _fatal(at, "WorkerError", f"{FORGED} (an answer of too many values)")
            try:
                message = json.loads(received.data)
            except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested deeply
                return _fatal(at, "WorkerError", FORGED)
            if not isinstance(message, dict):
                return _fatal(at, "WorkerError", FORGED)
            return message
        if received.kind == "forged":
            return _fatal(at, "WorkerError", f"{FORGED} ({received.detail})")
        if received.kind == "cancelled":
            return _fatal(at, "Cancelled", "the run was stopped")
        if received.kind == "fault":
            return _fatal(at, FAULT, received.detail)
        if received.kind == "timeout":
            if block is None:
                return _fatal(0, "WorkerError", "the Python interpreter did not start within "
                              f"{STARTUP_TIMEOUT:g} s")
            return self._timeout(block)
        return self._crashed(block)

    def _most_values(self, block: int | None) -> int:
        """How many lists and objects an honest answer holds at most: one per print call
        recorded (the worker's budget allows one per 16 characters of max_output), a few per
        statement run, and the exception details."""
        statements = 0
        if block is not None:
            statements = len(self.job.blocks[block].statements or ())
        return self.job.max_output // 16 + 4 * statements + 1000

    def _timeout(self, block: int) -> BlockRun:
        seconds = self.job.blocks[block].timeout
        stack = self.conn.stack()
        where = running_line(stack, [b.name for b in self.job.blocks[:block + 1]])
        return BlockRun(block, fatal=True, error=ErrorInfo(
            type="Timeout",
            message=f"the example did not finish within {seconds:g} s (raise the limit with "
            "config 'timeout' or <!-- docvalidate: timeout=N -->)",
            line=where[1] if where else None,
            path=where[0] if where else None,
            traceback=stack,
        ))

    def _crashed(self, block: int | None) -> BlockRun:
        code, tail = self.conn.exit_status()
        limits = self.job.limits
        if code == -signal.SIGXCPU:
            return _fatal(block or 0, "CPULimit", "the example used more than "
                          f"{limits.cpu_seconds} s of CPU time (config limit_cpu_seconds)")
        if code is None:
            how = "ended"
        elif code < 0:
            how = f"was killed by signal {_signal_name(-code)}"
        else:
            how = f"exited with code {code}"
        if block is None:
            message = f"the Python interpreter {how} before running the example"
        else:
            message = f"the Python process running this example {how}"
        if tail:
            message += f": {tail.splitlines()[-1]}"
        kind = "WorkerError" if block is None else "WorkerCrashed"
        return _fatal(block or 0, kind, message, tail)


# A JSON string, quotes included (the unrolled form: fast on long strings).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
SMALL_ANSWER = 1024 * 1024  # bytes: too few to hold values enough to matter


def _values(data: bytes) -> int:
    """How many lists and objects a JSON text holds, counted before parsing it: a 20 MB line
    of ``[],[],...`` would otherwise become seven million Python lists in our memory."""
    if len(data) <= SMALL_ANSWER:
        return 0
    bare = _STRING.sub(b'""', data)
    return bare.count(b"[") + bare.count(b"{")


def _frame(message: dict[str, Any]) -> bytes:
    """A message to the worker: marshal (version 4, read by every Python 3 since 3.4) after
    its length. Only docvalidate writes these; the worker's answers are JSON."""
    data = marshal.dumps(message, 4)
    return len(data).to_bytes(4, "big") + data


def _limits(limits: Limits) -> dict[str, Any]:
    return {
        "cpu": limits.cpu_seconds,
        "memory": limits.memory_mb * 1024 * 1024,
        "processes": limits.processes,
        "file_size": limits.file_size_mb * 1024 * 1024,
        "open_files": limits.open_files,
    }


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def running_line(stack: str, names: Sequence[str]) -> tuple[str, int] | None:
    """The innermost line of an example's code in a faulthandler dump of the main thread (the
    one running the example; most recent call first), as (block name, line of that block)."""
    markers = [f'File "{name}", line ' for name in names]
    for section in _thread_sections(stack):
        for line in section:
            for name, marker in zip(names, markers, strict=True):
                at = line.find(marker)
                if at < 0:
                    continue
                digits = line[at + len(marker):].split(" ", 1)[0]
                if digits.isdigit():
                    return name, int(digits)
    return None


def _thread_sections(stack: str) -> list[list[str]]:
    """The dump split per thread, the one running the worker's loop (the main thread) first."""
    sections: list[list[str]] = []
    for line in stack.splitlines():
        if line.startswith(("Thread 0x", "Current thread 0x")) or not sections:
            sections.append([])
        sections[-1].append(line)
    return sorted(sections, key=lambda s: not any("worker.py" in line for line in s))


def _fatal(block: int, kind: str, message: str, detail: str = "") -> BlockRun:
    return BlockRun(block=block, fatal=True,
                    error=ErrorInfo(type=kind, message=message, traceback=detail))


def _block_run(block: int, event: dict[str, Any], duration: float) -> BlockRun:
    """The BlockRun of an "end" event; a malformed event raises (KeyError, TypeError, ...)."""
    return BlockRun(
        block=block,
        error=_error(event["error"]),
        stdout=_text(event["stdout"]),
        stderr=_text(event["stderr"]),
        stdout_dropped=_count(event["stdout_dropped"]),
        stderr_dropped=_count(event["stderr_dropped"]),
        duration=duration,
        prints=tuple((None if line is None else _count(line), _text(text))
                     for line, text in event["prints"]),
        statements=tuple(
            StatementRun(_text(st["output"]), _error(st["error"])) for st in event["statements"]
        ),
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(value)
    return value


def _error(data: dict[str, Any] | None) -> ErrorInfo | None:
    if data is None:
        return None
    line, where = data["line"], data["file"]
    return ErrorInfo(type=_text(data["type"]), message=_text(data["message"]),
                     line=None if line is None else _count(line),
                     path=None if where is None else _text(where),
                     traceback=_text(data["traceback"]),
                     mro=tuple(_text(name) for name in data["mro"]),
                     exception_only=_text(data["exception_only"]))


def name_limit(run: BlockRun, limits: Limits) -> BlockRun:
    """An error caused by one of our limits gets a type and message that say so."""
    error = run.error
    if error is None:
        return run
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
    elif (("[Errno 11]" in error.exception_only and "fork" in error.traceback)  # EAGAIN
          or "can't start new thread" in error.exception_only):
        error = replace(error, type="ProcessLimit", message="the example started more "
                        f"than {limits.processes} processes or threads (config "
                        "limit_processes)")
    elif "[Errno 24]" in error.exception_only:  # EMFILE: RLIMIT_NOFILE
        error = replace(error, type="OpenFilesLimit", message="the example opened more "
                        f"than {limits.open_files} files (config limit_open_files)")
    return replace(run, error=error)
