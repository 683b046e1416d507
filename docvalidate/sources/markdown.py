"""Markdown pages: find the Python code blocks, with exact byte spans and directives.

Two dialects:

* ``commonmark``: the block structure is markdown-it-py's token stream (``fence`` tokens and
  their line maps); we only map its lines back to the bytes on disk.
* ``mkdocs``: what MkDocs renders with ``pymdownx.superfences``. Superfences finds fences with a
  line scanner that runs *before* block parsing, so fences nest in admonitions, content tabs and
  ``///`` blocks by indentation alone and close only on the exact marker run that opened them.
  ``_scan_superfences`` follows that algorithm. Python-Markdown's block parser runs afterwards
  and puts a fence that lands in an indented code block back as text; ``_BlockParser`` follows
  it as far as that decision needs. The oracle tests compare both with the real thing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin

from docvalidate.fingerprint import with_fingerprints
from docvalidate.model import Directive, Example, FileWarning, SourceFile
from docvalidate.sources import sybil
from docvalidate.sources.directives import Comment, parse_comment
from docvalidate.sources.document import Document, DocumentError, Line, read_document
from docvalidate.sources.fences import info_language, is_interactive
from docvalidate.sources.markers import info_markers

DIALECTS = ("auto", "commonmark", "mkdocs")
MKDOCS_CONFIGS = ("mkdocs.yml", "mkdocs.yaml")
TAB = 4  # Python-Markdown's tab_length

_PREFIX_CHARS = (">", " ", "\t")
_SF_START = re.compile(r"(?P<fence>~{3,}|`{3,})(?P<info>.*)$")
_ATX_RE = re.compile(r"^[\s>]*#{1,6}[ \t]+(?P<title>.*?)[ \t#]*$")
_LIST_MARKER_RE = re.compile(r"[-*+]|\d{1,9}[.)]")
# Python-Markdown block syntax (tabs are expanded by then).
_BOX_RE = re.compile(  # admonition, details, content tab (whole line)
    r'(?:!!! ?[\w-]+(?: +[\w-]+)*(?: +".*?")?'
    r'|\?{3}\+? ?(?:(?:[\w-]+(?: +[\w-]+)*?)?(?: +".*?")|[\w-]+(?: +[\w-]+)*?)'
    r'|={3}(?:\+|\+!|!\+|!)? +".*?") *$'
)
_PM_ITEM_RE = re.compile(r"[ ]{0,3}(?:\d+\.|[*+-])[ ]+(?P<rest>.*)")
_PM_NESTED_RE = re.compile(r"[ ]{4,7}(?:\d+\.|[*+-])[ ]+")
_QUOTE_RE = re.compile(r"[ ]{0,3}>[ ]?")
_BLOCK_START_RE = re.compile(r"[ ]{0,3}(/{3,})[ ]*(?P<name>[\w-]+)[ ]*(?:\|.*)?$")
_BLOCK_END_RE = re.compile(r"[ ]{0,3}(/{3,})[ ]*$")
# ``///`` blocks whose element the old-style admonition/details processors take as theirs.
_BOX_BLOCKS = {"admonition", "details", "note", "attention", "caution", "danger", "error", "tip",
               "hint", "warning", "important"}
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


@dataclass(frozen=True)
class RawFence:
    """A fenced block as a dialect sees it, before we decide what it means for us."""

    open: int  # 0-based line of the opening fence
    close: int | None  # 0-based line of the closing fence; None when never closed
    first: int  # 0-based line of the first code line
    code: tuple[str, ...]  # code lines, container prefix removed
    info: str
    prefix: str  # what a new code line starts with, so that the dialect reads it back as is
    note: str = ""  # why an unclosed fence ended, for the warning


@dataclass(frozen=True)
class Structure:
    fences: tuple[RawFence, ...]
    comment_lines: tuple[int, ...]  # 0-based lines that may hold directive comments
    headings: tuple[tuple[int, str], ...]


def find_mkdocs_config(path: Path) -> Path | None:
    """The nearest ``mkdocs.yml``/``mkdocs.yaml`` in the file's folder or above."""
    for folder in path.resolve().parents:
        for name in MKDOCS_CONFIGS:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def resolve_dialect(dialect: str, path: Path) -> str:
    if dialect != "auto":
        return dialect
    return "mkdocs" if find_mkdocs_config(path) else "commonmark"


