"""Reading a document: BOM, line endings, the line table's byte offsets, and every way a file
can be unusable (each a DocumentError with a one-line message)."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docvalidate.sources.document import (
    Document,
    DocumentError,
    parse_document,
    read_document,
    split_lines,
)

BOM = b"\xef\xbb\xbf"


def check_line_table(doc: Document) -> None:
    """Every line's bytes are where its start says, and the lines tile the file exactly."""
    pos = len(BOM) if doc.bom else 0
    for i, line in enumerate(doc.lines):
        assert line.start == pos
        pos = doc.line_end(i)
        assert doc.data[line.start : pos] == (line.text + line.eol).encode()
    assert pos == len(doc.data)
    assert "".join(line.text + line.eol for line in doc.lines) == doc.text


# --- BOM -------------------------------------------------------------------------------------


def test_bom_is_stripped_from_text_but_counted_in_offsets() -> None:
    doc = parse_document("a.md", BOM + "é\n```python\nx = 1\n".encode())
    assert doc.bom
    assert doc.text == "é\n```python\nx = 1\n"
    assert [line.start for line in doc.lines] == [3, 6, 16]
    assert doc.data[doc.lines[2].start :] == b"x = 1\n"
    check_line_table(doc)


def test_no_bom() -> None:
    doc = parse_document("a.md", b"x\n")
    assert not doc.bom and doc.lines[0].start == 0
    check_line_table(doc)


def test_bom_only_file_is_empty() -> None:
    doc = parse_document("a.md", BOM)
    assert doc.bom and doc.text == "" and doc.lines == ()


def test_bom_in_the_middle_is_text() -> None:
    doc = parse_document("a.md", b"x" + BOM)
    assert not doc.bom and doc.text == "x\ufeff"


# --- line endings ----------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\r\n", "\r", "\n"])
def test_line_endings(eol: str) -> None:
    text = f"# T{eol}{eol}```python{eol}x = 'é'{eol}```{eol}"
    doc = parse_document("a.md", text.encode())
    assert doc.newline == eol
    assert [line.text for line in doc.lines] == ["# T", "", "```python", "x = 'é'", "```"]
    assert {line.eol for line in doc.lines} == {eol}
    check_line_table(doc)


def test_mixed_line_endings_keep_each_line_own_ending() -> None:
    doc = parse_document("a.md", b"a\nb\r\nc\rd")
    assert [(line.text, line.eol) for line in doc.lines] == [
        ("a", "\n"), ("b", "\r\n"), ("c", "\r"), ("d", "")
    ]
    assert doc.newline == "\n"  # the first ending is the file's style
    check_line_table(doc)


def test_cr_then_lf_on_separate_lines_is_one_crlf() -> None:
    doc = parse_document("a.md", b"a\r\n\nb")
    assert [line.eol for line in doc.lines] == ["\r\n", "\n", ""]


@pytest.mark.parametrize(("data", "newline"), [(b"", "\n"), (b"one line", "\n"),
                                               (b"x\r\ny\n", "\r\n"), (b"x\ry\r\n", "\r")])
def test_newline_style(data: bytes, newline: str) -> None:
    assert parse_document("a.md", data).newline == newline


@given(st.text(alphabet=st.sampled_from(["a", "é", "€", "\t", " ", "\r", "\n", "\u2028",
                                         "\x0c"]), max_size=40),
       st.booleans())
def test_line_table_tiles_any_text(text: str, bom: bool) -> None:
    doc = parse_document("a.md", (BOM if bom else b"") + text.encode())
    assert doc.text == text
    check_line_table(doc)
    for line in doc.lines[:-1]:
        assert line.eol
    for line in doc.lines:
        assert "\r" not in line.text and "\n" not in line.text


def test_split_lines_starts_at_the_given_offset() -> None:
    lines = split_lines("ab\ncd", offset=10)
    assert [(line.text, line.start) for line in lines] == [("ab", 10), ("cd", 13)]


# --- unusable content ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"\x00", 1),
        (b"a\nb\n\x00c", 3),
        (b"a\r\nb\r\nc\x00", 3),
        (b"a\rb\rc\rd\x00", 4),  # old Mac endings count as lines too
        (BOM + b"x\n\x00", 2),
    ],
)
def test_binary_file_names_the_line(data: bytes, line: int) -> None:
    with pytest.raises(DocumentError) as exc:
        parse_document("a.md", data)
    assert str(exc.value) == f"binary file (NUL byte at line {line}); not a text document"


