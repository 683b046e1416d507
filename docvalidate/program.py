"""The Python source a backend runs for an example, laid out so that its line numbers are the
lines of the document (tracebacks then point into the Markdown file with no mapping)."""

from __future__ import annotations

import doctest

from docvalidate.model import Example

_PARSER = doctest.DocTestParser()


def program(example: Example) -> str:
    """Source of ``example`` padded with blank lines so line N of it is line N of the file."""
    padding = "\n" * (example.first_code_line - 1)
    if example.language == "pycon" or _is_session(example.code):
        return padding + session_source(example.code)
    return padding + example.code


def _is_session(code: str) -> bool:
    for line in code.splitlines():
        if line.strip():
            return line.lstrip().startswith(">>>")
    return False


def session_source(code: str) -> str:
    """The statements of an interactive session (``>>>``/``...`` lines) at their own lines,
    everything else blank. Parsing is the standard ``doctest`` module's."""
    lines = [""] * (code.count("\n") + 1)
    for item in _PARSER.get_examples(code):
        for k, text in enumerate(item.source.rstrip("\n").split("\n")):
            lines[item.lineno + k] = text
    return "\n".join(lines)
