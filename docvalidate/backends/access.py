"""Whether a user other than a file's owner may read it: examples run as such a user when
docvalidate runs as root."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable


def unreadable(paths: Iterable[str]) -> str | None:
    """The first of ``paths`` (or a folder above it) that a user who is neither its owner nor
    in its group cannot read (or traverse), else None."""
    seen: set[str] = set()
    for path in paths:
        if not os.path.exists(path):
            continue
        current = os.path.realpath(path)
        target = current
        while current not in seen:
            seen.add(current)
            mode = os.stat(current).st_mode
            if stat.S_ISDIR(mode):
                needed = stat.S_IXOTH | (stat.S_IROTH if current == target else 0)
                if mode & needed != needed:
                    return current
            elif not mode & stat.S_IROTH:
                return current
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
    return None