def load_markdown(path: Path, display: str, dialect: str, max_bytes: int) -> SourceFile:
    """Read one Markdown file; a file that cannot be used becomes a SourceFile with ``error``."""
    dialect = resolve_dialect(dialect, path)
    try:
        doc = read_document(path, display, max_bytes)
    except DocumentError as exc:
        return SourceFile(path=display, dialect=dialect, error=str(exc))
    try:
        return extract(doc, dialect)
    except RecursionError:
        # Lists, quotes or front matter nested thousands deep: no page is written so, but one
        # that is must not stop the run.
        return SourceFile(path=display, dialect=dialect, error="the page nests lists, quotes "
                          "or front matter too deeply to be read (thousands of levels)")


def extract(doc: Document, dialect: str) -> SourceFile:
    """All Python examples of a decoded document, in order."""
    warnings: list[FileWarning] = []
    fm_end, fm_warning = _front_matter(doc.lines)
    if fm_warning:
        warnings.append(fm_warning)
    if dialect == "mkdocs":
        structure = _scan_superfences(doc.lines, fm_end)
    elif dialect == "commonmark":
        structure = _commonmark_structure(doc)
    else:
        raise ValueError(f"unknown dialect {dialect!r}")

    comments = _comments(doc.lines, structure.comment_lines)
    marks = sybil.scan(doc.lines, set(structure.comment_lines))
    warnings.extend(marks.warnings)
    hidden = {
        block.open: RawFence(block.open, block.close, block.open + 1, block.code, "python",
                             block.prefix, note=": the hidden code runs to the end of the file")
        for block in marks.invisible
    }
    hidden_origin = {block.open: block.origin for block in marks.invisible}
    fences = sorted([*structure.fences, *hidden.values()], key=lambda f: f.open)
    sybil_marks = sybil.directives(marks, [f.open for f in fences if info_language(f.info)])
    examples: list[Example] = []
    for fence in fences:
        language = info_language(fence.info)
        if fence.close is None:
            what = f"{language} " if language else ""
            warnings.append(FileWarning(
                fence.open + 1,
                f"unclosed {what}code fence opened at line {fence.open + 1}{fence.note}",
            ))
        if language is None:
            continue
        directives, problems = _attached(doc.lines, comments, fence.open)
        directives += info_markers(fence.info, fence.open + 1)
        if fence.open in hidden:
            directives += (Directive("invisible", None, fence.open + 1,
                                     hidden_origin[fence.open]),)
        directives += sybil_marks.get(fence.open, ())
        examples.append(_example(doc, fence, language, directives, structure.headings))
        warnings.extend(problems)
    used = {d.line for ex in examples for d in ex.directives}
    for comment in comments.values():
        if comment.region is not None or comment.line in used:
            continue
        # A malformed comment above no fence reaches no example: say what is wrong with it
        # here, or the typo goes unnoticed.
        problem = f"{comment.error}; " if comment.error else ""
        warnings.append(FileWarning(
            comment.line, f"{problem}docvalidate directive does not apply to any code block "
            "(it must come right before a fence)"))
    return SourceFile(
        path=doc.path,
        dialect=dialect,
        examples=with_fingerprints(examples, doc.lines, structure.headings),
        warnings=tuple(sorted(warnings, key=lambda w: w.line or 0)),
        text=doc.text,
        data=doc.data,
    )


def _example(
    doc: Document,
    fence: RawFence,
    language: str,
    directives: tuple[Directive, ...],
    headings: Sequence[tuple[int, str]],
) -> Example:
    n = len(fence.code)
    start = doc.lines[fence.first].start if fence.first < len(doc.lines) else len(doc.data)
    end = doc.line_end(fence.first + n - 1) if n else start
    code = "".join(line + "\n" for line in fence.code)
    heading = None
    for line, title in headings:
        if line >= fence.open:
            break
        heading = title
    return Example(
        path=doc.path,
        language=language,
        info=fence.info,
        code=code,
        span=(start, end),
        prefix=fence.prefix,
        newline=doc.newline,
        line=fence.open + 1,
        end_line=(fence.close if fence.close is not None else fence.first + n - 1) + 1,
        directives=directives,
        closed=fence.close is not None,
        heading=heading,
        interactive=is_interactive(language, code),
    )


# --- front matter ---------------------------------------------------------------------------


