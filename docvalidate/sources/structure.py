"""What a dialect reports about a page: its fenced blocks, the lines that may hold directive
comments, and its headings. ``markdown.extract`` turns it into ``Example``s."""

from __future__ import annotations

from dataclasses import dataclass


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
class Heading:
    line: int  # 0-based
    level: int  # 1-6, as the dialect's parser decided it
    title: str


@dataclass(frozen=True)
class Structure:
    fences: tuple[RawFence, ...]
    comment_lines: tuple[int, ...]  # 0-based lines that may hold directive comments
    headings: tuple[Heading, ...]  # in document order
