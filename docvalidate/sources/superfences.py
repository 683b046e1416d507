"""The ``mkdocs`` dialect: what MkDocs renders with ``pymdownx.superfences``.

Superfences finds fences with a line scanner that runs *before* block parsing, so fences nest
in admonitions, content tabs and ``///`` blocks by indentation alone and close only on the
exact marker run that opened them. ``scan_superfences`` follows that algorithm. Python-Markdown's
block parser runs afterwards and puts a fence that lands in an indented code block back as
text; ``python_markdown.BlockParser`` follows it as far as that decision needs. The oracle
tests compare both with the real thing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from docvalidate.sources.document import Line
from docvalidate.sources.python_markdown import TAB, BlockParser
from docvalidate.sources.structure import Heading, RawFence, Structure

_PREFIX_CHARS = (">", " ", "\t")
_SF_START = re.compile(r"(?P<fence>~{3,}|`{3,})(?P<info>.*)$")
_ATX_RE = re.compile(r"^[\s>]*(?P<marks>#{1,6})[ \t]+(?P<title>.*?)[ \t#]*$")
# superfences' fence header (RE_NESTED_FENCE_START after the marker run), and the options
# pymdownx.highlight takes with Pygments on: any other option makes the line not a fence.
_SF_HEADER = re.compile(
    r"""(?:[ \t]*\.?(?P<lang>[\w#.+-]+)(?=[\t ]|$))?"""
    r"""(?:[ \t]*(?:\{(?P<attrs>[^\n]*)\})"""
    r"""|(?P<options>(?:(?:[ \t]*[a-zA-Z][a-zA-Z0-9_]*(?:=(?P<quot>"|').*?(?P=quot))?)"""
    r"""(?=[\t ]|$))+)"""
    r"""|(?P<unrecognized>(?:(?:[ \t]*[^\s]+)(?=[\t ]|$))+))?[ \t]*"""
)
_SF_OPTION = re.compile(
    r"""(?P<key>[a-zA-Z][a-zA-Z0-9_]*)(?:=(?P<quot>"|')(?P<value>.*?)(?P=quot))?"""
)
# Info-string options of pytest-examples, pytest-markdown-docs and markdown-exec.
MARKER_OPTIONS = {"test", "group", "requires", "lint", "notest", "continuation", "exec",
                  "session", "result", "html", "source", "tabs", "id", "idprefix",
                  "returncode", "workdir", "update_toc"}
_SF_HIGHLIGHT_OPTIONS: dict[str, re.Pattern[str] | None] = {
    "hl_lines": re.compile(r"^\d+(?:-\d+)?(?:[ \t]+\d+(?:-\d+)?)*$"),
    "linenums": re.compile(r"[\d]+(?:[ \t]+[\d]+)?(?:[ \t]+[\d]+)?"),
    "title": None,
    "title_mode": None,
}


def _virtual(prefix: str) -> str:
    return prefix.expandtabs(TAB)


def _consume(text: str, width: int) -> tuple[str, str, str]:
    """Split a line like superfences: (raw prefix, expanded prefix, rest), consuming prefix
    characters until ``width`` columns are covered."""
    raw_len, col = 0, 0
    for ch in text:
        if col >= width or ch not in _PREFIX_CHARS:
            break
        col += TAB - (col % TAB) if ch == "\t" else 1
        raw_len += 1
    raw = text[:raw_len]
    return raw, _virtual(raw), text[raw_len:]


@dataclass
class _Open:
    line: int
    info: str
    fence: str
    ws_len: int
    width: int
    quote_level: int
    opener_prefix: str
    code: list[str]
    prefixes: list[str]
    empty_lines: int = 0  # blank lines since the last content line (blockquote rules)

    def add(self, code: str, prefix: str, empty: bool) -> None:
        self.code.append(code)
        self.prefixes.append(prefix)
        self.empty_lines = self.empty_lines + 1 if empty else 0


def scan_superfences(lines: Sequence[Line], start: int) -> Structure:
    fences: list[RawFence] = []
    inside: set[int] = set(range(start))
    state: _Open | None = None

    def abandon(at: int, why: str) -> None:
        nonlocal state
        assert state is not None
        fences.append(_mk_raw(state, None, f"; {why} at line {at + 1}, so MkDocs does not "
                                          "render it as code"))
        state = None

    for i in range(start, len(lines)):
        text = lines[i].text
        if state is None:
            raw_ws = text[: len(text) - len(text.lstrip("> \t"))]
            m = _SF_START.match(text, len(raw_ws))
            if m is None or not _sf_header_ok(m.group("info")):
                continue
            ws = _virtual(raw_ws)
            state = _Open(i, m.group("info").strip(), m.group("fence"), len(raw_ws), len(ws),
                          ws.count(">"), raw_ws, [], [])
            continue
        inside.add(i)
        raw, ws, content = _consume(text, state.width)
        quote_level = ws.count(">")
        line_code = (ws + content)[state.width:]
        is_end = re.match(re.escape(state.fence) + r"[ \t]*$", content) is not None
        if state.quote_level:
            if quote_level > state.quote_level:
                abandon(i, "a deeper blockquote line")
                continue
            if content == "":
                state.add(line_code, raw, empty=True)
            elif len(ws) < state.ws_len:
                abandon(i, "a less indented line")
            elif state.empty_lines and quote_level < state.quote_level:
                abandon(i, "the blockquote ends")
            elif is_end:
                fences.append(_mk_raw(state, i))
                state = None
            else:
                state.add(line_code, raw, empty=False)
        elif quote_level == 0:
            if (ws + content).strip() == "":
                state.add(line_code, raw, empty=True)
            elif len(ws) != state.width and content != "":
                abandon(i, "a less indented line")
            elif is_end and not content.startswith((" ", "\t")):
                fences.append(_mk_raw(state, i))
                state = None
            else:
                state.add(line_code, raw, empty=False)
        else:
            abandon(i, "a blockquote line")
    if state is not None:
        fences.append(_mk_raw(state, None, ": it runs to the end of the file, so MkDocs does "
                                         "not render it as code"))
    for fence in fences:
        inside.update(range(fence.open, (fence.close or fence.open) + 1))
    # Only now does Python-Markdown parse blocks: superfences puts a fence that lands in an
    # indented code block back as text, so it is shown as code text, not a code block.
    parser = BlockParser(lines, start, {f.open: f.close for f in fences if f.close is not None})
    fences = [f for f in fences if f.open not in parser.reverted]
    inside.update(parser.code)
    outside = [i for i in range(len(lines)) if i not in inside]
    headings = tuple(
        Heading(i, len(m.group("marks")), m.group("title"))
        for i in outside if (m := _ATX_RE.match(lines[i].text))
    )
    return Structure(tuple(fences), tuple(outside), headings)


def _mk_raw(state: _Open, close: int | None, note: str = "") -> RawFence:
    return RawFence(
        open=state.line,
        close=close,
        first=state.line + 1,
        code=tuple(state.code),
        info=state.info,
        prefix=_superfences_prefix(state),
        note=note,
    )


def _superfences_prefix(state: _Open) -> str:
    """Superfences takes the same prefix width off every code line: the raw prefix of the first
    non-blank code line says how the file writes it, else the opener's."""
    for code, prefix in zip(state.code, state.prefixes, strict=True):
        if code.strip():
            return prefix
    return state.opener_prefix


def _sf_header_ok(info: str) -> bool:
    """Whether superfences accepts the text after the marker run as a fence header (with
    Pygments on, MkDocs' default). Otherwise the line is not a fence at all: it stays text and
    a later marker line may open a fence instead.

    The options of other doc-test tools (``test="skip"``, ``exec="on"``, ...) are accepted too:
    sites that use those tools register them with superfences (markdown-exec's custom fences)
    or strip them before rendering (pytest-examples users), so MkDocs does show such a block.
    """
    m = _SF_HEADER.fullmatch(info)
    if m is None or m.group("unrecognized"):
        return False
    for option in _SF_OPTION.finditer(m.group("options") or ""):
        key, value = option.group("key"), option.group("value")
        value = key if value is None else value  # a bare key is its own value
        if key in MARKER_OPTIONS:
            continue
        if key not in _SF_HIGHLIGHT_OPTIONS:
            return False
        check = _SF_HIGHLIGHT_OPTIONS[key]
        if check is not None and check.match(value) is None:
            return False
    return True
