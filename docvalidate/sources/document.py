"""Reading a document from disk: bytes, BOM, line endings and a line table with byte offsets.

Everything downstream speaks in 1-based lines of the file on disk and in byte offsets, so that
reports point at the right line and a rewrite can splice the exact bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BOM = "\ufeff"
# CommonMark (and markdown-it-py's normaliser) treat \r\n, \r and \n as line endings.
_LINE_RE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
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


def detect_newline(text: str) -> str:
    m = re.search(r"\r\n|\r|\n", text)
    return m.group(0) if m else "\n"


def parse_document(path: str, data: bytes) -> Document:
    """Decode ``data``; raise DocumentError for binary or non-UTF-8 content."""
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise DocumentError(f"binary file (NUL byte at line {line}); not a text document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
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


def read_document(path: Path, display: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and decode a file; every failure is a DocumentError with a one-line message."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        if path.is_symlink():
            raise DocumentError("broken symbolic link (its target does not exist)") from None
        raise DocumentError("file not found") from None
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror}") from None
    if size > max_bytes:
        raise DocumentError(
            f"file is {size / 1048576:.1f} MiB, larger than the {max_bytes / 1048576:.0f} MiB "
            "limit (config max_file_size); skipped"
        )
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise DocumentError("is a directory, not a file") from None
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from None
    return parse_document(display, data)
