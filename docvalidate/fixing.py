"""``docvalidate fix``: check, repair what fails, write the repaired examples back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from docvalidate.config import Config
from docvalidate.engine import Collected, check, collect, file_work, make_backend
from docvalidate.expected_output import flag_value
from docvalidate.model import RunReport
from docvalidate.repair.fixers import known_imports
from docvalidate.repair.loop import Fixer, Repair, RepairSettings, repair_session
from docvalidate.rewrite import (
    VerifyError,
    WriteConflict,
    rewrite_document,
    unified_diff,
    write_atomically,
)
from docvalidate.runner import in_parallel

FileStatus = Literal["written", "dry-run", "conflict", "error"]


@dataclass(frozen=True)
class FileFix:
    path: str
    status: FileStatus
    diff: str
    message: str | None = None


@dataclass(frozen=True)
class FixReport:
    check: RunReport  # the run before any repair
    repairs: tuple[Repair, ...]
    files: tuple[FileFix, ...]

    @property
    def still_failing(self) -> int:
        fixed = {r.task.example.id for r in self.repairs if r.status == "fixed"}
        return sum(1 for o in self.check.outcomes
                   if o.result.status == "failed" and o.task.example.id not in fixed)

    @property
    def ok(self) -> bool:
        return self.still_failing == 0 and self.check.file_errors == 0


def fix(config: Config, paths: tuple[str, ...] = (), *, llm: Fixer | None = None,
        update_output: bool = False, max_attempts: int = 3, dry_run: bool = False,
        collected: Collected | None = None) -> FixReport:
    collected = collected or collect(config, paths)
    made = make_backend(config)
    report = check(config, paths, collected=collected, made=made)
    backend = made[0]
    settings = RepairSettings(update_output=update_output, max_attempts=max_attempts,
                              doctest_flags=flag_value(config.doctest_flags),
                              max_output=config.max_output)
    outcomes = {o.task.example.id: o for o in report.outcomes}
    imports = known_imports(ex for f in collected.files for ex in f.examples)
    units = [
        (work, session) for work in file_work(config, collected) for session in work.sessions
        if any(outcomes[t.example.id].result.status == "failed"
               for t in session.tasks if t.example.id in outcomes)
    ]
    # Sessions are independent: repair them in parallel (the LLM fixer bounds its own
    # concurrent requests); within a session, in order.
    per_session = in_parallel(
        units, lambda unit: repair_session(unit[0], unit[1], outcomes, backend, settings,
                                           imports, llm),
        config.jobs, backend)
    repairs = [repair for found in per_session for repair in found]
    repairs, files = _write_back(collected, repairs, dry_run)
    return FixReport(report, tuple(repairs), tuple(files))


def _write_back(collected: Collected, repairs: list[Repair], dry_run: bool
                ) -> tuple[list[Repair], list[FileFix]]:
    files: list[FileFix] = []
    by_path: dict[str, list[Repair]] = {}
    for repair in repairs:
        if repair.changed:
            by_path.setdefault(repair.task.example.path, []).append(repair)
    conflicted: set[str] = set()
    for source in collected.files:
        changes = by_path.get(source.path)
        if not changes:
            continue
        try:
            new = rewrite_document(source.data, [(r.task.example, r.code or "")
                                                 for r in changes], source.dialect, source.path)
        except VerifyError as exc:
            files.append(FileFix(source.path, "error", "", f"internal error: {exc}; "
                                 "the file was not changed"))
            conflicted.update(r.task.example.id for r in changes)
            continue
        diff = unified_diff(source.path, source.data, new)
        if dry_run:
            files.append(FileFix(source.path, "dry-run", diff))
            continue
        try:
            write_atomically(Path(source.path), new, source.data)
        except WriteConflict as exc:
            files.append(FileFix(source.path, "conflict", diff, str(exc)))
            conflicted.update(r.task.example.id for r in changes)
            continue
        files.append(FileFix(source.path, "written", diff))
    final = [
        Repair(r.task, "conflict", r.fixer, r.attempts, r.code, "the file changed on disk or "
               "could not be rewritten safely; nothing was written", r.result)
        if r.task.example.id in conflicted else r
        for r in repairs
    ]
    return final, files
