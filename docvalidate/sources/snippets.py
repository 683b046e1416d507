"""pymdownx.snippets includes in a code block: ``--8<-- "examples/hello.py"``.

With the extension on, MkDocs replaces such lines with a file's content before any fence is
read, so the block on the page is not the block in the Markdown file. Until docvalidate reads
the included files, a block that includes one is not run (``sessions.plan_example`` skips it,
naming the include) and is never handed to a fixer: its lines are not Python.

The lines are recognised as the extension's ``RE_ALL_SNIPPETS`` does:

* inline: ``--8<-- "path"`` (or ``'path'``; any run of ``-`` around ``8<``) alone on its line;
* block: a line ``--8<--`` opens a list of paths, one a line, that the next ``--8<--`` closes
  (a blank line or a path starting with ``;`` includes nothing);
* escaped: ``;--8<-- "path"`` is the literal text ``--8<-- "path"``, not an include.
"""

from __future__ import annotations

import re

_SNIPPET_LINE = re.compile(
    r"""^[ \t]*(?P<escape>;*)(?:"""
    r"""(?P<inline>-+8<-+[ \t]+)(?P<path>"(?:\\"|[^"\n\r])+?"|'(?:\\'|[^'\n\r])+?')(?![ \t])"""
    r"""|(?P<block>-+8<-+)(?![ \t]))\r?$"""
)


def includes(code: str) -> tuple[str, ...]:
    """The includes of a block, in order, as they are written (an inline line, stripped) or
    summed up (a block form: the files it lists); empty when it has none."""
    found: list[str] = []
    block: list[str] | None = None  # paths of an open block form
    for line in code.splitlines():
        m = _SNIPPET_LINE.match(line)
        if m and m.group("escape"):
            continue
        if m and m.group("block"):
            if block is None:
                block = []
            else:
                found.append(_block(block))
                block = None
        elif block is not None:
            # Inside a block, an inline marker is ignored by the extension; every other
            # non-blank line not commented out with `;` names a file.
            path = line.strip()
            if path and not path.startswith(";") and not (m and m.group("inline")):
                block.append(path)
        elif m and m.group("inline"):
            found.append(line.strip())
    if block is not None:  # never closed: the extension reads paths to the end of the block
        found.append(_block(block))
    return tuple(found)


def _block(paths: list[str]) -> str:
    return f"--8<-- block of {', '.join(paths)}" if paths else "--8<-- block (no file)"
