"""Rewriting examples in place: ``render_code`` + ``apply_edits`` on real fixture files.

The fixtures in ``fixtures/roundtrip`` are byte-exact (CRLF, CR, mixed endings, BOM, tabs,
containers, no final newline, unclosed and empty fences). For each file and both dialects:

* writing every example's own code back reproduces the file byte for byte;
* writing *modified* code back gives a file whose re-extraction yields exactly the new code
  for that example and the old code for every other one, leaves every byte outside the
  edited span alone, and gives new lines the example's container prefix and the file's line
  ending while kept lines keep their raw bytes.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docvalidate.model import Edit, Example, SourceFile
from docvalidate.rewrite import EditConflict, VerifyError, apply_edits, rewrite_document
from docvalidate.sources.document import Line, parse_document, split_lines
from docvalidate.sources.markdown import extract
from docvalidate.sources.markdown_edit import render_code

FIXTURES = Path(__file__).parent / "fixtures" / "roundtrip"
FILES = sorted(p.name for p in FIXTURES.glob("*.md"))
DIALECTS = ("commonmark", "mkdocs")
DISPLAY = "doc.md"
T = TypeVar("T")
# Python-Markdown containers that CommonMark does not know: no Python fence at all there.
NO_EXAMPLES = {("content_tabs.md", "commonmark")}


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def examples_of(data: bytes, dialect: str) -> tuple[Example, ...]:
    return extract(parse_document(DISPLAY, data), dialect).examples


def code_lines(code: str) -> list[str]:
    lines = code.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def replace(data: bytes, changes: dict[Example, str]) -> bytes:
    edits = [Edit(DISPLAY, ex.span, render_code(ex, code, data)) for ex, code in changes.items()]
    return apply_edits(data, edits)


def check_replacement(data: bytes, dialect: str, changes: dict[int, str]) -> bytes:
    """Replace the code of the examples at the given indexes and check everything the issue
    asks of a rewrite; returns the new file."""
    before = examples_of(data, dialect)
    out = replace(data, {before[i]: code for i, code in changes.items()})

    after = examples_of(out, dialect)
    expected = [changes.get(i, ex.code) for i, ex in enumerate(before)]
    assert [ex.code for ex in after] == expected
    assert [ex.language for ex in after] == [ex.language for ex in before]

    # Every byte outside the edited spans is unchanged: walk the file, gap by gap.
    pos_in, pos_out = 0, 0
    for i in sorted(changes, key=lambda i: before[i].span):
        ex = before[i]
        start, end = ex.span
        gap = data[pos_in:start]
        assert out[pos_out : pos_out + len(gap)] == gap
        rendered_len = len(render_code(ex, changes[i], data))
        rendered = out[pos_out + len(gap) : pos_out + len(gap) + rendered_len]
        check_rendered_lines(data, ex, changes[i], rendered)
        pos_in, pos_out = end, pos_out + len(gap) + rendered_len
    assert out[pos_out:] == data[pos_in:]
    return out


def is_subsequence(short: Sequence[T], long: Sequence[T], same: Callable[[T, T], bool]) -> bool:
    rest = iter(long)
    return all(any(same(item, other) for other in rest) for item in short)


def same_raw(a: Line, b: Line) -> bool:
    """The same raw line; a last line without ending may gain one (or lose it again)."""
    return a.text == b.text and (a.eol == b.eol or not a.eol or not b.eol)


def check_rendered_lines(data: bytes, example: Example, new_code: str, rendered: bytes) -> None:
    """Kept lines are the original raw lines; new lines are the example's prefix (without its
    trailing blanks for an empty line) plus the file's line ending."""
    start, end = example.span
    raw = split_lines(data[start:end].decode())
    lines = split_lines(rendered.decode())
    old, new = code_lines(example.code), code_lines(new_code)
    if is_subsequence(old, new, str.__eq__):  # only insertions: every raw line is still there
        assert is_subsequence(raw, lines, same_raw), (raw, lines)
    if is_subsequence(new, old, str.__eq__):  # only deletions: nothing but raw lines
        assert is_subsequence(lines, raw, same_raw), (raw, lines)
    original = {(line.text, line.eol) for line in raw}
    blank = example.prefix.rstrip(" \t")
    for k, line in enumerate(lines):
        if (line.text, line.eol) in original:
            continue
        if k == 0 and start == len(data) and line.text == "":
            continue  # the line break that separates new code from a fence ending the file
        if line.text in ("", blank) and not line.text.strip(" \t>"):
            assert line.text == blank, (line, example.prefix)
        else:
            assert line.text.startswith(example.prefix), (line, example.prefix)
        last = k == len(lines) - 1
        assert line.eol == example.newline or (last and line.eol == ""), (line, example)


