"""The repair loop: deterministic fixers first, then the LLM, every candidate run through the
same runner (inside its whole session) and judged by the intent guard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from docvalidate.backends.base import Backend
from docvalidate.model import Edit, ErrorInfo, Outcome, Result, Session, Task
from docvalidate.repair.context import AttemptSummary, Proposal, RepairContext
from docvalidate.repair.fixers import fix_import, fix_output
from docvalidate.repair.guard import check_intent
from docvalidate.repair.packages import versions_for
from docvalidate.runner import FileWork, run_session
from docvalidate.sources.document import text_lines

RepairStatus = Literal["fixed", "unfixed", "skipped", "conflict"]
PROSE_LINES = 12  # lines of Markdown before a block given to the model


class Fixer(Protocol):
    def propose(self, ctx: RepairContext) -> Proposal: ...


@dataclass(frozen=True)
class Attempt:
    fixer: str  # output | import | llm
    code: str | None
    error: ErrorInfo | None = None  # what the candidate raised when it ran
    rejected: str | None = None  # why it was not accepted (guard, no code, same as before, ...)
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Repair:
    task: Task
    status: RepairStatus
    fixer: str | None = None
    attempts: tuple[Attempt, ...] = ()
    code: str | None = None  # the accepted code
    reason: str | None = None
    result: Result | None = None  # the accepted candidate's result
    # The bytes the accepted code changes in the file as read, once the rewrite has made and
    # verified them (whether they were written: the file's status in the fix report).
    edits: tuple[Edit, ...] = ()

    @property
    def changed(self) -> bool:
        return self.status == "fixed" and self.code is not None \
            and self.code != self.task.example.code


@dataclass(frozen=True)
class RepairSettings:
    update_output: bool = False
    max_attempts: int = 3
    doctest_flags: int = 0
    max_output: int = 1024 * 1024


def repair_session(
    work: FileWork,
    session: Session,
    outcomes: dict[str, Outcome],
    backend: Backend,
    settings: RepairSettings,
    imports: dict[str, str],
    llm: Fixer | None = None,
    versions: Mapping[str, str] | None = None,
) -> list[Repair]:
    """Repair the failing examples of one session, in order, so that earlier blocks are
    repaired before the blocks that depend on them.

    A candidate runs inside its session: after the earlier blocks (with the repairs made so
    far) and before the later blocks up to the last one that passed in the check, because a
    repair can break a block after it (a name it defined, an output it printed) and such a
    repair must not be written. ``versions``: the packages installed where examples run
    (``packages.package_versions``), for the model's prompt."""
    passed = {t.example.id for t in session.tasks
              if (o := outcomes.get(t.example.id)) is not None and o.result.status == "passed"}
    last_passed = max((i for i, t in enumerate(session.tasks) if t.example.id in passed),
                      default=-1)
    current: dict[str, str] = {}  # example id -> repaired code
    # Results of the last run made with exactly the code the session now has (the accepted
    # candidate's run): a later block it covered need not run again to see whether the
    # repairs before it were enough.
    latest: dict[str, Result] = {}
    repairs: list[Repair] = []
    for index, task in enumerate(session.tasks):
        outcome = outcomes.get(task.example.id)
        if outcome is None or outcome.result.status != "failed" or task.error is not None:
            continue
        earlier = [t for t in session.tasks[:index] if _runs(t)]
        later = [t for t in session.tasks[index + 1:last_passed + 1] if _runs(t)]
        loop = _Loop(work, session, earlier, later, passed, current, task, backend, settings,
                     versions or {})
        repair = loop.run(outcome.result, imports, llm, latest.get(task.example.id))
        if repair.changed and repair.code is not None:
            current[task.example.id] = repair.code
            latest = loop.accepted_run
        repairs.append(repair)
    return repairs


