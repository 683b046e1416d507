"""Oracle tests for the ``commonmark`` dialect: markdown-it-py itself says what the code is.

For every generated document, the Python blocks we extract must be, in order, exactly the
``<pre><code>`` blocks that ``MarkdownIt("commonmark")`` renders for fences whose language is a
Python one. The oracle never looks at our code: it renders HTML, pairs each rendered code block
with the token it came from (only to read the raw info string, which the HTML mangles for
attribute lists like ``{.py}``) and HTML-unescapes the block's text.
"""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from docvalidate.model import Example
from docvalidate.sources.document import Document, parse_document
from docvalidate.sources.markdown import extract

_MD = MarkdownIt("commonmark")
_PRE_RE = re.compile(r'<pre><code(?: class="language-(?P<cls>[^"]*)")?>(?P<body>.*?)</code></pre>',
                     re.DOTALL)

# The oracle's own idea of which languages are Python (the spec from the issue).
ORACLE_LANGUAGES = {"python": "python", "py": "python", "python3": "python", "py3": "python",
                    "pycon": "pycon"}


def oracle_language(info: str) -> str | None:
    """What a reader takes the fence's language to be: the first word of the info string, or
    the first ``.class`` of a ``{...}`` attribute list."""
    words = info.strip().strip("{}").split()
    if info.strip().startswith("{"):
        words = [w[1:] for w in words if w.startswith(".")]
    return ORACLE_LANGUAGES.get(words[0].lower()) if words else None