# --- the fixtures themselves -----------------------------------------------------------------


def _generator() -> dict[str, bytes]:
    spec = importlib.util.spec_from_file_location("_generate", FIXTURES / "_generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FILES


def test_fixture_files_are_byte_exact() -> None:
    """git (autocrlf, an editor) must not have normalised the files the tests rely on."""
    files = _generator()
    assert sorted(files) == FILES
    for name, data in files.items():
        assert load(name) == data, name


EOLS: dict[str, Callable[[bytes], bool]] = {
    "crlf.md": lambda d: d.count(b"\r\n") == d.count(b"\n") == d.count(b"\r") > 0,
    "cr.md": lambda d: b"\n" not in d and d.count(b"\r") > 0,
    "mixed.md": lambda d: b"\r\n" in d and b"\n\n" in d and b"3\r\n" in d and b"\rc" in d,
    "bom.md": lambda d: d.startswith(b"\xef\xbb\xbf") and b"\r" not in d,
    "bom_crlf.md": lambda d: d.startswith(b"\xef\xbb\xbf") and b"\r\n" in d,
    "no_final_newline.md": lambda d: not d.endswith((b"\n", b"\r")),
    "no_final_newline_crlf.md": lambda d: not d.endswith((b"\n", b"\r")) and b"\r\n" in d,
    "unclosed_no_newline.md": lambda d: not d.endswith((b"\n", b"\r")),
    "empty_unclosed_eof.md": lambda d: d.endswith(b"```python"),
    "tabs.md": lambda d: b"\n\t```" in d and b"\t\t" in d,
}


@pytest.mark.parametrize("name", sorted(EOLS))
def test_fixture_has_the_property_it_is_named_for(name: str) -> None:
    assert EOLS[name](load(name))


@pytest.mark.parametrize(
    ("name", "newline"),
    [("lf.md", "\n"), ("crlf.md", "\r\n"), ("cr.md", "\r"), ("mixed.md", "\r\n")],
)
def test_examples_know_the_file_line_ending(name: str, newline: str) -> None:
    exs = examples_of(load(name), "commonmark")
    assert exs and {ex.newline for ex in exs} == {newline}


# --- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", FILES)
def test_identity_round_trip(name: str, dialect: str) -> None:
    data = load(name)
    exs = examples_of(data, dialect)
    assert bool(exs) != ((name, dialect) in NO_EXAMPLES)
    for ex in exs:
        assert render_code(ex, ex.code, data) == data[ex.span[0] : ex.span[1]]
        assert replace(data, {ex: ex.code}) == data
    assert replace(data, {ex: ex.code for ex in exs}) == data


MODIFICATIONS: dict[str, Callable[[list[str]], list[str]]] = {
    "add_start": lambda lines: ["NEW_START = 0", *lines],
    "add_middle": lambda lines: [*lines[: len(lines) // 2], "NEW_MID = 1",
                                 *lines[len(lines) // 2 :]],
    "add_end": lambda lines: [*lines, "NEW_END = 2"],
    "add_many": lambda lines: ["NEW_A = 1", *lines, "if NEW_A:", "    NEW_B = 2"],
    "remove_first": lambda lines: lines[1:],
    "remove_last": lambda lines: lines[:-1],
    "add_blank": lambda lines: [*lines[:1], "", *lines[1:]],
    "replace_all": lambda lines: ["whole = 'new'", "", "def f():", "\treturn whole"],
    "empty": lambda lines: [],
    "indent_all": lambda lines: ["    " + line if line else line for line in lines],
}


@pytest.mark.parametrize("modification", sorted(MODIFICATIONS))
@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", FILES)
def test_modified_code(name: str, dialect: str, modification: str) -> None:
    data = load(name)
    exs = examples_of(data, dialect)
    checked = 0
    for i, ex in enumerate(exs):
        new_code = join(MODIFICATIONS[modification](code_lines(ex.code)))
        check_replacement(data, dialect, {i: new_code})
        checked += 1
    assert checked or (name, dialect) in NO_EXAMPLES


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", FILES)
def test_every_example_modified_at_once(name: str, dialect: str) -> None:
    data = load(name)
    exs = examples_of(data, dialect)
    mods = [MODIFICATIONS[m] for m in ("add_start", "add_end", "remove_first", "add_blank")]
    changes = {
        i: join([*mods[i % len(mods)](code_lines(ex.code)), f"NEW_{i} = {i}"])
        for i, ex in enumerate(exs)
    }
    check_replacement(data, dialect, changes)


TARGETS = [
    (name, dialect, i)
    for name in FILES
    for dialect in DIALECTS
    for i in range(len(examples_of(load(name), dialect)))
]
# No backticks or tildes: a code line that is a fence marker closes the block in any tool.
LINE = st.text(alphabet=st.sampled_from(list("abxy_019=()[]:.,'\"#+-*>!<\\ \t")), max_size=10)
OPS = st.lists(
    st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(0, 20), LINE),
    max_size=6,
)

INSERTS = st.lists(st.tuples(st.just("insert"), st.integers(0, 20), LINE), min_size=1, max_size=4)


def apply_ops(lines: list[str], ops: list[tuple[str, int, str]]) -> list[str]:
    lines = list(lines)
    for op, at, text in ops:
        if op == "insert":
            lines.insert(at % (len(lines) + 1), text)
        elif lines:
            if op == "delete":
                del lines[at % len(lines)]
            else:
                lines[at % len(lines)] = text
    return lines


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), ops=OPS)
def test_random_edit_script(target: tuple[str, str, int], ops: list[tuple[str, int, str]]) -> None:
    name, dialect, i = target
    data = load(name)
    ex = examples_of(data, dialect)[i]
    new_code = join(apply_ops(code_lines(ex.code), ops))
    check_replacement(data, dialect, {i: new_code})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), ops=INSERTS)
