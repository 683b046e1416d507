"""What every backend receives and gives back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from docvalidate.model import ErrorInfo


@dataclass(frozen=True)
class Statement:
    """One statement of an interactive session, run in "single" mode so that the value of an
    expression is displayed, as at the ``>>>`` prompt."""

    source: str  # padded so that its line numbers are lines of the document
    line: int


@dataclass(frozen=True)
class Block:
    """What to run for one example: its whole source, or (interactive sessions) its
    statements one by one, each with its own output."""

    source: str  # padded so that its line numbers are lines of the document
    timeout: float
    statements: tuple[Statement, ...] | None = None
    trace_prints: bool = False  # record what each print() call wrote, and from which line


@dataclass(frozen=True)
class Job:
    """One session: blocks run in order in one fresh interpreter and namespace, in a fresh
    working directory."""

    filename: str  # the document's display path, used as the code's file name
    doc: str  # the document's text, so tracebacks can show its lines
    root: Path  # the project root: visible in the scratch folder and on sys.path
    blocks: tuple[Block, ...]
    max_output: int
    readable: tuple[Path, ...] = ()  # more folders examples may read (the document's folder)


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


class Backend(Protocol):
    def run(self, job: Job) -> Iterator[BlockRun]:
        """Run the job's blocks in order, yielding one BlockRun per finished block; after a
        ``fatal`` BlockRun (the interpreter is gone) nothing more is yielded."""
        ...

    def cancel(self) -> None:
        """Stop every running job as soon as possible (the user pressed Ctrl-C)."""
        ...

    def close(self) -> None:
        """Release what the backend holds once every job has finished."""
        ...
