"""Applying ``Edit``s to a file, whatever its kind: last to first, never overlapping, verified
by reading the result again, written atomically and only over the bytes that were read.

What an edit says comes from the file's source kind (``sources.kinds``): this module knows no
Markdown, and a new kind of source needs nothing new here.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from docvalidate.model import Edit, Example, SourceFile
from docvalidate.sources.document import lines_with_ends

if TYPE_CHECKING:
    from docvalidate.sources.kinds import SourceKind

__all__ = ["Edit", "EditConflict", "VerifyError", "WriteConflict", "apply_edits",
           "rewrite_document", "unified_diff", "write_atomically"]


class EditConflict(Exception):
    """Two edits overlap."""


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


def rewrite_document(source: SourceFile, changes: Sequence[tuple[Example, str]],
                     kind: SourceKind) -> tuple[bytes, tuple[Edit, ...]]:
    """``source``'s bytes with each example's code replaced, and the edits that do it (in the
    order of ``changes``); verified by reading the result again through ``kind``: the changed
    examples hold exactly their new code and every other example is untouched."""
    original, path = source.data, source.path
    edits = tuple(kind.splice(ex, code, original) for ex, code in changes)
    if any(edit.path != path for edit in edits):
        raise ValueError(f"{path}: an edit names another file")
    new = apply_edits(original, edits)
    before = kind.reextract(path, original, source.dialect).examples
    after = kind.reextract(path, new, source.dialect).examples
    wanted = {ex.span: code for ex, code in changes}
    if len(before) != len(after):
        raise VerifyError(f"{path}: the rewrite changed the number of examples")
    for old, fresh in zip(before, after, strict=True):
        expected = wanted.get(old.span, old.code)
        if fresh.code != expected or fresh.language != old.language:
            raise VerifyError(f"{path}: the example at line {old.line} did not read back as "
                              "intended after the rewrite")
    return new, edits


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