def test_random_insertions(target: tuple[str, str, int], ops: list[tuple[str, int, str]]) -> None:
    """Only insertions: check_replacement then also demands every raw line back, in order."""
    name, dialect, i = target
    data = load(name)
    ex = examples_of(data, dialect)[i]
    new_code = join(apply_ops(code_lines(ex.code), ops))
    check_replacement(data, dialect, {i: new_code})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(FILES), dialect=st.sampled_from(DIALECTS), draw=st.data())
def test_random_edit_scripts_on_all_examples(name: str, dialect: str, draw: st.DataObject) -> None:
    data = load(name)
    changes = {}
    for i, ex in enumerate(examples_of(data, dialect)):
        new_code = join(apply_ops(code_lines(ex.code), draw.draw(OPS, label=f"ops {i}")))
        changes[i] = new_code
    check_replacement(data, dialect, changes)


# --- render_code, case by case ---------------------------------------------------------------


def only_example(data: bytes, dialect: str = "commonmark") -> Example:
    (ex,) = examples_of(data, dialect)
    return ex


def test_new_lines_get_container_prefix_and_crlf() -> None:
    data = b"> ```python\r\n> a = 1\r\n> ```\r\n"
    ex = only_example(data)
    out = replace(data, {ex: "a = 1\n\nb = 2\n"})
    assert out == b"> ```python\r\n> a = 1\r\n>\r\n> b = 2\r\n> ```\r\n"


def test_new_lines_in_a_cr_file_end_with_cr() -> None:
    data = load("cr.md")
    ex = examples_of(data, "commonmark")[0]
    out = check_replacement(data, "commonmark", {0: "import os\nimport sys\n"})
    assert out[ex.span[0] :].startswith(b"   import os\r   import sys\r   ```\r")


def test_kept_lines_keep_their_own_line_endings() -> None:
    data = load("mixed.md")
    ex = examples_of(data, "commonmark")[0]
    out = check_replacement(data, "commonmark", {0: "a = 1\nb = 2\nNEW = 0\nc = 3\n"})
    assert out[ex.span[0] :].startswith(b"a = 1\nb = 2\rNEW = 0\r\nc = 3\r\n```\n")