@pytest.mark.parametrize(
    ("data", "line", "byte"),
    [
        (b"caf\xe9\n", 1, "0xe9"),  # Latin-1
        (b"ok\nok\n\xff\n", 3, "0xff"),
        (b"a\rb\rc\xe9", 3, "0xe9"),
        ("€\n".encode() + b"\xe2\x82", 2, "0xe2"),  # truncated at the end of the file
        (b"# T\n\xfe\xff", 2, "0xfe"),
    ],
)
def test_non_utf8_file_names_byte_and_line(data: bytes, line: int, byte: str) -> None:
    with pytest.raises(DocumentError) as exc:
        parse_document("a.md", data)
    assert str(exc.value) == (
        f"not valid UTF-8 (byte {byte} at line {line}); save the file as UTF-8"
    )


# --- reading files ---------------------------------------------------------------------------


def test_read_document(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(BOM + b"# T\r\n")
    doc = read_document(path, "docs/a.md")
    assert (doc.path, doc.text, doc.bom, doc.newline) == ("docs/a.md", "# T\r\n", True, "\r\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"^file not found$"):
        read_document(tmp_path / "nope.md", "nope.md")


def test_broken_symlink(tmp_path: Path) -> None:
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "gone.md")
    with pytest.raises(DocumentError, match=r"^broken symbolic link"):
        read_document(link, "link.md")


def test_symlink_to_a_file_reads_the_target(tmp_path: Path) -> None:
    (tmp_path / "real.md").write_bytes(b"x = 1\n")
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "real.md")
    assert read_document(link, "link.md").text == "x = 1\n"


def test_symlink_loop(tmp_path: Path) -> None:
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(DocumentError, match=r"^cannot read file: Too many levels"):
        read_document(a, "a.md")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(DocumentError, match=r"^is a directory, not a file$"):
        read_document(folder, "folder.md")


def test_device_is_not_read(tmp_path: Path) -> None:
    link = tmp_path / "zero.md"
    link.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(DocumentError, match=r"^not a regular file"):
        read_document(link, "zero.md", max_bytes=100)


def test_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    done = threading.Event()

    # Should read_document open the FIFO after all, this writer lets the read end (with EOF)
    # instead of blocking the test run forever. It never blocks itself.
    def writer() -> None:
        while not done.is_set():
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                return
            except OSError:  # ENXIO: nobody is reading
                done.wait(0.01)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        with pytest.raises(DocumentError, match=r"^not a regular file"):
            read_document(fifo, "pipe.md")
    finally:
        done.set()
        thread.join(5)


def _permission_error(self: Path) -> bytes:
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.md"
    path.write_bytes(b"x\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            # Running as root: permission bits do not stop the read, so make it fail the way
            # the kernel would for anyone else.
            monkeypatch.setattr(Path, "read_bytes", _permission_error)
        with pytest.raises(DocumentError, match=r"^cannot read file: Permission denied$"):
            read_document(path, "secret.md")
    finally:
        path.chmod(0o644)


def test_stat_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file in a folder without search permission cannot even be stat()ed."""
    path = tmp_path / "a.md"
    path.write_bytes(b"x\n")
    monkeypatch.setattr(Path, "stat", lambda self, **kw: _permission_error(self))
    with pytest.raises(DocumentError, match=r"^cannot read file: Permission denied$"):
        read_document(path, "a.md")


def test_other_read_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"x\n")

    def io_error(self: Path) -> bytes:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(Path, "read_bytes", io_error)
    with pytest.raises(DocumentError, match=r"^cannot read file: Input/output error$"):
        read_document(path, "a.md")


def test_file_over_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(b"x" * 101)
    with pytest.raises(DocumentError) as exc:
        read_document(path, "big.md", max_bytes=100)
    assert str(exc.value) == (
        "file is 101 bytes, larger than the 100 bytes limit (config max_file_size); skipped"
    )
    assert read_document(path, "big.md", max_bytes=101).text == "x" * 101


@pytest.mark.parametrize(
    ("size", "limit", "shown"),
    [
        (3 << 19, 1 << 20, "file is 1.5 MiB, larger than the 1 MiB limit"),
        (2000, 1000, "file is 2 KiB, larger than the 1000 bytes limit"),
        ((10 << 20) + 1, 10 << 20, "file is 10485761 bytes, larger than the 10485760 bytes"),
    ],
)
def test_size_in_the_message(tmp_path: Path, size: int, limit: int, shown: str) -> None:
    path = tmp_path / "big.md"
    with path.open("wb") as f:
        f.truncate(size)  # sparse: nothing is written
    with pytest.raises(DocumentError, match=f"^{shown}"):
        read_document(path, "big.md", max_bytes=limit)


def test_read_document_reports_content_problems(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"# T\n\nsome \x00 binary")
    with pytest.raises(DocumentError, match=r"NUL byte at line 3"):
        read_document(path, "a.md")
