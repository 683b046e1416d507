"""Command line: ``docvalidate check`` and ``docvalidate list`` — thin doors over the engine."""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from docvalidate import __version__
from docvalidate.config import Config, load_config, merge
from docvalidate.engine import Collected, check, collect
from docvalidate.errors import DocvalidateError, UsageError
from docvalidate.model import Outcome
from docvalidate.report.json_report import render_json, render_list_json
from docvalidate.report.safe import harden_streams, printable
from docvalidate.report.text import render_list, render_text
from docvalidate.sources.dialects import DIALECTS


def _selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=str)),
        click.option("--exclude", "exclude", multiple=True, metavar="GLOB",
                     help="Skip files and folders matching GLOB (repeatable)."),
        click.option("--dialect", type=click.Choice(DIALECTS),
                     help="Markdown dialect (default: auto, mkdocs when an mkdocs.yml is found)."),
        click.option("--sessions", type=click.Choice(["page", "block"]),
                     help="Share one namespace per page (default) or per block."),
        click.option("--config", "config_file", type=click.Path(path_type=Path),
                     help="Config file (default: nearest pyproject.toml / docvalidate.toml)."),
        click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                     show_default=True, help="Report format."),
        click.option("--output", "-o", type=click.Path(path_type=Path),
                     help="Write the report to FILE instead of standard output."),
        click.option("--strict", is_flag=True,
                     help="Refuse project config that weakens the isolation of examples "
                     "(isolation, network, env, pass_env, python, cwd, llm.base_url): for "
                     "pull-request CI, where a pull request may change the config."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Where and how examples run: options of ``check`` and ``fix``."""
    for option in reversed([
        click.option("--python", help="Interpreter that runs the examples (default: this "
                     "one)."),
        click.option("--isolation", type=click.Choice(["sandbox", "process"]),
                     help="Confine examples with bubblewrap (default, when available) or run "
                     "them as plain child processes; given, it never falls back."),
        click.option("--backend", type=click.Choice(["local", "e2b"]),
                     help="Where examples run: local child processes (default) or E2B "
                     "sandboxes (key from E2B_API_KEY)."),
    ]):
        func = option(func)
    return func


def _config(config_file: Path | None, strict: bool = False, **overrides: Any) -> Config:
    config = load_config(config_file, strict=strict)
    values = {k: v for k, v in overrides.items() if v not in (None, ())}
    python = values.get("python")
    if isinstance(python, str) and (os.sep in python or (os.altsep and os.altsep in python)):
        # A path typed on the command line is relative to where it is typed; only the config
        # file's own values are relative to the config file.
        values["python"] = os.path.join(os.getcwd(), python)
    if "exclude" in values:
        values["exclude"] = (*config.exclude, *values["exclude"])
    return merge(config, values, where="command line")


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text)
    else:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write report to {output}: {exc.strerror}") from None


@contextmanager
def _text_console(output: Path | None) -> Iterator[Console]:
    """Where a text report goes: the terminal, or ``--output FILE`` (plain, 100 columns)."""
    if output is None:
        yield Console(highlight=False)
        return
    try:
        stream = open(output, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write report to {output}: {exc.strerror}") from None
    try:
        with stream:
            yield Console(file=stream, no_color=True, width=100)
    except OSError as exc:  # a full disk, a quota: found while writing, or on closing
        raise UsageError(f"cannot write report to {output}: {exc.strerror}") from None


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[Outcome], None] | None]:
    if not enabled or total == 0:
        yield None
        return
    bar = Progress(TextColumn("checking examples"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    with bar:
        task = bar.add_task("examples", total=total)
        yield lambda _outcome: bar.advance(task)


class Stopped(BaseException):
    """SIGTERM (a CI job cancelled) or SIGHUP (the terminal went away): unwinds like Ctrl-C, so
    that running examples are stopped and their folders and cgroups removed on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: object) -> None:
    raise Stopped(signum)


