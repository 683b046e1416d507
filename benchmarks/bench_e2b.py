"""Wall time of N sessions on the E2B backend as --jobs grows, with a network in between.

Runs E2B's own code-interpreter server's SDK in debug mode against the local server
(``tests/e2b_local.py`` finds or starts it) through the fault proxy of the tests, which adds a
fixed delay to every request (``--latency``, default 50 ms: a network to a remote sandbox).
Prints the wall time per --jobs value and the per-session overhead against the local backend
on the same pages.

    python benchmarks/bench_e2b.py [--sessions 100] [--latency 0.05] [--jobs 1 2 5 10 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from e2b_faults import FaultProxy  # noqa: E402
from e2b_local import E2BLocal  # noqa: E402

from docvalidate.backends.base import Limits  # noqa: E402
from docvalidate.backends.e2b import E2BBackend, E2BSettings  # noqa: E402
from docvalidate.config import Config  # noqa: E402
from docvalidate.engine import backend as engine_backend  # noqa: E402
from docvalidate.engine import check  # noqa: E402


def make_pages(root: Path, sessions: int) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    for n in range(sessions):
        (root / f"page_{n:03}.md").write_text(
            f"# Page {n}\n\n```python\nx = {n}\n```\n\n```python\nassert x == {n}\n```\n")


def time_e2b(root: Path, jobs: int) -> tuple[float, int, int]:
    backend = E2BBackend(E2BSettings(debug=True), Limits(), {}, jobs=jobs)
    config = Config(jobs=jobs, backend="e2b")
    started = time.perf_counter()
    try:
        report = check(config, (str(root),), made=(backend, []))
    finally:
        backend.close()
    made, _ = backend._pool.usage()
    return time.perf_counter() - started, report.count("passed"), made


def time_local(root: Path, jobs: int) -> float:
    config = Config(jobs=jobs)
    started = time.perf_counter()
    with engine_backend(config) as made:
        report = check(config, (str(root),), made=made)
    assert report.count("failed") == 0
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 5, 10, 20])
    args = parser.parse_args()
    local = E2BLocal()
    server = local.find()
    try:
        with tempfile.TemporaryDirectory() as tmp, FaultProxy(server.url,
                                                               latency=args.latency) as proxy:
            root = Path(tmp)
            make_pages(root, args.sessions)
            os.chdir(root)
            os.environ.update(proxy.sdk_env())
            os.environ.pop("E2B_API_KEY", None)
            local_time = time_local(root, 1)
            print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
                  f"{platform.python_version()}, {platform.system()} {platform.release()}")
            print(f"{args.sessions} sessions of 2 blocks; {args.latency * 1000:.0f} ms added to "
                  "every request to the sandbox")
            print(f"local backend, --jobs 1: {local_time:7.2f} s "
                  f"({local_time / args.sessions * 1000:6.1f} ms/session)")
            first = None
            for jobs in args.jobs:
                seconds, passed, made = time_e2b(root, jobs)
                assert passed == 2 * args.sessions, passed
                first = first or seconds
                print(f"e2b, --jobs {jobs:2}: {seconds:7.2f} s "
                      f"({seconds / args.sessions * 1000:6.1f} ms/session, {made} sandboxes, "
                      f"{first / seconds:4.1f}x the first)")
                if jobs == 1:
                    print(f"  per-session overhead against the local backend: "
                          f"{(seconds - local_time) / args.sessions * 1000:.0f} ms")
    finally:
        local.close()


if __name__ == "__main__":
    main()
