"""Start-up cost of one session: sandboxed (bubblewrap) vs plain child process vs `python -c`.

    python benchmarks/bench_sandbox.py [--sessions 60]

Each session runs one trivial block through the real local backend. The budget (issue 4):
bubblewrap adds no more than 20 ms per session.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docvalidate.backends.base import Block, Job
from docvalidate.backends.local import LocalBackend, child_environment
from docvalidate.backends.sandbox import find_bwrap


def time_backend(backend: LocalBackend, root: Path, sessions: int) -> float:
    job = Job(filename="bench.md", doc="x = 1\n", root=root,
              blocks=(Block("x = 1\n", 30.0),), max_output=1 << 20)
    runs = []
    for _ in range(sessions):
        started = time.perf_counter()
        (run,) = list(backend.run(job))
        runs.append(time.perf_counter() - started)
        assert run.error is None, run.error
    backend.close()
    return statistics.median(runs)


def time_python_c(sessions: int) -> float:
    runs = []
    for _ in range(sessions):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=60)
    n = parser.parse_args().sessions
    bwrap = find_bwrap()
    env = child_environment({"PATH": "/usr/bin:/bin"}, {}, ())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        baseline = time_python_c(n)
        plain = time_backend(LocalBackend(sys.executable, env), root, n)
        sandboxed = time_backend(LocalBackend(sys.executable, env, bwrap=bwrap), root, n) \
            if bwrap else None
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; median of {n} sessions")
    print(f"python -c pass:                  {baseline * 1000:7.1f} ms")
    print(f"session, isolation = process:    {plain * 1000:7.1f} ms "
          f"({plain / baseline:.2f}x python -c)")
    if sandboxed is None:
        print("session, isolation = sandbox:    bubblewrap not available")
        return
    extra = sandboxed - plain
    print(f"session, isolation = sandbox:    {sandboxed * 1000:7.1f} ms "
          f"({sandboxed / baseline:.2f}x python -c)")
    print(f"bubblewrap adds per session:     {extra * 1000:7.1f} ms (budget 20 ms) -> "
          f"{'OK' if extra <= 0.020 else 'OVER BUDGET'}")


if __name__ == "__main__":
    main()
