"""Reports of ``docvalidate fix``: what was repaired (with the diff), what was not and why."""

from __future__ import annotations

import difflib
import json
from typing import Any

from rich.console import Console
from rich.text import Text

from docvalidate.fixing import FixReport
from docvalidate.model import ErrorInfo
from docvalidate.repair.loop import Repair
from docvalidate.report.json_report import dump_json, render_json
from docvalidate.report.safe import printable

NO_MODEL_HINT = ("configure a model to repair them with an LLM: --model NAME (or "
                 "DOCVALIDATE_MODEL) with OPENAI_API_KEY, or --llm-base-url for a local "
                 "OpenAI-compatible server")


def block_diff(repair: Repair) -> str:
    if repair.code is None:
        return ""
    ex = repair.task.example
    return "".join(difflib.unified_diff(
        ex.code.splitlines(keepends=True), repair.code.splitlines(keepends=True),
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
    }


def render_fix_json(report: FixReport) -> str:
    data = json.loads(render_json(report.check))
    repairs = {r.task.example.id: r for r in report.repairs}
    for entry in data["examples"]:
        repair = repairs.get(entry["id"])
        entry["repair"] = repair_entry(repair) if repair else None
    tokens = sum(a.prompt_tokens + a.completion_tokens for r in report.repairs
                 for a in r.attempts)
    data["summary"].update({
        "fixed": sum(r.status == "fixed" for r in report.repairs),
        "unfixed": sum(r.status == "unfixed" for r in report.repairs),
        "conflicts": sum(r.status == "conflict" for r in report.repairs),
        "still_failing": report.still_failing,
        "tokens": tokens,
    })
    data["files_written"] = [{"path": f.path, "status": f.status, "message": f.message}
                             for f in report.files]
    return dump_json(data)


def render_fix_text(console: Console, report: FixReport, show_diff: bool, llm: bool) -> None:
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
    for file in report.files:
        if file.status in ("conflict", "error"):
            console.print(Text.assemble((f"{printable(file.path, multiline=False)}: ", "bold"),
                                        ("error: ", "bold red"), printable(file.message or "")),
                          soft_wrap=True)
        elif show_diff and file.diff:
            console.print(Text(printable(file.diff.rstrip("\n"))), soft_wrap=True)
    fixed = sum(r.status == "fixed" for r in report.repairs)
    written = sum(f.status == "written" for f in report.files)
    console.print()
    line = (f"{fixed} fixed, {report.still_failing} still failing; "
            f"{written} file{'s' * (written != 1)} written")
    console.print(Text(line, style="bold green" if report.ok else "bold red"))
    if report.still_failing and not llm:
        console.print(Text(f"{report.still_failing} example"
                           f"{'s' * (report.still_failing != 1)} still fail: {NO_MODEL_HINT}",
                           style="yellow"), soft_wrap=True)
