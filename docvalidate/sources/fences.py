"""Info strings: which fences hold Python, and what the attributes after the language say."""

from __future__ import annotations

import re
import shlex

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


def info_attributes(info: str) -> dict[str, str]:
    """``key="value"`` pairs after the language (used by markers of other tools)."""
    try:
        words = shlex.split(info, posix=True)
    except ValueError:
        words = info.split()
    attrs: dict[str, str] = {}
    for word in words[1:]:
        m = _ATTR_RE.fullmatch(word)
        if m:
            attrs[m.group(1)] = m.group(2).strip("\"'")
    return attrs
