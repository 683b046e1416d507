"""Throughput and per-example overhead of `docvalidate check` on a generated corpus.

Generates PAGES pages of BLOCKS small blocks each (sharing state like a tutorial), runs the
engine on them with --jobs 1 and with all CPUs, and compares with running the same code with
plain `python -c` (one interpreter per block) and with one bare interpreter start-up per page.

    python benchmarks/bench_check.py [--pages 200] [--blocks 10]

The bar (issue 2): a page of 10 trivial blocks costs no more than one Python start-up plus
2 ms per block.
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

from docvalidate.config import Config
from docvalidate.engine import check, collect


def block_code(page: int, block: int) -> str:
    if block == 0:
        return f"total = {page}\nitems = []"
    return f"items.append({block})\ntotal += {block}\nassert total == {page} + sum(items)"


def make_corpus(root: Path, pages: int, blocks: int) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    docs = root / "docs"
    docs.mkdir()
    for p in range(pages):
        parts = [f"# Page {p}\n\nSome prose about page {p}.\n"]
        for b in range(blocks):
            parts.append(f"\nStep {b}:\n\n```python\n{block_code(p, b)}\n```\n")
        (docs / f"page_{p:03}.md").write_text("".join(parts))


def time_engine(root: Path, jobs: int, isolation: str) -> tuple[float, int, int]:
    config = Config(jobs=jobs, isolation=isolation)
    started = time.perf_counter()
    report = check(config, (str(root / "docs"),))
    elapsed = time.perf_counter() - started
    return elapsed, report.count("passed"), report.count("failed")


def time_python_c(samples: int, code: str = "pass") -> float:
    runs = []
    for _ in range(samples):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--isolation", choices=["sandbox", "process"], default="sandbox")
    args = parser.parse_args()
    pages, blocks = args.pages, args.blocks
    n = pages * blocks
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_corpus(root, pages, blocks)
        os.chdir(root)
        started = time.perf_counter()
        collected = collect(Config(), ("docs",))
        extract = time.perf_counter() - started
        assert sum(len(f.examples) for f in collected.files) == n

        startup = time_python_c(30)
        # Plain `python -c` on the same code: one interpreter per block (a sample of pages).
        sample_pages = min(pages, 10)
        started = time.perf_counter()
        for p in range(sample_pages):
            code = "\n".join(block_code(p, b) for b in range(blocks))
            for b in range(blocks):
                subprocess.run([sys.executable, "-c", code.split("\nitems.append")[0]
                                if b == 0 else code], check=True)
        python_c_per_block = (time.perf_counter() - started) / (sample_pages * blocks)

        serial, passed, failed = time_engine(root, 1, args.isolation)
        assert (passed, failed) == (n, 0), (passed, failed)
        cpus = os.cpu_count() or 1
        parallel, _, _ = time_engine(root, cpus, args.isolation)

    per_page = serial / pages
    overhead_per_block = (per_page - startup) / blocks
    print(f"machine: {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    print(f"corpus: {pages} pages x {blocks} blocks = {n} examples; "
          f"isolation = {args.isolation}")
    print(f"extraction (read + parse + plan):       {extract * 1000:8.1f} ms "
          f"({extract / pages * 1000:.2f} ms/page)")
    print(f"python -c pass (one start-up, median):  {startup * 1000:8.1f} ms")
    print(f"plain python -c per block (baseline):   {python_c_per_block * 1000:8.1f} ms")
    print(f"docvalidate --jobs 1:                   {serial:8.2f} s  "
          f"{n / serial:7.0f} examples/s  {per_page * 1000:.1f} ms/page")
    print(f"docvalidate --jobs {cpus}:                   {parallel:8.2f} s  "
          f"{n / parallel:7.0f} examples/s")
    print(f"per-block cost, --jobs 1:               {serial / n * 1000:8.2f} ms "
          f"(ratio to plain python -c per block: {serial / n / python_c_per_block:.2f})")
    print(f"page cost beyond one start-up, per block: {overhead_per_block * 1000:6.2f} ms "
          f"(bar: 2 ms) -> {'OK' if overhead_per_block <= 0.002 else 'OVER BUDGET'}")


if __name__ == "__main__":
    main()
