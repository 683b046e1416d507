"""Sybil's Markdown comments: ``skip`` markers and invisible code blocks.

* ``<!-- skip: next -->`` skips the next Python example; ``<!-- skip: start -->`` …
  ``<!-- skip: end -->`` skips every example between. A conditional skip
  (``skip: next if(...)``) would need Python evaluated inside docvalidate: it is reported and
  not applied.
* ``<!--- invisible-code-block: python`` … ``--->`` (Sybil's form) and
  ``<!-- invisible-code-block: python -->`` … ``<!-- end-invisible-code-block -->`` hold code
  hidden from readers that runs in the page's session (typically setup).
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass

from docvalidate.model import Directive, FileWarning
from docvalidate.sources.document import Line

_INVISIBLE_RE = re.compile(
    r"^(?P<prefix>[ \t]*)<!--+\s*invisible-code-block:\s*python\s*(?P<closed>--+>)?\s*$"
)
_SYBIL_END_RE = re.compile(r"^[ \t]*--+>\s*$")
_EXPLICIT_END_RE = re.compile(r"^[ \t]*<!--+\s*end-invisible-code-block\s*--+>\s*$")
_SKIP_RE = re.compile(r"^[ \t]*<!--+\s*skip:\s*(?P<what>next|start|end)\b(?P<rest>.*?)--+>\s*$")
_REASON_RE = re.compile(r"""^\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')\s*$""")


@dataclass(frozen=True)
class Invisible:
    open: int  # 0-based line of the opening comment
    close: int | None  # 0-based line of the closing one; None when never closed
    code: tuple[str, ...]
    prefix: str
    origin: str


@dataclass(frozen=True)
class SybilMarks:
    invisible: tuple[Invisible, ...]
    skips: tuple[tuple[int, str, str | None], ...]  # (0-based line, next|start|end, reason)
    warnings: tuple[FileWarning, ...]


def scan(lines: Sequence[Line], candidates: Container[int]) -> SybilMarks:
    """Sybil markers on the ``candidates`` lines (lines where an HTML comment can start)."""
    invisible: list[Invisible] = []
    skips: list[tuple[int, str, str | None]] = []
    warnings: list[FileWarning] = []
    i = 0
    while i < len(lines):
        text = lines[i].text
        if i not in candidates or "<!--" not in text:
            i += 1
            continue
        m = _INVISIBLE_RE.match(text)
        if m:
            end_re = _EXPLICIT_END_RE if m.group("closed") else _SYBIL_END_RE
            close = next((j for j in range(i + 1, len(lines)) if end_re.match(lines[j].text)),
                         None)
            stop = close if close is not None else len(lines)
            prefix = m.group("prefix")
            code = tuple(
                line.text[len(prefix):] if line.text.startswith(prefix) else line.text.lstrip()
                for line in lines[i + 1:stop]
            )
            invisible.append(Invisible(i, close, code, prefix, text.strip()))
            i = stop + 1
            continue
        m = _SKIP_RE.match(text)
        if m:
            rest = m.group("rest").strip()
            reason = None
            if rest:
                rm = _REASON_RE.match(rest)
                if rm is None:
                    warnings.append(FileWarning(i + 1, f"Sybil marker {text.strip()!r} is not "
                                    "applied: only 'skip: next|start|end' with an optional "
                                    "quoted reason is read (conditions are not evaluated)"))
                    i += 1
                    continue
                reason = rm.group("dq") if rm.group("dq") is not None else rm.group("sq")
            skips.append((i, m.group("what"), reason))
        i += 1
    return SybilMarks(tuple(invisible), tuple(skips), tuple(warnings))


def skip_directives(marks: SybilMarks, python_fences: Sequence[int]) -> dict[int, Directive]:
    """For each python fence (0-based opening lines, in order) skipped by a Sybil marker, the
    skip Directive that says so."""
    result: dict[int, Directive] = {}
    region_start: int | None = None
    for line, what, reason in marks.skips:
        if what == "next":
            target = next((f for f in python_fences if f > line), None)
            if target is not None:
                result.setdefault(target, Directive("skip", reason, line + 1,
                                                    "<!-- skip: next -->"))
        elif what == "start":
            region_start = line
        elif region_start is not None:
            for fence in python_fences:
                if region_start < fence < line:
                    result.setdefault(fence, Directive("skip", reason, region_start + 1,
                                                       "<!-- skip: start -->"))
            region_start = None
    if region_start is not None:  # never ended: to the end of the page
        for fence in python_fences:
            if fence > region_start:
                result.setdefault(fence, Directive("skip", None, region_start + 1,
                                                   "<!-- skip: start -->"))
    return result
