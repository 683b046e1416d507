"""Oracle tests for the ``mkdocs`` dialect: Python-Markdown with pymdown-extensions decides.

The oracle renders each document with the extensions a Material for MkDocs site uses and reads
back the highlighted code blocks; our closed examples must be exactly its Python blocks, in
order. Pygments stays on (MkDocs' default): without it, superfences rejects fences that carry
``title=``/``hl_lines=`` options. ``pygments_lang_class`` puts the fence's language on the block,
and ``stripnl: False`` keeps leading and trailing blank lines of the code.

Unclosed fences are not compared: superfences renders a fence only when it closes, and we
report an unclosed one as a warning plus an example with ``closed=False``.
"""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docvalidate.model import Example
from docvalidate.sources.document import Document, parse_document
from docvalidate.sources.markdown import extract
from docvalidate.sources.python_markdown import TAB

EXTENSIONS = [
    "toc", "tables", "attr_list", "md_in_html", "admonition", "pymdownx.details",
    "pymdownx.superfences", "pymdownx.tabbed", "pymdownx.highlight", "pymdownx.blocks.tab",
    "pymdownx.blocks.admonition", "pymdownx.blocks.details",
]
CONFIG = {
    "pymdownx.highlight": {"use_pygments": True, "pygments_lang_class": True, "stripnl": False},
    "pymdownx.tabbed": {"alternate_style": True},
}
_MD = markdown.Markdown(extensions=EXTENSIONS, extension_configs=CONFIG)
# A highlighted block: `<div [id] class="language-X [classes] highlight">` then, after an optional
# title and line-number column, the code in the block's only `<code>` element.
_BLOCK_RE = re.compile(
    r'<div [^>]*\bclass="language-(?P<lang>\S+)[^"]*\bhighlight"[^>]*>'
    r".*?<code>(?P<body>.*?)</code>",
    re.DOTALL,
)
_TAG_RE = re.compile(r"<[^>]+>")

# The oracle's own idea of which languages are Python (the spec from the issue).
ORACLE_LANGUAGES = {"python": "python", "py": "python", "python3": "python", "py3": "python",
                    "pycon": "pycon"}


def oracle_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every Python code block in the rendered page."""
    _MD.reset()
    page = _MD.convert(text)
    blocks = []
    for m in _BLOCK_RE.finditer(page):
        language = ORACLE_LANGUAGES.get(m.group("lang").lower())
        if language:
            code = html.unescape(_TAG_RE.sub("", m.group("body")))
            blocks.append((language, code))
    return blocks


def as_rendered(code: str) -> str:
    """Our code as Pygments prints it. Superfences hands over the lines joined with "\\n" (no
    final newline) and Pygments adds one unless the text already ends with one: so a final
    blank line disappears and an empty block becomes a single newline."""
    if code.endswith("\n\n"):
        return code[:-1]
    return code or "\n"


def extracted_blocks(text: str, eol: str = "\n") -> list[tuple[str, str]]:
    doc = parse_document("doc.md", text.replace("\n", eol).encode("utf-8"))
    source = extract(doc, "mkdocs")
    for ex in source.examples:
        check_span(doc, ex)
    return [(ex.language, as_rendered(ex.code)) for ex in source.examples if ex.closed]


def check_span(doc: Document, ex: Example) -> None:
    """The bytes and lines an example points at are the ones its code came from."""
    raw = doc.data[ex.span[0]:ex.span[1]].decode("utf-8")
    raw_lines = raw.splitlines()
    code_lines = ex.code.splitlines()
    assert len(raw_lines) == len(code_lines), (raw, ex)
    for raw_line, code_line in zip(raw_lines, code_lines, strict=True):
        if "\t" not in raw_line:
            assert raw_line.endswith(code_line), (raw_line, code_line)
    marker = doc.lines[ex.line - 1].text
    assert "```" in marker or "~~~" in marker, (marker, ex)
    assert ex.span[0] == (doc.lines[ex.line].start if ex.line < len(doc.lines) else len(doc.data))
    if ex.closed:
        closer = doc.lines[ex.end_line - 1].text
        assert closer.strip(" >")[:3] in ("```", "~~~"), (closer, ex)
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
    page (checked on the first rendered example)."""
    doc = parse_document("doc.md", text.encode("utf-8"))
    examples = [ex for ex in extract(doc, "mkdocs").examples if ex.closed]
    if not examples:
        return
    ex = examples[0]
    lines = "".join(ex.prefix + line + ex.newline for line in NEW_CODE.splitlines())
    data = doc.data[:ex.span[0]] + lines.encode() + doc.data[ex.span[1]:]
    assert oracle_blocks(data.decode("utf-8")) == [(ex.language, NEW_CODE), *expected[1:]]


