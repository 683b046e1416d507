"""What each kind of source supplies besides finding examples: reading a file, splicing new
code into it, and reading new bytes again so that a rewrite can be verified.

The rewrite (``docvalidate.rewrite``) knows no syntax: it asks the file's kind, found here by
``SourceFile.kind``, for an ``Edit`` per changed example and for the examples of the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from docvalidate.model import Edit, Example, SourceFile
from docvalidate.sources.markdown_edit import MARKDOWN


class SourceKind(Protocol):
    """One kind of document (Markdown pages today; OpenAPI, docstrings next)."""

    name: str

    def read(self, path: Path, display: str, dialect: str, max_bytes: int) -> SourceFile:
        """The file on disk as a SourceFile (with ``error`` when it cannot be used)."""
        ...

    def reextract(self, display: str, data: bytes, dialect: str) -> SourceFile:
        """The examples of ``data``, read exactly as the file itself would be."""
        ...

    def splice(self, example: Example, new_code: str, data: bytes) -> Edit:
        """The edit of ``data`` (the file ``example`` was read from) after which the example
        holds ``new_code`` and nothing outside its code changes."""
        ...


KINDS: dict[str, SourceKind] = {MARKDOWN.name: MARKDOWN}


def kind_of(source: SourceFile) -> SourceKind:
    """The kind that read ``source``, and so knows how to edit it."""
    try:
        return KINDS[source.kind]
    except KeyError:
        raise ValueError(f"{source.path}: no source kind {source.kind!r} to edit it") from None
