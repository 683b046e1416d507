"""The prompt: the templates (data, rendered in Jinja2's sandbox) and the variables they get."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from docvalidate.errors import ConfigError
from docvalidate.model import ErrorInfo
from docvalidate.repair.context import AttemptSummary, RepairContext
from docvalidate.repair.llm.trim import head_cut, short, strip_ansi, tail
from docvalidate.sources.document import text_lines

PACKAGE_TEMPLATES = Path(__file__).parent.parent / "templates"
TEMPLATE_NAMES = ("system.j2", "user.j2")

# What the prompt keeps of long inputs: the end matters most (the exception, the last output).
TRACEBACK_LINES, TRACEBACK_CHARS = 40, 4000
OUTPUT_LINES, OUTPUT_CHARS = 20, 2000
MESSAGE_CHARS = 1500
DIFF_LINES, DIFF_CHARS = 40, 3000
PROSE_CHARS = 2000
EARLIER_CHARS = 6000  # all earlier blocks together; the nearest ones are kept


class _ConfinedLoader(jinja2.FileSystemLoader):
    """Templates are files inside the templates folder, and small: a project's ``host -> /``
    link with ``{% include "host/etc/shadow" %}`` must not put a host file in every prompt
    (Jinja's sandbox does not stop its loader following links), nor ``/dev/zero`` fill our
    memory."""

    MAX_BYTES = 256 * 1024

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Any]:
        pieces = jinja2.loaders.split_template_path(template)
        for folder in self.searchpath:
            candidate = os.path.join(folder, *pieces)
            if not os.path.lexists(candidate):
                continue
            # Checked before anything is read: where it really is, what it is, its size.
            real = os.path.realpath(candidate)
            if not real.startswith(os.path.realpath(folder) + os.sep):
                raise jinja2.TemplateNotFound(f"{template} (outside the templates folder)")
            if not os.path.isfile(real) or os.path.getsize(real) > self.MAX_BYTES:
                raise jinja2.TemplateNotFound(f"{template} (not a template file of at most "
                                              f"{self.MAX_BYTES} bytes)")
            break
        return super().get_source(environment, template)


def template_env(folder: Path | None) -> jinja2.Environment:
    """Templates from the project's folder first, then the package's; loaded now to fail early.

    A project's templates are data, not code: they render in Jinja2's immutable sandbox, where
    ``{{ cycler.__init__.__globals__.os.popen(...) }}`` is a SecurityError, not a shell
    command run inside docvalidate while the API key is in its environment."""
    search: list[Path] = []
    if folder is not None:
        if not folder.is_dir():
            raise ConfigError(f"prompt templates folder {folder} does not exist")
        search.append(folder)
    search.append(PACKAGE_TEMPLATES)
    env = ImmutableSandboxedEnvironment(
        loader=_ConfinedLoader([str(p) for p in search]),
        autoescape=False,  # prompts are plain text, not HTML
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not a silent hole
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    for name in TEMPLATE_NAMES:
        try:
            env.get_template(name)
        except jinja2.TemplateError as err:
            raise ConfigError(f"prompt template {name}: {err}") from err
    return env


def prompt_variables(ctx: RepairContext, structured: bool) -> dict[str, Any]:
    """Everything the templates may use, already trimmed to prompt size.

    Templates get plain strings, numbers, lists and dicts so that a project's own templates
    need no knowledge of docvalidate's classes.
    """
    example, error = ctx.example, ctx.error
    earlier, omitted = _nearest(ctx.earlier, EARLIER_CHARS)
    first = example.first_code_line
    return {
        "structured": structured,  # answer as {"code": ...} (else: one fenced block)
        "path": example.path,
        "heading": example.heading or "",
        "language": "pycon" if example.interactive else "python",
        "interactive": example.interactive,  # a >>> session (decided by the source)
        "fence_language": "pycon" if example.language == "pycon" else "python",
        "prose": head_cut(ctx.prose.strip(), PROSE_CHARS),
        "earlier": earlier,
        "earlier_omitted": omitted,
        "code": example.code,
        "numbered_code": number_lines(example.code, first, error.line),
        "first_line": first,
        "last_line": first + max(0, len(text_lines(example.code)) - 1),
        "error_type": error.type,
        "error_message": tail(strip_ansi(error.message), 30, MESSAGE_CHARS),
        "error_line": error.line,
        "traceback": tail(strip_ansi(error.traceback), TRACEBACK_LINES, TRACEBACK_CHARS),
        "diff": tail(strip_ansi(error.diff), DIFF_LINES, DIFF_CHARS),
        "stdout": tail(strip_ansi(ctx.stdout), OUTPUT_LINES, OUTPUT_CHARS),
        "stderr": tail(strip_ansi(ctx.stderr), OUTPUT_LINES, OUTPUT_CHARS),
        "packages": dict(sorted(ctx.packages.items())),
        "attempts": [summarise_attempt(i, a, example.code, first)
                     for i, a in enumerate(ctx.attempts, 1)],
    }


def number_lines(code: str, first: int, mark: int | None = None) -> str:
    """``  12 | code`` for each line; the line ``mark`` (the error's) gets a ``>``."""
    lines = text_lines(code) or [""]
    width = len(str(first + len(lines) - 1))
    out = []
    for i, line in enumerate(lines):
        number = first + i
        pointer = ">" if number == mark else " "
        out.append(f"{pointer} {number:>{width}} | {line}".rstrip())
    return "\n".join(out)


def summarise_attempt(index: int, attempt: AttemptSummary, original: str, first: int) -> str:
    """``Attempt 2: changed lines 12-13; it failed with NameError: ... (line 12).``"""
    change = _changed_lines(original, attempt.code, first)
    if attempt.rejected:
        outcome = f"rejected: {short(attempt.rejected)}"
    elif attempt.error is not None:
        outcome = f"it failed with {_error_line(attempt.error)}"
    else:
        outcome = "it did not fix the example"
    return f"Attempt {index}: {change}; {outcome}."


def _error_line(error: ErrorInfo) -> str:
    where = f" (line {error.line})" if error.line is not None else ""
    return f"{error.type}: {short(error.message)}{where}"


def _changed_lines(original: str, new: str, first: int) -> str:
    """Which doc lines of the original block an attempt touched, as ranges."""
    old_lines, new_lines = text_lines(original), text_lines(new)
    touched: set[int] = set()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # pure insertion: name the line it went before (or the last line)
            touched.add(min(i1, max(0, len(old_lines) - 1)))
        touched.update(range(i1, i2))
    if not touched:
        return "repeated the block unchanged"
    ranges = _ranges(sorted(first + i for i in touched))
    return f"changed line{'s' if len(touched) > 1 else ''} {ranges}"


def _ranges(numbers: Sequence[int]) -> str:
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def _nearest(blocks: Sequence[str], limit: int) -> tuple[list[str], int]:
    """The last blocks that fit in ``limit`` characters (the nearest matter most), and how
    many earlier ones were left out."""
    kept: list[str] = []
    size = 0
    for block in reversed(blocks):
        if kept and size + len(block) > limit:
            break
        kept.append(tail(block, 10_000, limit))
        size += len(block)
    return kept[::-1], len(blocks) - len(kept)

