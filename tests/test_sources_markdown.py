"""Direct tests of Markdown extraction: which fences, which lines and bytes, which directives."""

from __future__ import annotations

from pathlib import Path

import pytest

from docvalidate.model import Directive, Example, SourceFile
from docvalidate.sources.dialects import find_mkdocs_config, resolve_dialect
from docvalidate.sources.document import BOM, parse_document
from docvalidate.sources.fences import info_attributes, info_language
from docvalidate.sources.markdown import extract, load_markdown

FIXTURES = Path(__file__).parent / "fixtures" / "markdown"
DIALECTS = ["commonmark", "mkdocs"]
NOT_APPLIED = "does not apply to any code block"


def load(text: str | bytes, dialect: str = "commonmark") -> SourceFile:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return extract(parse_document("doc.md", data), dialect)


def only(source: SourceFile) -> Example:
    assert len(source.examples) == 1, source.examples
    return source.examples[0]


def raw(data: bytes, ex: Example) -> bytes:
    return data[ex.span[0]:ex.span[1]]


# --- languages ------------------------------------------------------------------------------

ACCEPTED = {
    "python": "python", "py": "python", "python3": "python", "py3": "python", "PY": "python",
    "Python": "python", "pycon": "pycon", 'python title="x.py" hl_lines="2"': "python",
    'py linenums="1"': "python", "{ .python .annotate }": "python", "{.py}": "python",
    "{ .pycon }": "pycon", ".py": "python",
}
IGNORED = ["js", "text", "", "pythonic", "py2", "bash", "{ .annotate }", "{ .js .python }",
           "console", "python-repl"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("info", "language"), ACCEPTED.items())
def test_python_languages_are_extracted(dialect: str, info: str, language: str) -> None:
    ex = only(load(f"```{info}\nx = 1\n```\n", dialect))
    assert (ex.language, ex.info, ex.code) == (language, info, "x = 1\n")


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("info", IGNORED)
def test_other_languages_are_ignored(dialect: str, info: str) -> None:
    source = load(f"```{info}\nx = 1\n```\n\n```python\ny = 2\n```\n", dialect)
    # The ignored fence must not swallow or shift the Python one after it.
    assert [(ex.line, ex.code) for ex in source.examples] == [(5, "y = 2\n")]
    assert source.warnings == ()


def test_info_language_and_attributes() -> None:
    assert info_language("  py3  ") == "python"
    assert info_language("python{.x}") == "python"
    assert info_language("pythonx") is None
    assert info_attributes('python title="a b.py" hl_lines="2 3" bare') == {
        "title": "a b.py", "hl_lines": "2 3"}


def test_mkdocs_ignores_a_header_superfences_rejects() -> None:
    # `python foo` is not a superfences header: the line stays text, and the next marker line
    # opens a fence instead (here a fence without a language, closed by the last line).
    text = "```python foo\nx = 1\n```\nprint(2)\n```\n"
    assert load(text, "mkdocs").examples == ()
    assert [ex.code for ex in load(text, "commonmark").examples] == ["x = 1\n"]


# --- lines and bytes ------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_lines_and_span(dialect: str) -> None:
    text = "# T\n\nIntro.\n\n```python\nx = 1\n\ny = 2\n```\n\nAfter.\n"
    data = text.encode()
    ex = only(load(data, dialect))
    assert (ex.line, ex.first_code_line, ex.end_line) == (5, 6, 9)
    assert text.splitlines()[ex.line - 1] == "```python"
    assert text.splitlines()[ex.end_line - 1] == "```"
    assert raw(data, ex) == b"x = 1\n\ny = 2\n"
    assert ex.code == "x = 1\n\ny = 2\n"
    assert ex.id == "doc.md:5"
    assert (ex.prefix, ex.newline, ex.closed) == ("", "\n", True)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_span_counts_bytes_not_characters(dialect: str) -> None:
    text = "# Tïtle ✓\n\n```python\nprint('é✓')\n```\n"
    data = text.encode()
    ex = only(load(data, dialect))
    assert ex.span[0] == data.index(b"print")
    assert raw(data, ex).decode() == "print('é✓')\n"
    assert ex.heading == "Tïtle ✓"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_empty_fence_has_an_empty_span_at_the_closing_fence(dialect: str) -> None:
    data = b"```python\n```\n"
    ex = only(load(data, dialect))
    assert ex.code == ""
    assert ex.span == (data.index(b"```\n", 3), data.index(b"```\n", 3))
    assert (ex.line, ex.end_line) == (1, 2)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("eol", ["\r\n", "\r"])
