"""Cgroups, where the machine lets us make them: cgroup v1's pids hierarchy, or a cgroup v2
subtree we may write (as root, or delegated to our user by systemd).

They find every process an example started, detached or double-forked ones included, so that
all of them are killed when its session ends, and (v1, or v2 with the pids controller) cap how
many there are. Examples never run as root and the cgroup files belong to root (or to
docvalidate's user, and are read-only inside the sandbox), so an example cannot leave its
cgroup.

Moving a process into a cgroup waits for an RCU grace period (about 10 ms), too slow to pay per
session. So each runner thread moves *itself* into a cgroup of its own, once: every process it
starts afterwards is born inside it. On v2 that takes a threaded subtree below our own cgroup
(threads of one process may only sit in different cgroups there).

``DOCVALIDATE_CGROUP=v1|v2|none`` picks the mechanism (for tests and troubleshooting); by
default v1's pids hierarchy is preferred, since it always caps processes.
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
PREFIX = "docvalidate-"


@dataclass(frozen=True)
class Cgroup:
    """One runner thread's cgroup."""

    path: Path
    version: int
    caps_processes: bool  # pids.max applies (v2 may lack the pids controller)

    def pids(self) -> list[int]:
        """Processes (v1) or threads (v2) in the cgroup, docvalidate's own excluded."""
        name = "cgroup.procs" if self.version == 1 else "cgroup.threads"
        try:
            found = [int(p) for p in (self.path / name).read_text().split()]
        except (OSError, ValueError):
            return []
        ours = _own_tasks()
        return [pid for pid in found if pid not in ours]

    def kill_all(self) -> None:
        """Kill every process the examples left in the cgroup."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)  # a thread's id kills its whole process
            time.sleep(0.005)

    def remove(self) -> None:
        _rmdir(self.path)


def _rmdir(path: Path, seconds: float = 1.0) -> None:
    """Remove a cgroup; the kernel refuses (EBUSY) until its last killed task is gone, which
    can take a moment after the kill."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.01)


def _own_tasks() -> set[int]:
    try:
        return {int(t) for t in os.listdir("/proc/self/task")} | {os.getpid()}
    except OSError:
        return {os.getpid()}


class _Hierarchy:
    """Where runner threads' cgroups are made, for one version."""

    version = 0
    caps_processes = False

    def make(self, limit: int) -> Cgroup | None:
        raise NotImplementedError

    def enter(self, cgroup: Cgroup) -> Path | None:
        """Move the calling thread (only it) into ``cgroup``; the file to write it back to."""
        raise NotImplementedError

    def close(self) -> None:
        """Remove what was made for this run (its threads' cgroups are gone already)."""


class _V1(_Hierarchy):
    version = 1
    caps_processes = True

    @staticmethod
    def usable() -> bool:
        return (V1 / "tasks").exists() and os.access(V1, os.W_OK)

    def make(self, limit: int) -> Cgroup | None:
        path = V1 / f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            path.mkdir()
        except OSError:
            return None
        try:
            (path / "pids.max").write_text(str(limit))
        except OSError:
            path.rmdir()
            return None
        return Cgroup(path, 1, True)

    def enter(self, cgroup: Cgroup) -> Path | None:
        tid = threading.get_native_id()
        try:
            lines = Path(f"/proc/self/task/{tid}/cgroup").read_text().splitlines()
            before = next(V1 / ln.split(":", 2)[2].lstrip("/") for ln in lines
                          if ln.split(":")[1] == "pids")
            (cgroup.path / "tasks").write_text(str(tid))
            return before / "tasks"
        except (OSError, StopIteration, IndexError):
            return None


class _V2(_Hierarchy):
    """A threaded subtree below docvalidate's own cgroup: ``<ours>/docvalidate-PID-X/t-N``."""

    version = 2

    def __init__(self, mount: Path, own: Path) -> None:
        self.own = own
        self.top = own / f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.top.mkdir()
        try:
            (self.top / "cgroup.type").write_text("threaded")
            self.caps_processes = self._enable_pids()
        except OSError:
            self.top.rmdir()
            raise
        self._count = 0
        self._lock = threading.Lock()

    @classmethod
    def find(cls) -> _V2 | None:
        mount = _v2_mount()
        if mount is None:
            return None
        try:
            line = next(ln for ln in Path("/proc/self/cgroup").read_text().splitlines()
                        if ln.startswith("0::"))
        except (OSError, StopIteration):
            return None
        own = mount / line[3:].strip().lstrip("/")
        if not os.access(own, os.W_OK):
            return None
        try:
            return cls(mount, own)
        except OSError:
            return None

    def _enable_pids(self) -> bool:
        try:
            if "pids" not in (self.own / "cgroup.controllers").read_text().split():
                return False
            if "pids" not in (self.own / "cgroup.subtree_control").read_text().split():
                (self.own / "cgroup.subtree_control").write_text("+pids")
            (self.top / "cgroup.subtree_control").write_text("+pids")
        except OSError:
            return False
        return True

    def make(self, limit: int) -> Cgroup | None:
        with self._lock:
            self._count += 1
            path = self.top / f"t-{self._count}"
        try:
            path.mkdir()
            (path / "cgroup.type").write_text("threaded")
            if self.caps_processes:
                (path / "pids.max").write_text(str(limit))
        except OSError:
            _rmdir(path, 0)
            return None
        return Cgroup(path, 2, self.caps_processes)

    def enter(self, cgroup: Cgroup) -> Path | None:
        tid = threading.get_native_id()
        try:
            (cgroup.path / "cgroup.threads").write_text(str(tid))
        except OSError:
            return None
        return self.own / "cgroup.threads"

    def close(self) -> None:
        _rmdir(self.top)


