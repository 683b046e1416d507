"""What the protocol client hands a backend, and what a backend gives back.

A backend is a transport: it starts the one worker program (``worker.py``) somewhere, moves
bytes to and from it, and kills it. Everything the worker says is interpreted above the
backends, in :mod:`docvalidate.protocol`, which is the only source of verdicts.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from docvalidate.model import ErrorInfo


@dataclass(frozen=True)
class Limits:
    """Resource limits of the examples' interpreter (applied by the worker before any example
    runs, so they bind the example and everything it starts)."""

    cpu_seconds: int = 60
    memory_mb: int = 2048
    processes: int = 256
    file_size_mb: int = 64
    open_files: int = 256


@dataclass(frozen=True)
class Statement:
    """One statement of an interactive session, run in "single" mode so that the value of an
    expression is displayed, as at the ``>>>`` prompt."""

    source: str  # padded so that its line numbers are lines of the block
    line: int  # the block's line of its first line


@dataclass(frozen=True)
class Block:
    """What to run for one example: its whole source, or (interactive sessions) its
    statements one by one, each with its own output.

    Each block runs under a file name of its own, so tracebacks, error lines and print
    records come back in the block's own lines; the runner maps them to files and lines
    through the example's line map."""

    name: str  # the code's file name, unique in its session
    source: str
    timeout: float
    statements: tuple[Statement, ...] | None = None
    trace_prints: bool = False  # record what each print() call wrote, and from which line


@dataclass(frozen=True)
class Job:
    """One session: blocks run in order in one fresh interpreter and namespace, in a fresh
    working directory that holds the session's own copy of the project."""

    filename: str  # the document's display path: the examples' ``__file__``
    root: Path  # the project root: copied for the session, and on sys.path
    blocks: tuple[Block, ...]
    max_output: int
    limits: Limits = Limits()


@dataclass(frozen=True)
class StatementRun:
    output: str  # what the statement printed or displayed
    error: ErrorInfo | None = None


@dataclass(frozen=True)
class BlockRun:
    block: int
    error: ErrorInfo | None
    stdout: str = ""
    stderr: str = ""
    stdout_dropped: int = 0
    stderr_dropped: int = 0
    duration: float = 0.0
    fatal: bool = False  # the interpreter is gone: nothing after this block ran
    prints: tuple[tuple[int | None, str], ...] = ()  # (line of the print call, text written)
    statements: tuple[StatementRun, ...] = ()  # interactive blocks: one per statement run


class BackendError(Exception):
    """A session could not be started at all; the message says why, in one sentence."""


class BackendFault(BackendError):
    """Trouble of the infrastructure, not of the example (a remote service that refused or
    dropped a session): the runner retries the session, and never blames the example."""


FAULT = "BackendFault"  # the ErrorInfo type of a session lost to a fault


@dataclass(frozen=True)
class Received:
    """What one wait on a connection gave: a frame (one line the worker wrote), or why none."""

    kind: Literal["frame", "timeout", "closed", "forged", "cancelled", "fault"]
    data: bytes = b""
    detail: str = ""  # "forged": what was wrong with the bytes; "fault": what went wrong


def time_left(stop: threading.Event, deadline: float) -> Received | float:
    """What is left of a wait on a connection: a "cancelled" or "timeout" Received when it is
    over, else the seconds left before ``deadline`` (a ``time.monotonic()`` value)."""
    if stop.is_set():
        return Received("cancelled")
    remaining = deadline - time.monotonic()
    return Received("timeout") if remaining <= 0 else remaining


class Connection(Protocol):
    """One running worker, as its transport sees it."""

    # What the worker's setup needs from the transport: "root" (the project root as the worker
    # sees it), "nproc" (how RLIMIT_NPROC is applied: "exact" when the user or user namespace
    # is the session's alone, "relative" when it is shared with the user's other programs,
    # None when a cgroup counts), "seccomp" (the filter for the worker to install, or None when
    # the sandbox installed it).
    settings: dict[str, Any]

    def send(self, frame: bytes, deadline: float) -> Received | None:
        """Send one frame to the worker by ``deadline``: None once it is sent (or the worker
        is gone, which the next receive tells), else a "timeout" or "cancelled" Received."""
        ...

    def receive(self, deadline: float) -> Received:
        """The next frame the worker wrote, or why there is none by ``deadline`` (a
        ``time.monotonic()`` value). Frames written by any process other than the worker
        (an example's child, a program it ran) and frames over the size cap are "forged"."""
        ...

    def stack(self) -> str:
        """Ask the worker for a dump of its threads' stacks (the example is stuck), and return
        what it wrote, or "" when it wrote nothing in time."""
        ...

    def exit_status(self) -> tuple[int | None, str]:
        """After "closed": the worker's exit status (negative: killed by that signal), or
        None when it could not be told, and the tail of what it wrote to its stderr."""
        ...

    def supervisor_alive(self) -> bool:
        """Whether the process watching over the worker still runs (an example may kill its
        parent; the session cannot be trusted to end cleanly after that)."""
        ...


class Backend(Protocol):
    limits: Limits  # what every session of this backend runs under
    name: str  # "local", "e2b": said in reports
    retries: int  # times a session lost to a fault is run again

    def connect(self, job: Job) -> AbstractContextManager[Connection]:
        """Start a worker for ``job``; leaving the context kills it and everything it started
        and removes the session's files."""
        ...

    def cancel(self) -> None:
        """Stop every job running now as soon as possible (the user pressed Ctrl-C, or CI sent
        SIGTERM). Jobs started afterwards run normally: a long-lived owner (``mkdocs serve``)
        keeps using the backend."""
        ...

    def describe(self) -> list[str]:
        """What the backend did, one line each (shown with -v): copies, uploads, sandboxes."""
        ...

    def usage(self) -> str:
        """What the run has cost so far where it ran, in a few words ("" when it is only this
        machine's time): the E2B backend's sandboxes and how long they lived."""
        ...

    def refresh(self) -> None:
        """The project's files may have changed since the last job: whatever the backend
        keeps of them (a survey, copies, an upload) is looked at again. The engine calls it
        before each run."""
        ...

    def close(self) -> None:
        """Release what the backend holds once every job has finished. The engine calls it
        when the ``with engine.backend(config)`` block that made the backend ends."""
        ...
