"""``docvalidate fix``: check, repair what fails, write the repaired examples back, check the
rewritten files again.

The exit code comes from that last check, not from the repairs: a repair is judged in a run
made before writing, and only a run of the file as written (or, with ``--dry-run``, as it
would be written) tells whether the page now passes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from docvalidate.backends.base import Backend
from docvalidate.config import Config
from docvalidate.engine import (
    Collected,
    Made,
    check,
    collect,
    file_work,
    plan,
    project_root,
)
from docvalidate.engine import backend as engine_backend
from docvalidate.expected_output import flag_value
from docvalidate.model import Edit, ErrorInfo, Outcome, Result, RunReport, Session, SourceFile
from docvalidate.repair.fixers import known_imports
from docvalidate.repair.loop import Fixer, Repair, RepairSettings, repair_session
from docvalidate.repair.packages import imported_modules, package_versions
from docvalidate.report.model import REWRITTEN, FileFix, FileStatus, FixReport
from docvalidate.rewrite import (
    EditConflict,
    VerifyError,
    WriteConflict,
    rewrite_document,
    unified_diff,
    write_atomically,
)
from docvalidate.runner import FileWork, in_parallel, run_session
from docvalidate.sources.kinds import kind_of

__all__ = ["REWRITTEN", "FileFix", "FileStatus", "FixReport", "fix", "write_target"]


def fix(config: Config, paths: tuple[str, ...] = (), *, llm: Fixer | None = None,
        update_output: bool = False, max_attempts: int = 3, dry_run: bool = False,
        collected: Collected | None = None) -> FixReport:
    collected = collected or collect(config, paths)
    # One backend for the check, the repairs and the final check.
    with engine_backend(config) as made:
        return _fix(config, paths, collected, made, llm, update_output, max_attempts, dry_run)


def _fix(config: Config, paths: tuple[str, ...], collected: Collected, made: Made,
         llm: Fixer | None, update_output: bool, max_attempts: int, dry_run: bool
         ) -> FixReport:
    report = check(config, paths, collected=collected, made=made)
    backend = made[0]
    settings = RepairSettings(update_output=update_output, max_attempts=max_attempts,
                              doctest_flags=flag_value(config.doctest_flags),
                              max_output=config.max_output)
    outcomes = {o.task.example.id: o for o in report.outcomes}
    imports = known_imports(ex for f in collected.files for ex in f.examples)
    works = file_work(config, collected)
    units = [
        (work, session) for work in works for session in work.sessions
        if any(outcomes[t.example.id].result.status == "failed"
               for t in session.tasks if t.example.id in outcomes)
    ]
    # For the model: what the failing examples import, in the versions installed where the
    # examples run, asked there once for the whole run.
    versions = package_versions(backend, (
        module for _, session in units for t in session.tasks
        if t.example.id in outcomes and outcomes[t.example.id].result.status == "failed"
        for module in imported_modules(t.example.code))) if llm is not None else {}
    # Sessions are independent: repair them in parallel (the LLM fixer bounds its own
    # concurrent requests); within a session, in order.
    per_session = in_parallel(
        units, lambda unit: repair_session(unit[0], unit[1], outcomes, backend, settings,
                                           imports, llm, versions),
        config.parallel, backend)
    repairs = [repair for found in per_session for repair in found]
    roots = {work.source.path: work.root for work in works}
    repairs, files, rewritten = _write_back(config, collected, roots, repairs, dry_run)
    final, final_ids = _final_check(config, collected, report, rewritten, backend, dry_run)
    return FixReport(report, tuple(repairs), tuple(files), final, final_ids,
                     llm=llm is not None)


# --- write-back -------------------------------------------------------------------------------


def _write_back(config: Config, collected: Collected, roots: dict[str, Path],
                repairs: list[Repair], dry_run: bool
                ) -> tuple[list[Repair], list[FileFix], dict[str, bytes]]:
    """Rewrite every file with accepted repairs, one at a time and each on its own: whatever
    goes wrong with one file is reported for that file and the others go on. Returns the
    repairs (those of files not rewritten marked ``conflict``), a FileFix per file, and the
    new bytes of each file rewritten (or, with ``dry_run``, that would be)."""
    files: list[FileFix] = []
    rewritten: dict[str, bytes] = {}
    by_path: dict[str, list[Repair]] = {}
    for repair in repairs:
        if repair.changed:
            by_path.setdefault(repair.task.example.path, []).append(repair)
    not_written: dict[str, str] = {}  # example id -> why its repair is not in the file
    edits: dict[str, tuple[Edit, ...]] = {}  # example id -> its edits of the file as read
    for source in collected.files:
        changes = by_path.get(source.path)
        if not changes:
            continue
        try:
            result, new = _write_file(config, source, roots[source.path], changes, dry_run)
        except Exception as exc:  # a bug of ours must cost this file only, not the others
            result, new = FileFix(source.path, "error", "", f"internal error: {exc!r}; "
                                  "the file was not changed"), None
        files.append(result)
        # _write_file keeps the edits in the order of ``changes``, one per repair.
        if len(result.edits) == len(changes):
            edits.update((r.task.example.id, (e,)) for r, e in zip(changes, result.edits,
                                                                     strict=True))
        if new is not None and result.status in REWRITTEN:
            rewritten[source.path] = new
        else:
            why = f"nothing was written: {result.message or result.status}"
            not_written.update((r.task.example.id, why) for r in changes)
    final = []
    for r in repairs:
        key = r.task.example.id
        if key in not_written:
            r = replace(r, status="conflict", reason=not_written[key])
        final.append(replace(r, edits=edits.get(key, ())))
    return final, files, rewritten


def _write_file(config: Config, source: SourceFile, root: Path, changes: Sequence[Repair],
                dry_run: bool) -> tuple[FileFix, bytes | None]:
    path = source.path
    try:
        new, edits = rewrite_document(source, [(r.task.example, r.code or "") for r in changes],
                                      kind_of(source))
    except (VerifyError, EditConflict, ValueError) as exc:
        return FileFix(path, "error", "", f"internal error: {exc}; the file was not "
                       "changed"), None
    diff = unified_diff(path, source.data, new)
    target, refusal = write_target(config, path, root)
    if refusal is not None:
        # Checked before --dry-run returns, so that a dry run ends as the real run would.
        return FileFix(path, "refused", diff, refusal, edits), None
    if dry_run:
        return FileFix(path, "dry-run", diff, edits=edits), new
    try:
        write_atomically(target, new, source.data)
    except WriteConflict as exc:
        return FileFix(path, "conflict", diff, str(exc), edits), None
    except OSError as exc:
        return FileFix(path, "error", diff, f"cannot write {target}: {exc.strerror or exc}; "
                       "the file was not changed", edits), None
    return FileFix(path, "written", diff, edits=edits), new


def write_target(config: Config, path: str, root: Path) -> tuple[Path, str | None]:
    """The file a rewrite of the page ``path`` replaces, and why it must not, if so.

    A page reached through symlinks (the page itself, a chain of links, or a linked folder on
    the way) is edited through them: the file at the end is rewritten and the links stay. That
    file must lie inside the project root: ``root`` (where the page's examples run, as
    ``file_work`` decides it from where the file really is) and, unless the config fixes that
    folder, the project root seen from where the page is named, so that a link into another
    project (with a pyproject.toml of its own) does not make that project fair game."""
    named = Path(os.path.abspath(path))
    target = Path(os.path.realpath(named))
    if target == named:
        return target, None  # no link on the way: today's behaviour, wherever the page is
    roots = [root]
    if not config.cwd:
        roots.append(project_root(named.parent))
    for allowed in roots:
        real_root = Path(os.path.realpath(allowed))
        if not target.is_relative_to(real_root):
            how = ("is a symlink to" if named.is_symlink()
                   else "is reached through a symlinked folder: it is")
            return target, (f"{path} {how} {target}, outside the project root {real_root}; "
                            "not written")
    return target, None


# --- the final check --------------------------------------------------------------------------


def _final_check(config: Config, collected: Collected, first: RunReport,
                 rewritten: dict[str, bytes], backend: Backend, dry_run: bool
                 ) -> tuple[RunReport, tuple[tuple[str, str], ...]]:
    """Check every rewritten file again, through the same backend: read back from disk after
    a real write, extracted from the new bytes in memory with ``dry_run``. Files not rewritten
    keep their results from the first check."""
    if not rewritten:
        return first, ()
    sources = {f.path: f for f in collected.files}
    # One file at a time, so that a file that cannot be read or planned again is reported on
    # its own (a file error: the run fails) and the others are still checked.
    planned = [_plan(config, _reread(config, sources[path], new, dry_run))
               for path, new in rewritten.items()]
    again = {p.files[0].path: p.files[0] for p in planned}
    files = tuple(again.get(f.path, f) for f in collected.files)
    works = file_work(config, Collected(tuple(p.files[0] for p in planned),
                                        tuple(p.sessions[0] for p in planned)))
    units = [(work, session) for work in works for session in work.sessions]
    doctest_flags = flag_value(config.doctest_flags)

    def one(unit: tuple[FileWork, Session]) -> list[Outcome]:
        work, session = unit
        try:
            return run_session(work, session, backend, config.max_output,
                               doctest_flags=doctest_flags)
        except Exception as exc:  # this session fails; the other files' results stand
            error = ErrorInfo("FinalCheckError", f"could not run the example again after the "
                              f"rewrite: {exc!r}")
            return [Outcome(t, Result(t.example.id, "failed", error=error))
                    for t in session.tasks]

    backend.refresh()  # the pages as written, not the copies made before
    per_session = in_parallel(units, one, config.parallel, backend)
    outcomes = [o for o in first.outcomes if o.task.example.path not in again]
    outcomes += [o for found in per_session for o in found]
    order = {f.path: i for i, f in enumerate(files)}
    outcomes.sort(key=lambda o: (order.get(o.task.example.path, len(order)),
                                 o.task.example.line))
    ids: list[tuple[str, str]] = []
    for path, fresh_source in again.items():
        before = sources[path].examples
        # The rewrite keeps the number and order of examples (rewrite_document verifies it);
        # a file that changed on disk after the write may not, and then nothing is matched.
        if len(before) == len(fresh_source.examples):
            ids.extend((old.id, new.id)
                       for old, new in zip(before, fresh_source.examples, strict=True))
    return RunReport(files, tuple(outcomes), first.notices), tuple(ids)


def _reread(config: Config, source: SourceFile, new: bytes, dry_run: bool) -> SourceFile:
    """The rewritten document as the final check sees it: from disk, or from ``new``."""
    try:
        kind = kind_of(source)
        if dry_run:
            return kind.reextract(source.path, new, source.dialect)
        return kind.read(Path(source.path), source.path, source.dialect, config.max_file_size)
    except Exception as exc:  # reported on this file; the others go on
        return SourceFile(source.path, source.dialect, error="could not read the file again "
                          f"after the rewrite: {exc}")


def _plan(config: Config, source: SourceFile) -> Collected:
    """``source`` and its sessions; when planning fails (e.g. the interpreter no longer
    answers for ``requires=``), the file as a file error, so the run cannot pass."""
    try:
        return plan(config, (source,))
    except Exception as exc:
        failed = SourceFile(source.path, source.dialect, error="could not plan the file again "
                            f"after the rewrite: {exc}")
        return Collected((failed,), ((),))
