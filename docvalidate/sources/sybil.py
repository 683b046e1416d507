"""Sybil's Markdown comments: ``skip`` and ``clear-namespace`` markers, invisible code blocks.

* ``<!-- skip: next -->`` skips the next Python example; ``<!-- skip: start -->`` …
  ``<!-- skip: end -->`` skips every example between. A quoted reason
  (``skip: next "flaky"``, ``skip: start 'old API'``) is the skip's reason. A conditional skip
  (``skip: next if(...)``) would need Python evaluated inside docvalidate: it is reported and
  not applied.
* ``<!-- clear-namespace -->`` (or ``<!--- clear-namespace`` … ``--->``) empties the page's
  namespace: the next Python example carries a ``clear-namespace`` directive, and planning
  (``sessions.plan_file``) starts the page's namespaces anew from there.
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
# Sybil's DirectiveInHTMLCommentLexer('clear-namespace'): closed on its line or on a later one.
_CLEAR_RE = re.compile(r"^[ \t]*<!--+\s*(?:;\s*)?clear-namespace:?[ \t]*(?P<closed>--+>)?\s*$")
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
    clears: tuple[tuple[int, str], ...] = ()  # (0-based line, the marker as written)


def scan(lines: Sequence[Line], candidates: Container[int]) -> SybilMarks:
    """Sybil markers on the ``candidates`` lines (lines where an HTML comment can start)."""
    invisible: list[Invisible] = []
    skips: list[tuple[int, str, str | None]] = []
    clears: list[tuple[int, str]] = []
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
        m = _CLEAR_RE.match(text)
        if m:
            clears.append((i, text.strip()))
            if not m.group("closed"):  # the comment goes on to its `-->` line; nothing in it
                i = next((j for j in range(i + 1, len(lines))
                          if _SYBIL_END_RE.match(lines[j].text)), len(lines))
            i += 1
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
    return SybilMarks(tuple(invisible), tuple(skips), tuple(warnings), tuple(clears))


def directives(marks: SybilMarks, python_fences: Sequence[int]
               ) -> dict[int, tuple[Directive, ...]]:
    """For each python fence (0-based opening lines, in order) that a Sybil marker applies to,
    the Directives that say so: ``skip`` (with the marker's reason) and ``clear-namespace`` (on
    the first fence after the marker)."""
    result: dict[int, tuple[Directive, ...]] = {}
    for fence, directive in _skips(marks, python_fences).items():
        result[fence] = (directive,)
    for line, origin in marks.clears:
        target = next((f for f in python_fences if f > line), None)
        if target is not None and not any(d.name == "clear-namespace"
                                          for d in result.get(target, ())):
            result[target] = (*result.get(target, ()),
                              Directive("clear-namespace", None, line + 1, origin))
    return result


def _skips(marks: SybilMarks, python_fences: Sequence[int]) -> dict[int, Directive]:
    result: dict[int, Directive] = {}
    region: tuple[int, str | None] | None = None  # (0-based line, reason) of an open start
    for line, what, reason in marks.skips:
        if what == "next":
            target = next((f for f in python_fences if f > line), None)
            if target is not None:
                result.setdefault(target, Directive("skip", reason, line + 1,
                                                    "<!-- skip: next -->"))
        elif what == "start":
            region = (line, reason)
        elif region is not None:
            for fence in python_fences:
                if region[0] < fence < line:
                    result.setdefault(fence, Directive("skip", region[1], region[0] + 1,
                                                       "<!-- skip: start -->"))
            region = None
    if region is not None:  # never ended: to the end of the page
        for fence in python_fences:
            if fence > region[0]:
                result.setdefault(fence, Directive("skip", region[1], region[0] + 1,
                                                   "<!-- skip: start -->"))
    return result