def test_other_line_endings(dialect: str, eol: str) -> None:
    data = eol.join(["Intro", "", "```python", "x = 1", "", "y = 2", "```", ""]).encode()
    ex = only(load(data, dialect))
    assert (ex.line, ex.end_line, ex.newline) == (3, 7, eol)
    assert ex.code == "x = 1\n\ny = 2\n"
    assert raw(data, ex) == f"x = 1{eol}{eol}y = 2{eol}".encode()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_file_without_final_newline(dialect: str) -> None:
    data = b"```python\nx = 1\n```"
    ex = only(load(data, dialect))
    assert (ex.end_line, raw(data, ex)) == (3, b"x = 1\n")


def with_code(data: bytes, ex: Example, code: str) -> bytes:
    """The file with the example's code lines replaced, each written after ``ex.prefix``."""
    lines = "".join(ex.prefix + line + ex.newline for line in code.splitlines())
    return data[:ex.span[0]] + lines.encode() + data[ex.span[1]:]


NEW_CODE = "x = 1\n\nif x:\n    y = 2\n  # odd\n"


@pytest.mark.parametrize(("dialect", "text", "prefix", "code"), [
    ("commonmark", "> ```python\n> x = 1\n>\n>     y\n> ```\n", "> ", "x = 1\n\n    y\n"),
    ("mkdocs", "> ```python\n> x = 1\n>\n>     y\n> ```\n", "> ", "x = 1\n\n    y\n"),
    ("commonmark", ">```python\n>x = 1\n>```\n", "> ", "x = 1\n"),
    ("mkdocs", ">```python\n>x = 1\n>```\n", ">", "x = 1\n"),
    ("commonmark", "- item\n\n  ```python\n  x = 1\n  ```\n", "  ", "x = 1\n"),
    ("commonmark", "> - ```python\n>   x = 1\n>   ```\n", ">   ", "x = 1\n"),
    ("commonmark", "1. ```python\n   x = 1\n   ```\n", "   ", "x = 1\n"),
    ("commonmark", "- ```python\n  ```\n", "  ", ""),
    ("commonmark", "  ```python\nx = 1\n  ```\n", "  ", "x = 1\n"),
    ("commonmark", "-\t```python\n\t  x = 1\n\t```\n", "    ", "  x = 1\n"),
    ("mkdocs", "- item\n\n    ```python\n    x = 1\n    ```\n", "    ", "x = 1\n"),
    ("mkdocs", "!!! note\n\n    ```python\n    x = 1\n\n      y\n    ```\n", "    ",
     "x = 1\n\n  y\n"),
    ("mkdocs", '=== "A"\n\n    !!! note\n        ```python\n        x = 1\n        ```\n',
     "        ", "x = 1\n"),
    ("mkdocs", "> ```python\n> ```\n", "> ", ""),
])
def test_container_prefix(dialect: str, text: str, prefix: str, code: str) -> None:
    data = text.encode()
    ex = only(load(data, dialect))
    assert (ex.prefix, ex.code) == (prefix, code)
    # The prefix is what a new code line needs: the dialect reads the new code back exactly,
    # indented and blank lines included.
    assert only(load(with_code(data, ex, NEW_CODE), dialect)).code == NEW_CODE


