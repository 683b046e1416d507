"""Config ``setup``: a Python file run in each session before its first block, in the same
interpreter and sandbox; its names are visible to the examples, and its failure fails the
session's blocks with the setup's own error and line."""

from __future__ import annotations

import pytest
from conftest import ISOLATIONS, block, invoke


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_setup_names_are_visible_in_every_session(write, check_json, isolate, isolation):
    isolate(isolation, 'setup = "docs/setup_examples.py"', 'sessions = "block"')
    write("docs/setup_examples.py", "import os\nGREETING = 'hi'\nWHERE = os.getcwd()\n")
    write("docs/a.md", block("assert GREETING == 'hi'") + block("print(GREETING, WHERE)"))
    code, report = check_json("docs/a.md")
    assert [e["status"] for e in report["examples"]] == ["passed", "passed"], report
    assert code == 0
    # Run in the session's own working folder, like the examples.
    assert report["examples"][1]["stdout"].startswith("hi /")


def test_setup_runs_once_per_session_before_the_first_block(write, check_json):
    write("docvalidate.toml", 'setup = "setup.py"\n')
    write("setup.py", "import builtins\nruns = getattr(builtins, 'runs', 0) + 1\n"
                      "builtins.runs = runs\n")
    write("a.md", block("assert runs == 1\nx = 1") + block("assert runs == 1 and x == 1"))
    code, report = check_json("a.md")
    assert code == 0, report


def test_setup_failure_fails_the_sessions_blocks_with_its_own_error(write, check_json):
    write("docvalidate.toml", 'setup = "conf/setup.py"\n')
    write("conf/setup.py", "import os\n\nraise RuntimeError('no database')\n")
    write("a.md", block("x = 1") + block("y = 2"))
    code, report = check_json("a.md")
    assert code == 1
    for example in report["examples"]:
        error = example["error"]
        assert example["status"] == "failed"
        assert error["type"] == "RuntimeError"
        assert error["path"] == "conf/setup.py" and error["line"] == 3
        assert error["message"] == "the setup file conf/setup.py failed: no database"
        assert 'File "conf/setup.py", line 3' in error["traceback"]


def test_setup_failure_in_text_report_names_the_setup_line(write):
    write("docvalidate.toml", 'setup = "setup.py"\n')
    write("setup.py", "x = 1\nundefined_name\n")
    write("a.md", "# Title\n\n" + block("print('hello')"))
    result = invoke("check", "a.md")
    assert result.exit_code == 1
    assert "FAILED setup.py:2 (example at a.md:3)" in result.output
    assert "NameError" in result.output


def test_setup_that_hangs_is_a_timeout_of_the_setup(write, check_json):
    write("docvalidate.toml", 'setup = "setup.py"\ntimeout = 1\n')
    write("setup.py", "import time\nwhile True:\n    time.sleep(0.01)\n")
    write("a.md", block("x = 1"))
    _, report = check_json("a.md")
    (example,) = report["examples"]
    assert example["status"] == "failed"
    assert example["error"]["type"] == "Timeout"
    assert example["error"]["path"] == "setup.py" and example["error"]["line"] in (2, 3)


def test_missing_setup_file_is_one_line_and_exit_2(write):
    write("docvalidate.toml", 'setup = "nowhere.py"\n')
    write("a.md", block("x = 1"))
    result = invoke("check", "a.md")
    assert result.exit_code == 2
    assert "setup = 'nowhere.py': cannot read" in result.output
    assert "Traceback" not in result.output


def test_strict_refuses_a_setup_outside_the_project(write, tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-outside.py"
    outside.write_text("x = 1\n")
    write("docvalidate.toml", f'setup = "{outside}"\n')
    write("a.md", block("x = 1"))
    result = invoke("check", "--strict", "a.md")
    assert result.exit_code == 2
    assert "setup =" in result.output and "outside the project" in result.output
