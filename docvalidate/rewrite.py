"""Splicing new code into a document, touching only the example's bytes.

Lines the new code keeps are written back with their original raw bytes (container prefix and
line ending as they were); new lines get the example's prefix and the file's line ending.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from docvalidate.model import Example
from docvalidate.sources.document import split_lines


@dataclass(frozen=True)
class Edit:
    path: str
    span: tuple[int, int]
    new_text: bytes


class EditConflict(Exception):
    """Two edits overlap."""


def render_code(example: Example, new_code: str, data: bytes) -> bytes:
    """The bytes that replace ``example.span`` in ``data`` so that the block holds ``new_code``."""
    start, end = example.span
    raw_lines = split_lines(data[start:end].decode("utf-8"))
    old = example.code.splitlines()
    new = new_code.split("\n")
    if new and new[-1] == "":
        new.pop()
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
    return text.encode("utf-8")


def apply_edits(data: bytes, edits: Sequence[Edit]) -> bytes:
    """Apply non-overlapping edits last-to-first, so earlier spans stay valid."""
    ordered = sorted(edits, key=lambda e: e.span[0])
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.span[1] > b.span[0]:
            raise EditConflict(f"overlapping edits at bytes {a.span} and {b.span}")
    for edit in reversed(ordered):
        start, end = edit.span
        data = data[:start] + edit.new_text + data[end:]
    return data
