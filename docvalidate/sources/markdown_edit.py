"""How new code goes back into a Markdown page, and how the page is read again to verify it.

Lines the new code keeps are written back with their original raw bytes (container prefix and
line ending as they were); new lines get the example's prefix and the file's line ending. The
result is an ``Edit`` of the example's code lines only: fences, prose and every other block
stay byte for byte.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from docvalidate.model import Edit, Example, SourceFile
from docvalidate.sources.document import parse_document, split_lines, text_lines
from docvalidate.sources.markdown import extract, load_markdown


def render_code(example: Example, new_code: str, data: bytes) -> bytes:
    """The bytes that replace ``example.span`` in ``data`` so that the block holds ``new_code``."""
    start, end = example.span
    raw_lines = split_lines(data[start:end].decode("utf-8"))
    # Split where a document's lines end: new code may come with \r\n endings.
    old = text_lines(example.code)
    new = text_lines(new_code)
    if len(raw_lines) != len(old):  # should not happen; fall back to rendering every line
        raw_lines, old = (), []
    blank_prefix = example.prefix.rstrip(" \t")
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(raw.text + (raw.eol or example.newline) for raw in raw_lines[i1:i2])
        else:
            out.extend(
                (example.prefix + line if line else blank_prefix) + example.newline
                for line in new[j1:j2]
            )
    text = "".join(out)
    # Keep a missing final newline missing when the block's last raw line had none.
    if raw_lines and not raw_lines[-1].eol and new and old and new[-1] == old[-1]:
        text = text[: -len(example.newline)]
    # An empty block whose opening fence is the file's last line, without a line ending:
    # the new code must start on a line of its own, not be glued to the fence.
    if text and start == end == len(data) and data and data[-1:] not in (b"\n", b"\r"):
        text = example.newline + text
    return text.encode("utf-8")


class MarkdownKind:
    """The ``markdown`` source kind (both dialects): see ``sources.kinds.SourceKind``."""

    name = "markdown"

    def read(self, path: Path, display: str, dialect: str, max_bytes: int) -> SourceFile:
        return load_markdown(path, display, dialect, max_bytes)

    def reextract(self, display: str, data: bytes, dialect: str) -> SourceFile:
        return extract(parse_document(display, data), dialect)

    def splice(self, example: Example, new_code: str, data: bytes) -> Edit:
        return Edit(example.path, example.span, render_code(example, new_code, data))


MARKDOWN = MarkdownKind()
