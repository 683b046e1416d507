"""Untrusted text made safe to print: what examples print or raise, model answers, file names.

Everything such text reaches (a terminal, a CI log, a file someone later ``cat``s) must only
ever show it, never obey it. ``printable`` is the one place that decides how; the reports and
the command line's one-line messages pass every untrusted string through it.
"""

from __future__ import annotations

import io
import re
import sys

# Characters a terminal or a log viewer would act on instead of showing:
# - C0 controls (ESC starts colour, cursor, clear-screen and OSC title/hyperlink sequences;
#   CR overwrites a line to fake a "passed"; BEL, BS, VT, FF ...), DEL and the C1 controls
#   (U+0085 is a line break, U+009B is a one-character CSI on some terminals);
# - the bidi controls of "Trojan Source" (CVE-2021-42574), which reorder what is shown so
#   that it differs from what is there, with U+061C ARABIC LETTER MARK as its paper lists it;
# - U+2028/U+2029, line breaks to str.splitlines and to some viewers, though not to us;
# - lone surrogates, which no encoder accepts: printing one raises UnicodeEncodeError.
# Newline and tab are decided by the caller (`multiline`).
# - invisible format characters (zero-width space and joiners, BOM, soft hyphen, word joiner,
#   deprecated format controls, interlinear annotation marks, the TAG block): they hide text
#   from a reader, and from the model that may read a page later.
_CONTROL = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff"
    "\u00ad\u180e\u200b-\u200d\u2060-\u2065\u206a-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f"
)
_UNSAFE_MULTILINE = re.compile(f"[{_CONTROL}]")
_UNSAFE_ONE_LINE = re.compile(f"[{_CONTROL}\t\n]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# A line that starts with "::" (after any whitespace: the GitHub Actions runner TrimStart()s
# each line, with .NET's Unicode whitespace, before it looks for "::command::") is a workflow
# command: ::error/::warning annotations, ::add-mask::, ::stop-commands::, ::set-output ...
# We show such a line with its first colon written as the escape \x3a, in the same notation
# as the controls above, so it reads as what it is and cannot be mistaken for a command. The
# colon is also escaped when it ends the text, because the caller may put a ":" right after
# it (as in "path:line") and make the line start with "::" after all.
# Python's \s is str.isspace(), a superset of .NET's Char.IsWhiteSpace: no whitespace that
# the runner skips can hide the colons from this pattern. The invisible characters that some
# Unicode or .NET versions counted as whitespace (U+180E, U+200B, U+2060, U+FEFF) are skipped
# too, in case a runner still does.
_COMMAND = re.compile(r"^((?:[^\S\n]|[\u180e\u200b\u2060\ufeff])*):(?=:|\Z)", re.MULTILINE)
_COLON = "\\x3a"
# The runner's older command syntax, "##[command]", is found anywhere in a line (its parser
# looks for the prefix with IndexOf): its second "#" is written as the escape \x23.
_HASH = "#\\x23["


def unsafe_characters(text: str) -> set[str]:
    """The characters of ``text`` that :func:`printable` escapes (newline and tab aside)."""
    return set(_UNSAFE_MULTILINE.findall(text))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, multiline: bool = True) -> str:
    """``text`` as it may be printed: controls shown escaped, never a workflow command.

    The result contains no C0 control (but newline and, when ``multiline``, tab), no DEL, no
    C1 control, no bidi control, no U+2028/U+2029 and no lone surrogate: each is written the
    way Python's ``repr`` writes it (``\\x1b``, ``\\r``, ``\\u202e``, ``\\udcff``). With
    ``multiline=False`` newline and tab are escaped too (``\\n``, ``\\t``), so the text stays
    on one line. No line of the result starts, after whitespace, with ``::``: its first colon
    is written ``\\x3a``. Everything else is left as it is (backslashes included), so text
    without any of these characters comes back unchanged.
    """
    unsafe = _UNSAFE_MULTILINE if multiline else _UNSAFE_ONE_LINE
    text = _COMMAND.sub(lambda m: m.group(1) + _COLON, unsafe.sub(_escape, text))
    return text.replace("##[", _HASH)


def harden_streams() -> None:
    """Let standard output and error write any character, whatever their encoding.

    With ``PYTHONIOENCODING=ascii``, ``LANG=C`` or a Latin-1 locale, a character the encoding
    lacks would raise UnicodeEncodeError half-way through a report; ``backslashreplace``
    shows it as ``\\xe9``/``\\u20ac`` instead, the notation ``printable`` uses.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors != "backslashreplace":
            stream.reconfigure(errors="backslashreplace")
