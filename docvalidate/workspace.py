"""The project files a session sees: its own copy, so that examples may read and overwrite
project files by relative path while the project on disk stays as it was.

A project is listed once per run (:func:`survey`); each session then gets a fresh copy of what
the listing says to copy (:func:`materialize`). What is not worth copying — version control,
virtual environments, caches, built sites, very large files, anything past the caps — is
``shared``: a backend that can show it read-only (the sandbox binds it) does so, one that
cannot leaves it out, so that no write can reach the real files. Version control folders are
never shown.
"""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

# Folder names never copied (shared read-only where the backend can).
# Version control: never shown at all. What it holds is history, not what the docs describe,
# and a CI checkout keeps credentials there (actions/checkout puts its token in .git/config).
PRIVATE_NAMES = frozenset({".git", ".hg", ".svn", ".bzr", ".jj"})
SKIPPED_NAMES = frozenset({
    "node_modules", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".hypothesis", ".cache", ".eggs",
    "site", ".venv", "venv", ".ci-venv", ".idea", ".vscode",
})
MAX_FILE = 8 * 1024 * 1024  # bytes: a larger file is shared, not copied
MAX_TOTAL = 32 * 1024 * 1024  # bytes copied per session at most
MAX_ENTRIES = 2000  # files, folders and links copied per session at most
MAX_SEARCHED = 200_000  # entries of shared folders searched for sockets, once per run


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the project root, "/"-separated
    kind: str  # "dir" | "file" | "link"
    mode: int = 0o644
    size: int = 0
    target: str = ""  # links: where the copy's link points


@dataclass(frozen=True)
class Survey:
    """What a session's copy of one project holds."""

    root: Path
    entries: tuple[Entry, ...]  # in creation order (a folder before what it holds)
    shared: tuple[str, ...]  # relative paths not copied
    size: int  # bytes copied per session
    # Unix sockets inside shared folders (a dev server's, git's fsmonitor's): connecting to one
    # needs no write access to its folder, so where shared folders are shown they are masked.
    sockets: tuple[str, ...] = ()
    # Not shown at all: version control, and shared folders too big to search for sockets.
    hidden: tuple[str, ...] = ()

    def describe(self) -> str:
        files = sum(1 for e in self.entries if e.kind == "file")
        text = f"{self.root}: {files} files ({self.size / 1024:.0f} KiB) copied per session"
        if self.shared:
            text += f"; not copied: {', '.join(self.shared[:8])}"
            if len(self.shared) > 8:
                text += f" and {len(self.shared) - 8} more"
        if self.hidden:
            text += f"; not shown at all: {', '.join(self.hidden[:8])}"
        return text


