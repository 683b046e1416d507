"""The terminal report: one section per failure, then warnings and a one-line summary."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from docvalidate.model import Outcome, RunReport, Session, SourceFile
from docvalidate.report.safe import printable
from docvalidate.sources.document import text_lines

CONTEXT = 3  # lines of the example shown around the failing line


def _lines_of(source: SourceFile) -> list[str]:
    return text_lines(source.text)


def _failure(console: Console, outcome: Outcome, doc_lines: list[str]) -> None:
    ex, error = outcome.task.example, outcome.result.error
    assert error is not None
    where = error.line or ex.line
    console.print()
    header = Text()
    header.append("FAILED ", style="bold red")
    header.append(f"{printable(error.path or ex.path, multiline=False)}:{where}", style="bold")
    if error.path is not None:  # the line is in another file: a setup file, a snippet
        header.append(f" (example at {printable(ex.id, multiline=False)})", style="dim")
        doc_lines = []
    elif where != ex.line:
        header.append(f" (example at line {ex.line})", style="dim")
    console.print(header, soft_wrap=True)
    first, last = min(ex.line, where), ex.end_line
    if last - first > 2 * CONTEXT + 1:
        first, last = max(first, where - CONTEXT), min(last, where + CONTEXT)
    width = len(str(last))
    for number in range(first, last + 1):
        if number - 1 >= len(doc_lines):
            break
        mark = number == where
        line = Text(f"{'>' if mark else ' '} {number:>{width}} | ",
                    style="bold red" if mark else "dim")
        line.append(printable(doc_lines[number - 1]), style="bold" if mark else "")
        console.print(line, soft_wrap=True)
    message = printable(f"{error.type}: {error.message}")
    if error.diff:
        console.print(Text(message, style="red"), soft_wrap=True)
        for diff_line in printable(error.diff.rstrip("\n")).split("\n"):
            style = ("green" if diff_line.startswith("+") else "red" if diff_line.startswith("-")
                     else "cyan" if diff_line.startswith("@@") else "")
            console.print(Text(diff_line, style=style), soft_wrap=True)
    elif error.traceback and error.type != "Timeout":
        console.print(Text(printable(error.traceback.rstrip("\n")), style="red"),
                      soft_wrap=True)
    else:
        console.print(Text(message, style="red"), soft_wrap=True)
    result = outcome.result
    for name, text, dropped in (("stdout", result.stdout, result.stdout_dropped),
                                ("stderr", result.stderr, result.stderr_dropped)):
        if text.strip():
            console.print(Text(f"--- captured {name} ---", style="dim"))
            console.print(Text(printable(text.rstrip("\n"))), soft_wrap=True)
        if dropped:
            console.print(Text(f"... {dropped} more bytes of {name} dropped (capture limit)",
                               style="dim"))


def summary_line(report: RunReport) -> str:
    parts = [f"{report.count('passed')} passed", f"{report.count('failed')} failed",
             f"{report.count('skipped')} skipped"]
    errors = report.count("error")
    if errors:
        parts.append(f"{errors} not judged (backend error{'s' * (errors != 1)})")
    if report.file_errors:
        parts.append(f"{report.file_errors} file error{'s' * (report.file_errors != 1)}")
    usage = f" ({report.usage})" if report.usage else ""
    return ", ".join(parts) + f" in {report.seconds:.2f}s{usage}"


def render_text(console: Console, report: RunReport, verbose: bool = False) -> None:
    docs = {f.path: _lines_of(f) for f in report.files}
    for outcome in report.outcomes:
        if outcome.result.status == "failed":
            _failure(console, outcome, docs.get(outcome.task.example.path, []))
    notes = [Text.assemble((f"{printable(o.task.example.id, multiline=False)}: ", "bold"),
                           ("error: ", "bold red"), printable(o.result.reason or ""))
             for o in report.outcomes if o.result.status == "error"]
    for source in report.files:
        path = printable(source.path, multiline=False)
        if source.error:
            notes.append(Text.assemble((f"{path}: ", "bold"), ("error: ", "bold red"),
                                       printable(source.error)))
        for warning in source.warnings:
            where = f"{path}:{warning.line}" if warning.line else path
            notes.append(Text.assemble((f"{where}: ", "bold"), ("warning: ", "yellow"),
                                       printable(warning.message)))
    if verbose:
        for outcome in report.outcomes:
            if outcome.result.status == "skipped":
                notes.append(Text.assemble(
                    (f"{printable(outcome.task.example.id, multiline=False)}: ", "bold"),
                    ("skipped: ", "cyan"), printable(outcome.result.reason or "")))
        notes.extend(Text.assemble(("note: ", "cyan"), printable(detail, multiline=False))
                     for detail in report.details)
    if notes:
        console.print()
        for note in notes:
            console.print(note, soft_wrap=True)
    if not report.files:
        console.print(Text("no Markdown files found", style="yellow"))
    console.print()
    style = "bold red" if not report.ok else "bold green"
    console.print(Text(summary_line(report), style=style))


def render_list(console: Console, files: tuple[SourceFile, ...],
                sessions: tuple[tuple[Session, ...], ...]) -> None:
    for source, per_file in zip(files, sessions, strict=True):
        if source.error:
            console.print(Text.assemble((f"{printable(source.path, multiline=False)}: ", "bold"),
                                        ("error: ", "bold red"), printable(source.error)),
                          soft_wrap=True)
            continue
        tasks = sorted((t for s in per_file for t in s.tasks), key=lambda t: t.example.line)
        for task in tasks:
            ex = task.example
            directives = ", ".join(
                d.name + (f"={d.value}" if d.value is not None else "") for d in ex.directives
            )
            status = ("error: " + task.error.message if task.error
                      else "skip: " + task.skip if task.skip
                      else "xfail" + (f": {task.xfail}" if task.xfail else "")
                      if task.xfail is not None else "run")
            if task.marker:
                status += f"; decided by {task.marker}"
            # One line per example: what came from the document is shown with its newlines
            # escaped too.
            line = Text.assemble((printable(ex.id, multiline=False), "bold"),
                                 f"  {printable(ex.language, multiline=False)}  "
                                 f"session={printable(task.session, multiline=False)}")
            if directives:
                line.append(f"  [{printable(directives, multiline=False)}]")
            line.append(f"  ({printable(status, multiline=False)})", style="dim")
            console.print(line, soft_wrap=True)
    count = sum(len(f.examples) for f in files)
    console.print(Text(f"{count} example{'s' * (count != 1)} in {len(files)} "
                       f"file{'s' * (len(files) != 1)}"))
