"""Untrusted text (what examples printed, what a server answered) cut to size for a prompt or
a one-line reason."""

from __future__ import annotations

import re

REASON_DETAIL_CHARS = 200

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


def short(text: str, limit: int = REASON_DETAIL_CHARS) -> str:
    """One line, capped: reasons are shown one per line."""
    text = " ".join(_ANSI.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"



def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def tail(text: str, max_lines: int, max_chars: int) -> str:
    """The end of ``text``, at most ``max_lines`` lines and about ``max_chars`` characters."""
    text = text.rstrip()
    lines = text.splitlines()
    cut = 0
    if len(lines) > max_lines:
        cut, lines = len(lines) - max_lines, lines[-max_lines:]
    while len(lines) > 1 and sum(len(line) + 1 for line in lines) > max_chars:
        cut += 1
        lines = lines[1:]
    kept = "\n".join(lines)
    if len(kept) > max_chars:  # one very long line
        kept = "…" + kept[-max_chars:]
    return (f"[… {cut} earlier line{'s' if cut != 1 else ''} cut]\n" if cut else "") + kept


def head_cut(text: str, max_chars: int) -> str:
    """The end of the prose: the sentences right above the block say what it shows."""
    return text if len(text) <= max_chars else "…" + text[-max_chars:]