# --- generated documents --------------------------------------------------------------------

# The last four are headers superfences rejects (the line is then text, not a fence).
INFOS = ["python", "py", "python3", "py3", "pycon", "PY", 'python title="x.py" hl_lines="2"',
         'py linenums="1"', "{ .python .annotate }", "{.py}", "js", "text", "", " python",
         "python foo", 'python hl_lines="x"', "python3 extra words", "py `x`"]
CODE_LINES = ["x = 1", "print(x)", "", "    y = 2", "  z = 3", "```", "~~~", "```js",
              "````", "``` ", "   ```", "    ```", "# comment", "> quoted", "- item",
              "!!! note", "///", "a < b & c > d"]
TEXT_LINES = ["Some text.", "# Heading", "More *text* here.", "    indented after text"]


@st.composite
def fence(draw: st.DrawFn) -> list[str]:
    char = draw(st.sampled_from("`~"))
    n = draw(st.integers(3, 5))
    indent = " " * draw(st.integers(0, 3))
    info = draw(st.sampled_from(INFOS))
    code = draw(st.lists(st.sampled_from(CODE_LINES), max_size=4))
    # Mostly indented like the opener; now and then less (which ends the fence).
    code = [(indent if draw(st.integers(0, 5)) else "") + " " * draw(st.integers(0, 2)) + line
            if line else line for line in code]
    closer = draw(st.sampled_from([
        char * n,  # the usual closer
        char * n + "  ",  # trailing blanks are fine
        char * (n + 1),  # superfences: a longer run does not close
        char * (n - 1),  # too short: content
        ("~" if char == "`" else "`") * n,  # other character: content
        " " + char * n,  # differently indented
        None,  # unclosed
    ]))
    lines = [indent + char * n + info, *code]
    if closer is not None:
        lines.append(indent + closer)
    return lines


def indent4(lines: list[str], pad: str = "    ") -> list[str]:
    return [pad + line if line else "" for line in lines]


@st.composite
def block(draw: st.DrawFn, depth: int = 0, indented: bool = False) -> list[str]:
    kinds = ["text", "fence", "fence", "fence", "indented", "outer"]
    if depth < 2:
        kinds += ["admonition", "tab", "quote", "list"]
        # Not generated: a `///` block inside an indented container. There, Python-Markdown's
        # admonition processor takes an indented chunk after a nested `/// note` as the
        # note's content (it sees the note's <div class="admonition">), a quirk not modelled.
        kinds += [] if indented else ["blocks"]
    kind = draw(st.sampled_from(kinds))
    if kind == "text":
        return draw(st.lists(st.sampled_from(TEXT_LINES), min_size=1, max_size=2))
    if kind == "fence":
        return draw(fence())
    if kind == "indented":
        # An indented code block after a paragraph shows fence lines as code text.
        return ["Para", "", "    ```python", "    x = 1", "    ```", ""]
    if kind == "outer":
        inner = draw(fence())
        return ["````markdown", *inner, "````"]
    inner = draw(body(depth + 1, indented or kind in ("admonition", "tab", "list")))
    if kind == "admonition":
        head = draw(st.sampled_from(["!!! note", "??? note", '???+ note "Title"',
                                     '!!! warning "Careful"']))
        return [head, *[""] * draw(st.integers(0, 1)), *indent4(inner)]
    if kind == "tab":
        head = draw(st.sampled_from(['=== "Tab 1"', '===+ "Tab 2"']))
        return [head, *[""] * draw(st.integers(0, 1)), *indent4(inner)]
    if kind == "blocks":
        head = draw(st.sampled_from(["tab | Title", "note | Note", "details | Summary"]))
        options = draw(st.sampled_from([[], ["    open: true"]])) if "details" in head else []
        slashes = "/" * (3 + 1 - depth)  # an outer block needs a longer run than inner ones
        return [f"{slashes} {head}", *options, "", *inner, slashes]
    if kind == "quote":
        marker = draw(st.sampled_from(["> ", ">"]))
        return [(marker + line).rstrip() for line in inner]
    marker = draw(st.sampled_from(["- ", "1. ", "* "]))
    # Python-Markdown wants list content indented by 4; 2 is a common mistake.
    pad = draw(st.sampled_from(["    ", "    ", "  "]))
    return [marker + "Item", *[""] * draw(st.integers(0, 1)), *indent4(inner, pad)]


