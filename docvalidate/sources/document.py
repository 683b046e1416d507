"""Reading a document from disk: bytes, BOM, line endings and a line table with byte offsets.

Everything downstream speaks in 1-based lines of the file on disk and in byte offsets, so that
reports point at the right line and a rewrite can splice the exact bytes.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path

BOM = "\ufeff"
# CommonMark (and markdown-it-py's normaliser) treat \r\n, \r and \n as line endings.
_LINE_RE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_EOL_BYTES_RE = re.compile(rb"\r\n|\r|\n")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class DocumentError(Exception):
    """The file cannot be used; the message names the problem (and line) in one sentence."""


@dataclass(frozen=True)
class Line:
    text: str  # without its line ending
    eol: str  # "\r\n", "\r", "\n" or "" for a last line without one
    start: int  # byte offset of the line's first byte in the file


@dataclass(frozen=True)
class Document:
    path: str
    data: bytes
    text: str  # decoded, BOM removed, line endings as on disk
    bom: bool
    newline: str
    lines: tuple[Line, ...]

    def line_end(self, index: int) -> int:
        """Byte offset just after line ``index`` (0-based), line ending included."""
        line = self.lines[index]
        return line.start + len((line.text + line.eol).encode("utf-8"))


def split_lines(text: str, offset: int = 0) -> tuple[Line, ...]:
    """Split ``text`` into lines, recording each line's byte offset (starting at ``offset``)."""
    lines: list[Line] = []
    pos = offset
    for m in _LINE_RE.finditer(text):
        body, eol = m.group(1), m.group(2)
        if not body and not eol:
            break
        lines.append(Line(body, eol, pos))
        pos += len((body + eol).encode("utf-8"))
    return tuple(lines)


def text_lines(text: str) -> list[str]:
    """The lines of a document or of a block's code, without their endings.

    Split only where a document's lines end (\\r\\n, \\r, \\n), never with ``str.splitlines``:
    it also splits at form feeds, \\x1c-\\x1e, \\x85 and \\u2028, which are ordinary characters
    inside a Markdown line, so every line after one would get the wrong number."""
    return [line.text for line in split_lines(text)]


def lines_with_ends(text: str) -> list[str]:
    """Like ``text_lines``, each line with its ending (for diffs)."""
    return [line.text + line.eol for line in split_lines(text)]


def detect_newline(text: str) -> str:
    m = re.search(r"\r\n|\r|\n", text)
    return m.group(0) if m else "\n"


def parse_document(path: str, data: bytes) -> Document:
    """Decode ``data``; raise DocumentError for binary or non-UTF-8 content."""
    if b"\x00" in data:
        line = _line_at(data, data.index(b"\x00"))
        raise DocumentError(f"binary file (NUL byte at line {line}); not a text document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_at(data, exc.start)
        raise DocumentError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at line {line}); "
            "save the file as UTF-8"
        ) from None
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    offset = 3 if bom else 0
    return Document(
        path=path,
        data=data,
        text=text,
        bom=bom,
        newline=detect_newline(text),
        lines=split_lines(text, offset),
    )


def _line_at(data: bytes, offset: int) -> int:
    """1-based line of byte ``offset``, counting the same line endings as split_lines (a file
    with old Mac \\r endings would otherwise always report line 1)."""
    return len(_EOL_BYTES_RE.findall(data, 0, offset)) + 1


def _size(n: int) -> str:
    """A byte count for a message: exact below 1 KiB, one decimal above, so that a small
    limit is not shown as "0 MiB"."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def read_document(path: Path, display: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and decode a file; every failure is a DocumentError with a one-line message."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise DocumentError("broken symbolic link (its target does not exist)") from None
        raise DocumentError("file not found") from None
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise DocumentError("is a directory, not a file")
    # A FIFO would block the read forever and a device like /dev/zero never ends.
    if not stat.S_ISREG(st.st_mode):
        raise DocumentError("not a regular file (a device, FIFO or socket)")
    if st.st_size > max_bytes:
        shown, limit = _size(st.st_size), _size(max_bytes)
        if shown == limit:  # just over the limit: only the exact counts tell them apart
            shown, limit = f"{st.st_size} bytes", f"{max_bytes} bytes"
        raise DocumentError(
            f"file is {shown}, larger than the {limit} limit (config max_file_size); skipped"
        )
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise DocumentError("is a directory, not a file") from None
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from None
    return parse_document(display, data)
