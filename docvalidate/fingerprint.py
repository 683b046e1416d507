"""A name for an example that survives edits of the page around it.

``path:line`` moves whenever a line is added above the example. The fingerprint does not: it
is a hash of the example's language and code, the chain of headings above it (``Guide >
Install > From source``, not only the nearest) and its rank among the examples with the same
code under that chain. Prose edits, new paragraphs and other examples added above leave it
alone; a change of its code or of a heading above it gives a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace

from docvalidate.model import Example
from docvalidate.sources.structure import Heading

LENGTH = 16  # hex digits: 64 bits, far from colliding within one project's docs

def fingerprint(language: str, code: str, heading_path: Sequence[str], index: int) -> str:
    """The fingerprint of the ``index``-th (0-based) example with this code under these
    headings."""
    key = json.dumps([language, code, list(heading_path), index], ensure_ascii=False)
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:LENGTH]


def with_fingerprints(examples: Iterable[Example], headings: Sequence[Heading]
                      ) -> tuple[Example, ...]:
    """``examples`` (in document order) with their fingerprints set; ``headings`` are the
    source's, in document order, with the levels its parser gave them."""
    levelled = [(h.line, h.level, h.title) for h in headings]
    out: list[Example] = []
    seen: dict[tuple[str, str, tuple[str, ...]], int] = {}
    stack: list[tuple[int, str]] = []  # (level, title) of the headings above
    h = 0
    for example in examples:
        while h < len(levelled) and levelled[h][0] < example.line - 1:
            _, level, title = levelled[h]
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            h += 1
        path = tuple(title for _, title in stack)
        key = (example.language, example.code, path)
        index = seen.get(key, 0)
        seen[key] = index + 1
        out.append(replace(example, fingerprint=fingerprint(example.language, example.code,
                                                            path, index)))
    return tuple(out)