# --- BOM and front matter -------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_bom_and_front_matter_keep_lines_and_bytes_of_the_file(dialect: str) -> None:
    text = "---\ntitle: Ünïcode\ntags: [a, b]\n---\n\n# Head\n\n```python\nx = 1\n```\n"
    data = BOM.encode() + text.encode()
    source = load(data, dialect)
    ex = only(source)
    on_disk = data.decode("utf-8-sig").splitlines()
    assert on_disk[ex.line - 1] == "```python"
    assert (ex.line, ex.end_line) == (8, 10)
    assert raw(data, ex) == b"x = 1\n"
    assert ex.heading == "Head"
    assert not source.text.startswith(BOM)
    assert source.warnings == ()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_fence_in_front_matter_is_not_an_example(dialect: str) -> None:
    text = "---\nexample: |\n  ```python\n  not_code = 1\n  ```\n---\n```python\ncode = 2\n```\n"
    ex = only(load(text, dialect))
    assert (ex.line, ex.code) == (7, "code = 2\n")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_invalid_front_matter_is_a_warning_with_its_line(dialect: str) -> None:
    source = load("---\ntitle: [unclosed\n---\n\n```python\nx\n```\n", dialect)
    assert [w.line for w in source.warnings] == [2]  # the faulty YAML line, counted on disk
    assert "front matter" in source.warnings[0].message
    assert only(source).line == 5


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unclosed_front_matter_is_a_warning(dialect: str) -> None:
    source = load("---\ntitle: x\n\n```python\nx\n```\n", dialect)
    assert [w.line for w in source.warnings] == [1]
    assert "never closed" in source.warnings[0].message
    assert only(source).line == 4


# --- unclosed fences ------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unclosed_fence_warns_and_gives_an_unclosed_example(dialect: str) -> None:
    data = b"# H\n\n```python\nx = 1\ny = 2\n"
    source = load(data, dialect)
    ex = only(source)
    assert (ex.closed, ex.line, ex.end_line) == (False, 3, 5)
    assert raw(data, ex) == b"x = 1\ny = 2\n"
    [warning] = source.warnings
    assert warning.line == 3
    assert "unclosed python code fence opened at line 3" in warning.message


def test_unclosed_fence_ends_with_its_container_in_commonmark() -> None:
    source = load("> ```python\n> x = 1\n\nafter\n\n```python\ny\n```\n")
    assert [(ex.line, ex.end_line, ex.closed, ex.code) for ex in source.examples] == [
        (1, 2, False, "x = 1\n"), (6, 8, True, "y\n")]
    assert [w.line for w in source.warnings] == [1]


def test_mkdocs_says_where_an_unclosed_fence_was_given_up() -> None:
    source = load("!!! note\n    ```python\n    x = 1\nout\n\n```python\ny\n```\n", "mkdocs")
    assert [(ex.line, ex.closed) for ex in source.examples] == [(2, False), (6, True)]
    [warning] = source.warnings
    assert warning.line == 2
    assert "less indented line at line 4" in warning.message


def test_unclosed_fence_of_another_language_warns_without_an_example() -> None:
    source = load("```js\nlet x;\n")
    assert source.examples == ()
    assert [w.line for w in source.warnings] == [1]


@pytest.mark.parametrize(("text", "commonmark", "mkdocs"), [
    # A longer run closes in CommonMark; superfences needs the exact run.
    ("```python\nx\n````\ny\n```\n", ["x\n"], ["x\n````\ny\n"]),
    # Indented up to 3 spaces closes in CommonMark; superfences wants the opener's indent.
    ("```python\nx\n  ```\n", ["x\n"], []),
])
def test_dialects_close_fences_differently(
    text: str, commonmark: list[str], mkdocs: list[str]
) -> None:
    def closed(dialect: str) -> list[str]:
        return [ex.code for ex in load(text, dialect).examples if ex.closed]

    assert closed("commonmark") == commonmark
    assert closed("mkdocs") == mkdocs


