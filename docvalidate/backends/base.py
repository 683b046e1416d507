"""What every backend receives and gives back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from docvalidate.model import ErrorInfo


@dataclass(frozen=True)
class Job:
    """One session: blocks run in order in one fresh interpreter and namespace, in a fresh
    working directory. Each block's source is already padded so that its line numbers are
    lines of the document."""

    filename: str  # the document's display path, used as the code's file name
    doc: str  # the document's text, so tracebacks can show its lines
    root: Path  # the project root: visible in the scratch folder and on sys.path
    blocks: tuple[str, ...]
    timeouts: tuple[float, ...]
    max_output: int


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


class Backend(Protocol):
    def run(self, job: Job) -> Iterator[BlockRun]:
        """Run the job's blocks in order, yielding one BlockRun per finished block; after a
        ``fatal`` BlockRun (the interpreter is gone) nothing more is yielded."""
        ...

    def cancel(self) -> None:
        """Stop every running job as soon as possible (the user pressed Ctrl-C)."""
        ...
