"""Run sessions through a backend and turn what happened into Results.

Policy that must be identical for every backend lives here: which blocks run, expected
exceptions (``raises=``), what a timeout or a crash does to the rest of a session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from docvalidate.backends.base import FAULT, Backend, BlockRun, Job
from docvalidate.expected_output import check_prints, check_session
from docvalidate.locations import Places
from docvalidate.model import ErrorInfo, LineMap, Outcome, Result, Session, Setup, SourceFile, Task
from docvalidate.print_strings import check_print_strings
from docvalidate.program import Program, build, setup_block
from docvalidate.protocol import run_job

Progress = Callable[[Outcome], None]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class FileWork:
    source: SourceFile
    sessions: tuple[Session, ...]
    root: Path
    setup: Setup | None = None  # config ``setup``: run first in each session


def run_all(
    work: Sequence[FileWork],
    backend: Backend,
    jobs: int,
    max_output: int,
    progress: Progress | None = None,
    doctest_flags: int = 0,
) -> list[Outcome]:
    """Run every session, each in its own interpreter, ``jobs`` at a time; outcomes in
    document order."""
    units = [(item, session) for item in work for session in item.sessions]

    def one(unit: tuple[FileWork, Session]) -> list[Outcome]:
        return run_session(unit[0], unit[1], backend, max_output, progress, doctest_flags)

    per_session = in_parallel(units, one, jobs, backend)
    order = {item.source.path: i for i, item in enumerate(work)}
    return sorted(
        (outcome for outcomes in per_session for outcome in outcomes),
        key=lambda o: (order[o.task.example.path], o.task.example.line),
    )


def in_parallel(items: Sequence[T], work: Callable[[T], list[R]], jobs: int,
                backend: Backend) -> list[list[R]]:
    """``work`` on every item, ``jobs`` at a time, results in item order. On Ctrl-C (or any
    failure of ours) the running interpreters are stopped at once instead of waiting for
    every item, then the exception goes through; the backend stays usable (its owner, the
    engine, closes it)."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(items))))
    try:
        futures = [pool.submit(work, item) for item in items]
        return [future.result() for future in futures]
    except BaseException:
        backend.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_session(
    work: FileWork,
    session: Session,
    backend: Backend,
    max_output: int,
    progress: Progress | None = None,
    doctest_flags: int = 0,
) -> list[Outcome]:
    """Run one session's tasks in order in one interpreter (after config ``setup``). A
    session lost to a fault of the infrastructure (``BackendFault``) runs again from its
    start, ``backend.retries`` times with a growing pause; after that the example it was at
    is reported as an error, never as the example's failure."""
    for attempt in range(backend.retries + 1):
        outcomes = _run_once(work, session, backend, max_output, doctest_flags)
        if not any(_faulted(o) for o in outcomes):
            break
        if attempt < backend.retries and not _stopped(outcomes):
            time.sleep(min(RETRY_PAUSE * 2 ** attempt, MAX_RETRY_PAUSE))
            continue
        outcomes = [_unjudged(o, attempt + 1) if _faulted(o) else o for o in outcomes]
        break
    if progress is not None:
        for outcome in outcomes:
            progress(outcome)
    return outcomes


RETRY_PAUSE = 0.5  # seconds before the first retry of a session lost to a fault
MAX_RETRY_PAUSE = 8.0


def _stopped(outcomes: Sequence[Outcome]) -> bool:
    return any(o.result.error is not None and o.result.error.type == "Cancelled"
               for o in outcomes)


def _faulted(outcome: Outcome) -> bool:
    return outcome.result.error is not None and outcome.result.error.type == FAULT


def _unjudged(outcome: Outcome, tries: int) -> Outcome:
    """An example the infrastructure never let run to the end: status "error", the reason."""
    assert outcome.result.error is not None
    reason = (f"not judged: the backend failed ({tries} tr{'y' if tries == 1 else 'ies'}): "
              f"{outcome.result.error.message}")
    return Outcome(outcome.task, replace(outcome.result, status="error", error=None,
                                         reason=reason))