@pytest.mark.parametrize("dialect", DIALECTS)
def test_indented_code_block_shows_fences_as_text(dialect: str) -> None:
    source = load("Para\n\n    ```python\n    x = 1\n    ```\n\n```python\ny\n```\n", dialect)
    assert [(ex.line, ex.code) for ex in source.examples] == [(7, "y\n")]
    assert source.warnings == ()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_fence_shown_inside_a_longer_fence_is_not_an_example(dialect: str) -> None:
    source = load("````markdown\n```python\nx = 1\n```\n````\n", dialect)
    assert source.examples == ()


# --- headings -------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_heading_is_the_nearest_one_above(dialect: str) -> None:
    text = ("```python\na\n```\n\n# First\n\n```python\nb\n```\n\n```python\n# not a heading\n"
            "```\n\n## Second ##\n\n```python\nc\n```\n")
    assert [ex.heading for ex in load(text, dialect).examples] == [
        None, "First", "First", "Second"]


def test_setext_heading_counts_in_commonmark() -> None:
    ex = only(load("Title\n=====\n\n```python\nx\n```\n"))
    assert ex.heading == "Title"


def test_heading_inside_indented_code_does_not_count_in_mkdocs() -> None:
    ex = only(load("# Real\n\nPara\n\n    # not a heading\n\n```python\nx\n```\n", "mkdocs"))
    assert ex.heading == "Real"


# --- dialect detection ----------------------------------------------------------------------


@pytest.mark.parametrize("config", ["mkdocs.yml", "mkdocs.yaml"])
def test_mkdocs_config_in_folder_or_parent_means_mkdocs(tmp_path: Path, config: str) -> None:
    (tmp_path / config).write_text("site_name: x\n")
    page = tmp_path / "docs" / "sub" / "page.md"
    page.parent.mkdir(parents=True)
    page.write_text("```python\nx\n```\n")
    top = tmp_path / "index.md"
    top.write_text("")
    assert find_mkdocs_config(page) == tmp_path / config
    assert resolve_dialect("auto", page) == "mkdocs"
    assert resolve_dialect("auto", top) == "mkdocs"
    assert resolve_dialect("commonmark", page) == "commonmark"
    assert load_markdown(page, "page.md", "auto", 1 << 20).dialect == "mkdocs"


def test_without_mkdocs_config_the_dialect_is_commonmark(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "mkdocs.yml").mkdir()  # a folder of that name is no config
    page = tmp_path / "docs" / "page.md"
    page.write_text("```python\nx\n```\n")
    if find_mkdocs_config(tmp_path) is not None:  # pragma: no cover - odd machine
        pytest.skip("a mkdocs.yml above the temporary folder")
    assert resolve_dialect("auto", page) == "commonmark"
    assert resolve_dialect("mkdocs", page) == "mkdocs"
    assert load_markdown(page, "page.md", "auto", 1 << 20).dialect == "commonmark"


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dialect"):
        load("", "rst")


def test_unreadable_file_is_a_source_file_with_an_error(tmp_path: Path) -> None:
    page = tmp_path / "bin.md"
    page.write_bytes(b"```python\n\x00\n```\n")
    source = load_markdown(page, "bin.md", "commonmark", 1 << 20)
    assert source.examples == ()
    assert source.error is not None and "line 2" in source.error


# --- directives -----------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_directive_applies_to_the_fence_right_below(dialect: str) -> None:
    text = ("<!-- docvalidate: session=calc -->\n<!-- docvalidate: timeout=2.5, no-fix -->\n"
            "\n\n```python\nx\n```\n\n```python\ny\n```\n")
    source = load(text, dialect)
    first, second = source.examples
    assert first.directives == (Directive("session", "calc", 1), Directive("timeout", "2.5", 2),
                                Directive("no-fix", None, 2))
    assert second.directives == ()
    assert source.warnings == ()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_directive_does_not_reach_across_a_paragraph(dialect: str) -> None:
    source = load("<!-- docvalidate: skip -->\nSome text.\n\n```python\nx\n```\n", dialect)
    assert only(source).directives == ()
    [warning] = source.warnings
    assert warning.line == 1 and NOT_APPLIED in warning.message


