"""``<!-- docvalidate: ... -->`` comments: parse them and decide which fence each applies to."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from docvalidate.config import MAX_TIMEOUT
from docvalidate.model import Directive

COMMENT_RE = re.compile(r"^[\s>]*<!--\s*docvalidate\b(?P<body>.*?)-->\s*$", re.IGNORECASE)
_ITEM_RE = re.compile(
    r"""^(?P<name>[A-Za-z][\w-]*)\s*(?:=\s*(?P<value>"[^"]*"|'[^']*'|[^\s"',]+))?$"""
)
_NAME_RE = re.compile(r"^[A-Za-z_][\w-]*$")
_DOTTED_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")

# name -> whether it takes a value: True (required), False (none), None (optional)
KNOWN: dict[str, bool | None] = {
    "skip": None,
    "isolated": False,
    "session": True,
    "raises": True,
    "timeout": True,
    "no-fix": False,
    "no-print-check": False,  # what pytest-examples' test="no-print-intercept" says
    "off": False,
    "on": False,
}
REGION = {"off", "on"}


@dataclass(frozen=True)
class Comment:
    """One directive comment line: its directives, or why it is malformed."""

    line: int  # 1-based
    directives: tuple[Directive, ...]
    error: str | None = None

    @property
    def region(self) -> str | None:
        names = {d.name for d in self.directives}
        return next(iter(names & REGION), None) if names & REGION else None


def parse_comment(text: str, line: int) -> Comment | None:
    """Parse one line; None when it is not a docvalidate comment at all."""
    m = COMMENT_RE.match(text)
    if m is None:
        return None
    body = m.group("body").strip()
    if not body.startswith(":"):
        return Comment(line, (), f"malformed directive {text.strip()!r}: expected "
                       "'<!-- docvalidate: NAME[=VALUE], ... -->'")
    items = [item.strip() for item in _split_items(body[1:])]
    if not any(items):
        return Comment(line, (), "empty docvalidate directive")
    directives: list[Directive] = []
    for item in items:
        problem = _check_item(item)
        if problem:
            return Comment(line, (), problem)
        im = _ITEM_RE.match(item)
        assert im is not None
        value = im.group("value")
        if value is not None and value[:1] in "\"'":
            value = value[1:-1]
        directives.append(Directive(im.group("name").lower(), value, line))
    names = [d.name for d in directives]
    if set(names) & REGION and len(names) > 1:
        return Comment(line, (), f"'{'/'.join(sorted(set(names) & REGION))}' must stand alone "
                       "in its comment")
    return Comment(line, tuple(directives))


def _split_items(body: str) -> list[str]:
    items, current, quote = [], "", ""
    for ch in body:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            current += ch
        elif ch == ",":
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return items


def _check_item(item: str) -> str | None:
    m = _ITEM_RE.match(item)
    if m is None:
        return f"malformed directive {item!r}: expected NAME or NAME=VALUE"
    name, value = m.group("name").lower(), m.group("value")
    if name not in KNOWN:
        return f"unknown directive {name!r} (known: {', '.join(KNOWN)})"
    takes = KNOWN[name]
    if takes is True and value is None:
        return f"directive {name!r} needs a value: {name}=..."
    if takes is False and value is not None:
        return f"directive {name!r} takes no value"
    raw = (value or "").strip("\"'")
    if name == "timeout":
        try:
            seconds = float(raw)
        except ValueError:
            return f"timeout={raw!r} is not a number of seconds"
        if not seconds > 0:
            return f"timeout={raw} must be greater than 0"
        if not math.isfinite(seconds) or seconds > MAX_TIMEOUT:
            return f"timeout={raw} must be at most {MAX_TIMEOUT} seconds (a day)"
    if name == "raises" and not _DOTTED_RE.match(raw):
        return f"raises={raw!r} is not an exception name"
    if name == "session" and not _NAME_RE.match(raw):
        return f"session={raw!r} is not a valid session name (letters, digits, '_', '-')"
    return None
