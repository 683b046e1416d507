"""Splicing new code into a document, touching only the example's bytes.

Lines the new code keeps are written back with their original raw bytes (container prefix and
line ending as they were); new lines get the example's prefix and the file's line ending.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docvalidate.model import Example
from docvalidate.sources.document import lines_with_ends, split_lines, text_lines


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


def apply_edits(data: bytes, edits: Sequence[Edit]) -> bytes:
    """Apply non-overlapping edits last-to-first, so earlier spans stay valid.

    Edits may touch (one ends where the next starts), and an insertion may sit at the start
    of a replaced span; two insertions at the same offset, or spans sharing bytes, are an
    EditConflict because no order of applying them is the right one.
    """
    for edit in edits:
        start, end = edit.span
        if not 0 <= start <= end <= len(data):
            raise ValueError(f"edit span {edit.span} is outside the {len(data)}-byte file")
    # (start, end): an insertion sorts before a replacement starting at the same offset.
    ordered = sorted(edits, key=lambda e: e.span)
    for a, b in itertools.pairwise(ordered):
        if a.span[1] > b.span[0] or a.span == b.span:
            raise EditConflict(f"overlapping edits at bytes {a.span} and {b.span}")
    for edit in reversed(ordered):
        start, end = edit.span
        data = data[:start] + edit.new_text + data[end:]
    return data


class WriteConflict(Exception):
    """The file changed on disk since it was read: it is left alone."""


class VerifyError(Exception):
    """The rewritten file would not hold exactly the intended code: nothing was written."""


def rewrite_document(original: bytes, changes: Sequence[tuple[Example, str]],
                     dialect: str, path: str) -> bytes:
    """``original`` with each example's code replaced, verified by extracting it again: the
    changed examples hold exactly their new code and every other example is untouched."""
    from docvalidate.sources.document import parse_document
    from docvalidate.sources.markdown import extract

    edits = [Edit(path, ex.span, render_code(ex, code, original)) for ex, code in changes]
    new = apply_edits(original, edits)
    before = extract(parse_document(path, original), dialect).examples
    after = extract(parse_document(path, new), dialect).examples
    wanted = {ex.line: code for ex, code in changes}
    if len(before) != len(after):
        raise VerifyError(f"{path}: the rewrite changed the number of examples")
    for old, fresh in zip(before, after, strict=True):
        expected = wanted.get(old.line, old.code)
        if fresh.code != expected or fresh.language != old.language:
            raise VerifyError(f"{path}: the example at line {old.line} did not read back as "
                              "intended after the rewrite")
    return new


def write_atomically(target: Path, data: bytes, expected_before: bytes) -> None:
    """Replace ``target`` with ``data`` through a temporary file in the same folder and a
    rename, keeping its permissions; refuse (WriteConflict) when the file on disk is no longer
    ``expected_before``.

    A symlink is written through: the file it leads to is replaced, in that file's folder, and
    the link stays a link (renaming onto the link would turn it into a regular file). Whether
    that file may be written at all is the caller's decision, made before."""
    target = Path(os.path.realpath(target))
    try:
        if target.read_bytes() != expected_before:
            raise WriteConflict(f"{target} changed on disk since it was read; not overwritten")
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        raise WriteConflict(f"{target} was removed since it was read") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".docvalidate",
                               dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable. The file is already in place either way, so a folder
    that cannot be opened or synced (some file systems) is no reason to report a failure."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def unified_diff(path: str, before: bytes, after: bytes) -> str:
    a = lines_with_ends(before.decode("utf-8", "replace"))
    b = lines_with_ends(after.decode("utf-8", "replace"))
    return "".join(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}"))
