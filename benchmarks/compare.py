"""docvalidate against the tools people use today, side by side on the same files (run by hand).

    pip install pytest-markdown-docs mktestdocs
    python benchmarks/compare.py [--pages 1000] [--blocks 10] [--runs 3] [--write]

Each tool runs ``--runs`` times in turn on the same generated corpus and ``sample_docs``; the
table gives medians. ``--write`` appends the table to ``benchmarks/RESULTS.md`` with the
machine and the date.

* docvalidate ``check``, cold, with ``--isolation sandbox`` and ``process``, with page and
  block sessions (the command line, as a user runs it);
* ``pytest --markdown-docs`` (in-process, every block a test), on one core and with ``-n``;
* mktestdocs (in-process, through pytest);
* the floor: every block executed back to back in one process with ``exec``, divided by the
  number of cores.

Pydantic's docs against pytest-examples need a checkout of pydantic (``git``, not reachable
from every machine): not part of this script yet.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORES = os.cpu_count() or 1


def block_code(page: int, block: int) -> str:
    """A small stdlib block that needs nothing from the blocks before it (every tool gives
    each block a fresh namespace, or can)."""
    return (f"import math\nvalues = [math.sqrt(i) for i in range({block + 10})]\n"
            f"total = sum(values)\nassert total > {page % 3}\n")


def make_corpus(root: Path, pages: int, blocks: int) -> Path:
    docs = root / "docs"
    docs.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'compare'\n")
    for p in range(pages):
        parts = [f"# Page {p}\n\nSome prose.\n"]
        for b in range(blocks):
            parts.append(f"\n```python\n{block_code(p, b)}```\n")
        (docs / f"page_{p:04}.md").write_text("".join(parts))
    return docs


MKTESTDOCS = """
import pathlib
import pytest
from mktestdocs import check_md_file

@pytest.mark.parametrize("path", sorted(pathlib.Path("docs").glob("*.md")), ids=str)
def test_page(path):
    check_md_file(fpath=path)
"""


def floor(docs: Path) -> float:
    """Every block run back to back with exec in this process, divided by the cores."""
    sources = [chunk.split("```", 1)[0] for page in sorted(docs.glob("*.md"))
               for chunk in page.read_text().split("```python\n")[1:]]
    compiled = [compile(source, "<block>", "exec") for source in sources]
    started = time.perf_counter()
    for code in compiled:
        exec(code, {"__name__": "__main__"})
    return (time.perf_counter() - started) / CORES


def command(args: list[str], cwd: Path, ok: tuple[int, ...] = (0, 1)) -> Callable[[], float]:
    """A tool's run, timed; exit 1 (some examples failed: a tool's verdict) still counts,
    anything else is the tool failing to run."""
    def run() -> float:
        started = time.perf_counter()
        proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if proc.returncode not in ok:
            raise RuntimeError(f"{' '.join(args)}: exit {proc.returncode}\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return elapsed
    return run


def tools(root: Path, docs: str) -> dict[str, Callable[[], float]]:
    py = sys.executable
    found: dict[str, Callable[[], float]] = {}
    for isolation in ("sandbox", "process"):
        for sessions in ("page", "block"):
            found[f"docvalidate {isolation}, {sessions} sessions"] = command(
                [py, "-m", "docvalidate", "check", "--format", "json", "--isolation", isolation,
                 "--sessions", sessions, docs], root)
    found["pytest --markdown-docs"] = command(
        [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--markdown-docs", docs], root)
    found[f"pytest --markdown-docs -n {CORES}"] = command(
        [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--markdown-docs",
         "-n", str(CORES), docs], root)
    (root / "test_mktestdocs.py").write_text(MKTESTDOCS)
    found["mktestdocs"] = command(
        [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mktestdocs.py"], root)
    return found


def measure(name: str, root: Path, docs: str, runs: int) -> list[tuple[str, float]]:
    table = tools(root, docs)
    times: dict[str, list[float]] = {key: [] for key in table}
    floors: list[float] = []
    for _ in range(runs):  # in turn, so that the machine's moods fall on every tool alike
        for key, run in table.items():
            times[key].append(run())
        floors.append(floor(root / docs))
    rows = [(key, statistics.median(values)) for key, values in times.items()]
    rows.append((f"floor: exec in one process / {CORES} cores", statistics.median(floors)))
    print(f"\n{name}")
    return rows


def render(name: str, rows: list[tuple[str, float]], blocks: int) -> str:
    reference = dict(rows).get("pytest --markdown-docs")
    lines = [f"### {name} ({blocks} blocks)", "", "| tool | median | per block | "
             "vs pytest --markdown-docs |", "| --- | --- | --- | --- |"]
    for key, seconds in rows:
        ratio = f"{seconds / reference:.2f}x" if reference else "-"
        lines.append(f"| {key} | {seconds:.2f} s | {seconds / blocks * 1000:.2f} ms | "
                     f"{ratio} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    out = [f"## {datetime.date.today().isoformat()}: {platform.machine()}, {CORES} CPUs, "
           f"Python {platform.python_version()}, {platform.system()} {platform.release()}", ""]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "generated"
        make_corpus(root, args.pages, args.blocks)
        rows = measure("generated", root, "docs", args.runs)
        text = render(f"generated: {args.pages} pages x {args.blocks} blocks", rows,
                      args.pages * args.blocks)
        print(text)
        out.append(text)
        sample = Path(tmp) / "sample"
        shutil.copytree(REPO / "sample_docs", sample / "docs",
                        ignore=shutil.ignore_patterns("broken"))
        (sample / "pyproject.toml").write_text("[project]\nname = 'sample'\n")
        count = sum(page.read_text().count("```python")
                    for page in (sample / "docs").rglob("*.md"))
        try:
            rows = measure("sample_docs", sample, "docs", args.runs)
        except RuntimeError as exc:  # a tool that cannot run these pages says so
            print(f"sample_docs: {exc}".splitlines()[0])
        else:
            text = render("sample_docs (without broken/)", rows, count)
            print(text)
            out.append(text)
    if args.write:
        with (REPO / "benchmarks" / "RESULTS.md").open("a") as f:
            f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