def test_missing_final_newline_stays_missing_when_last_line_is_kept() -> None:
    data = load("unclosed_no_newline.md")
    out = check_replacement(data, "commonmark", {0: "x = 2\ny = 2\n"})
    assert out == b"Text\n\n```python\nx = 2\ny = 2"


def test_line_added_after_a_last_line_without_newline() -> None:
    data = load("unclosed_no_newline.md")
    out = check_replacement(data, "mkdocs", {0: "x = 1\ny = 2\nz = 3\n"})
    assert out == b"Text\n\n```python\nx = 1\ny = 2\nz = 3\n"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_code_for_an_empty_fence_that_ends_the_file(dialect: str) -> None:
    data = load("empty_unclosed_eof.md")
    out = check_replacement(data, dialect, {0: "x = 1\n"})
    assert out == b"Text\n\n```python\nx = 1\n"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_code_for_an_empty_fence_in_a_blockquote(dialect: str) -> None:
    data = load("empty_block.md")
    out = check_replacement(data, dialect, {1: "x = 1\n\ny = 2\n"})
    assert b"> ```python\n> x = 1\n>\n> y = 2\n> ```\n" in out


def test_characters_that_splitlines_would_split_at_do_not_lose_raw_bytes() -> None:
    """Form feed, \\x1c, \\x85 and \\u2028 are not Markdown line endings: the kept lines must
    keep their raw \\r\\n / \\n endings instead of being re-rendered."""
    data = load("control_chars.md")
    ex = only_example(data)
    assert "\x0c" in ex.code and "\u2028" in ex.code
    out = check_replacement(data, "commonmark", {0: "NEW = 0\n" + ex.code})
    assert out == data.replace(b"> a = 1", b"> NEW = 0\n> a = 1")


def test_new_code_with_crlf_or_cr_endings_is_written_in_the_file_style() -> None:
    data = load("lf.md")
    ex = examples_of(data, "commonmark")[2]  # y = 3
    out = replace(data, {ex: "y = 3\r\nz = 4\rw = 5\r\n"})
    assert b"y = 3\nz = 4\nw = 5\n~~~" in out
    assert examples_of(out, "commonmark")[2].code == "y = 3\nz = 4\nw = 5\n"


def test_render_code_only_depends_on_the_span_bytes() -> None:
    """Spans are byte offsets: a BOM and multi-byte characters before the block count."""
    data = "\ufeff# Ünïcödé ✓\n\n```python\nprint('€')\n```\n".encode()
    ex = only_example(data)
    assert data[ex.span[0] : ex.span[1]] == "print('€')\n".encode()
    out = check_replacement(data, "commonmark", {0: "print('€', '✓')\n"})
    assert out.startswith(b"\xef\xbb\xbf")


# --- the prefix that new lines get (bugs found and fixed in markdown.py) --------------------


def test_bare_blockquote_marker_keeps_leading_whitespace_of_new_lines() -> None:
    data = b">```python\n>x = 1\n>```\n"
    check_replacement(data, "commonmark", {0: "x = 1\nif x:\n    y = 2\n"})


def test_code_for_an_empty_fence_on_a_list_item_line() -> None:
    data = b"- ```python\n  ```\n"
    check_replacement(data, "commonmark", {0: "x = 1\n"})


def test_indented_fence_with_less_indented_code() -> None:
    data = b"  ```python\nx = 1\n  ```\n"
    check_replacement(data, "commonmark", {0: "x = 1\n    y = 2\n"})


# --- apply_edits -----------------------------------------------------------------------------


DATA = b"0123456789"