class Surveys:
    """The listings of a run's projects, each made once (sessions ask from many threads);
    cleared when the project may have changed (``Backend.refresh``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[Path, Survey] = {}

    def get(self, root: Path) -> Survey:
        with self._lock:
            found = self._found.get(root)
        if found is None:
            found = survey(root)
            with self._lock:
                self._found[root] = found
        return found

    def all(self) -> list[Survey]:
        with self._lock:
            return list(self._found.values())

    def clear(self) -> None:
        with self._lock:
            self._found.clear()


def survey(root: Path, max_file: int = MAX_FILE, max_total: int = MAX_TOTAL,
           max_entries: int = MAX_ENTRIES) -> Survey:
    """List what to copy of ``root`` (top-down; a folder that would cross a cap is shared
    whole, so the caps never leave a folder half copied)."""
    entries: list[Entry] = []
    shared: list[str] = []
    private: list[str] = []
    total = 0

    def walk(folder: Path, rel: str) -> None:
        nonlocal total
        try:
            children = sorted(os.scandir(folder), key=lambda d: d.name)
        except OSError:
            return
        planned: list[Entry] = []
        subfolders: list[tuple[Path, str]] = []
        size = 0
        for child in children:
            path = f"{rel}{child.name}"
            try:
                info = child.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                planned.append(Entry(path, "link", target=_link_target(root, Path(child.path))))
            elif child.name in PRIVATE_NAMES:
                private.append(path)
            elif stat.S_ISDIR(info.st_mode):
                if child.name in SKIPPED_NAMES or (Path(child.path) / "pyvenv.cfg").exists():
                    shared.append(path)
                else:
                    subfolders.append((Path(child.path), path))
            elif stat.S_ISREG(info.st_mode):
                if info.st_size > max_file:
                    shared.append(path)
                else:
                    planned.append(Entry(path, "file", stat.S_IMODE(info.st_mode), info.st_size))
                    size += info.st_size
            # sockets, FIFOs, devices: never copied, never shared
        if total + size > max_total or len(entries) + len(planned) > max_entries:
            if rel:
                shared.append(rel.rstrip("/"))  # whole: a folder is never half copied
                return
            # The root itself is always a folder of the session's own (new files go there);
            # what of its own files does not fit is shared one by one.
            for entry in planned:
                if (entry.kind == "file" and total + entry.size <= max_total
                        and len(entries) < max_entries):
                    entries.append(entry)
                    total += entry.size
                elif entry.kind == "file":
                    shared.append(entry.path)
                else:
                    entries.append(entry)
            planned, size = [], 0
        if rel:
            entries.append(Entry(rel.rstrip("/"), "dir", _dir_mode(folder)))
        entries.extend(planned)
        total += size
        for subfolder, name in subfolders:
            walk(subfolder, f"{name}/")

    walk(root, "")
    sockets, hidden = _sockets(root, shared)
    return Survey(root, tuple(entries), tuple(p for p in shared if p not in hidden), total,
                  tuple(sockets), (*private, *hidden))


def _sockets(root: Path, shared: list[str]) -> tuple[list[str], list[str]]:
    """Sockets inside the shared folders, and the folders too big to search (within the
    budget, which all of them share)."""
    found: list[str] = []
    hidden: list[str] = []
    budget = MAX_SEARCHED
    for rel in shared:
        stack = [root / rel]
        while stack:
            folder = stack.pop()
            try:
                children = list(os.scandir(folder))
            except OSError:
                continue  # a file, or unreadable
            budget -= len(children)
            if budget < 0:
                break
            for child in children:
                if child.is_dir(follow_symlinks=False):
                    stack.append(Path(child.path))
                elif not (child.is_file(follow_symlinks=False)
                          or child.is_symlink()):
                    try:
                        if stat.S_ISSOCK(child.stat(follow_symlinks=False).st_mode):
                            found.append(os.path.relpath(child.path, root))
                    except OSError:
                        continue
        if budget < 0:
            hidden.append(rel)
            budget = 0
    return found, hidden


def _dir_mode(folder: Path) -> int:
    try:
        return stat.S_IMODE(folder.stat().st_mode) | 0o700
    except OSError:
        return 0o755


def _link_target(root: Path, link: Path) -> str:
    """A link into the project points into the copy (relative); any other stays as it is."""
    target = os.readlink(link)
    if not os.path.isabs(target):
        return target
    try:
        inside = Path(target).resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return target
    return os.path.relpath(root / inside, link.parent)


def materialize(found: Survey, into: Path, owner: tuple[int, int] | None = None,
                stubs: bool = False) -> None:
    """Copy the surveyed project into the (existing, empty) folder ``into``; ``owner``: the
    (uid, gid) the copy must belong to, so that the examples' user may overwrite it.

    ``stubs``: also make an empty folder or file where each shared entry is, on which the
    sandbox mounts the original, so that mounting adds nothing to the copy (which then reads
    as unchanged after a session that did not touch it)."""
    root = found.root
    entries = list(found.entries)
    if stubs:
        for rel in found.shared:
            kind = "dir" if (root / rel).is_dir() else "stub"
            entries.append(Entry(rel, kind, 0o755 if kind == "dir" else 0o644))
    for entry in entries:
        target = into / entry.path
        try:
            if entry.kind == "dir":
                target.mkdir(mode=entry.mode)
                if owner is not None:
                    os.chown(target, *owner)
            elif entry.kind == "link":
                target.symlink_to(entry.target)
                if owner is not None:
                    os.chown(target, *owner, follow_symlinks=False)
            elif entry.kind == "stub":
                target.touch(mode=entry.mode)
            else:
                _copy_file(root / entry.path, target, entry.mode, owner)
        except OSError:
            continue  # vanished or unreadable since the survey: the example will not see it


def _copy_file(source: Path, target: Path, mode: int, owner: tuple[int, int] | None) -> None:
    # Everything through the open descriptors: a path lookup per call is most of the cost.
    src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      mode)
        try:
            while os.sendfile(dst, src, None, 1 << 30) > 0:
                pass
            if mode & _UMASK:
                os.fchmod(dst, mode)  # the umask narrowed it
            if owner is not None:
                os.fchown(dst, *owner)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _umask() -> int:
    # Read once: os.umask can only be read by setting it, which is not thread-safe later on.
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _umask()


# What a file's stat says that a session could change: content (size, mtime, and ctime, which
# no user can set back), identity (inode, links), permissions and owner.
_State = tuple[int, int, int, int, int, int, int, int]


@dataclass(frozen=True)
class Snapshot:
    """A copy as it was made, to tell afterwards whether a session changed anything in it."""

    states: dict[str, _State]

    @classmethod
    def of(cls, folder: Path) -> Snapshot:
        return cls(_states(folder))

    def matches(self, folder: Path) -> bool:
        """Whether ``folder`` is exactly as it was: no entry added, removed or touched."""
        try:
            return _states(folder) == self.states
        except OSError:
            return False


def _state(info: os.stat_result) -> _State:
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode,
            info.st_uid, info.st_gid, info.st_nlink)


def _states(folder: Path) -> dict[str, _State]:
    # The folder itself too: its mode, owner, extended attributes (which change its ctime).
    states: dict[str, _State] = {".": _state(os.stat(folder, follow_symlinks=False))}
    stack = [(folder, "")]
    while stack:
        path, rel = stack.pop()
        with os.scandir(path) as children:
            for child in children:
                info = child.stat(follow_symlinks=False)
                name = rel + child.name
                states[name] = _state(info)
                if stat.S_ISDIR(info.st_mode):
                    stack.append((Path(child.path), name + "/"))
    return states
