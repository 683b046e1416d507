"""The JSON report (version 1). Keys may be added later; none are removed."""

from __future__ import annotations

import json
from typing import Any

from docvalidate.model import ErrorInfo, Outcome, RunReport, Session, SourceFile, Task


def _error(error: ErrorInfo | None) -> dict[str, Any] | None:
    if error is None:
        return None
    entry: dict[str, Any] = {"type": error.type, "message": error.message,
                             "line": error.line, "traceback": error.traceback}
    if error.path is not None:  # the line is in another file (a setup file, a snippet)
        entry["path"] = error.path
    if error.diff:
        entry["diff"] = error.diff
    return entry


def _file(source: SourceFile) -> dict[str, Any]:
    return {
        "path": source.path,
        "dialect": source.dialect,
        "examples": len(source.examples),
        "error": source.error,
        "warnings": [{"line": w.line, "message": w.message} for w in source.warnings],
    }


def example_entry(task: Task) -> dict[str, Any]:
    ex = task.example
    return {
        "id": ex.id,
        "fingerprint": ex.fingerprint,
        "path": ex.path,
        "line": ex.line,
        "end_line": ex.end_line,
        "language": ex.language,
        "session": task.session,
        "directives": [
            {"name": d.name, "value": d.value, "line": d.line, "origin": d.origin or None}
            for d in ex.directives
        ],
        "marker": task.marker,
    }


def dump_json(data: Any) -> str:
    """``data`` as JSON text that is plain printable ASCII, whatever the strings in it hold.

    ``ensure_ascii`` (explicit: the report depends on it) writes every character outside
    space..tilde as a ``\\u`` escape: controls, DEL, C1, bidi controls, lone surrogates. So
    the text can be written to any stream or file without an encoding error, shows nothing a
    terminal would act on, and reads back as exactly the same data.
    """
    # "##[" is a workflow command wherever it stands in a line (a JSON report printed in a CI
    # log): written with its second "#" as \u0023, it is the same data. "#" only occurs
    # inside JSON strings, so the text can be edited as a whole.
    return json.dumps(data, indent=2, ensure_ascii=True).replace("##[", "#\\u0023[")


def outcome_entry(outcome: Outcome) -> dict[str, Any]:
    """One example of a check, as the JSON report shows it."""
    result = outcome.result
    return {
        **example_entry(outcome.task),
        "status": result.status,
        "reason": result.reason,
        "backend": result.backend or None,
        "duration": round(result.duration, 6),
        "stdout": result.stdout,
        "stderr": result.stderr,
        "stdout_dropped": result.stdout_dropped,
        "stderr_dropped": result.stderr_dropped,
        "error": _error(result.error),
    }


def summary_entry(report: RunReport) -> dict[str, int]:
    return {
        "passed": report.count("passed"),
        "failed": report.count("failed"),
        "skipped": report.count("skipped"),
        "errors": report.count("error"),
        "file_errors": report.file_errors,
    }


def check_data(report: RunReport) -> dict[str, Any]:
    """The check's JSON report as data (the fix report extends it); examples in the order of
    ``report.outcomes``."""
    return {
        "version": 1,
        "summary": summary_entry(report),
        "files": [_file(f) for f in report.files],
        "examples": [outcome_entry(o) for o in report.outcomes],
        "notices": list(report.notices),
        "usage": report.usage or None,
    }


def render_json(report: RunReport) -> str:
    return dump_json(check_data(report))


def render_list_json(files: tuple[SourceFile, ...],
                     sessions: tuple[tuple[Session, ...], ...]) -> str:
    tasks = sorted(
        (task for per_file in sessions for s in per_file for task in s.tasks),
        key=lambda t: (t.example.path, t.example.line),
    )
    order = {f.path: i for i, f in enumerate(files)}
    tasks.sort(key=lambda t: (order.get(t.example.path, 0), t.example.line))
    return dump_json({
        "version": 1,
        "files": [_file(f) for f in files],
        "examples": [
            {**example_entry(t), "skip": t.skip,
             "error": _error(t.error)} for t in tasks
        ],
    })