def _user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Our own errors become one line on stderr and their exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGHUP):
                previous[signum] = signal.signal(signum, _stop)
        try:
            return func(*args, **kwargs)
        except DocvalidateError as exc:
            click.echo(f"docvalidate: error: {printable(str(exc), multiline=False)}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("docvalidate: interrupted; running examples were stopped", err=True)
            sys.exit(130)
        except Stopped as stop:
            name = signal.Signals(stop.signum).name
            click.echo(f"docvalidate: stopped by {name}; running examples were stopped",
                       err=True)
            sys.exit(128 + stop.signum)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    return wrapper


@click.group()
@click.version_option(__version__, prog_name="docvalidate")
def cli() -> None:
    """Keep the Python examples in your documentation correct."""
    # Before any report: a character the terminal's encoding lacks must not crash one.
    harden_streams()
    # docvalidate parses examples and model answers with ast (the guard, the fixers): Python
    # 3.12+ warns about their invalid escapes on stderr, quoting their raw text. Not ours to say.
    warnings.filterwarnings("ignore", category=SyntaxWarning)


@cli.command("check")
@_selection_options
@click.option("--timeout", type=float, help="Seconds each block may run (default 30).")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Files run in parallel (default: number of CPUs).")
@_run_options
@click.option("--verbose", "-v", is_flag=True, help="Also list skipped examples and why.")
@_user_errors
def check_command(paths: tuple[str, ...], exclude: tuple[str, ...], dialect: str | None,
                  sessions: str | None, config_file: Path | None, fmt: str,
                  output: Path | None, strict: bool, timeout: float | None, jobs: int | None,
                  python: str | None, isolation: str | None, backend: str | None,
                  verbose: bool) -> None:
    """Run the Python examples in Markdown files under PATHS and report failures."""
    started = time.perf_counter()
    config = _config(config_file, strict, exclude=exclude, dialect=dialect, sessions=sessions,
                     timeout=timeout, jobs=jobs, python=python, isolation=isolation,
                     backend=backend)
    collected: Collected = collect(config, paths)
    total = sum(len(s.tasks) for per_file in collected.sessions for s in per_file)
    show_bar = fmt == "text" and output is None and sys.stderr.isatty()
    with _progress(show_bar, total) as progress:
        report = check(config, paths, progress=progress, collected=collected)
    report = replace(report, seconds=time.perf_counter() - started)
    for notice in report.notices:
        click.echo(f"docvalidate: warning: {printable(notice, multiline=False)}", err=True)
    if fmt == "json":
        _emit(render_json(report), output)
    else:
        with _text_console(output) as console:
            render_text(console, report, verbose)
    sys.exit(0 if report.ok else 1)


@cli.command("list")
@_selection_options
@_user_errors
def list_command(paths: tuple[str, ...], exclude: tuple[str, ...], dialect: str | None,
                 sessions: str | None, config_file: Path | None, fmt: str,
                 output: Path | None, strict: bool) -> None:
    """List the examples found under PATHS without running them."""
    config = _config(config_file, strict, exclude=exclude, dialect=dialect, sessions=sessions)
    collected = collect(config, paths)
    if fmt == "json":
        _emit(render_list_json(collected.files, collected.sessions), output)
    else:
        with _text_console(output) as console:
            render_list(console, collected.files, collected.sessions)
    sys.exit(1 if any(f.error for f in collected.files) else 0)


@cli.command("fix")
@_selection_options
@click.option("--dry-run", is_flag=True, help="Write nothing; print a unified diff per file.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the diff as well as writing.")
@click.option("--update-output", is_flag=True, default=None,
              help="Let fixes rewrite expected output (#> comments, >>> sessions).")
@click.option("--max-attempts", type=click.IntRange(min=1), default=3, show_default=True,
              help="LLM attempts per example.")
@click.option("--model", help="LLM model (env DOCVALIDATE_MODEL).")
@click.option("--llm-base-url", help="OpenAI-compatible server (env OPENAI_BASE_URL).")
@click.option("--timeout", type=float, help="Seconds each block may run (default 30).")
@_run_options
@_user_errors
def fix_command(paths: tuple[str, ...], exclude: tuple[str, ...], dialect: str | None,
                sessions: str | None, config_file: Path | None, fmt: str, output: Path | None,
                strict: bool, dry_run: bool, show_diff: bool, update_output: bool | None,
                max_attempts: int, model: str | None, llm_base_url: str | None,
                timeout: float | None, python: str | None, isolation: str | None,
                backend: str | None) -> None:
    """Repair the failing Python examples under PATHS and write them back."""
    from docvalidate.fixing import fix
    from docvalidate.report.fix_report import render_fix_json, render_fix_text

    config = _config(config_file, strict, exclude=exclude, dialect=dialect, sessions=sessions,
                     timeout=timeout, python=python, isolation=isolation,
                     update_output=update_output, backend=backend)
    llm = _llm(config, model, llm_base_url)
    report = fix(config, paths, llm=llm, update_output=config.update_output,
                 max_attempts=max_attempts, dry_run=dry_run)
    for notice in report.check.notices:
        click.echo(f"docvalidate: warning: {printable(notice, multiline=False)}", err=True)
    if fmt == "json":
        _emit(render_fix_json(report), output)
    else:
        with _text_console(output) as console:
            render_fix_text(console, report, show_diff=dry_run or show_diff)
    sys.exit(0 if report.ok else 1)


def _llm(config: Config, model: str | None, base_url: str | None) -> Any:
    """The LLM fixer when a model is configured (option, else environment, else config
    ``llm`` table), else None."""
    from docvalidate.repair.llm import LLMFixer, LLMSettings

    table = dict(config.llm)
    model = model or os.environ.get("DOCVALIDATE_MODEL") or table.pop("model", None)
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or table.pop("base_url", None)
    table.pop("model", None)
    table.pop("base_url", None)
    if "templates" in table:
        table["templates"] = config.base / table["templates"]
    settings = LLMSettings.from_env(model, base_url, **table)
    return LLMFixer(settings) if settings is not None else None


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="docvalidate")
