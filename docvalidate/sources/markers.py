"""Markers that other doc-test tools put in info strings, read as docvalidate directives.

A project can switch to docvalidate without editing its docs:

* pytest-examples: ``test="skip"``, ``test="skip - reason"``, ``test="xfail"``,
  ``test="xfail - reason"``, ``test="no-print-intercept"``, ``group="name"``,
  ``requires="3.12"``; ``lint="skip"`` concerns linting only and is ignored.
* pytest-markdown-docs: the bare words ``notest`` and ``continuation``.
* markdown-exec: ``session="name"``; ``exec="on"`` needs nothing (every Python block is an
  example in docvalidate, with or without it).

Each marker becomes a Directive whose ``origin`` is the marker as written, so ``docvalidate
list`` can say which marker decided an example's status.
"""

from __future__ import annotations

import re

from docvalidate.model import Directive
from docvalidate.sources.fences import info_attributes

_REASON_RE = re.compile(r"^(?P<kind>skip|xfail)(?:\s*-\s*(?P<reason>.*))?$")


def info_markers(info: str, line: int) -> tuple[Directive, ...]:
    """Directives for the markers in one fence's info string (``line``: the fence's line)."""
    found: list[Directive] = []
    attrs = info_attributes(info)
    test = attrs.get("test")
    if test is not None:
        origin = f'test="{test}"'
        m = _REASON_RE.match(test.strip())
        if m:
            found.append(Directive(m.group("kind"), m.group("reason") or None, line, origin))
        elif test.strip() == "no-print-intercept":
            found.append(Directive("no-print-check", None, line, origin))
        else:
            found.append(Directive("error", f"unknown pytest-examples marker {origin}", line,
                                   origin))
    for key in ("group", "session"):
        if key in attrs:
            found.append(Directive("session", attrs[key], line, f'{key}="{attrs[key]}"'))
    if "requires" in attrs:
        found.append(Directive("requires", attrs["requires"], line,
                               f'requires="{attrs["requires"]}"'))
    words = info.replace("{", " ").replace("}", " ").split()[1:]
    bare = {w for w in words if "=" not in w}
    if "notest" in bare:
        found.append(Directive("skip", None, line, "notest"))
    if "continuation" in bare:
        found.append(Directive("continuation", None, line, "continuation"))
    return tuple(found)
