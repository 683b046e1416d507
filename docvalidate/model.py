"""The data that flows through the pipeline: plain frozen dataclasses, no behaviour hidden in them.

files -> sources -> Example -> sessions -> Task/Session -> runner -> Result -> report
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# "error": the infrastructure failed (a remote sandbox could not be had, after retries): the
# example could not be judged. It fails the run, but is never repaired or blamed.
Status = Literal["passed", "failed", "skipped", "error"]


@dataclass(frozen=True)
class Directive:
    """One ``name[=value]`` item of a ``<!-- docvalidate: ... -->`` comment (or a marker)."""

    name: str
    value: str | None
    line: int  # 1-based line of the comment (or fence, for info-string markers) in the file
    origin: str = ""  # the marker as written, when it is another tool's (e.g. test="skip")


@dataclass(frozen=True)
class LineMap:
    """Where each line of an example's code comes from: ``lines[i]`` is the (file, line) of
    code line ``i + 1``. A Markdown fence maps to consecutive lines of its page; a YAML scalar,
    a docstring or an included snippet maps wherever its lines really are."""

    lines: tuple[tuple[str, int], ...]

    @classmethod
    def consecutive(cls, path: str, first: int, count: int) -> LineMap:
        return cls(tuple((path, first + i) for i in range(max(count, 1))))

    def at(self, line: int) -> tuple[str, int]:
        """The (file, line) of code line ``line`` (1-based). Lines past the end (a repair
        candidate may be longer than the code it replaces) continue from the last one."""
        if line < 1:
            line = 1
        if line <= len(self.lines):
            return self.lines[line - 1]
        path, last = self.lines[-1]
        return path, last + line - len(self.lines)


@dataclass(frozen=True)
class Example:
    """One code block found in a document, with everything a rewrite needs.

    ``span`` covers the raw bytes of the code lines (container prefixes and line endings
    included, fences excluded); ``code`` is those lines with the prefix removed and line
    endings normalised to ``\\n``.
    """

    path: str  # display path (relative to the current directory when below it)
    language: str  # normalised: "python" or "pycon"
    info: str  # the raw info string after the fence marker
    code: str
    span: tuple[int, int]  # byte offsets in the file on disk
    prefix: str  # container prefix of a code line (indentation, "> ") for new lines
    newline: str  # the file's line-ending style
    line: int  # 1-based line of the opening fence
    end_line: int  # 1-based line of the closing fence (last line when unclosed)
    directives: tuple[Directive, ...] = ()
    closed: bool = True
    heading: str | None = None  # nearest heading above, for context
    # An interactive (``>>>``) session: decided once, here, by the source (see
    # sources.fences.is_interactive), and used alike by the runner, the guard and the prompts.
    interactive: bool = False
    # Code line to (file, line): how tracebacks, error lines and output checks, which the
    # runner computes in the block's own lines, are reported. None: the lines right after
    # the opening fence (see ``lines``).
    line_map: LineMap | None = None
    # Who the example is across edits of the page: its code, the headings above it and its
    # rank among identical blocks there (see docvalidate.fingerprint); ``id`` moves with lines.
    fingerprint: str = ""

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def first_code_line(self) -> int:
        return self.line + 1

    @property
    def lines(self) -> LineMap:
        """The line map: the source's, or the lines right after the opening fence."""
        if self.line_map is not None:
            return self.line_map
        return LineMap.consecutive(self.path, self.first_code_line, self.code.count("\n"))


@dataclass(frozen=True)
class FileWarning:
    line: int | None
    message: str


@dataclass(frozen=True)
class SourceFile:
    """What a source module made of one file."""

    path: str
    dialect: str
    examples: tuple[Example, ...] = ()
    warnings: tuple[FileWarning, ...] = ()
    error: str | None = None  # the file could not be read at all
    text: str = ""  # decoded text without BOM, for showing lines in reports
    data: bytes = b""  # the bytes as read, so a rewrite can tell whether the file changed since
    kind: str = "markdown"  # the source module that read it, and so splices edits into it


@dataclass(frozen=True)
class Edit:
    """Replace the bytes ``span`` of the file ``path`` (as it was read) with ``new_text``.

    A source kind makes them (it knows its file's syntax); the rewrite applies them without
    knowing any syntax, and the fix report keeps them for suggestions built later."""

    path: str
    span: tuple[int, int]  # byte offsets in the file as read
    new_text: bytes


@dataclass(frozen=True)
class ErrorInfo:
    type: str
    message: str
    line: int | None = None
    traceback: str = ""
    # Fully qualified names of the exception's classes (most derived first), so that
    # `raises=` can be decided above the backend, identically for every backend.
    mro: tuple[str, ...] = ()
    # The last line(s) of the traceback ("ValueError: bad"), as doctest compares them.
    exception_only: str = ""
    diff: str = ""  # OutputMismatch: unified diff of expected vs actual output
    # The file ``line`` is in, when it is not the example's own (a setup file, an included
    # snippet). Straight from the worker it is the code's own file name (a block's name).
    path: str | None = None


@dataclass(frozen=True)
class Setup:
    """Config ``setup``: a Python file run in each session before its first block, in the same
    interpreter, so that its names are visible to the examples."""

    path: str  # display path, the file name its code runs under
    code: str
    timeout: float


@dataclass(frozen=True)
class Task:
    """One example as the runner treats it: where it runs and under which rules."""

    example: Example
    session: str
    timeout: float
    raises: str | None = None
    skip: str | None = None  # reason; the example is not run
    error: ErrorInfo | None = None  # fails without running (e.g. DirectiveError)
    no_fix: bool = False
    xfail: str | None = None  # expected to fail (the reason, possibly ""); passing fails
    check_prints: bool = True  # compare print() output with `#>` comments
    marker: str | None = None  # the directive or marker that decided skip/xfail, as written


@dataclass(frozen=True)
class Session:
    """Ordered tasks that share one namespace."""

    id: str
    path: str
    tasks: tuple[Task, ...]


@dataclass(frozen=True)
class Result:
    example_id: str
    status: Status
    duration: float = 0.0
    stdout: str = ""
    stderr: str = ""
    error: ErrorInfo | None = None
    reason: str | None = None
    cached: bool = False
    backend: str = ""  # which backend ran it ("local", "e2b"); "" when it did not run
    stdout_dropped: int = 0  # bytes beyond the capture cap
    stderr_dropped: int = 0
    # What a run printed in detail, for fixers that update expected output:
    prints: tuple[tuple[int | None, str], ...] = ()  # (line of the print call, text)
    # Interactive sessions: (what each statement run printed, its exception line(s) or None).
    outputs: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Outcome:
    task: Task
    result: Result


@dataclass(frozen=True)
class RunReport:
    files: tuple[SourceFile, ...]
    outcomes: tuple[Outcome, ...] = field(default_factory=tuple)
    notices: tuple[str, ...] = ()  # run-wide warnings (e.g. running without the sandbox)
    details: tuple[str, ...] = ()  # how the run was done (e.g. what each session copied), for -v
    seconds: float = 0.0  # wall time of the run, as the front door measured it
    usage: str = ""  # what the run cost where it ran (E2B: sandboxes and their time); "" local

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.result.status == status)

    @property
    def file_errors(self) -> int:
        return sum(1 for f in self.files if f.error is not None)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0 and self.count("error") == 0 and self.file_errors == 0
