"""Run sessions through a backend and turn what happened into Results.

Policy that must be identical for every backend lives here: which blocks run, expected
exceptions (``raises=``), what a timeout or a crash does to the rest of a session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from docvalidate.backends.base import Backend, BlockRun, Job
from docvalidate.model import ErrorInfo, Outcome, Result, Session, SourceFile, Task
from docvalidate.program import program

Progress = Callable[[Outcome], None]


@dataclass(frozen=True)
class FileWork:
    source: SourceFile
    sessions: tuple[Session, ...]
    root: Path


def run_all(
    work: Sequence[FileWork],
    backend: Backend,
    jobs: int,
    max_output: int,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Run every file's sessions, ``jobs`` files at a time; outcomes in document order."""

    def one(item: FileWork) -> list[Outcome]:
        return run_file(item, backend, max_output, progress)

    if jobs <= 1 or len(work) <= 1:
        per_file = [one(item) for item in work]
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            per_file = list(pool.map(one, work))
    return [outcome for outcomes in per_file for outcome in outcomes]


def run_file(
    work: FileWork, backend: Backend, max_output: int, progress: Progress | None = None
) -> list[Outcome]:
    results: dict[str, Result] = {}

    def done(task: Task, result: Result) -> None:
        results[task.example.id] = result
        if progress is not None:
            progress(Outcome(task, result))

    runnable: list[tuple[Session, list[Task], list[str]]] = []
    for session in work.sessions:
        tasks, sources = [], []
        for task in session.tasks:
            settled = _settled(task)
            if settled is not None:
                done(task, settled)
                continue
            try:
                sources.append(program(task.example))
            except ValueError as exc:  # a malformed interactive session
                done(task, _failed(task, ErrorInfo("SyntaxError", str(exc),
                                                   task.example.first_code_line)))
                continue
            tasks.append(task)
        if tasks:
            runnable.append((session, tasks, sources))

    while runnable:
        job = Job(
            filename=work.source.path,
            doc=work.source.text,
            root=work.root,
            sessions=tuple(tuple(sources) for _, _, sources in runnable),
            timeouts=tuple(tuple(t.timeout for t in tasks) for _, tasks, _ in runnable),
            max_output=max_output,
        )
        rest: list[tuple[Session, list[Task], list[str]]] = []
        for run in backend.run(job):
            tasks = runnable[run.session][1]
            task = tasks[run.block]
            done(task, _judge(task, run))
            if run.fatal:
                line = task.example.line
                for later in tasks[run.block + 1:]:
                    done(later, Result(later.example.id, "skipped",
                                       reason=f"session aborted at line {line}"))
                rest = runnable[run.session + 1:]
                break
        runnable = rest

    ordered = sorted(
        (task for session in work.sessions for task in session.tasks),
        key=lambda t: t.example.line,
    )
    return [Outcome(task, results[task.example.id]) for task in ordered]


def _settled(task: Task) -> Result | None:
    """The result of a task decided without running it."""
    if task.error is not None:
        return _failed(task, task.error)
    if task.skip is not None:
        return Result(task.example.id, "skipped", reason=task.skip)
    return None


def _failed(task: Task, error: ErrorInfo, **fields: object) -> Result:
    return Result(task.example.id, "failed", error=error, **fields)  # type: ignore[arg-type]


def exception_matches(error: ErrorInfo, expected: str) -> bool:
    """Whether an exception whose classes are ``error.mro`` is ``expected`` or a subclass.

    ``expected`` is a bare class name (``KeyError``, ``OutOfStock``) or the dotted path a user
    imports it by (``json.JSONDecodeError``, defined in ``json.decoder``): the class names must
    be equal and the given module must be the class's module or a package above it.
    """
    want_module, _, want_name = expected.rpartition(".")
    for qualified in error.mro or (error.type,):
        module, _, name = qualified.rpartition(".")
        if name != want_name:
            continue
        if not want_module or module == want_module or module.startswith(want_module + "."):
            return True
    return False


def _judge(task: Task, run: BlockRun) -> Result:
    fields = dict(duration=run.duration, stdout=run.stdout, stderr=run.stderr,
                  stdout_dropped=run.stdout_dropped, stderr_dropped=run.stderr_dropped)
    error = run.error
    if error is not None and error.line is None:
        error = ErrorInfo(error.type, error.message, task.example.first_code_line,
                          error.traceback, error.mro)
    if task.raises and not run.fatal:
        if error is None:
            return _failed(task, ErrorInfo(
                "ExpectedException",
                f"expected {task.raises} to be raised, but the example finished without an "
                "exception",
                task.example.line,
            ), **fields)
        if exception_matches(error, task.raises):
            return Result(task.example.id, "passed", **fields)  # type: ignore[arg-type]
        return _failed(task, ErrorInfo(
            error.type, f"{error.message} (expected {task.raises})", error.line,
            error.traceback, error.mro,
        ), **fields)
    if error is not None:
        return _failed(task, error, **fields)
    return Result(task.example.id, "passed", **fields)  # type: ignore[arg-type]