def _v2_mount() -> Path | None:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(" - ", 1)
        if len(fields) == 2 and fields[1].split()[0] == "cgroup2":
            return Path(fields[0].split()[4])
    return None


def _hierarchy() -> _Hierarchy | None:
    wanted = os.environ.get("DOCVALIDATE_CGROUP", "")
    if wanted == "none":
        return None
    remove_stale()
    if wanted in ("", "v1") and _V1.usable():
        probe = _V1().make(1)
        if probe is not None:
            probe.remove()
            return _V1()
    if wanted in ("", "v2"):
        return _V2.find()
    return None


class ThreadCgroups:
    """One cgroup per runner thread, made on the thread's first session."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._hierarchy: _Hierarchy | None = None
        self._probed = False
        # native thread id -> (its cgroup, the file that moves it back where it came from)
        self._by_thread: dict[int, tuple[Cgroup, Path] | None] = {}

    def _get_hierarchy(self) -> _Hierarchy | None:
        with self._lock:
            if not self._probed:
                self._probed = True
                self._hierarchy = _hierarchy()
            return self._hierarchy

    @property
    def available(self) -> bool:
        return self._get_hierarchy() is not None

    @property
    def caps_processes(self) -> bool:
        hierarchy = self._get_hierarchy()
        return hierarchy is not None and hierarchy.caps_processes

    @property
    def version(self) -> int | None:
        hierarchy = self._get_hierarchy()
        return None if hierarchy is None else hierarchy.version

    def current(self) -> Cgroup | None:
        hierarchy = self._get_hierarchy()
        if hierarchy is None:
            return None
        tid = threading.get_native_id()
        with self._lock:
            if tid in self._by_thread:
                entry = self._by_thread[tid]
                return entry[0] if entry else None
        # +1: the runner thread itself counts as a task of the cgroup.
        cgroup = hierarchy.make(self.limit + 1)
        back = hierarchy.enter(cgroup) if cgroup is not None else None
        if cgroup is not None and back is None:
            cgroup.remove()
            cgroup = None
        with self._lock:
            self._by_thread[tid] = (cgroup, back) if cgroup and back else None
        return cgroup

    def close(self) -> None:
        """Kill what is left, move threads that still live back where they came from, and
        remove the cgroups."""
        with self._lock:
            entries = [(tid, e) for tid, e in self._by_thread.items() if e is not None]
            self._by_thread.clear()
            hierarchy = self._hierarchy
        for tid, (cgroup, back) in entries:
            cgroup.kill_all()
            if Path(f"/proc/self/task/{tid}").exists():
                with contextlib.suppress(OSError):
                    back.write_text(str(tid))
            cgroup.remove()
        if hierarchy is not None:
            hierarchy.close()
            with self._lock:
                self._probed = False  # a later run makes a new subtree
                self._hierarchy = None


def remove_stale() -> None:
    """Remove the cgroups of docvalidate runs that were killed outright (their process is
    gone), killing what still runs in them."""
    roots = [V1]
    mount = _v2_mount()
    if mount is not None:
        with contextlib.suppress(OSError, StopIteration):
            line = next(ln for ln in Path("/proc/self/cgroup").read_text().splitlines()
                        if ln.startswith("0::"))
            roots.append(mount / line[3:].strip().lstrip("/"))
    for root in roots:
        with contextlib.suppress(OSError):
            for entry in root.iterdir():
                if not entry.name.startswith(PREFIX) or not entry.is_dir():
                    continue
                pid = entry.name[len(PREFIX):].split("-", 1)[0]
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    # Examples of a run killed outright may still be running in them.
                    for child in [*sorted(entry.glob("*/"), reverse=True), entry]:
                        version = 2 if (child / "cgroup.threads").exists() else 1
                        group = Cgroup(child, version, False)
                        group.kill_all()
                        group.remove()