@dataclass
class _Loop:
    work: FileWork
    session: Session
    earlier: list[Task]
    later: list[Task]  # the blocks after this one, up to the last that passed in the check
    passed: set[str]  # ids of the session's examples that passed in the check
    current: dict[str, str]
    task: Task
    backend: Backend
    settings: RepairSettings
    versions: Mapping[str, str]  # module -> version installed where examples run
    # Every example's result in the run that accepted a candidate (see repair_session).
    accepted_run: dict[str, Result] = field(default_factory=dict)

    def run(self, result: Result, imports: dict[str, str], llm: Fixer | None,
            known: Result | None = None) -> Repair:
        """``known``: this example's result in a run made with the repairs so far, if any."""
        task, example = self.task, self.task.example
        if task.no_fix:
            return Repair(task, "skipped", reason="marked no-fix")
        if task.xfail is not None:
            return Repair(task, "skipped", reason="expected to fail (xfail)")
        if any(t.example.id in self.current for t in self.earlier):
            again, broke = (known, None) if known is not None else self.try_code(example.code)
            if again.status == "passed" and broke is None:
                return Repair(task, "fixed", reason="passes once the blocks before it are "
                              "repaired", code=example.code, result=again)
            if again.status == "passed":
                # The run that accepted the earlier repair had this block unchanged and saw
                # no break: a flaky later block. Changing this block cannot be judged fairly.
                return Repair(task, "unfixed", reason=_broke(broke))
            if again.error is None:  # not run: the session ended before it (a fatal block)
                return Repair(task, "unfixed", reason=again.reason or "not run")
            result = again
        assert result.error is not None
        attempts: list[Attempt] = []
        deterministic = []
        if self.settings.update_output:
            deterministic.append(("output", fix_output(example, result,
                                                       self.settings.doctest_flags)))
        deterministic.append(("import", fix_import(example, result.error, imports)))
        for name, code in deterministic:
            if code is None:
                continue
            attempt, accepted = self.judge(name, code, result.error)
            attempts.append(attempt)
            if accepted is not None:
                return Repair(task, "fixed", name, tuple(attempts), code, result=accepted)
        if llm is None:
            return Repair(task, "unfixed", None, tuple(attempts),
                          reason=_why(result.error, attempts))
        return self.llm_loop(llm, result, attempts)

    def llm_loop(self, llm: Fixer, result: Result, attempts: list[Attempt]) -> Repair:
        task = self.task
        error = result.error
        assert error is not None
        seen_codes = {task.example.code}
        seen_errors = {_error_key(error)}
        for _ in range(self.settings.max_attempts):
            proposal = llm.propose(self.context(result, attempts))
            tokens = (proposal.prompt_tokens, proposal.completion_tokens)
            code = proposal.code
            if code is None:
                attempts.append(Attempt("llm", None, None, proposal.reason or "no code",
                                        *tokens))
                continue
            if not code.endswith("\n"):
                code += "\n"
            if code in seen_codes:
                attempts.append(Attempt("llm", code, None, "the same code as an earlier "
                                        "attempt; stopped", *tokens))
                break
            seen_codes.add(code)
            attempt, accepted = self.judge("llm", code, error, tokens)
            attempts.append(attempt)
            if accepted is not None:
                return Repair(task, "fixed", "llm", tuple(attempts), code, result=accepted)
            if attempt.error is not None:
                key = _error_key(attempt.error)
                if key in seen_errors:
                    break  # the same error twice: the model is going in circles
                seen_errors.add(key)
        return Repair(task, "unfixed", None, tuple(attempts), reason=_why(error, attempts))

    def judge(self, fixer: str, code: str, error: ErrorInfo,
              tokens: tuple[int, int] = (0, 0)) -> tuple[Attempt, Result | None]:
        """Guard first (cheap), then a real run; the accepted Result, or None."""
        rejected = check_intent(
            self.task.example.code, code, interactive=self.task.example.interactive, error=error,
            update_output=self.settings.update_output or fixer == "output",
            no_fix=self.task.no_fix)
        if rejected:
            return Attempt(fixer, code, None, rejected, *tokens), None
        result, broke = self.try_code(code)
        if result.status == "passed" and broke is None:
            return Attempt(fixer, code, None, None, *tokens), result
        if result.status == "passed":
            return Attempt(fixer, code, None, _broke(broke), *tokens), None
        return Attempt(fixer, code, result.error, None if result.error else result.reason,
                       *tokens), None

    def try_code(self, code: str) -> tuple[Result, Outcome | None]:
        """Run ``code`` in place of the example inside its session, in a fresh interpreter of
        the same backend: after the earlier blocks (with the repairs made so far), before the
        later blocks up to the last one that passed in the check. One run answers both
        questions: this example's result, and the first block that passed in the check and
        no longer does (None when there is none). Later blocks that failed in the check may
        still fail: they are repaired next, in order."""
        def with_code(task: Task, new: str | None) -> Task:
            if new is None:
                return task
            return replace(task, example=replace(task.example, code=new))

        tasks = [with_code(t, self.current.get(t.example.id)) for t in self.earlier]
        tasks.append(with_code(self.task, code))
        tasks.extend(self.later)
        session = Session(self.session.id, self.session.path, tuple(tasks))
        outcomes = run_session(self.work, session, self.backend, self.settings.max_output,
                               doctest_flags=self.settings.doctest_flags)
        own = next(o.result for o in outcomes if o.task.example.id == self.task.example.id)
        # Only the blocks after it: what runs before the candidate cannot be its doing.
        later = {t.example.id for t in self.later} & self.passed
        broke = next((o for o in outcomes if o.task.example.id in later
                      and o.result.status != "passed"), None)
        if own.status == "passed" and broke is None:
            self.accepted_run = {o.task.example.id: o.result for o in outcomes}
        return own, broke

    def context(self, result: Result, attempts: Sequence[Attempt]) -> RepairContext:
        example = self.task.example
        doc_lines = text_lines(self.work.source.text)
        before = doc_lines[max(0, example.line - 1 - PROSE_LINES): example.line - 1]
        assert result.error is not None
        return RepairContext(
            example=example,
            error=result.error,
            stdout=result.stdout,
            stderr=result.stderr,
            earlier=tuple(self.current.get(t.example.id, t.example.code) for t in self.earlier),
            prose="\n".join(before),
            packages=versions_for(example.code, self.versions),
            attempts=tuple(AttemptSummary(a.code or "", a.error, a.rejected) for a in attempts),
        )


def _runs(task: Task) -> bool:
    """Whether a task runs at all (a skipped or malformed one is settled without running)."""
    return task.skip is None and task.error is None


def _broke(outcome: Outcome | None) -> str:
    """Why a candidate that passed itself is rejected: the block it broke, and how."""
    assert outcome is not None
    result = outcome.result
    how = (f"{result.error.type}: {result.error.message}" if result.error is not None
           else f"{result.status}: {result.reason or 'no result'}")
    return f"breaks the example at {outcome.task.example.id}, which passed before: {how}"


def _error_key(error: ErrorInfo) -> tuple[str, str, int | None]:
    return error.type, error.message, error.line


def _why(error: ErrorInfo, attempts: Sequence[Attempt]) -> str:
    if not attempts:
        return f"no fixer applies to {error.type}"
    last = attempts[-1]
    if last.rejected:
        return f"last attempt rejected: {last.rejected}"
    if last.error:
        return f"last attempt failed: {last.error.type}: {last.error.message}"
    return "no attempt passed"
