"""Markdown pages: find the Python code blocks, with exact byte spans and directives.

Two dialects:

* ``commonmark``: the block structure is markdown-it-py's token stream (``fence`` tokens and
  their line maps); we only map its lines back to the bytes on disk.
* ``mkdocs``: what MkDocs renders with ``pymdownx.superfences``. Superfences finds fences with a
  line scanner that runs *before* block parsing, so fences nest in admonitions, content tabs and
  ``///`` blocks by indentation alone and close only on the exact marker run that opened them.
  ``_scan_superfences`` follows that algorithm; the oracle tests compare it with the real thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin

from docvalidate.model import Directive, Example, FileWarning, SourceFile
from docvalidate.sources.directives import Comment, parse_comment
from docvalidate.sources.document import Document, DocumentError, Line, read_document
from docvalidate.sources.fences import info_language

DIALECTS = ("auto", "commonmark", "mkdocs")
MKDOCS_CONFIGS = ("mkdocs.yml", "mkdocs.yaml")
TAB = 4  # Python-Markdown's tab_length

_PREFIX_CHARS = (">", " ", "\t")
_SF_START = re.compile(r"(?P<fence>~{3,}|`{3,})(?P<info>.*)$")
_ATX_RE = re.compile(r"^[\s>]*#{1,6}[ \t]+(?P<title>.*?)[ \t#]*$")
_LIST_RE = re.compile(r"^(?:[-*+]|\d+[.)])(?:[ \t]|$)")
_CONTAINER_RE = re.compile(r"^(?:!!!|\?\?\?\+?|===[+!]?)(?:[ \t]|$)")


@dataclass(frozen=True)
class RawFence:
    """A fenced block as a dialect sees it, before we decide what it means for us."""

    open: int  # 0-based line of the opening fence
    close: int | None  # 0-based line of the closing fence; None when never closed
    first: int  # 0-based line of the first code line
    code: tuple[str, ...]  # code lines, container prefix removed
    prefixes: tuple[str, ...]  # the raw prefix of each code line
    info: str
    opener_prefix: str  # raw text before the fence marker on the opening line
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
    return extract(doc, dialect)


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
    examples: list[Example] = []
    for fence in structure.fences:
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
        examples.append(_example(doc, fence, language, directives, structure.headings))
        warnings.extend(problems)
    used = {d.line for ex in examples for d in ex.directives}
    for comment in comments.values():
        if comment.region is None and comment.line not in used and comment.error is None:
            warnings.append(FileWarning(
                comment.line, "docvalidate directive does not apply to any code block "
                "(it must come right before a fence)"))
    return SourceFile(
        path=doc.path,
        dialect=dialect,
        examples=tuple(examples),
        warnings=tuple(sorted(warnings, key=lambda w: w.line or 0)),
        text=doc.text,
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
        prefix=_canonical_prefix(fence),
        newline=doc.newline,
        line=fence.open + 1,
        end_line=(fence.close if fence.close is not None else fence.first + n - 1) + 1,
        directives=directives,
        closed=fence.close is not None,
        heading=heading,
    )


def _canonical_prefix(fence: RawFence) -> str:
    """The prefix a new code line gets: that of the first non-blank code line, else the
    opener's container prefix."""
    for code, prefix in zip(fence.code, fence.prefixes, strict=True):
        if code.strip():
            return prefix
    return fence.opener_prefix


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
    prefixes = tuple(
        _raw_prefix(lines[first + k].text, text) for k, text in enumerate(code)
    )
    opener = lines[start].text
    marker = re.search(r"`{3,}|~{3,}", opener)
    return RawFence(
        open=start,
        close=stop - 1 if closed else None,
        first=first,
        code=tuple(code),
        prefixes=prefixes,
        info=info,
        opener_prefix=opener[: marker.start()] if marker else "",
        note="" if closed else ": the rest of its container is rendered as code",
    )


def _raw_prefix(raw: str, code: str) -> str:
    if raw.endswith(code):
        return raw[: len(raw) - len(code)]
    # markdown-it expanded a tab inside the prefix; keep the container characters.
    return re.match(r"[\s>]*", raw).group(0)  # type: ignore[union-attr]


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
    empty_lines: int = 0


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
            if m is None or (m.group("fence")[0] == "`" and "`" in m.group("info")):
                continue
            ws = _virtual(raw_ws)
            if ws.count(">") == 0 and len(ws) >= TAB and _is_indented_code(lines, i, len(ws),
                                                                          inside):
                continue
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
                state.code.append(line_code)
                state.prefixes.append(raw)
                state.empty_lines += 1
            elif len(ws) < state.ws_len:
                abandon(i, "a less indented line")
            elif state.empty_lines and quote_level < state.quote_level:
                abandon(i, "the blockquote ends")
            elif is_end:
                fences.append(_mk_raw(state, i))
                state = None
            else:
                state.empty_lines = 0
                state.code.append(line_code)
                state.prefixes.append(raw)
        elif quote_level == 0:
            if (ws + content).strip() == "":
                state.code.append(line_code)
                state.prefixes.append(raw)
                state.empty_lines += 1
            elif len(ws) != state.width and content != "":
                abandon(i, "a less indented line")
            elif is_end and not content.startswith((" ", "\t")):
                fences.append(_mk_raw(state, i))
                state = None
            else:
                state.empty_lines = 0
                state.code.append(line_code)
                state.prefixes.append(raw)
        else:
            abandon(i, "a blockquote line")
    if state is not None:
        fences.append(_mk_raw(state, None, ": it runs to the end of the file, so MkDocs does "
                                         "not render it as code"))
    for fence in fences:
        inside.update(range(fence.open, (fence.close or fence.open) + 1))
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
        prefixes=tuple(state.prefixes),
        info=state.info,
        opener_prefix=state.opener_prefix,
        note=note,
    )


def _is_indented_code(lines: Sequence[Line], index: int, width: int, skip: set[int]) -> bool:
    """Python-Markdown treats a line indented by a tab's width as an indented code block unless
    it continues a container (list item, admonition, details, content tab) opened above it."""
    for j in range(index - 1, -1, -1):
        if j in skip:
            return True
        text = lines[j].text.expandtabs(TAB)
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip(" "))
        if indent >= width:
            continue
        body = text.lstrip(" ")
        opener = bool(_LIST_RE.match(body) or _CONTAINER_RE.match(body))
        return not (opener and width - indent <= TAB)
    return True


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
