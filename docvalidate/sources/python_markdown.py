"""Python-Markdown's block parser (as MkDocs runs it), only as far as it decides which chunks
are indented code: superfences puts a fence that lands in one back as text."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from docvalidate.sources.document import Line

TAB = 4  # Python-Markdown's tab_length

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


class BlockParser:
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
        # A loop, not a recursion, over what follows a construct in the same chunk: a chunk of
        # fifty thousand heading lines is one level deep, and its lines are scanned once.
        while chunk:
            if level.block is not None:
                self.in_block(level, chunk)
                return
            hits = _Hits(chunk)
            start = 0
            while start < len(chunk) and level.block is None:
                rest = self._one(level, chunk, hits, start)
                if rest is None:
                    return
                if isinstance(rest, int):  # a heading: parse on after it, in the same chunk
                    start = rest
                    continue
                chunk = rest
                break
            else:
                if start < len(chunk):
                    chunk = chunk[start:]  # a ``///`` block opened: it takes the rest
                    continue
                return

    def _one(self, level: _Level, whole: Chunk, hits: _Hits, start: int) -> Chunk | int | None:
        """Parse the construct that starts the chunk ``whole[start:]``; what to parse after
        it: the rest as a new chunk, an index into ``whole`` (after a heading), or None."""
        chunk = whole[start:] if start else whole
        box = hits.first("box", start)
        indented = _indent(whole[start][1]) >= TAB
        begin = hits.first("begin", start)
        heading = hits.first("heading", start)
        if box is not None:  # found anywhere in a chunk, at the level's column 0
            self.before(level, chunk, box)
            body, rest = _detab(chunk[box + 1:])
            level.last, level.inner = "box", _Level()
            if body:
                self.parse(level.inner, body)
            return rest or None
        if indented and level.last in ("list", "box"):
            self.continuation(level, chunk)
            return None
        if begin is not None:
            self.before(level, chunk, begin)
            header = _BLOCK_START_RE.match(chunk[begin][1])
            assert header is not None
            level.last = ""
            level.block = (len(header.group(1)), header.group("name").lower(), _Level())
            rest = chunk[begin + 1:]
            while rest and _indent(rest[0][1]) >= TAB:
                rest = rest[1:]  # indented YAML options right below the header
            return rest or None
        if indented:
            # Indented code: superfences puts back every fence placeholder of the chunk, also
            # those in the rest that is parsed anew below.
            body, rest = _detab(chunk)
            self.code.update(i for i, _ in body)
            self.reverted.update(i for i, _ in chunk)
            level.last, level.inner = "code", None
            return rest or None
        if heading is not None:  # a heading line splits its chunk
            self.before(level, chunk, heading)
            level.last = ""
            return start + heading + 1
        if _PM_ITEM_RE.match(chunk[0][1]):
            self.items(level, chunk)
            return None
        quote = hits.first("quote", start)
        if quote is not None:
            self.before(level, chunk, quote)
            if level.last != "quote" or level.inner is None:
                level.inner = _Level()
            level.last = "quote"
            inner = [(i, _unquote(t)) for i, t in chunk[quote:]]
            for sub in _chunks((i, t) if t.strip() else None for i, t in inner):
                self.parse(level.inner, sub)
            return None
        level.last = ""  # a paragraph (or anything else that ends a container)
        return None

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


_TESTS: dict[str, Callable[[str], bool]] = {
    "box": lambda t: _BOX_RE.match(t) is not None,
    "begin": lambda t: _BLOCK_START_RE.match(t) is not None,
    "heading": lambda t: t.startswith("#"),
    "quote": lambda t: _QUOTE_RE.match(t) is not None,
}


class _Hits:
    """Where each construct's line is in one chunk, each looked for once: a chunk parsed on
    after each of its headings asks again for every suffix."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.found: dict[str, list[int]] = {}

    def first(self, name: str, start: int) -> int | None:
        """The first line of ``chunk[start:]`` with the construct, relative to ``start``."""
        hits = self.found.get(name)
        if hits is None:
            test = _TESTS[name]
            hits = self.found[name] = [k for k, (_, t) in enumerate(self.chunk) if test(t)]
        at = bisect.bisect_left(hits, start)
        return hits[at] - start if at < len(hits) else None


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