def edit(start: int, end: int, text: bytes = b"") -> Edit:
    return Edit(DISPLAY, (start, end), text)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((2, 5), (4, 7)),  # partial overlap
        ((2, 8), (3, 4)),  # containment
        ((3, 6), (3, 6)),  # the same span twice
        ((4, 4), (4, 4)),  # two insertions at one offset: no right order
        ((2, 6), (4, 4)),  # an insertion inside a replaced span
    ],
)
def test_apply_edits_refuses_overlapping_edits(a: tuple[int, int], b: tuple[int, int]) -> None:
    for first, second in ((a, b), (b, a)):
        with pytest.raises(EditConflict, match="overlapping"):
            apply_edits(DATA, [edit(*first, b"X"), edit(*second, b"Y")])


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        ([edit(0, 3, b"A"), edit(3, 5, b"B")], b"AB56789"),  # touching spans
        ([edit(3, 3, b"I"), edit(3, 5, b"R")], b"012IR56789"),  # insert at a span's start
        ([edit(3, 5, b"R"), edit(5, 5, b"I")], b"012RI56789"),  # insert at a span's end
        ([edit(10, 10, b"!"), edit(0, 0, b"^")], b"^0123456789!"),
    ],
)
def test_apply_edits_touching_edits(edits: list[Edit], expected: bytes) -> None:
    assert apply_edits(DATA, edits) == expected
    assert apply_edits(DATA, edits[::-1]) == expected


@pytest.mark.parametrize("span", [(-1, 2), (5, 3), (8, 11)])
def test_apply_edits_refuses_spans_outside_the_file(span: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="outside"):
        apply_edits(DATA, [edit(*span, b"X")])


@given(
    cuts=st.lists(st.integers(0, 40), min_size=2, max_size=12),
    texts=st.lists(st.binary(max_size=5), min_size=6, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_apply_edits_is_independent_of_order(cuts: list[int], texts: list[bytes],
                                             seed: int) -> None:
    data = bytes(range(65, 65 + 40))
    points = sorted(set(cuts))
    spans = list(zip(points[::2], points[1::2], strict=False))
    edits = [edit(s, e, texts[k % len(texts)]) for k, (s, e) in enumerate(spans)]
    expected, pos = b"", 0
    for e in edits:
        expected += data[pos : e.span[0]] + e.new_text
        pos = e.span[1]
    expected += data[pos:]
    random.Random(seed).shuffle(edits)
    assert apply_edits(data, edits) == expected


# --- rewrite_document knows no syntax: a kind of its own -------------------------------------


class LineKind:
    """A toy source kind: each line ``code: TEXT`` is an example whose code is ``TEXT``."""

    name = "lines"

    def __init__(self, garble: bool = False) -> None:
        self.garble = garble  # a buggy kind: what it splices is not the code it was given

    def read(self, path: Path, display: str, dialect: str, max_bytes: int) -> SourceFile:
        return self.reextract(display, path.read_bytes(), dialect)

    def reextract(self, display: str, data: bytes, dialect: str) -> SourceFile:
        examples, offset = [], 0
        for number, line in enumerate(data.splitlines(keepends=True), 1):
            if line.startswith(b"code: "):
                start, end = offset + 6, offset + len(line.rstrip(b"\n"))
                examples.append(Example(display, "python", "", data[start:end].decode() + "\n",
                                        (start, end), "", "\n", number, number))
            offset += len(line)
        return SourceFile(display, dialect, tuple(examples), data=data, kind=self.name)

    def splice(self, example: Example, new_code: str, data: bytes) -> Edit:
        text = new_code.rstrip("\n").encode()
        return Edit(example.path, example.span, text + b"!" * self.garble)


def test_rewrite_document_applies_what_the_kind_says() -> None:
    data = b"title\ncode: a = 1\nprose\ncode: b = 2\ncode: c = 3\n"
    source = LineKind().reextract("t.txt", data, "")
    first, _, last = source.examples
    new, edits = rewrite_document(source, [(last, "c = 30\n"), (first, "a = 10\n")],
                                  LineKind())
    assert new == b"title\ncode: a = 10\nprose\ncode: b = 2\ncode: c = 30\n"
    assert edits == (Edit("t.txt", last.span, b"c = 30"), Edit("t.txt", first.span, b"a = 10"))


def test_rewrite_document_refuses_a_splice_that_does_not_read_back() -> None:
    data = b"code: a = 1\ncode: b = 2\n"
    source = LineKind().reextract("t.txt", data, "")
    with pytest.raises(VerifyError, match="line 1 did not read back"):
        rewrite_document(source, [(source.examples[0], "a = 10\n")], LineKind(garble=True))
    with pytest.raises(EditConflict):
        rewrite_document(source, [(source.examples[0], "x\n"), (source.examples[0], "y\n")],
                         LineKind())
