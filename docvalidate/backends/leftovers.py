"""What a session's user may leave on the host when examples run as plain processes (as root,
as a user of docvalidate's own): processes, files in the shared temporary folders, System V
IPC objects. All of it is removed when the session ends, and before a user is handed out again
(a run killed outright could not clean up), so that no session sees another's leftovers.

The sandbox needs none of this: its PID and IPC namespaces and its own /tmp and /dev/shm go
with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import time
from pathlib import Path

# Folders every user may write to (sticky), on Debian and most systems.
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock", "/var/lock")
_IPC_RMID = 0


def kill_user(uid: int) -> None:
    """Kill every process of ``uid`` (a session's own user: all of them are the session's)."""
    for _ in range(100):
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    if os.stat(f"/proc/{entry}").st_uid == uid:
                        found.append(int(entry))
        if not found:
            return
        for pid in found:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)


def sweep_user(uid: int) -> None:
    """Remove what ``uid`` owns in the shared temporary folders (their top level: the user
    cannot write deeper into folders it does not own) and its System V IPC objects."""
    for folder in SHARED_FOLDERS:
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_uid != uid:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
    _remove_ipc(uid)


def _remove_ipc(uid: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    # /proc/sysvipc/<kind>: a header line, then one object a line; the id is the second
    # column, the owner's uid the column named "uid".
    removers = {"shm": lambda i: libc.shmctl(i, _IPC_RMID, None),
                "msg": lambda i: libc.msgctl(i, _IPC_RMID, None),
                "sem": lambda i: libc.semctl(i, 0, _IPC_RMID)}
    for kind, remove in removers.items():
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        if not lines:
            continue
        columns = lines[0].split()
        try:
            at_id, at_uid = 1, columns.index("uid")
        except ValueError:
            continue
        for line in lines[1:]:
            fields = line.split()
            with contextlib.suppress(IndexError, ValueError):
                if int(fields[at_uid]) == uid:
                    remove(int(fields[at_id]))