def _front_matter(lines: Sequence[Line]) -> tuple[int, FileWarning | None]:
    """Index of the first line after YAML front matter (0 when there is none)."""
    if not lines or lines[0].text.rstrip() != "---":
        return 0, None
    for i in range(1, len(lines)):
        if lines[i].text.rstrip() in ("---", "..."):
            body = "\n".join(line.text for line in lines[1:i])
            try:
                yaml.safe_load(body)
            except RecursionError:
                raise  # load_markdown: the whole page cannot be read
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 2}" if mark is not None else ""
                problem = getattr(exc, "problem", None) or "invalid YAML"
                return i + 1, FileWarning(
                    (mark.line + 2) if mark is not None else 1,
                    f"invalid YAML front matter{where}: {problem}",
                )
            return i + 1, None
    return 0, FileWarning(1, "front matter opened at line 1 is never closed with '---'")


# --- CommonMark (markdown-it-py) ------------------------------------------------------------


@cache
def _commonmark_parser() -> MarkdownIt:
    return MarkdownIt("commonmark").use(front_matter_plugin)


def _commonmark_structure(doc: Document) -> Structure:
    tokens = _commonmark_parser().parse(doc.text)
    fences: list[RawFence] = []
    comment_lines: list[int] = []
    headings: list[tuple[int, str]] = []
    for i, token in enumerate(tokens):
        if token.map is None:
            continue
        start, stop = token.map
        if token.type == "fence":
            fences.append(_commonmark_fence(doc.lines, token.content, token.info, start, stop))
        elif token.type == "html_block":
            comment_lines.extend(range(start, stop))
        elif token.type == "heading_open" and i + 1 < len(tokens):
            headings.append((start, tokens[i + 1].content))
    return Structure(tuple(fences), tuple(comment_lines), tuple(headings))


def _commonmark_fence(
    lines: Sequence[Line], content: str, info: str, start: int, stop: int
) -> RawFence:
    code = content.split("\n")
    if code and code[-1] == "":
        code.pop()  # content ends with a newline unless the file ends inside the fence
    first = start + 1
    # markdown-it maps a closed fence up to and including its closing line.
    closed = stop - start - 2 == len(code)
    opener = lines[start].text
    marker = re.search(r"`{3,}|~{3,}", opener)
    return RawFence(
        open=start,
        close=stop - 1 if closed else None,
        first=first,
        code=tuple(code),
        info=info,
        prefix=_continuation(opener[: marker.start()] if marker else ""),
        note="" if closed else ": the rest of its container is rendered as code",
    )


def _continuation(opener_prefix: str) -> str:
    """The prefix of a new code line in CommonMark: the opener's, which holds the container
    prefix and the fence's own indentation (a code line may show less of that indentation
    than markdown-it strips), with list markers as spaces, tabs as the spaces they stand for
    (markdown-it may split a tab between containers) and a blank after every ``>`` that has
    none: markdown-it takes one blank after ``>`` as part of the marker."""
    prefix = re.sub(r">(?! )", "> ", opener_prefix.expandtabs(4))
    return _LIST_MARKER_RE.sub(lambda m: " " * len(m.group(0)), prefix)


# --- MkDocs (pymdownx.superfences) ----------------------------------------------------------


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


