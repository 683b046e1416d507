"""YAML front matter at the top of a page: where it ends, and one warning when it is broken."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from docvalidate.model import FileWarning
from docvalidate.sources.document import Line


def front_matter(lines: Sequence[Line]) -> tuple[int, FileWarning | None]:
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

