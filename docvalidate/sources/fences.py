"""Info strings: which fences hold Python, and what the attributes after the language say."""

from __future__ import annotations

import re

from docvalidate.sources.document import text_lines

PYTHON_LANGUAGES = {"python": "python", "py": "python", "python3": "python", "py3": "python"}
SESSION_LANGUAGES = {"pycon": "pycon"}
LANGUAGES = {**PYTHON_LANGUAGES, **SESSION_LANGUAGES}

_ATTR_RE = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*("[^"]*"|'[^']*'|\S+)""")


def info_language(info: str) -> str | None:
    """The normalised language of a fence ("python", "pycon") or None for anything else.

    Accepts ``python``, ``py title="x.py" hl_lines="2"``, ``.py`` and the attribute-list
    forms ``{ .python .annotate }`` / ``{.py}``; case-insensitive.
    """
    info = info.strip()
    if not info:
        return None
    if info.startswith("{"):
        inner = info[1:].rstrip("}")
        for word in inner.split():
            if word.startswith("."):
                return LANGUAGES.get(word[1:].lower())
        return None
    word = re.split(r"[\s{]", info, maxsplit=1)[0]
    return LANGUAGES.get(word.lstrip(".").lower())


def is_interactive(language: str, code: str) -> bool:
    """A ``pycon`` block, or a Python block whose first non-blank line starts with ``>>>``."""
    if language == "pycon":
        return True
    for line in text_lines(code):
        if line.strip():
            return is_prompt(line)
    return False


def is_prompt(line: str) -> bool:
    """Whether a line of a session starts a statement (``>>>``, indentation allowed)."""
    return line.lstrip().startswith(">>>")


def info_attributes(info: str) -> dict[str, str]:
    """``key="value"`` pairs after the language (used by markers of other tools)."""
    words = info.strip().split(maxsplit=1)
    # Matched on the raw text: a quoted value may hold spaces (``hl_lines="2 3"``).
    attrs: dict[str, str] = {}
    for m in _ATTR_RE.finditer(words[1] if len(words) > 1 else ""):
        value = m.group(2)
        attrs[m.group(1)] = value[1:-1] if value[:1] in "\"'" else value
    return attrs