def _scan_superfences(lines: Sequence[Line], start: int) -> Structure:
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
    parser = _BlockParser(lines, start, {f.open: f.close for f in fences if f.close is not None})
    fences = [f for f in fences if f.open not in parser.reverted]
    inside.update(parser.code)
    outside = [i for i in range(len(lines)) if i not in inside]
    headings = tuple(
        (i, m.group("title")) for i in outside if (m := _ATX_RE.match(lines[i].text))
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


# --- MkDocs block structure -----------------------------------------------------------------
# Python-Markdown's block parser, only as far as it decides which chunks are indented code.

Chunk = list[tuple[int, str]]  # (0-based line, text with tabs expanded) without blank lines


@dataclass
class _Level:
    """One nesting level of the block parser: the kind of the element parsed last there and,
    for a container, the level inside it (where a following indented chunk goes)."""

    last: str = ""  # "list", "box" (admonition, details, content tab), "quote", "code" or ""
    inner: _Level | None = None
    block: tuple[int, str, _Level] | None = None  # an open ``///`` block: slashes, name, level


def _chunks(logical: Iterable[tuple[int, str] | None]) -> list[Chunk]:
    chunks: list[Chunk] = [[]]
    for item in logical:
        if item is None:
            chunks.append([])
        else:
            chunks[-1].append(item)
    return [chunk for chunk in chunks if chunk]


class _BlockParser:
    """Python-Markdown's block processors in their order of priority, reduced to what decides
    whether a chunk is indented code.

    It parses chunks separated by blank lines, each mostly by its first line, after
    superfences replaced every closed fence (``closed``: open -> close line) by one
    placeholder line; a chunk indented by a tab's width is code unless a list item or an
    admonition/details/content tab above takes it as its content.
    """

    def __init__(self, lines: Sequence[Line], start: int, closed: dict[int, int]) -> None:
        self.code: set[int] = set()  # 0-based lines shown in indented code blocks
        self.reverted: set[int] = set()  # lines whose fence superfences puts back as text
        logical: list[tuple[int, str] | None] = []  # None for a blank line
        i = start
        while i < len(lines):
            text = lines[i].text.expandtabs(TAB)
            logical.append((i, text) if text.strip() else None)
            i = closed.get(i, i) + 1
        root = _Level()
        for chunk in _chunks(logical):
            self.parse(root, chunk)

    def parse(self, level: _Level, chunk: Chunk) -> None:
        if level.block is not None:
            self.in_block(level, chunk)
            return
        box = _find(chunk, lambda t: _BOX_RE.match(t) is not None)
        indented = _indent(chunk[0][1]) >= TAB
        begin = _find(chunk, lambda t: _BLOCK_START_RE.match(t) is not None)
        heading = _find(chunk, lambda t: t.startswith("#"))
        quote = _find(chunk, lambda t: _QUOTE_RE.match(t) is not None)
        if box is not None:  # found anywhere in a chunk, at the level's column 0
            self.before(level, chunk, box)
            body, rest = _detab(chunk[box + 1:])
            level.last, level.inner = "box", _Level()
            if body:
                self.parse(level.inner, body)
            if rest:
                self.parse(level, rest)
        elif indented and level.last in ("list", "box"):
            self.continuation(level, chunk)
        elif begin is not None:
            self.before(level, chunk, begin)
            header = _BLOCK_START_RE.match(chunk[begin][1])
            assert header is not None
            level.last = ""
            level.block = (len(header.group(1)), header.group("name").lower(), _Level())
            rest = chunk[begin + 1:]
            while rest and _indent(rest[0][1]) >= TAB:
                rest = rest[1:]  # indented YAML options right below the header
            if rest:
                self.parse(level, rest)
        elif indented:
            # Indented code: superfences puts back every fence placeholder of the chunk, also
            # those in the rest that is parsed anew below.
            body, rest = _detab(chunk)
            self.code.update(i for i, _ in body)
            self.reverted.update(i for i, _ in chunk)
            level.last, level.inner = "code", None
            if rest:
                self.parse(level, rest)
        elif heading is not None:  # a heading line splits its chunk
            self.before(level, chunk, heading)
            level.last = ""
            if chunk[heading + 1:]:
                self.parse(level, chunk[heading + 1:])
        elif _PM_ITEM_RE.match(chunk[0][1]):
            self.items(level, chunk)
        elif quote is not None:
            self.before(level, chunk, quote)
            if level.last != "quote" or level.inner is None:
                level.inner = _Level()
            level.last = "quote"
            inner = [(i, _unquote(t)) for i, t in chunk[quote:]]
            for sub in _chunks((i, t) if t.strip() else None for i, t in inner):
                self.parse(level.inner, sub)
        else:
            level.last = ""  # a paragraph (or anything else that ends a container)

    def before(self, level: _Level, chunk: Chunk, at: int) -> None:
        """The lines above a construct found inside a chunk are a chunk of their own."""
        if at:
            self.parse(level, chunk[:at])

    def in_block(self, level: _Level, chunk: Chunk) -> None:
        """An open ``///`` block takes every chunk up to the closing run of its length, the
        innermost open block first; what follows the closing line goes to the block (or
        level) around it."""
        chain = [level]
        while (holder := chain[-1]).block is not None:
            chain.append(holder.block[2])
        while len(chain) > 1:
            holder, inner = chain[-2], chain[-1]
            assert holder.block is not None
            slashes, name, _ = holder.block
            end = _block_end(chunk, slashes)
            if end is None:
                self.parse(inner, chunk)
                return
            self.before(inner, chunk, end)
            holder.block = None
            # The admonition and details processors take the element of an admonition or
            # details block as theirs: an indented chunk right after it goes inside.
            holder.last, holder.inner = ("box", inner) if name in _BOX_BLOCKS else ("", None)
            chunk = chunk[end + 1:]
            if not chunk:
                return
            chain.pop()
        self.parse(level, chunk)

    def continuation(self, level: _Level, chunk: Chunk) -> None:
        assert level.inner is not None
        if level.last == "list":
            # The list item as deep as the first line's indentation reaches (one tab's width
            # per nested list) takes the whole chunk; only lines indented that far lose it.
            target, depth = level.inner, 1
            while depth < _indent(chunk[0][1]) // TAB and target.last == "list" and target.inner:
                target, depth = target.inner, depth + 1
            self.parse(target, [(i, _dedent(t, TAB * depth)) for i, t in chunk])
            return
        # An admonition takes the lines indented by one tab's width, or by one more per list
        # it descends into; from the first line that is not, the rest goes back.
        target, width = level.inner, TAB
        while target.last == "list" and target.inner and _indent(chunk[0][1]) >= width + TAB:
            target, width = target.inner, width + TAB
        body, rest = _detab(chunk, width)
        self.parse(target, body)
        if rest:
            self.parse(level, rest)

    def items(self, level: _Level, chunk: Chunk) -> None:
        """A list: a new item per marker line; a line indented by a tab's width with a marker
        starts a nested list in the current item; other lines continue the item."""
        items: list[tuple[_Level, Chunk]] = []
        for i, text in chunk:
            m = _PM_ITEM_RE.match(text)
            if m:
                items.append((_Level(), [(i, m.group("rest"))]))
            elif _PM_NESTED_RE.match(text) and not items[-1][1][0][1].startswith(" " * TAB):
                items.append((items[-1][0], [(i, text)]))
            else:
                items[-1][1].append((i, text))
        for item_level, item in items:
            if item[0][1].startswith(" " * TAB):
                item = [(i, _dedent(t)) for i, t in item]
            self.parse(item_level, item)
        level.last, level.inner = "list", items[-1][0]


def _find(chunk: Chunk, test: Callable[[str], bool]) -> int | None:
    return next((k for k, (_, text) in enumerate(chunk) if test(text)), None)


def _block_end(chunk: Chunk, slashes: int) -> int | None:
    """Index of the line closing a ``///`` block opened with ``slashes`` slashes."""
    for k, (_, text) in enumerate(chunk):
        m = _BLOCK_END_RE.match(text)
        if m and len(m.group(1)) == slashes:
            return k
    return None


def _detab(chunk: Chunk, width: int = TAB) -> tuple[Chunk, Chunk]:
    """Split where a line is not indented by ``width``; remove that width from the rest."""
    for k, (_, text) in enumerate(chunk):
        if _indent(text) < width:
            return [(i, t[width:]) for i, t in chunk[:k]], chunk[k:]
    return [(i, t[width:]) for i, t in chunk], []


def _dedent(text: str, width: int = TAB) -> str:
    return text[width:] if text.startswith(" " * width) else text


def _unquote(text: str) -> str:
    m = _QUOTE_RE.match(text)
    return text[m.end():] if m else text


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


# --- directives -----------------------------------------------------------------------------


def _comments(lines: Sequence[Line], candidates: Iterable[int]) -> dict[int, Comment]:
    found: dict[int, Comment] = {}
    for i in candidates:
        if "docvalidate" not in lines[i].text.lower():
            continue
        comment = parse_comment(lines[i].text, i + 1)
        if comment is not None:
            found[i] = comment
    return found


def _attached(
    lines: Sequence[Line], comments: dict[int, Comment], fence_line: int
) -> tuple[tuple[Directive, ...], list[FileWarning]]:
    """Directives of the comments right above a fence (blank lines allowed), plus the
    ``off`` region it sits in. A malformed comment becomes a DirectiveError directive."""
    attached: list[Directive] = []
    problems: list[FileWarning] = []
    j = fence_line - 1
    while j >= 0:
        if j in comments:
            comment = comments[j]
            if comment.region is None:
                if comment.error:
                    attached.append(Directive("error", comment.error, comment.line))
                else:
                    attached.extend(comment.directives)
        elif lines[j].text.strip(" \t>"):
            break
        j -= 1
    region = [c for i, c in sorted(comments.items()) if i < fence_line and c.region]
    if region and region[-1].region == "off":
        attached.append(Directive("off", None, region[-1].line))
    return tuple(sorted(attached, key=lambda d: d.line)), problems
