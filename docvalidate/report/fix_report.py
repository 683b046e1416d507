"""Reports of ``docvalidate fix``: what was repaired (with the diff), what was not and why."""

from __future__ import annotations

import difflib
from typing import Any

from rich.console import Console
from rich.text import Text

from docvalidate.model import Edit, ErrorInfo, Outcome
from docvalidate.repair.loop import Repair
from docvalidate.report.json_report import check_data, dump_json, summary_entry
from docvalidate.report.model import FixReport
from docvalidate.report.safe import printable
from docvalidate.sources.document import lines_with_ends

NO_MODEL_HINT = ("configure a model to repair them with an LLM: --model NAME (or "
                 "DOCVALIDATE_MODEL) with OPENAI_API_KEY, or --llm-base-url for a local "
                 "OpenAI-compatible server")


def block_diff(repair: Repair) -> str:
    if repair.code is None:
        return ""
    ex = repair.task.example
    return "".join(difflib.unified_diff(
        lines_with_ends(ex.code), lines_with_ends(repair.code),
        f"{ex.id} (before)", f"{ex.id} (after)"))


def _error(error: ErrorInfo | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"type": error.type, "message": error.message, "line": error.line}


def repair_entry(repair: Repair) -> dict[str, Any]:
    return {
        "status": repair.status,
        "fixer": repair.fixer,
        "reason": repair.reason,
        "attempts": [
            {"fixer": a.fixer, "code": a.code, "error": _error(a.error), "rejected": a.rejected,
             "prompt_tokens": a.prompt_tokens, "completion_tokens": a.completion_tokens}
            for a in repair.attempts
        ],
        "diff": block_diff(repair),
        "edits": [edit_entry(e) for e in repair.edits],
    }


def edit_entry(edit: Edit) -> dict[str, Any]:
    """An edit as JSON: byte offsets in the file as read, and the text that replaces them."""
    return {"path": edit.path, "span": list(edit.span),
            "new_text": edit.new_text.decode("utf-8", "surrogateescape")}


def final_entry(outcome: Outcome | None) -> dict[str, Any] | None:
    """An example's result in the final check (its id and line as in the rewritten file)."""
    if outcome is None:
        return None
    result = outcome.result
    return {"id": outcome.task.example.id, "fingerprint": outcome.task.example.fingerprint,
            "line": outcome.task.example.line,
            "status": result.status, "reason": result.reason, "error": _error(result.error)}


def render_fix_json(report: FixReport) -> str:
    data = check_data(report.check)
    for outcome, entry in zip(report.check.outcomes, data["examples"], strict=True):
        example_id = outcome.task.example.id
        repair = report.repair_of(example_id)
        entry["repair"] = repair_entry(repair) if repair else None
        entry["final"] = final_entry(report.final_outcome(example_id))
    tokens = sum(a.prompt_tokens + a.completion_tokens for r in report.repairs
                 for a in r.attempts)
    data["summary"].update({
        "fixed": sum(r.status == "fixed" for r in report.repairs),
        "unfixed": sum(r.status == "unfixed" for r in report.repairs),
        "conflicts": sum(r.status == "conflict" for r in report.repairs),
        "still_failing": report.still_failing,
        "tokens": tokens,
    })
    # Each file's edits are listed with the repairs they come from ("repair"/"edits").
    data["files_written"] = [{"path": f.path, "status": f.status, "message": f.message}
                             for f in report.files]
    # The check after the rewrite decides the exit code; "summary" above is the first check's.
    data["final"] = {**summary_entry(report.final),
                     "errors": [{"path": f.path, "error": f.error}
                                for f in report.final.files if f.error]}
    return dump_json(data)


