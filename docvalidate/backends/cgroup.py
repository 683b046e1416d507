"""A pids cgroup per session, where the machine lets us make one (usually: as root).

It does two things rlimits cannot: cap the number of processes when docvalidate runs as root
(the kernel does not apply RLIMIT_NPROC to root), and find every process the example started,
detached or double-forked ones included, so that all of them are killed when the session ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

V1 = Path("/sys/fs/cgroup/pids")
V2 = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class PidsCgroup:
    path: Path

    @classmethod
    def create(cls, limit: int) -> PidsCgroup | None:
        """A fresh cgroup limited to ``limit`` processes, or None where we may not make one."""
        for base in (V1, V2):
            if not (base / "cgroup.procs").exists():
                continue
            path = base / f"docvalidate-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(limit))
                return cls(path)
            except OSError:
                path.rmdir()
        return None

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def wrap(self, command: list[str]) -> list[str]:
        """``command``, started inside the cgroup before it can fork anything."""
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.procs), *command]

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in self.procs.read_text().split()]
        except (OSError, ValueError):
            return []

    def close(self) -> None:
        """Kill every process left in the cgroup, then remove it."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
        with contextlib.suppress(OSError):
            self.path.rmdir()
