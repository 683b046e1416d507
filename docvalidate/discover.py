"""Which files to read: Markdown files below the given paths, minus what is excluded."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from docvalidate.errors import UsageError

MARKDOWN_SUFFIXES = (".md", ".markdown")
SKIPPED_DIRS = {"site", "node_modules", "__pycache__"}


@dataclass(frozen=True)
class Found:
    path: Path
    display: str


def display_path(path: Path) -> str:
    """Relative to the current directory when the file is below it, else absolute."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(absolute)


def is_excluded(relative: PurePosixPath, patterns: Iterable[str]) -> bool:
    """A pattern without '/' matches any path component; one with '/' matches the relative
    path or one of its parent folders."""
    parts = relative.parts
    for pattern in patterns:
        pattern = pattern.strip("/")
        if "/" in pattern:
            prefixes = ("/".join(parts[: i + 1]) for i in range(len(parts)))
            if any(fnmatch(p, pattern) for p in prefixes):
                return True
        elif any(fnmatch(part, pattern) for part in parts):
            return True
    return False


def _skip_dir(path: Path) -> bool:
    name = path.name
    return (
        name.startswith(".")
        or name in SKIPPED_DIRS
        or (path / "pyvenv.cfg").exists()  # a virtual environment
    )


def same_file_key(path: Path) -> object:
    """What two paths to one file have in common: the file's device and inode (a symlink, a
    hard link, ``a.md`` and ``./docs/../a.md``), else, for a path that cannot be followed,
    the path with every link on the way resolved."""
    try:
        st = path.stat()
    except OSError:
        return os.path.realpath(path)
    return (st.st_dev, st.st_ino)


def find_files(paths: Sequence[Path], exclude: Sequence[str]) -> list[Found]:
    """Markdown files under ``paths`` in a stable order. A path given explicitly is always
    read (even with another suffix); ``exclude`` applies to what is found below a folder.

    A file reached by several paths (a symlink to a page that is found too, the same page
    named twice) is one document, read, checked and rewritten once, under the first path
    that reaches it: two copies would run twice and, in ``fix``, write the second copy over
    the first from stale bytes (or fail as a conflict)."""
    found: list[Found] = []
    seen: set[object] = set()

    def add(path: Path) -> None:
        key = same_file_key(path)
        if key not in seen:
            seen.add(key)
            found.append(Found(path, display_path(path)))

    for root in paths:
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                folder = Path(dirpath)
                rel_folder = PurePosixPath(folder.relative_to(root).as_posix())
                dirnames[:] = sorted(
                    d for d in dirnames
                    if not _skip_dir(folder / d) and not is_excluded(rel_folder / d, exclude)
                )
                for name in sorted(filenames):
                    if not name.lower().endswith(MARKDOWN_SUFFIXES):
                        continue
                    if is_excluded(rel_folder / name, exclude):
                        continue
                    add(folder / name)
        elif root.exists() or root.is_symlink():
            add(root)  # a broken symlink is reported when it is read
        else:
            raise UsageError(f"path {root} does not exist")
    return found