@st.composite
def body(draw: st.DrawFn, depth: int = 0, indented: bool = False) -> list[str]:
    blocks = draw(st.lists(block(depth, indented), min_size=1, max_size=4))
    lines: list[str] = []
    for b in blocks:
        # Without a blank line, a block continues the one above (a lazy line, or a fence
        # that superfences finds anywhere); only text and fences are drawn that way, since a
        # container opener glued to an indented paragraph is parsed in quirky ways.
        glued = b[0][:1] not in ("!", "?", "=", "/", "-", "*", "1", ">", "")
        if lines and not (glued and draw(st.booleans())):
            lines.append("")
        lines.extend(b)
    return lines


@st.composite
def document(draw: st.DrawFn) -> tuple[str, str]:
    lines = draw(body())
    eol = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    return "\n".join(lines) + "\n", eol


@settings(max_examples=1000, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_generated_documents_match_python_markdown(doc: tuple[str, str]) -> None:
    text, eol = doc
    check(text, eol)


# Every fence shape in every container, deterministically: (lines above, prefix, lines below).
CONTAINERS = {
    "top": ([], "", []),
    "admonition": (["!!! note", ""], "    ", []),
    "details_open": (['???+ note "Title"'], "    ", []),
    "tab": (['=== "Tab 1"', ""], "    ", []),
    "admonition_in_tab": (['===+ "Tab 1"', "", "    !!! note", ""], "        ", []),
    "list": (["- Item", ""], "    ", []),
    "tight_list": (["1. Item"], "    ", []),
    "quote": ([], "> ", []),
    "blocks_tab": (["/// tab | Title", ""], "", ["", "///"]),
    "blocks_note_in_tab": (["//// tab | Title", "", "/// note"], "", ["///", "////"]),
}


@pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
@pytest.mark.parametrize("char", ["`", "~"])
def test_fence_shapes_in_containers(container: tuple[list[str], str, list[str]], char: str) -> None:
    above, prefix, below = container
    shown = 0
    for n, info, indent, content, longer in itertools.product(
        (3, 4), INFOS, (0, 2), (["x = 1", "  y", ""], []), (False, True),
    ):
        fence_lines = [" " * indent + char * n + info, *content,
                       " " * indent + char * (n + longer)]
        lines = [*above, *((prefix + line).rstrip() for line in fence_lines), *below]
        shown += check("\n".join(lines) + "\n")
    assert shown, "the container hides every fence: the oracle or the setup is broken"


# --- hand-written documents -----------------------------------------------------------------

HAND_WRITTEN = {
    "top_level": "```python\nx = 1\n```\n",
    "admonition": "!!! note\n\n    ```python\n    x = 1\n    ```\n",
    "collapsible": "??? note\n    ```py\n    x = 1\n    ```\n",
    "collapsible_open_title": '???+ note "Title"\n\n    ```python\n    x = 1\n    ```\n',
    "tabs": '=== "Tab 1"\n\n    ```python\n    a = 1\n    ```\n\n=== "Tab 2"\n\n'
            "    ```pycon\n    >>> a\n    1\n    ```\n",
    "open_tab": '===+ "Tab"\n    ```python\n    x = 1\n    ```\n',
    "admonition_in_tab": '=== "Tab 1"\n\n    !!! note\n\n        ```python\n        x = 1\n'
                         "        ```\n",
    "blocks_tab": "/// tab | Title\n\n```python\nx = 1\n```\n\n///\n",
    "blocks_note": "/// note | Heads up\n```python\nx = 1\n```\n///\n",
    "blocks_details_options": "/// details | Summary\n    open: true\n\n```python\nx\n```\n///\n",
    "blocks_indented_content_is_code": "/// tab | Title\n\n    ```python\n    x = 1\n"
                                       "    ```\n///\n",
    # An admonition-like `///` block's element is taken by the old-style admonition processor:
    # an indented chunk right after the closed block becomes its content.
    "indented_after_closed_note_block": "/// note | T\n\nPara\n///\n\n    ```python\n    x = 1\n"
                                        "    ```\n",
    "indented_after_closed_tab_block": "/// tab | T\n\nPara\n///\n\n    ```python\n    x = 1\n"
                                       "    ```\n",
    "blockquote": "> ```python\n> x = 1\n> ```\n",
    "blockquote_lazy_blank": "> ```python\n> x = 1\n>\n> ```\n",
    "blockquote_indented_code": "> Para\n>\n>     ```python\n>     x = 1\n>     ```\n",
    "list": "- Item\n\n    ```python\n    x = 1\n    ```\n",
    "tight_list": "1. Item\n    ```python\n    x = 1\n    ```\n",
    "list_two_space_indent": "- Item\n\n  ```python\n  x = 1\n  ```\n",
    "nested_list": "- a\n    - b\n\n        ```python\n        x = 1\n        ```\n",
    "list_in_admonition_lazy_line": "!!! note\n    - Item\n\n        text\n    Para\n\n"
                                    "        ```python\n        x = 1\n        ```\n",
    "exact_run_closes": "````python\nx = 1\n```\n`````\n````\n",
    "longer_run_does_not_close": "```python\nx = 1\n````\n```\n",
    "inside_longer_fence": "````markdown\n```python\nx = 1\n```\n````\n",
    "indented_code_after_paragraph": "Para\n\n    ```python\n    x = 1\n    ```\n",
    "indented_fence_glued_to_paragraph": "Para\n    ```python\n    x = 1\n    ```\n",
    "fence_glued_below_indented_code": "Para\n\n    code\n```python\nx = 1\n```\n",
    "unclosed": "```python\nx = 1\n",
    "unclosed_by_outdent": "- a\n\n    ```python\n    x = 1\nb\n    ```\n\n```python\ny\n```\n",
    "rejected_header_is_text": "```python foo\nx\n```\npy\n```\n",
    "rejected_option_value": '```python hl_lines="x"\nx\n```\n',
    "accepted_options": '```python title="a.py" linenums="1" hl_lines="1 2-3"\nx\n```\n',
    "attribute_list": "```{ .python .annotate }\nx = 1\n```\n\n```{.py #id}\ny = 2\n```\n",
    "entities": "```python\nprint('&amp; <b>' > 1)\n```\n",
    "blank_lines_at_edges": "```python\n\nx = 1\n\n```\n",
    "empty": "```python\n```\n",
}


@pytest.mark.parametrize("text", HAND_WRITTEN.values(), ids=HAND_WRITTEN.keys())
def test_hand_written_documents_match_python_markdown(text: str) -> None:
    check(text)


def test_crlf_document_matches_python_markdown() -> None:
    assert check(HAND_WRITTEN["tabs"], "\r\n") == 2


def test_oracle_sees_python_blocks() -> None:
    # Guards the oracle itself: if its regex broke, comparisons could pass on empty lists.
    assert oracle_blocks(HAND_WRITTEN["tabs"]) == [("python", "a = 1\n"),
                                                   ("pycon", ">>> a\n1\n")]
    assert oracle_blocks(HAND_WRITTEN["indented_code_after_paragraph"]) == []


def test_tabs_are_kept_where_python_markdown_expands_them() -> None:
    # Deliberate difference: Python-Markdown expands tabs to 4-column stops before anything
    # else, so the page shows spaces; we keep the file's tabs so that the code runs (and is
    # rewritten) exactly as written. Same lines otherwise.
    text = "!!! note\n    ```python\n    if x:\n    \ty = 1\n    ```\n"
    [(language, rendered)] = oracle_blocks(text)
    [(ours_language, ours)] = extracted_blocks(text)
    assert ours_language == language
    assert "\t" in ours and "\t" not in rendered
    assert ours.expandtabs(TAB) == rendered


def test_front_matter_is_not_part_of_the_page() -> None:
    # MkDocs strips YAML front matter before Python-Markdown sees the page.
    body = "```python\nx = 1\n```\n"
    text = "---\ntitle: T\n---\n" + body
    assert extracted_blocks(text) == oracle_blocks(body) == [("python", "x = 1\n")]


# --- fixture files --------------------------------------------------------------------------

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "markdown").rglob("*.md"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_files_match(path: Path) -> None:
    check(path.read_text(encoding="utf-8"))