def render_fix_text(console: Console, report: FixReport, show_diff: bool) -> None:
    for repair in report.repairs:
        ex = repair.task.example
        name = printable(ex.id, multiline=False)
        if repair.status == "fixed":
            how = printable(repair.fixer or "earlier repairs", multiline=False)
            n = len(repair.attempts)
            console.print(Text.assemble(("FIXED ", "bold green"), (name, "bold"),
                                        f"  by {how}, {n} attempt{'s' * (n != 1)}"),
                          soft_wrap=True)
            diff = block_diff(repair)
            if diff:
                for line in printable(diff.rstrip("\n")).split("\n"):
                    style = "green" if line.startswith("+") else \
                        "red" if line.startswith("-") else ""
                    console.print(Text(line, style=style), soft_wrap=True)
        else:
            label = {"unfixed": "UNFIXED ", "skipped": "SKIPPED ", "conflict": "CONFLICT "}
            console.print(Text.assemble((label[repair.status], "bold red"), (name, "bold"),
                                        f"  {printable(repair.reason or '', multiline=False)}"),
                          soft_wrap=True)
            for k, attempt in enumerate(repair.attempts, 1):
                why = attempt.rejected or (f"{attempt.error.type}: {attempt.error.message}"
                                           if attempt.error else "failed")
                # One line per attempt, whatever the candidate raised or the model answered.
                console.print(Text(f"  attempt {k} ({printable(attempt.fixer, multiline=False)})"
                                   f": {printable(why, multiline=False)}", style="dim"),
                              soft_wrap=True)
    _render_final_failures(console, report)
    for file in report.files:
        if file.status in ("conflict", "error", "refused"):
            what = "refused: " if file.status == "refused" else "error: "
            console.print(Text.assemble((f"{printable(file.path, multiline=False)}: ", "bold"),
                                        (what, "bold red"), printable(file.message or "")),
                          soft_wrap=True)
        elif show_diff and file.diff:
            console.print(Text(printable(file.diff.rstrip("\n"))), soft_wrap=True)
    rewritten = {f.path for f in report.files if f.status in ("written", "dry-run")}
    for source in report.final.files:
        if source.error and source.path in rewritten:
            console.print(Text.assemble((f"{printable(source.path, multiline=False)}: ", "bold"),
                                        ("error: ", "bold red"), printable(source.error)),
                          soft_wrap=True)
    fixed = sum(r.status == "fixed" for r in report.repairs)
    written = sum(f.status == "written" for f in report.files)
    console.print()
    console.print(Text(summary_line(report, fixed, written),
                       style="bold green" if report.ok else "bold red"))
    if report.still_failing and not report.llm:
        console.print(Text(f"{report.still_failing} example"
                           f"{'s' * (report.still_failing != 1)} still fail: {NO_MODEL_HINT}",
                           style="yellow"), soft_wrap=True)


def _render_final_failures(console: Console, report: FixReport) -> None:
    """Examples that fail in the final check although no line above says so: a repaired
    example, or one that passed before, failing in the file as written."""
    explained = {r.task.example.id for r in report.repairs if r.status != "fixed"}
    moved = {new: old for old, new in report.final_ids}
    for outcome in report.final.outcomes:
        result = outcome.result
        if result.status != "failed" or moved.get(outcome.task.example.id,
                                                  outcome.task.example.id) in explained:
            continue
        error = result.error
        why = f"{error.type}: {error.message}" if error else result.reason or ""
        console.print(Text.assemble(
            ("FAILED ", "bold red"), (printable(outcome.task.example.id, multiline=False), "bold"),
            f"  after fixing: {printable(why, multiline=False)}"), soft_wrap=True)


def summary_line(report: FixReport, fixed: int, written: int) -> str:
    """The last line: what was repaired and written, then the final check's numbers, which
    decide the exit code."""
    final = report.final
    dry = " (dry run)" if any(f.status == "dry-run" for f in report.files) else ""
    parts = [f"{final.count('passed')} passed", f"{final.count('failed')} failed"]
    if final.count("skipped"):
        parts.append(f"{final.count('skipped')} skipped")
    if final.file_errors:
        parts.append(f"{final.file_errors} file error{'s' * (final.file_errors != 1)}")
    return (f"{fixed} fixed; {written} file{'s' * (written != 1)} written{dry}; "
            f"after fixing: {', '.join(parts)}")
