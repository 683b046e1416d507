"""Start-up cost of one session: sandboxed (bubblewrap) vs plain child process vs `python -c`.

    python benchmarks/bench_sandbox.py [--sessions 60] [--python /usr/bin/python3]
        [--project PATH]

Each session runs one trivial block through the real local backend and the worker protocol:
start the worker (as the session's own user when docvalidate runs as root), copy the project
for the session, run the block, kill everything and remove the session's folder. ``--project``
names the project copied (default: an empty one), to see what the copy costs.

Issue 8 asks that the hardening (unprivileged users, the project copy, the checked channel,
the seccomp filter) cost a few milliseconds per session; run this script on the commit before
it for the comparison.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docvalidate.backends.access import unreadable
from docvalidate.backends.base import Block, Job, Limits
from docvalidate.backends.local import LocalBackend, child_environment
from docvalidate.backends.runfolder import RunFolder
from docvalidate.backends.sandbox import own_interpreter
from docvalidate.engine import bwrap_status
from docvalidate.protocol import run_job
from docvalidate.workspace import materialize, survey


def time_backend(backend: LocalBackend, root: Path, sessions: int) -> float | None:
    """The median session, or None when this interpreter cannot run that way here."""
    job = Job(filename="bench.md", doc="x = 1\n", root=root,
              blocks=(Block("x = 1\n", 30.0),), max_output=1 << 20, limits=backend.limits)
    runs = []
    for _ in range(sessions):
        started = time.perf_counter()
        (run,) = list(run_job(backend, job))
        runs.append(time.perf_counter() - started)
        if run.error is not None:
            print(f"  ({'sandbox' if backend.bwrap else 'process'}: {run.error.message})")
            backend.close()
            return None
    backend.close()
    return statistics.median(runs)


def time_python_c(python: str, sessions: int) -> float:
    runs = []
    for _ in range(sessions):
        started = time.perf_counter()
        subprocess.run([python, "-c", "pass"], check=True)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def time_copy(root: Path, sessions: int) -> tuple[float, str]:
    """Copying the project into a session folder, where the backend puts them (a tmpfs of the
    run's own, as root)."""
    found = survey(root)
    runs = []
    folder = RunFolder()
    try:
        for _ in range(sessions):
            into = folder.session()
            started = time.perf_counter()
            materialize(found, into)
            runs.append(time.perf_counter() - started)
        where = "tmpfs" if folder.on_tmpfs else "disk"
    finally:
        folder.remove()
    return statistics.median(runs), f"{found.describe()} (onto {where})"


def default_python() -> str:
    """This interpreter, unless the session's unprivileged user cannot read it (as root)."""
    own = own_interpreter(sys.executable)
    if os.geteuid() != 0 or (own and unreadable([sys.executable, *own.paths]) is None):
        return sys.executable
    return "/usr/bin/python3"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--python", default=default_python())
    parser.add_argument("--project", type=Path)
    args = parser.parse_args()
    n, python = args.sessions, args.python
    paths = own_interpreter(python)
    readable = paths.paths if paths else (str(Path(python).resolve().parent.parent),)
    bwrap = bwrap_status().path
    env = child_environment({"PATH": "/usr/bin:/bin"}, {}, ())
    with tempfile.TemporaryDirectory() as tmp:
        root = args.project.resolve() if args.project else Path(tmp)
        Path(tmp).chmod(0o755)
        baseline = time_python_c(python, n)
        plain = time_backend(LocalBackend(python, env, Limits(), readable=readable), root, n)
        sandboxed = time_backend(LocalBackend(python, env, Limits(), bwrap=bwrap,
                                              readable=readable), root, n) if bwrap else None
        copy, described = time_copy(root, n)
    who = "root (sessions run as users of their own)" if os.geteuid() == 0 else "an ordinary user"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}; "
          f"docvalidate runs as {who}; interpreter {python}; median of {n} sessions")
    print(f"project: {described}")
    print(f"python -c pass:                  {baseline * 1000:7.1f} ms")
    if plain is not None:
        print(f"session, isolation = process:    {plain * 1000:7.1f} ms "
              f"({plain / baseline:.2f}x python -c)")
    if sandboxed is not None:
        print(f"session, isolation = sandbox:    {sandboxed * 1000:7.1f} ms "
              f"({sandboxed / baseline:.2f}x python -c)")
    print(f"of which the project copy:       {copy * 1000:7.1f} ms (made while the "
          "interpreter starts)")


if __name__ == "__main__":
    main()
