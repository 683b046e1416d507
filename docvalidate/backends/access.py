"""Whether a user other than a file's owner may read it: examples run as such a user when
docvalidate runs as root."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from functools import cache


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


# Where the programs docvalidate runs as root (bwrap, setpriv, env) are looked for: never the
# PATH docvalidate was started with, which a virtual environment inside the checkout (and so
# a pull request) can put first.
TRUSTED_DIRS = ("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/local/sbin")


@cache
def trusted_program(name: str) -> str | None:
    """The system's ``name``: in a system folder, and it and its folder owned by root and
    writable by no one else; None when there is no such program."""
    for folder in TRUSTED_DIRS:
        path = os.path.join(folder, name)
        try:
            real = os.path.realpath(path)
            info, parent = os.stat(real), os.stat(os.path.dirname(real))
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or not info.st_mode & stat.S_IXUSR:
            continue
        if any(i.st_uid != 0 or i.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
               for i in (info, parent)):
            continue
        return real
    return None
