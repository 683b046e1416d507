"""Markdown pages: find the Python code blocks, with exact byte spans and directives.

The dialect gives the block structure (``commonmark``: markdown-it-py, in ``commonmark.py``;
``mkdocs``: pymdownx.superfences and Python-Markdown, in ``superfences.py``); this module turns
its fences into ``Example``s with their bytes, directives and headings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from docvalidate.fingerprint import with_fingerprints
from docvalidate.model import Directive, Example, FileWarning, SourceFile
from docvalidate.sources import sybil
from docvalidate.sources.commonmark import commonmark_structure
from docvalidate.sources.dialects import resolve_dialect
from docvalidate.sources.directives import Comment, parse_comment
from docvalidate.sources.document import Document, DocumentError, Line, read_document
from docvalidate.sources.fences import info_language, is_interactive
from docvalidate.sources.front_matter import front_matter
from docvalidate.sources.markers import info_markers
from docvalidate.sources.structure import Heading, RawFence
from docvalidate.sources.superfences import scan_superfences


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
    fm_end, fm_warning = front_matter(doc.lines)
    if fm_warning:
        warnings.append(fm_warning)
    if dialect == "mkdocs":
        structure = scan_superfences(doc.lines, fm_end)
    elif dialect == "commonmark":
        structure = commonmark_structure(doc)
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
        examples=with_fingerprints(examples, structure.headings),
        warnings=tuple(sorted(warnings, key=lambda w: w.line or 0)),
        text=doc.text,
        data=doc.data,
    )


def _example(
    doc: Document,
    fence: RawFence,
    language: str,
    directives: tuple[Directive, ...],
    headings: Sequence[Heading],
) -> Example:
    n = len(fence.code)
    start = doc.lines[fence.first].start if fence.first < len(doc.lines) else len(doc.data)
    end = doc.line_end(fence.first + n - 1) if n else start
    code = "".join(line + "\n" for line in fence.code)
    heading = None
    for found in headings:
        if found.line >= fence.open:
            break
        heading = found.title
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
