"""``$TMPDIR/docvalidate-PID-X/``: the folders of one run's sessions (each session's copy of
the project and its home), removed with the run, or by the next run when one was killed
outright.

As root it is a tmpfs of its own, with a size cap: copying a project for every session costs
a fraction of what it costs on disk, and examples cannot fill the host's disk (nor, past the
cap, its memory).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import shutil
import tempfile
import threading
from pathlib import Path

PREFIX = "docvalidate-"
_MS_NOSUID, _MS_NODEV, _MNT_DETACH = 2, 4, 2


def tmpfs_size() -> int:
    """Bytes the run's tmpfs may hold: a quarter of the memory, at most 4 GiB."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        pages = 4 << 30
    return max(256 << 20, min(4 << 30, pages // 4))


class RunFolder:
    def __init__(self) -> None:
        self._path: Path | None = None
        self._mounted = False
        self._lock = threading.Lock()
        self._count = itertools.count(1)

    @property
    def path(self) -> Path:
        with self._lock:
            if self._path is None:
                remove_stale()
                path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
                self._mounted = os.geteuid() == 0 and _mount_tmpfs(path, tmpfs_size())
                # Sessions' own users must reach their folder below, not list the others.
                path.chmod(0o711)
                self._path = path
            return self._path

    @property
    def on_tmpfs(self) -> bool:
        return self._mounted

    def session(self) -> Path:
        """A new folder for one session (its home)."""
        return self._new("s")

    def copy(self) -> Path:
        """A new folder for a copy of the project (which may serve several sessions, one
        after another, while it stays unchanged)."""
        return self._new("c")

    def _new(self, kind: str) -> Path:
        folder = self.path / f"{kind}{next(self._count)}"
        folder.mkdir(mode=0o700)
        return folder

    def remove(self) -> None:
        with self._lock:
            path, self._path = self._path, None
            mounted, self._mounted = self._mounted, False
        if path is not None:
            _remove(path, mounted)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount_tmpfs(path: Path, size: int) -> bool:
    options = f"size={size},mode=0711".encode()
    try:
        return _libc().mount(b"tmpfs", str(path).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                             options) == 0
    except (OSError, AttributeError):
        return False


def _remove(path: Path, mounted: bool) -> None:
    # Whatever is mounted below (the interpreter's view: view.py) goes first, detached: never
    # may removing the folder reach into what a mount shows.
    for point in sorted(_mounts_below(path), key=len, reverse=True):
        with contextlib.suppress(OSError, AttributeError):
            _libc().umount2(point.encode(), _MNT_DETACH)
    if mounted:
        # Detached: its contents go with it, however many files the examples wrote.
        with contextlib.suppress(OSError, AttributeError):
            _libc().umount2(str(path).encode(), _MNT_DETACH)
    if any(_mounts_below(path)) or os.path.ismount(path):
        return  # still mounted (not ours to unmount?): leave it rather than reach into it
    shutil.rmtree(path, ignore_errors=True)


def _mounts_below(path: Path) -> list[str]:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    prefix = str(path) + os.sep
    # The mount point is the fifth field, with spaces and the like written as octal escapes.
    points = [line.split()[4].encode().decode("unicode_escape") for line in lines]
    return [p for p in points if p.startswith(prefix)]


def remove_stale() -> None:
    """Remove run folders of docvalidate processes that no longer exist (killed outright)."""
    base = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for entry in base.glob(f"{PREFIX}*-*"):
            pid = entry.name[len(PREFIX):].split("-")[0]
            if (pid.isdigit() and not Path(f"/proc/{pid}").exists() and entry.is_dir()
                    and entry.stat().st_uid == os.geteuid()):
                _remove(entry, mounted=os.path.ismount(entry))