@pytest.mark.parametrize("dialect", DIALECTS)
def test_directive_does_not_reach_across_another_fence(dialect: str) -> None:
    source = load("<!-- docvalidate: skip -->\n```js\nx\n```\n```python\ny\n```\n", dialect)
    assert only(source).directives == ()
    assert [w.line for w in source.warnings] == [1]


@pytest.mark.parametrize(("dialect", "text"), [
    ("commonmark", "> <!-- docvalidate: skip -->\n> ```python\n> x\n> ```\n"),
    ("mkdocs", "> <!-- docvalidate: skip -->\n> ```python\n> x\n> ```\n"),
    ("commonmark", "- item\n\n  <!-- docvalidate: skip -->\n\n  ```python\n  x\n  ```\n"),
    ("mkdocs", "!!! note\n    <!-- docvalidate: skip -->\n    ```python\n    x\n    ```\n"),
])
def test_directive_inside_a_container(dialect: str, text: str) -> None:
    ex = only(load(text, dialect))
    assert [d.name for d in ex.directives] == ["skip"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_off_and_on_regions(dialect: str) -> None:
    text = ("```python\na\n```\n\n<!-- docvalidate: off -->\n\n```python\nb\n```\n\n"
            "<!-- docvalidate: skip -->\n```python\nc\n```\n\n<!-- docvalidate: on -->\n\n"
            "```python\nd\n```\n")
    source = load(text, dialect)
    assert [[(d.name, d.line) for d in ex.directives] for ex in source.examples] == [
        [], [("off", 5)], [("off", 5), ("skip", 11)], []]  # in the order of their lines
    assert source.warnings == ()


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("container", [
    "```text\n<!-- docvalidate: skip -->\n```\n",
    "Para\n\n    <!-- docvalidate: skip -->\n",
    "````markdown\n<!-- docvalidate: skip -->\n```python\nnot_an_example\n```\n````\n",
])
def test_directive_inside_another_code_block_is_ignored(dialect: str, container: str) -> None:
    source = load(container + "\n```python\nx\n```\n", dialect)
    assert only(source).directives == ()
    assert source.warnings == ()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_directive_followed_by_no_fence_warns(dialect: str) -> None:
    source = load("```python\nx\n```\n\n<!-- docvalidate: skip -->\n", dialect)
    assert only(source).directives == ()
    [warning] = source.warnings
    assert warning.line == 5 and NOT_APPLIED in warning.message


@pytest.mark.parametrize("dialect", DIALECTS)
def test_malformed_directive_attached_to_a_fence_is_an_error_directive(dialect: str) -> None:
    ex = only(load("<!-- docvalidate: timeout=0 -->\n```python\nx\n```\n", dialect))
    assert [(d.name, d.line) for d in ex.directives] == [("error", 1)]
    assert "greater than 0" in (ex.directives[0].value or "")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_malformed_directive_above_no_fence_is_reported(dialect: str) -> None:
    source = load("<!-- docvalidate: skipp -->\nText.\n", dialect)
    [warning] = source.warnings
    assert warning.line == 1
    assert "unknown directive 'skipp'" in warning.message and NOT_APPLIED in warning.message


# --- fixture files --------------------------------------------------------------------------


def summary(source: SourceFile) -> list[tuple[int, int, bool, str]]:
    return [(ex.line, ex.end_line, ex.closed, ex.code.splitlines()[0]) for ex in source.examples]


def load_fixture(relative: str) -> SourceFile:
    path = FIXTURES / relative
    source = load_markdown(path, relative, "auto", 1 << 20)
    lines = path.read_text().splitlines()
    for ex in source.examples:  # every example points at its own fence lines on disk
        assert lines[ex.line - 1].lstrip(" >").startswith(("```", "~~~")), ex
        data = path.read_bytes()
        assert raw(data, ex).decode().splitlines()[0].endswith(ex.code.splitlines()[0])
    return source


def test_commonmark_fixture() -> None:
    source = load_fixture("commonmark/guide.md")
    assert source.dialect == "commonmark"
    assert summary(source) == [
        (5, 8, True, "import math"),
        (14, 16, True, "total = 1 + 1"),
        (18, 21, True, ">>> total"),
        (31, 33, True, "quoted = True"),
        (37, 39, True, "step = 1"),
        (57, 59, True, "skipped_region = True"),
        (63, 65, True, "last = True"),
    ]
    by_line = {ex.line: ex for ex in source.examples}
    assert by_line[14].directives == (Directive("session", "calc", 12),)
    assert [d.name for d in by_line[57].directives] == ["off"]
    assert (by_line[31].prefix, by_line[37].prefix) == ("> ", "   ")
    assert by_line[63].info == 'python title="last.py"'
    assert [ex.heading for ex in source.examples] == ["Guide"] + ["Sessions"] * 6
    assert source.warnings == ()


def test_unclosed_fixture() -> None:
    source = load_fixture("commonmark/unclosed.md")
    assert summary(source) == [
        (3, 5, True, "closed = True"),
        (9, 11, False, "inside_item = True"),
        (14, 15, False, "runs_to_the_end = True"),
    ]
    assert [w.line for w in source.warnings] == [9, 14]


def test_mkdocs_fixture() -> None:
    source = load_fixture("mkdocs/docs/index.md")
    assert source.dialect == "mkdocs"
    assert summary(source) == [
        (3, 5, True, "top = 1"),
        (9, 11, True, "in_admonition = 2"),
        (14, 16, True, "in_details = 3"),
        (20, 22, True, "in_tab = 4"),
        (28, 30, True, ">>> in_nested_admonition = 5"),
        (34, 36, True, "in_block_tab = 6"),
        (40, 42, True, "in_quote = 7"),
        (46, 48, True, "in_list = 8"),
        (62, 65, True, "closes_only_on_three = 11"),
    ]
    assert [ex.prefix for ex in source.examples] == [
        "", "    ", "    ", "    ", "        ", "", "> ", "    ", ""]
    assert source.warnings == ()


def test_mkdocs_fixture_in_a_subfolder() -> None:
    source = load_fixture("mkdocs/docs/nested/page.md")
    assert source.dialect == "mkdocs"
    assert summary(source) == [
        (3, 5, True, "annotated = True"),
        (7, 9, False, "indented_closer_is_code = True"),
    ]
    assert [w.line for w in source.warnings] == [7]


@pytest.mark.parametrize(("dialect", "text"), [
    ("commonmark", "---\n" + "a: [" * 5000 + "\n---\n```python\nx = 1\n```\n"),
    ("mkdocs", "---\n" + "a: [" * 5000 + "\n---\n```python\nx = 1\n```\n"),
    ("mkdocs", ">" * 5000 + " ```python\n" + ">" * 5000 + " x = 1\n" + ">" * 5000 + " ```\n"),
])
def test_pages_nested_thousands_deep_are_one_file_error(dialect: str, text: str,
                                                        tmp_path: Path) -> None:
    from docvalidate.sources.markdown import load_markdown

    path = tmp_path / "deep.md"
    path.write_text(text)
    source = load_markdown(path, "deep.md", dialect, 10 * 1024 * 1024)
    assert source.error is not None and "too deeply" in source.error


@pytest.mark.parametrize("dialect", ["commonmark", "mkdocs"])
def test_a_page_of_fifty_thousand_heading_lines_is_read(tmp_path, dialect):
    # Python-Markdown takes every line starting with "#" as a heading, each splitting its
    # chunk: the emulation parses on in a loop, not one recursion level per heading.
    page = tmp_path / "big.md"
    page.write_text("```python\nx = 1\n```\n" + ("#" * 99 + "\n") * 50_000
                    + "```python\ny = 2\n```\n")
    source = load_markdown(page, "big.md", dialect, 10 ** 8)
    assert source.error is None
    assert [e.code for e in source.examples] == ["x = 1\n", "y = 2\n"]
