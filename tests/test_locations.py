"""Line maps: every block runs under a file name of its own, in its own lines, and what comes
back (error lines, tracebacks, ``#>`` and ``>>>`` checks, timeouts, warnings) is mapped to
files and lines through each example's line map. Real interpreters, through the runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import block

from docvalidate.config import Config
from docvalidate.engine import make_backend
from docvalidate.locations import Places
from docvalidate.model import ErrorInfo, Example, LineMap, Outcome, Session, SourceFile, Task
from docvalidate.runner import FileWork, run_session


def _example(code: str, lines: LineMap | None, line: int = 1, path: str = "api.yaml",
             interactive: bool = False) -> Example:
    return Example(path=path, language="pycon" if interactive else "python", info="python",
                   code=code, span=(0, 0), prefix="", newline="\n", line=line,
                   end_line=line + code.count("\n") + 1, line_map=lines,
                   interactive=interactive)


def _run(tmp_path: Path, *examples: Example, timeout: float = 30.0) -> list[Outcome]:
    """The examples as one session, run by the engine's backend (no source kind needed: the
    line maps are what a YAML, docstring or snippet source would give)."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    source = SourceFile(examples[0].path, "commonmark", examples)
    tasks = tuple(Task(e, "s", timeout) for e in examples)
    backend, _ = make_backend(Config(isolation="process" if _no_bwrap() else None))
    try:
        return run_session(FileWork(source, (Session("s", source.path, tasks),), tmp_path),
                           Session("s", source.path, tasks), backend, 1 << 20)
    finally:
        backend.close()


def _no_bwrap() -> bool:
    from docvalidate.engine import bwrap_status

    return bwrap_status().path is None


# A scalar in a YAML file: its code lines are file lines 20, 21 and 25 (say a folded scalar
# with blank lines the source dropped), a line map no padding can express.
YAML_LINES = LineMap((("spec.yaml", 20), ("spec.yaml", 21), ("spec.yaml", 25)))


def test_error_line_and_traceback_follow_the_line_map(tmp_path: Path) -> None:
    (outcome,) = _run(tmp_path, _example("a = 1\nb = 2\nc = a / 0\n", YAML_LINES))
    error = outcome.result.error
    assert error is not None and error.type == "ZeroDivisionError"
    assert (error.path, error.line) == ("spec.yaml", 25)
    assert 'File "spec.yaml", line 25' in error.traceback
    assert "c = a / 0" in error.traceback  # the block's own line, shown under the mapped name
    assert "api.yaml:1" not in error.traceback  # the block's file name never shows


def test_print_comment_mismatch_is_reported_at_mapped_lines(tmp_path: Path) -> None:
    lines = LineMap((("spec.yaml", 7), ("spec.yaml", 9)))
    (outcome,) = _run(tmp_path, _example("print(1 + 1)\n#> 3\n", lines))
    error = outcome.result.error
    assert error is not None and error.type == "OutputMismatch"
    assert (error.path, error.line) == ("spec.yaml", 9)
    assert "print() at line 7" in error.message and "at line 9" in error.message


def test_interactive_mismatch_is_reported_at_mapped_lines(tmp_path: Path) -> None:
    lines = LineMap((("api.yaml", 40), ("api.yaml", 41), ("api.yaml", 42), ("api.yaml", 43)))
    code = ">>> 1 + 1\n2\n>>> 2 + 2\n5\n"
    (outcome,) = _run(tmp_path, _example(code, lines, interactive=True))
    error = outcome.result.error
    assert error is not None and error.type == "OutputMismatch"
    assert error.line == 43 and error.path is None  # the example's own file
    assert "at line 43" in error.message


def test_timeout_line_follows_the_line_map(tmp_path: Path) -> None:
    code = "import time\nx = 1\nwhile True:\n    time.sleep(0.01)\n"
    lines = LineMap(tuple(("api.yaml", n) for n in (3, 5, 8, 9)))
    (outcome,) = _run(tmp_path, _example(code, lines), timeout=1.0)
    error = outcome.result.error
    assert error is not None and error.type == "Timeout"
    assert error.line in (8, 9)  # the loop, wherever the dump caught it
    assert 'File "api.yaml", line' in error.traceback


def test_frames_in_earlier_blocks_map_to_their_own_lines(tmp_path: Path) -> None:
    first = _example("def boom():\n    raise ValueError('x')\n",
                     LineMap((("api.yaml", 10), ("api.yaml", 11))), line=9)
    second = _example("y = 0\nboom()\n", LineMap((("api.yaml", 30), ("api.yaml", 31))),
                      line=29)
    _, outcome = _run(tmp_path, first, second)
    error = outcome.result.error
    assert error is not None and error.type == "ValueError"
    assert error.line == 11  # innermost example frame: inside boom(), defined in block one
    assert 'File "api.yaml", line 31' in error.traceback
    assert 'File "api.yaml", line 11' in error.traceback
    assert "raise ValueError('x')" in error.traceback


def test_each_block_has_its_own_file_name(write, check_json) -> None:
    # Two blocks of one page: the code of each sees a file name of its own.
    write("a.md", block("import inspect\nfirst = inspect.currentframe().f_code.co_filename")
          + block("import inspect\nassert inspect.currentframe().f_code.co_filename != first\n"
                  "assert __file__ == 'a.md', __file__"))
    code, report = check_json("a.md")
    assert code == 0, report


def test_warnings_in_stderr_point_at_the_document(write, check_json) -> None:
    write("a.md", "# T\n\n" + block("import warnings\nx = 1\nwarnings.warn('careful')\n"
                                    "raise SystemExit(3)"))
    _, report = check_json("a.md")
    (example,) = report["examples"]
    assert "a.md:6: UserWarning: careful" in example["stderr"]


def test_places_leave_unknown_frames_alone() -> None:
    places = Places({"a.md:3": LineMap((("a.md", 4), ("a.md", 5)))})
    text = ('File "a.md:3", line 2, in <module>\nFile "other.py", line 2\n'
            'a.md:3:1: UserWarning: w\n')
    assert places.text(text) == ('File "a.md", line 5, in <module>\nFile "other.py", line 2\n'
                                 'a.md:4: UserWarning: w\n')
    own = LineMap((("a.md", 9),))
    moved = places.error(ErrorInfo("E", "m", line=2, path="a.md:3"), own, "a.md")
    assert (moved.line, moved.path) == (5, None)
    unknown = places.error(ErrorInfo("E", "m", line=None, path=None), own, "a.md")
    assert unknown.line == 9


@pytest.mark.parametrize("extra", [0, 3])
def test_lines_past_the_map_continue_from_its_end(extra: int) -> None:
    lines = LineMap((("x.md", 4), ("x.md", 6)))
    assert lines.at(2 + extra) == ("x.md", 6 + extra)
    assert lines.at(1) == ("x.md", 4)