def _run_once(work: FileWork, session: Session, backend: Backend, max_output: int,
              doctest_flags: int) -> list[Outcome]:
    outcomes: list[Outcome] = []

    def done(task: Task, result: Result) -> None:
        if result.backend == "" and result.status != "skipped":
            result = replace(result, backend=backend.name)
        outcomes.append(Outcome(task, result))

    tasks: list[Task] = []
    programs: list[Program] = []
    for task in session.tasks:
        settled = _settled(task)
        if settled is not None:
            done(task, settled)
            continue
        try:
            programs.append(build(task, doctest_flags, check_prints=task.check_prints))
        except ValueError as exc:  # a malformed interactive session
            done(task, _failed(task, ErrorInfo("SyntaxError", str(exc),
                                               task.example.first_code_line)))
            continue
        tasks.append(task)
    if not tasks:
        return outcomes

    blocks = tuple(p.block for p in programs)
    maps = {task.example.id: task.example.lines for task in tasks}
    setup = work.setup
    if setup is not None:
        blocks = (setup_block(setup), *blocks)
        maps[setup.path] = LineMap.consecutive(setup.path, 1, setup.code.count("\n"))
    places = Places(maps)
    job = Job(
        filename=work.source.path,
        root=work.root,
        blocks=blocks,
        max_output=max_output,
        limits=backend.limits,
    )
    offset = 0 if setup is None else 1
    finished = 0
    for run in run_job(backend, job):
        if run.block < offset:  # the setup
            if run.error is None and not run.fatal:
                continue
            assert setup is not None
            error = _setup_failed(setup, run, places)
            for task in tasks:
                done(task, _failed(task, error))
            return outcomes
        task = tasks[run.block - offset]
        result = _judge(task, programs[run.block - offset], run, places)
        done(task, _expected_failure(task, result, run.fatal))
        finished = run.block - offset + 1
        if run.fatal:
            for later in tasks[finished:]:
                done(later, Result(later.example.id, "skipped",
                                   reason=f"session aborted at line {task.example.line}"))
            finished = len(tasks)
            break
    for task in tasks[finished:]:  # a backend must not end early without saying why
        done(task, _failed(task, ErrorInfo("WorkerError", "the backend returned no result")))
    return outcomes


def _setup_failed(setup: Setup, run: BlockRun, places: Places) -> ErrorInfo:
    """The error every example of a session fails with when config ``setup`` failed: the
    setup's own, at its line of the setup file."""
    assert run.error is not None
    error = places.error(run.error, places.maps[setup.path], "")
    return replace(error, message=f"the setup file {setup.path} failed: {error.message}")


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


def _expected_failure(task: Task, result: Result, fatal: bool = False) -> Result:
    """pytest-examples' ``test="xfail"``: the example must fail; a pass is the failure.

    A failure that ends the session (a crash, a timeout, a limit) is not the expected one:
    the blocks after it cannot run, and would be reported as skipped instead of checked."""
    if task.xfail is None:
        return result
    why = f" ({task.xfail})" if task.xfail else ""
    if result.status == "failed" and fatal:
        assert result.error is not None
        return replace(result, reason="an expected failure must not end the session: the "
                       "blocks after it could not run")
    if result.status == "failed":
        assert result.error is not None
        return replace(result, status="passed", error=None,
                       reason=f"failed as expected{why}: {result.error.type}: "
                       f"{result.error.message}")
    return replace(result, status="failed", reason="unexpected pass", error=ErrorInfo(
        "UnexpectedPass", f"the example passed, but {task.marker} says it must fail{why}",
        task.example.line))


def _judge(task: Task, program: Program, run: BlockRun, places: Places) -> Result:
    own = task.example.lines
    path = task.example.path

    def where(line: int) -> int:
        return own.at(line)[1]

    fields = dict(duration=run.duration, stdout=run.stdout, stderr=places.text(run.stderr),
                  stdout_dropped=run.stdout_dropped, stderr_dropped=run.stderr_dropped,
                  prints=run.prints,
                  outputs=tuple((st.output, st.error.exception_only if st.error else None)
                                for st in run.statements))
    error = None if run.error is None else places.error(run.error, own, path)
    if program.prompts is not None and not run.fatal and error is None:
        error = check_session(program.prompts, run.statements, where)
        if error is not None:
            return _failed(task, places.error(error, own, path), **fields)
        return Result(task.example.id, "passed", **fields)  # type: ignore[arg-type]
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
        return _failed(task, replace(error, message=f"{error.message} (expected "
                                     f"{task.raises})"), **fields)
    if error is None and (program.print_comments or program.print_strings):
        # The first wrong output in the block, whichever way the doc wrote it.
        errors = [check_prints(program.print_comments, run, where),
                  check_print_strings(program.print_strings, run.prints, where)]
        error = min((e for e in errors if e is not None), key=lambda e: e.line or 0,
                    default=None)
        if error is not None:
            error = places.error(error, own, path)
    if error is not None:
        return _failed(task, error, **fields)
    return Result(task.example.id, "passed", **fields)  # type: ignore[arg-type]
