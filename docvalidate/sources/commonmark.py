"""The ``commonmark`` dialect: the block structure is markdown-it-py's token stream (``fence``
tokens and their line maps); we only map its lines back to the bytes on disk."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin

from docvalidate.sources.document import Document, Line
from docvalidate.sources.structure import Heading, RawFence, Structure

_LIST_MARKER_RE = re.compile(r"[-*+]|\d{1,9}[.)]")


@cache
def _commonmark_parser() -> MarkdownIt:
    # Only the block structure is read (fences, HTML blocks, headings: a heading's inline
    # token has its content before inline parsing). The inline rules would cost most of the
    # parse: seconds on a page of megabytes.
    return MarkdownIt("commonmark").use(front_matter_plugin).disable("inline")


def commonmark_structure(doc: Document) -> Structure:
    tokens = _commonmark_parser().parse(doc.text)
    fences: list[RawFence] = []
    comment_lines: list[int] = []
    headings: list[Heading] = []
    for i, token in enumerate(tokens):
        if token.map is None:
            continue
        start, stop = token.map
        if token.type == "fence":
            fences.append(_commonmark_fence(doc.lines, token.content, token.info, start, stop))
        elif token.type == "html_block":
            comment_lines.extend(range(start, stop))
        elif token.type == "heading_open" and i + 1 < len(tokens):
            headings.append(Heading(start, int(token.tag[1:]), tokens[i + 1].content))
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
