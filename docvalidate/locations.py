"""From the lines a worker reports (each block runs under a file name of its own, in its own
lines) to the files and lines a reader sees, through each example's line map."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache

from docvalidate.model import ErrorInfo, LineMap

_FRAME = re.compile(r'File "([^"\n]*)", line (\d+)')


class Places:
    """The line maps of one session's blocks, by the file name each block runs under."""

    def __init__(self, maps: Mapping[str, LineMap]) -> None:
        self.maps = dict(maps)

    def at(self, name: str | None, line: int | None, own: LineMap) -> tuple[str, int]:
        """(file, line) of ``line`` of the block called ``name``; a line of no known block
        (None: the code the error is about) is read in ``own``, the failing example's map."""
        found = self.maps.get(name) if name is not None else None
        return (found or own).at(line or 1)

    def error(self, error: ErrorInfo, own: LineMap, own_path: str) -> ErrorInfo:
        """``error`` with its line, path and traceback in files and lines. ``path`` stays
        None when the line is in the example's own file."""
        path, line = self.at(error.path, error.line, own)
        return replace(error, line=line, path=None if path == own_path else path,
                       traceback=self.text(error.traceback))

    def text(self, text: str) -> str:
        """Traceback frames (``File "name", line N``) and warnings (``name:N: ...``) of the
        session's blocks, rewritten to files and lines."""
        if not text or not self.maps:
            return text

        def frame(match: re.Match[str]) -> str:
            found = self.maps.get(match[1])
            if found is None:
                return match[0]
            path, line = found.at(int(match[2]))
            return f'File "{path}", line {line}'

        text = _FRAME.sub(frame, text)
        warning = _warning_pattern(tuple(sorted(self.maps, key=len, reverse=True)))

        def warned(match: re.Match[str]) -> str:
            path, line = self.maps[match[1]].at(int(match[2]))
            return f"{path}:{line}:"

        return warning.sub(warned, text)


@lru_cache(maxsize=256)
def _warning_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """``name:N:`` at a line start, as the warnings module writes it (longest name first)."""
    return re.compile("^(" + "|".join(re.escape(n) for n in names) + r"):(\d+):", re.M)