def oracle_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every Python fence, as rendered by markdown-it-py."""
    rendered = list(_PRE_RE.finditer(_MD.render(text)))
    tokens = [t for t in _MD.parse(text) if t.type in ("fence", "code_block")]
    # Rendered blocks and block tokens come in the same order; the generators emit no raw HTML
    # `<pre>`, so a mismatch here means the oracle itself is broken.
    assert len(rendered) == len(tokens), (text, rendered, tokens)
    blocks = []
    for token, m in zip(tokens, rendered, strict=True):
        if token.type != "fence":
            continue
        info = token.info.strip()  # the renderer trims it too
        if info and not info.startswith("{"):
            # The renderer's class is the info's first word: a cross-check of the pairing.
            assert m.group("cls") == info.split()[0], (info, m.group(0))
        language = oracle_language(info)
        if language:
            code = html.unescape(m.group("body"))
            # Deliberate difference: an unclosed fence at the end of a file without a final
            # newline renders without one, but our ``code`` is always whole "\n"-ended lines
            # (what runs is the same, and a rewrite can append lines uniformly).
            if code and not code.endswith("\n"):
                code += "\n"
            blocks.append((language, code))
    return blocks


def extracted_blocks(text: str, eol: str = "\n") -> list[tuple[str, str]]:
    doc = parse_document("doc.md", text.replace("\n", eol).encode("utf-8"))
    source = extract(doc, "commonmark")
    for ex in source.examples:
        check_span(doc, ex)
    return [(ex.language, ex.code) for ex in source.examples]


def check_span(doc: Document, ex: Example) -> None:
    """The bytes and lines an example points at are the ones its code came from."""
    raw = doc.data[ex.span[0]:ex.span[1]].decode("utf-8")
    raw_lines = raw.splitlines()
    code_lines = ex.code.splitlines()
    assert len(raw_lines) == len(code_lines), (raw, ex)
    for raw_line, code_line in zip(raw_lines, code_lines, strict=True):
        if "\t" not in raw_line:  # a tab may be split by a container's indentation
            assert raw_line.endswith(code_line), (raw_line, code_line)
    marker = doc.lines[ex.line - 1].text
    assert "```" in marker or "~~~" in marker, (marker, ex)
    assert ex.span[0] == (doc.lines[ex.line].start if ex.line < len(doc.lines) else len(doc.data))
    if ex.closed:
        closer = doc.lines[ex.end_line - 1].text
        assert closer.strip(" >\t-*0123456789.)")[:3] in ("```", "~~~"), (closer, ex)
        assert ex.span[1] == doc.lines[ex.end_line - 1].start


def check(text: str, eol: str = "\n") -> int:
    """Compare; return how many Python blocks the page shows."""
    expected = oracle_blocks(text.replace("\n", eol))
    assert extracted_blocks(text, eol) == expected, text
    check_prefix(text.replace("\n", eol), expected)
    return len(expected)


# Code for a rewrite: indented, blank and less indented lines.
NEW_CODE = "x = 1\n\nif x:\n    y = 2\n  # odd\n"


def check_prefix(text: str, expected: list[tuple[str, str]]) -> None:
    """New code lines written after an example's ``prefix`` show exactly that code on the
    page (checked on the first closed example)."""
    doc = parse_document("doc.md", text.encode("utf-8"))
    examples = extract(doc, "commonmark").examples
    k = next((k for k, ex in enumerate(examples) if ex.closed), None)
    if k is None:
        return
    ex = examples[k]
    lines = "".join(ex.prefix + line + ex.newline for line in NEW_CODE.splitlines())
    data = doc.data[:ex.span[0]] + lines.encode() + doc.data[ex.span[1]:]
    after = [*expected[:k], (ex.language, NEW_CODE), *expected[k + 1:]]
    assert oracle_blocks(data.decode("utf-8")) == after, (text, ex.prefix)


# --- generated documents --------------------------------------------------------------------

INFOS = ["python", "py", "python3", "py3", "pycon", "PY", 'python title="x.py" hl_lines="2"',
         "{ .python .annotate }", "{.py}", "js", "text", "", " python", "python3 extra words",
         "py `x`"]  # a backtick in the info: no fence for ```, a fine one for ~~~
CODE_LINES = ["x = 1", "print(x)", "", "    y = 2", "  z = 3", "\tw = 4", " \tv = 5", "```",
              "~~~", "```js", "````", "``` ", "   ```", "    ```", "# comment", "> quoted",
              "- item", "1. item", "<!-- docvalidate: skip -->", "a < b & c > d"]
TEXT_LINES = ["Some text.", "# Heading", "More *text* here.", "<!-- docvalidate: skip -->",
              "    indented after text", "***"]


@st.composite
def fence(draw: st.DrawFn) -> list[str]:
    char = draw(st.sampled_from("`~"))
    n = draw(st.integers(3, 5))
    indent = draw(st.sampled_from(["", " ", "  ", "   ", "\t", " \t"]))
    info = draw(st.sampled_from(INFOS))
    code = draw(st.lists(st.sampled_from(CODE_LINES), max_size=4))
    code = [" " * draw(st.integers(0, 4)) + line if line else line for line in code]
    closer = draw(st.sampled_from([
        char * n,  # the usual closer
        char * (n + 1),  # longer closes too
        char * n + "  ",  # trailing blanks are fine
        " " * draw(st.integers(0, 3)) + char * n,  # any indentation below 4 closes
        "    " + char * n,  # 4 spaces: content, not a closer
        char * (n - 1),  # too short: content
        ("~" if char == "`" else "`") * n,  # other character: content
        char * n + " python",  # a closer has no info: content
        None,  # unclosed: runs to the end of the container
    ]))
    lines = [indent + char * n + info, *code]
    if closer is not None:
        lines.append(closer)
    return lines


@st.composite
def block(draw: st.DrawFn, depth: int = 0) -> list[str]:
    kinds = ["text", "fence", "fence", "indented", "outer"]
    if depth < 2:
        kinds += ["quote", "list", "ordered"]
    kind = draw(st.sampled_from(kinds))
    if kind == "text":
        return draw(st.lists(st.sampled_from(TEXT_LINES), min_size=1, max_size=2))
    if kind == "fence":
        return draw(fence())
    if kind == "indented":
        # An indented code block (after a blank line) that shows fence lines as text.
        return ["", "    ```python", "    x = 1", "    ```", ""]
    if kind == "outer":
        # A longer fence that shows a fence as its content.
        inner = draw(fence())
        return ["````markdown", *inner, "````"]
    inner = draw(body(depth + 1))
    if kind == "quote":
        marker = draw(st.sampled_from(["> ", ">", ">  "]))
        lazy = draw(st.booleans())
        out = []
        for k, line in enumerate(inner):
            # A lazy continuation line drops the marker on a paragraph-ish line.
            keep = not (lazy and k == len(inner) - 1 and line.strip())
            out.append((marker + line).rstrip() if keep else line)
        return out
    marker = draw(st.sampled_from(["- ", "* ", "-   "])) if kind == "list" else \
        draw(st.sampled_from(["1. ", "2) ", "10. "]))
    pad = " " * len(marker)
    if draw(st.booleans()):
        inner = ["item", *inner]
    return [marker + inner[0], *[(pad + line) if line else "" for line in inner[1:]]]


@st.composite
def body(draw: st.DrawFn, depth: int = 0) -> list[str]:
    blocks = draw(st.lists(block(depth), min_size=1, max_size=4))
    lines: list[str] = []
    for b in blocks:
        if lines and draw(st.booleans()):
            lines.append("")
        lines.extend(b)
    return lines


@st.composite
def document(draw: st.DrawFn) -> tuple[str, str]:
    lines = draw(body())
    eol = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    final = draw(st.sampled_from(["\n", ""]))
    return "\n".join(lines) + final, eol


@settings(max_examples=1500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_generated_documents_match_markdown_it(doc: tuple[str, str]) -> None:
    text, eol = doc
    check(text, eol)


# Every fence shape in every container, deterministically (no luck needed for coverage).
CONTAINERS = [("", ""), ("> ", "> "), ("- ", "  "), ("1. ", "   "), ("- ", "  - "),
              ("> - ", ">   "), ("  ", "  "), ("- > ", "  > ")]


@pytest.mark.parametrize(("first", "rest"), CONTAINERS)
@pytest.mark.parametrize("char", ["`", "~"])
def test_fence_shapes_in_containers(first: str, rest: str, char: str) -> None:
    shown = 0
    for n, info, indent, content, close_extra in itertools.product(
        (3, 4), INFOS, (0, 1, 3), (["x = 1", "  y", ""], ["\tz", "    w"], []), (0, 1),
    ):
        opener = " " * indent + char * n + info
        lines = [opener, *content, " " * indent + char * (n + close_extra)]
        text = "\n".join([first + lines[0], *(rest + line for line in lines[1:])]) + "\n"
        shown += check(text)
        shown += check("Intro\n" + text + "after\n")
    assert shown, "the container hides every fence: the oracle or the setup is broken"


# --- hand-written documents -----------------------------------------------------------------

HAND_WRITTEN = {
    "plain": "```python\nx = 1\n```\n",
    "tilde_info_with_backticks": "~~~python `odd`\nx\n~~~\n",
    "backtick_info_with_backtick_is_not_a_fence": "```python `odd`\nx\n```\n",
    "indented_opener_strips_content": "  ```python\n    x = 1\n y = 2\nz\n  ```\n",
    "indented_code_block": "Para\n\n    ```python\n    x = 1\n    ```\n",
    "inside_markdown_example": "````markdown\n```python\nx = 1\n```\n````\n",
    "unclosed_at_eof": "```python\nx = 1\n",
    "unclosed_in_quote": "> ```python\n> x = 1\n\nafter\n",
    "unclosed_in_list": "- ```python\n  x = 1\n\nafter\n",
    "lazy_quote_line_ends_fence": "> ```python\nx = 1\n> ```\n",
    "list_then_outdent": "- a\n\n  ```py\n  x\n   y\n  ```\n",
    "tab_in_list_prefix": "-\t```python\n\tx = 1\n\t```\n",
    "tab_after_quote": ">\t```python\n>\tx = 1\n>\t```\n",
    "nested_lists": "- a\n  - b\n    ```python\n    x = 1\n    ```\n",
    "two_fences": "```py\na\n```\n```pycon\n>>> 1\n1\n```\n",
    "empty_fence": "```python\n```\n",
    "blank_lines_only": "```python\n\n\n```\n",
    "entities": "```python\nprint('&amp; <b>')\n```\n",
    "uppercase": "```PY\nx\n```\n",
    "attr_list": "```{ .python .annotate }\nx\n```\n\n```{.py}\ny\n```\n",
    "crlf_body": "```python\r\nx = 1\r\n\r\n```\r\n",
    "unicode": "```python\nname = 'é✓'\n```\n",
}


@pytest.mark.parametrize("text", HAND_WRITTEN.values(), ids=HAND_WRITTEN.keys())
def test_hand_written_documents_match_markdown_it(text: str) -> None:
    check(text)


def test_oracle_sees_python_blocks() -> None:
    # Guards the oracle itself: if its regex or pairing broke, every comparison above could
    # pass vacuously on two empty lists.
    assert oracle_blocks(HAND_WRITTEN["two_fences"]) == [("python", "a\n"),
                                                         ("pycon", ">>> 1\n1\n")]
    assert oracle_blocks(HAND_WRITTEN["inside_markdown_example"]) == []


# --- fixture files --------------------------------------------------------------------------

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "markdown").rglob("*.md"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_files_match(path: Path) -> None:
    check(path.read_text(encoding="utf-8"))
