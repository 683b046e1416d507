"""Pids cgroups, where the machine lets us make them (usually: as root, cgroup v1 or v2).

They do two things rlimits cannot: cap the number of processes when docvalidate runs as root
(the kernel does not apply RLIMIT_NPROC to root), and find every process an example started,
detached or double-forked ones included, so that all of them are killed when its session ends.

Moving a process into a cgroup waits for an RCU grace period (about 10 ms), too slow to pay
per session. So each runner thread moves *itself* into a cgroup of its own, once: every
interpreter it starts afterwards is born inside it, at no cost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

V1 = Path("/sys/fs/cgroup/pids")


@dataclass(frozen=True)
class PidsCgroup:
    path: Path

    @classmethod
    def create(cls, limit: int) -> PidsCgroup | None:
        """A fresh cgroup limited to ``limit`` tasks, or None where we may not make one."""
        if not (V1 / "tasks").exists():
            return None
        path = V1 / f"docvalidate-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            path.mkdir()
        except OSError:
            return None
        try:
            (path / "pids.max").write_text(str(limit))
        except OSError:
            path.rmdir()
            return None
        return cls(path)

    def enter(self) -> Path | None:
        """Move the calling thread (only it) into this cgroup; return the cgroup it was in."""
        tid = threading.get_native_id()
        try:
            lines = Path(f"/proc/self/task/{tid}/cgroup").read_text().splitlines()
            before = next(V1 / ln.split(":", 2)[2].lstrip("/") for ln in lines
                          if ln.split(":")[1] == "pids")
            (self.path / "tasks").write_text(str(tid))
            return before
        except (OSError, StopIteration, IndexError):
            return None

    def pids(self) -> list[int]:
        """Processes in the cgroup, docvalidate itself excluded."""
        try:
            found = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []
        return [pid for pid in found if pid != os.getpid()]

    def kill_all(self) -> None:
        """Kill every process the examples left in the cgroup."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self) -> None:
        """Remove the cgroup (possible once the thread that entered it has ended)."""
        with contextlib.suppress(OSError):
            self.path.rmdir()


def available() -> bool:
    """Whether this process may make pids cgroups here."""
    probe = PidsCgroup.create(1)
    if probe is None:
        return False
    probe.remove()
    return True


class ThreadCgroups:
    """One pids cgroup per runner thread, made on the thread's first session."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        # native thread id -> (its cgroup, the cgroup it came from)
        self._by_thread: dict[int, tuple[PidsCgroup, Path] | None] = {}

    def current(self) -> PidsCgroup | None:
        tid = threading.get_native_id()
        with self._lock:
            if tid in self._by_thread:
                entry = self._by_thread[tid]
                return entry[0] if entry else None
        # +1: the runner thread itself counts as a task of the cgroup.
        cgroup = PidsCgroup.create(self.limit + 1)
        before = cgroup.enter() if cgroup is not None else None
        if cgroup is not None and before is None:
            cgroup.remove()
            cgroup = None
        with self._lock:
            self._by_thread[tid] = (cgroup, before) if cgroup and before else None
        return cgroup

    def close(self) -> None:
        """Kill what is left, move threads that still live back where they came from, and
        remove the cgroups."""
        with self._lock:
            entries = [(tid, e) for tid, e in self._by_thread.items() if e is not None]
            self._by_thread.clear()
        for tid, (cgroup, before) in entries:
            cgroup.kill_all()
            if Path(f"/proc/self/task/{tid}").exists():
                with contextlib.suppress(OSError):
                    (before / "tasks").write_text(str(tid))
            cgroup.remove()
