"""Who examples run as: never root.

When docvalidate runs as root (CI containers), each running session gets a user of its own,
taken from a range no account uses, so that

* it has no capabilities and owns nothing on the host but its session's files;
* sessions cannot signal or trace each other, and ``RLIMIT_NPROC`` counts one session only;
* everything a session left running can be found and killed by its user, even without a
  cgroup.

When docvalidate runs as another user, examples run as that user (in the sandbox, inside a user
namespace of their own, which gives them a process count of their own as well).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from docvalidate.backends.base import BackendError
from docvalidate.backends.leftovers import kill_user, sweep_user

# Inside the range systemd documents as unused (between the container range ending at
# 1879048191 and the "foreign" range starting at 2147352576), below 2**31 so that no tool
# reading ids as signed 32-bit numbers misreads it.
UID_BASE = 2_000_000_000
SLOTS = 1024  # sessions running at once, at most
NAME = "docvalidate"


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    dedicated: bool  # a user of docvalidate's own, for this session alone

    @property
    def switch(self) -> bool:
        """Whether docvalidate must become this user to start the session."""
        return self.uid != os.geteuid()


class Identities:
    """Hands out the users sessions run as. A dedicated user is held by one session at a time
    across every docvalidate process on the machine (a lock file each, kept by the process
    once it took it). A session ends only once everything it ran is gone, so the user is
    handed to this process's next session first: its clean copy of the project can serve
    again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, int] = {}  # uid -> fd of its lock file
        self._swept: set[int] = set()  # users cleaned up since this process took them
        self._reaped = False
        self._free: list[int] = []  # held by this process, no session running as them
        self._next = os.getpid() % SLOTS  # concurrent runs start at different places

    @staticmethod
    def root() -> bool:
        return os.geteuid() == 0

    def acquire(self) -> Identity:
        if not self.root():
            return Identity(os.getuid(), os.getgid(), dedicated=False)
        folder = _lock_folder()
        with self._lock:
            if not self._reaped:
                self._reaped = True
                self._reap_orphans(folder)
            if self._free:
                uid = self._free.pop()
                return Identity(uid, uid, dedicated=True)
            for _ in range(SLOTS):
                slot, self._next = self._next, (self._next + 1) % SLOTS
                uid = UID_BASE + slot
                if uid in self._held or _taken(uid):
                    continue
                fd = _try_lock(folder, uid)
                if fd is None:
                    continue
                self._held[uid] = fd
                if uid not in self._swept:
                    # A run killed outright may have left the user's processes and files.
                    kill_user(uid)
                    sweep_user(uid)
                    self._swept.add(uid)
                return Identity(uid, uid, dedicated=True)
        raise BackendError("every session user is in use (1024 sessions at once)")

    def _reap_orphans(self, folder: Path) -> None:
        """Kill the processes, and remove the files, of session users no live docvalidate
        holds: a run killed outright (SIGKILL) could not end its sessions."""
        owners = set()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    uid = os.stat(f"/proc/{entry}").st_uid
                    if UID_BASE <= uid < UID_BASE + SLOTS:
                        owners.add(uid)
        for uid in owners:
            fd = _try_lock(folder, uid)
            if fd is not None:  # nobody holds it: its processes are orphans
                kill_user(uid)
                sweep_user(uid)
                self._swept.add(uid)
                os.close(fd)

    def release(self, identity: Identity) -> None:
        if identity.dedicated:
            with self._lock:
                self._free.append(identity.uid)

    def account_files(self, folder: Path) -> tuple[Path, Path]:
        """/etc/passwd and /etc/group with our users added, for the sandbox to show (so that
        ``getpass.getuser()`` and ``~`` work for them)."""
        passwd, group = folder / "passwd", folder / "group"
        lines = [f"{NAME}{n}:x:{UID_BASE + n}:{UID_BASE + n}:docvalidate session:/nonexistent:"
                 "/usr/sbin/nologin\n" for n in range(SLOTS)]
        groups = [f"{NAME}{n}:x:{UID_BASE + n}:\n" for n in range(SLOTS)]
        passwd.write_text(_read("/etc/passwd") + "".join(lines))
        group.write_text(_read("/etc/group") + "".join(groups))
        for path in (passwd, group):
            path.chmod(0o644)
        return passwd, group


IDENTITIES = Identities()  # one per process: two backends must not hand out the same user


def _lock_folder(base: Path | None = None) -> Path:
    """Where the users' lock files are: a folder only root can have made (/run), else one in
    the temp folder that must be ours, not a link or a folder another user planted there."""
    if base is None:
        base = Path("/run") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
    folder = base / "docvalidate-users"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid()
            or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        raise BackendError(f"{folder} is not a folder of docvalidate's own; remove it")
    return folder


def _try_lock(folder: Path, uid: int) -> int | None:
    """The held lock file of ``uid`` (its descriptor), or None when another holds it."""
    fd = os.open(folder / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _taken(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _read(path: str) -> str:
    try:
        text = Path(path).read_text()
    except OSError:
        return ""
    return text if not text or text.endswith("\n") else text + "\n"
