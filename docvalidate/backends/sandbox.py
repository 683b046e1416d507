"""Bubblewrap: the namespaces and mounts that confine the local backend's interpreter.

The sandbox sees the host filesystem read-only, except that the user's home, ``/tmp`` and
``/var/tmp`` are replaced by empty folders; the interpreter, its packages, the project root and
the documents' folders are put back read-only; only the session's scratch folder is writable.
It has its own user, PID, IPC, UTS and network namespaces (no network at all, loopback
included, unless ``network = true``), and dies with docvalidate.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

HIDDEN = ("/tmp", "/var/tmp")  # plus the user's home and root's home


@cache
def find_bwrap() -> str | None:
    """The bwrap binary when it exists *and* can create namespaces here (containers often
    forbid it), else None."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    probe = [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return bwrap if ok else None


@cache
def interpreter_paths(python: str) -> tuple[str, ...]:
    """Folders the interpreter needs to read: its prefixes and its sys.path."""
    if Path(python).resolve() == Path(sys.executable).resolve():
        paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]
    else:
        code = "import sys, json; print(json.dumps([sys.prefix, sys.base_prefix, " \
               "sys.exec_prefix, *sys.path]))"
        try:
            out = subprocess.run([python, "-c", code], capture_output=True, text=True,
                                 timeout=60, check=True).stdout
            paths = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError):
            paths = []
    paths.append(str(Path(python).resolve().parent.parent))
    return tuple(p for p in dict.fromkeys(paths) if p and os.path.isabs(p))


def hidden_roots() -> list[str]:
    roots = list(HIDDEN)
    for home in (os.environ.get("HOME"), os.path.expanduser("~root")):
        if home and home != "/" and os.path.isdir(home):
            roots.append(os.path.realpath(home))
    return list(dict.fromkeys(roots))


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def bwrap_command(
    bwrap: str,
    scratch: Path,
    readable: Sequence[Path | str],
    network: bool,
    as_root: bool = False,
) -> list[str]:
    """The bwrap argument list (to be followed by the command to run).

    ``as_root``: docvalidate runs as root and examples must run as another user (no pids
    cgroup to cap their processes). A user namespace would map them to the real root, which
    the kernel exempts from RLIMIT_NPROC, so instead the worker drops to an unprivileged user
    inside the other namespaces (see worker.py).
    """
    hidden = hidden_roots()
    if as_root:
        argv = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-uts",
                "--unshare-cgroup-try"]
        if not network:
            argv.append("--unshare-net")
    else:
        argv = [bwrap, "--unshare-all"]
        if network:
            argv.append("--share-net")
    argv += ["--die-with-parent", "--new-session", "--ro-bind", "/", "/",
             "--dev", "/dev", "--proc", "/proc"]
    for root in hidden:
        argv += ["--perms", "0755", "--tmpfs", root]
    # Put back, read-only, what examples may read from inside the hidden folders; the folders
    # leading to them must be traversable by an unprivileged user.
    made: set[str] = set()
    for path in dict.fromkeys(os.path.realpath(str(p)) for p in readable):
        if not (_under(path, hidden) and os.path.exists(path)):
            continue
        root = next(r for r in hidden if _under(path, [r]))
        parent = os.path.dirname(path)
        missing = []
        while parent != root and _under(parent, [root]) and parent not in made:
            missing.append(parent)
            parent = os.path.dirname(parent)
        for folder in reversed(missing):
            argv += ["--perms", "0755", "--dir", folder]
            made.add(folder)
        argv += ["--ro-bind", path, path]
    argv += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    return argv


def readable_by_others(paths: Iterable[str]) -> str | None:
    """The first of ``paths`` (or a folder above it) that a user other than its owner cannot
    read, else None: an unprivileged user could then not run the interpreter."""
    for path in paths:
        if not os.path.exists(path):
            continue
        current = os.path.realpath(path)
        while True:
            mode = os.stat(current).st_mode
            needed = (stat.S_IXOTH | stat.S_IROTH) if current == os.path.realpath(path) \
                else stat.S_IXOTH
            if stat.S_ISDIR(mode) and mode & needed != needed:
                return current
            if not stat.S_ISDIR(mode) and not mode & stat.S_IROTH:
                return current
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
    return None
