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

import os
import pwd
import threading
from dataclasses import dataclass
from pathlib import Path

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
    """Hands out the users sessions run as; one at a time per dedicated user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[int] = []
        self._next = 0

    @staticmethod
    def root() -> bool:
        return os.geteuid() == 0

    def acquire(self) -> Identity:
        if not self.root():
            return Identity(os.getuid(), os.getgid(), dedicated=False)
        with self._lock:
            while True:
                if self._free:
                    uid = self._free.pop()
                else:
                    if self._next >= SLOTS:
                        raise RuntimeError("no free user for a session")
                    uid = UID_BASE + self._next
                    self._next += 1
                    if _taken(uid):
                        continue
                return Identity(uid, uid, dedicated=True)

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
