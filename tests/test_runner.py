"""Execution semantics: sessions, directives, tracebacks mapped to the document, timeouts,
crashes, captured output, scratch folders. Every test runs real child interpreters."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from conftest import FENCE, ISOLATIONS, alive, block, by_line


def test_page_session_shares_namespace(write, check_json):
    write("a.md", block("x = 41") + block("assert x == 41\nx += 1") + block("assert x == 42"))
    code, report = check_json("a.md")
    assert code == 0
    assert [e["status"] for e in report["examples"]] == ["passed"] * 3
    assert {e["session"] for e in report["examples"]} == {"a.md"}


def test_block_sessions_are_fresh(write, check_json):
    write("a.md", block("x = 1") + block("print(x)"))
    code, report = check_json("a.md", "--sessions", "block")
    assert code == 1
    second = report["examples"][1]
    assert second["status"] == "failed"
    assert second["error"]["type"] == "NameError"
    assert second["session"] == "a.md:5"


def test_pages_do_not_share_state(write, check_json):
    write("a.md", block("shared = 1"))
    write("b.md", block("print(shared)"))
    _, report = check_json(".")
    statuses = {e["path"]: e["status"] for e in report["examples"]}
    assert statuses == {"a.md": "passed", "b.md": "failed"}


def test_failure_line_points_into_the_document(write, check_json):
    write("docs/guide.md", "# Guide\n\nSome text.\n\n" + block("a = 1\nb = 2\nc = a / 0\nd = 4"))
    _, report = check_json("docs/guide.md")
    (ex,) = report["examples"]
    assert ex["line"] == 5 and ex["end_line"] == 10
    assert ex["error"]["type"] == "ZeroDivisionError"
    assert ex["error"]["line"] == 8
    assert 'File "docs/guide.md", line 8' in ex["error"]["traceback"]
    assert "c = a / 0" in ex["error"]["traceback"]
    assert "worker.py" not in ex["error"]["traceback"]


def test_error_line_is_innermost_frame_in_the_example(write, check_json):
    code = "def f():\n    return 1 / 0\n\ndef g():\n    return f()\n\ng()"
    write("a.md", block(code))
    _, report = check_json("a.md")
    assert report["examples"][0]["error"]["line"] == 3  # `return 1 / 0`


def test_syntax_error_line(write, check_json):
    write("a.md", "text\n\n" + block("x = 1\ny = (\n"))
    _, report = check_json("a.md")
    error = report["examples"][0]["error"]
    assert error["type"] == "SyntaxError"
    assert error["line"] in (5, 6)


def test_skip_and_off_regions_are_reported(write, check_json):
    write("a.md", block("raise SystemExit(3)", "skip")
          + "<!-- docvalidate: off -->\n\n" + block("1/0") + "<!-- docvalidate: on -->\n\n"
          + block("print('ok')"))
    code, report = check_json("a.md")
    assert code == 0
    statuses = [(e["status"], e["reason"]) for e in report["examples"]]
    assert statuses[0] == ("skipped", "skipped by <!-- docvalidate: skip --> at line 1")
    assert statuses[1][0] == "skipped" and "off" in statuses[1][1]
    assert statuses[2] == ("passed", None)


def test_isolated_block_does_not_touch_page_session(write, check_json):
    write("a.md", block("x = 1") + block("assert 'x' not in globals()\ny = 2", "isolated")
          + block("assert x == 1\nassert 'y' not in globals()"))
    code, report = check_json("a.md")
    assert code == 0, report
    assert report["examples"][1]["session"] == "a.md:6"


def test_named_session(write, check_json):
    write("a.md", block("n = 1", "session=setup") + block("assert 'n' not in globals()")
          + block("assert n == 1", "session=setup"))
    code, report = check_json("a.md")
    assert code == 0, report
    assert report["examples"][0]["session"] == report["examples"][2]["session"] == "a.md#setup"


def test_raises_directive(write, check_json):
    write("a.md",
          block("{}['k']", "raises=KeyError")            # exact class
          + block("{}['k']", "raises=LookupError")       # base class
          + block("import json\njson.loads('{')", "raises=ValueError")  # subclass
          + block("x = 1", "raises=KeyError")             # nothing raised
          + block("int('x')", "raises=KeyError"))         # wrong exception
    _, report = check_json("a.md")
    ex = report["examples"]
    assert [e["status"] for e in ex] == ["passed", "passed", "passed", "failed", "failed"]
    assert ex[3]["error"]["type"] == "ExpectedException"
    assert "expected KeyError" in ex[3]["error"]["message"]
    assert ex[4]["error"]["type"] == "ValueError"
    assert "expected KeyError" in ex[4]["error"]["message"]


def test_raises_accepts_dotted_and_user_defined_names(write, check_json):
    write("a.md",
          block("class Oops(Exception):\n    pass\n\nraise Oops()", "raises=Oops")
          + block("import json\njson.loads('{')", "raises=json.JSONDecodeError"))
    code, report = check_json("a.md")
    assert code == 0, report


def test_directive_error_fails_block_and_run_goes_on(write, check_json):
    write("a.md", block("print(1)", "bogus=1") + block("print(2)"))
    code, report = check_json("a.md")
    assert code == 1
    first, second = report["examples"]
    assert first["error"]["type"] == "DirectiveError"
    assert "bogus" in first["error"]["message"] and first["error"]["line"] == 1
    assert second["status"] == "passed"


def test_timeout_kills_block_and_aborts_session(write, check_json):
    write("a.md", block("x = 1") + block("import time\nwhile True:\n    time.sleep(0.01)",
                                         "timeout=0.5")
          + block("print(x)") + block("print('isolated still runs')", "isolated"))
    code, report = check_json("a.md")
    assert code == 1
    ex = report["examples"]
    assert ex[1]["status"] == "failed" and ex[1]["error"]["type"] == "Timeout"
    assert ex[1]["error"]["line"] in (8, 9, 10)  # the loop, located from a stack dump
    assert ex[2]["status"] == "skipped"
    assert ex[2]["reason"] == f"session aborted at line {ex[1]['line']}"
    assert ex[3]["status"] == "passed"  # another session of the same page


def test_config_timeout(write, check_json):
    write("a.md", block("import time\ntime.sleep(10)"))
    _, report = check_json("a.md", "--timeout", "0.5")
    error = report["examples"][0]["error"]
    assert error["type"] == "Timeout" and "0.5 s" in error["message"]


def test_crash_of_the_interpreter_is_reported(write, check_json):
    write("a.md", block("import os\nos._exit(7)") + block("print('later')")
          + block("print('other session')", "isolated"))
    code, report = check_json("a.md")
    ex = report["examples"]
    assert code == 1
    assert ex[0]["error"]["type"] == "WorkerCrashed"
    assert "code 7" in ex[0]["error"]["message"]
    assert ex[1]["status"] == "skipped" and "aborted" in ex[1]["reason"]
    assert ex[2]["status"] == "passed"


def test_killing_the_parent_process_group_member_is_contained(write, check_json):
    write("a.md", block("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    _, report = check_json("a.md")
    error = report["examples"][0]["error"]
    assert error["type"] == "WorkerCrashed" and "SIGKILL" in error["message"]


def test_output_is_captured_per_block_and_capped(write, check_json, project: Path):
    (project / "docvalidate.toml").write_text("max_output = 1000\n")
    write("a.md", block("print('one')\nimport sys\nprint('err', file=sys.stderr)")
          + block("import os\nos.system('echo from-child')")
          + block("print('x' * 5000)"))
    _, report = check_json("a.md")
    ex = report["examples"]
    assert ex[0]["stdout"] == "one\n" and ex[0]["stderr"] == "err\n"
    assert ex[1]["stdout"] == "from-child\n"  # output of subprocesses is captured too
    assert len(ex[2]["stdout"]) == 1000 and ex[2]["stdout_dropped"] == 4001


def test_system_exit(write, check_json):
    write("a.md", block("import sys\nsys.exit(0)") + block("raise SystemExit(2)"))
    _, report = check_json("a.md")
    assert [e["status"] for e in report["examples"]] == ["passed", "failed"]
    assert report["examples"][1]["error"]["type"] == "SystemExit"


def test_top_level_await(write, check_json):
    write("a.md", block("import asyncio\nawait asyncio.sleep(0)\nv = 3") + block("assert v == 3"))
    code, report = check_json("a.md")
    assert code == 0, report


def test_main_guard_and_pickle_work(write, check_json):
    write("a.md", block("import pickle\nfrom dataclasses import dataclass\n\n@dataclass\n"
                        "class P:\n    x: int\n\nassert pickle.loads(pickle.dumps(P(1))) == P(1)\n"
                        "if __name__ == '__main__':\n    ran = True")
          + block("assert ran"))
    code, report = check_json("a.md")
    assert code == 0, report


def test_scratch_folder_sees_project_files_and_leaves_no_trace(write, check_json,
                                                               project: Path):
    import tempfile

    write("data/input.csv", "a,b\n1,2\n")
    write("docs/a.md", block("import os\nprint(open('data/input.csv').read())\n"
                             "open('out.json', 'w').write('{}')\nprint(os.getcwd())"))
    _, report = check_json("docs/a.md")
    ex = report["examples"][0]
    assert ex["status"] == "passed", ex
    assert ex["stdout"].startswith("a,b\n1,2\n")
    assert not (project / "out.json").exists()
    assert not (project / "docs" / "out.json").exists()
    # Every session folder of the run is gone with it.
    assert not list(Path(tempfile.gettempdir()).glob(f"docvalidate-{os.getpid()}-*"))


def test_project_root_is_importable(write, check_json):
    write("mylib.py", "VALUE = 42\n")
    write("docs/deep/page.md", block("import mylib\nassert mylib.VALUE == 42"))
    code, report = check_json("docs/deep/page.md")
    assert code == 0, report


def test_environment_is_an_allow_list(write, check_json, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("E2B_API_KEY", "e2b-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    monkeypatch.setenv("MY_SETTING", "visible")
    write("docvalidate.toml", 'pass_env = ["MY_SETTING"]\nenv = { GREETING = "hello" }\n')
    write("a.md", block("import os\nprint(sorted(os.environ))\n"
                        "assert os.environ['MY_SETTING'] == 'visible'\n"
                        "assert os.environ['GREETING'] == 'hello'\n"
                        "assert os.environ['PYTHONHASHSEED'] == '0'"))
    code, report = check_json("a.md")
    assert code == 0, report
    out = report["examples"][0]["stdout"]
    for secret in ("OPENAI_API_KEY", "E2B_API_KEY", "GITHUB_TOKEN"):
        assert secret not in out


def test_examples_never_run_in_docvalidate_process(write, check_json):
    write("a.md", block("import os\nprint(os.getpid())"))
    _, report = check_json("a.md")
    assert int(report["examples"][0]["stdout"]) != os.getpid()


def test_stdin_is_closed(write, check_json):
    write("a.md", block("try:\n    input()\nexcept EOFError:\n    print('eof')"))
    _, report = check_json("a.md")
    assert report["examples"][0]["stdout"] == "eof\n"


def test_pycon_session_statements_run(write, check_json):
    write("a.md", "```pycon\n>>> x = 2\n>>> for i in range(2):\n...     x += i\n>>> x\n3\n"
          "```\n\n```pycon\n>>> x + undefined\n```\n")
    _, report = check_json("a.md")
    first, second = report["examples"]
    assert first["status"] == "passed", first
    assert second["error"]["type"] == "NameError" and second["error"]["line"] == 10


def test_parallel_jobs_give_the_same_results(write, check_json):
    for i in range(6):
        write(f"p{i}.md", block(f"v = {i}") + block(f"assert v == {i}")
              + block("1/0" if i == 3 else "pass"))
    _, serial = check_json(".", "--jobs", "1")
    _, parallel = check_json(".", "--jobs", "3")

    def key(r):
        return [(e["id"], e["status"]) for e in r["examples"]]

    assert key(serial) == key(parallel)
    assert by_line(serial)[9]["status"] == "passed"


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 130, "interrupted"),
    (signal.SIGTERM, 143, "stopped by SIGTERM"),
    (signal.SIGHUP, 129, "stopped by SIGHUP"),
])
def test_signals_stop_running_examples_and_clean_up(isolation: str, signum: int, code: int,
                                                    said: str, write, isolate, project: Path):
    import subprocess
    import sys
    import tempfile
    import time
    import uuid

    from docvalidate.backends.cgroup import PREFIX, V1

    isolate(isolation)
    marker = f"3596.{uuid.uuid4().int % 10**9}"
    write("a.md", block(f"import subprocess, time\nsubprocess.Popen(['sleep', '{marker}'])\n"
                        "time.sleep(60)"))
    proc = subprocess.Popen([sys.executable, "-m", "docvalidate", "check", "a.md"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(marker), "the example never started"
    started = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err
    assert time.monotonic() - started < 5  # did not wait for the 60 s sleep
    assert said in err and "Traceback" not in err
    deadline = time.monotonic() + 5
    while alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(marker) == []
    assert not list(Path(tempfile.gettempdir()).glob(f"docvalidate-{proc.pid}-*"))
    assert not list(V1.glob(f"{PREFIX}{proc.pid}-*"))


def test_docvalidate_modules_never_shadow_the_project(write, check_json):
    # docvalidate's backends folder holds base.py, local.py and worker.py
    write("base.py", "ORIGIN = 'project'\n")
    write("a.md", block("import base, sys, os\nassert base.ORIGIN == 'project'\n"
                        "assert not any(p.endswith(os.path.join('docvalidate', 'backends'))"
                        " for p in sys.path)"))
    code, report = check_json("a.md")
    assert code == 0, report["examples"][0]["error"]


def test_the_longest_timeout_does_not_break_the_worker(write, check_json):
    write("a.md", block("print('fine')", "timeout=86400"))
    code, report = check_json("a.md")
    assert code == 0, report["examples"][0]["error"]


def test_interactive_session_output_checked_end_to_end(write, check_json):
    write("a.md", "text\n\n```pycon\n>>> items = [3, 1, 2]\n>>> sorted(items)\n[1, 2, 3]\n"
          ">>> print('x')\ny\n>>> items.pop(7)\nTraceback (most recent call last):\n"
          "IndexError: pop index out of range\n```\n\n```python\n>>> len(items)\n3\n```\n")
    _, report = check_json("a.md")
    first, second = report["examples"]
    assert first["status"] == "failed"
    assert first["error"]["type"] == "OutputMismatch"
    assert first["error"]["line"] == 8  # the expected-output line "y"
    assert "-y" in first["error"]["diff"] and "+x" in first["error"]["diff"]
    assert second["status"] == "passed"  # a python block starting with >>> is a session


def test_print_comments_checked_end_to_end(write, check_json):
    write("a.md", block("print({'a': 1})\n#> {'a': 1}\n\ndef show(v):\n    print(v)\n\n"
                        "show(2)\nprint('b')\n#> c"))
    _, report = check_json("a.md")
    (ex,) = report["examples"]
    assert ex["status"] == "failed" and ex["error"]["type"] == "OutputMismatch"
    assert ex["error"]["line"] == 10
    assert ex["stdout"] == "{'a': 1}\n2\nb\n"  # printing still reaches the captured stdout


def test_doctest_flags_config(write, check_json):
    write("a.md", "```pycon\n>>> list(range(20))\n[0, 1, ..., 19]\n```\n")
    code, _ = check_json("a.md")
    assert code == 0
    write("docvalidate.toml", "doctest_flags = []\n")
    code, report = check_json("a.md")
    assert code == 1 and report["examples"][0]["error"]["type"] == "OutputMismatch"


def test_sybil_invisible_setup_and_skips_end_to_end(write, check_json):
    write("a.md", "<!--- invisible-code-block: python\nbase = 40\n--->\n\n"
          + block("assert base + 2 == 42") + "<!-- skip: next -->\n" + block("1/0"))
    code, report = check_json("a.md")
    assert code == 0, report
    assert [e["status"] for e in report["examples"]] == ["passed", "passed", "skipped"]
    assert report["examples"][2]["marker"] == "<!-- skip: next -->"


def test_pytest_examples_markers_end_to_end(write, check_json):
    write("a.md",
          '```py test="xfail - not implemented"\nraise NotImplementedError\n```\n\n'
          '```py test="xfail"\nx = 1\n```\n\n'
          '```py test="no-print-intercept"\nprint(1)\n#> 2\n```\n\n'
          '```py requires="99.0"\n1/0\n```\n')
    code, report = check_json("a.md", "--dialect", "mkdocs")
    ex = report["examples"]
    assert [e["status"] for e in ex] == ["passed", "failed", "passed", "skipped"]
    assert "failed as expected (not implemented): NotImplementedError" in ex[0]["reason"]
    assert ex[1]["reason"] == "unexpected pass"
    assert ex[1]["error"]["type"] == "UnexpectedPass"
    assert ex[3]["reason"].startswith("requires Python 99.0")
    assert code == 1


@pytest.mark.parametrize("ending", ["import os\nos._exit(1)", "import time\ntime.sleep(5)"])
def test_an_expected_failure_may_not_end_the_session(ending: str, write, check_json):
    # Were a crash or a timeout "the expected failure", the blocks after it could not run and
    # would be reported as skipped: broken blocks hidden, exit 0.
    write("a.md", f'{FENCE}python test="xfail"\n{ending}\n{FENCE}\n\n'
          + block("raise RuntimeError('this block is broken')"))
    write("docvalidate.toml", "timeout = 1\n")
    code, report = check_json("a.md")
    first, second = report["examples"]
    assert code == 1
    assert first["status"] == "failed" and "must not end the session" in first["reason"]
    assert second["status"] == "skipped"


def test_one_event_loop_per_session(write, check_json):
    # As in Jupyter: a task started in one block is still alive, and runs, in the next.
    first = ("import asyncio\nticks = []\n\nasync def tick():\n    for i in range(3):\n"
             "        ticks.append(i)\n        await asyncio.sleep(0)\n\n"
             "task = asyncio.create_task(tick())\nawait asyncio.sleep(0)")
    second = ("await task\nassert ticks == [0, 1, 2], ticks\n"
              "assert asyncio.get_event_loop() is task.get_loop()")
    third = "async def later():\n    return len(ticks)\n\nassert asyncio.run(later()) == 3"
    fourth = "await asyncio.sleep(0)\nassert not task.cancelled()"
    write("a.md", block(first) + block(second) + block(third) + block(fourth))
    code, report = check_json("a.md")
    assert [e["status"] for e in report["examples"]] == ["passed"] * 4, report
    assert code == 0


def test_blocks_of_other_sessions_get_their_own_loop(write, check_json):
    write("a.md", block("import asyncio\nloop_id = id(asyncio.get_running_loop())\n"
                        "await asyncio.sleep(0)")
          + block("import asyncio\nprint(loop_id)", "isolated"))
    _, report = check_json("a.md")
    assert report["examples"][1]["error"]["type"] == "NameError"


def test_cancel_stops_what_runs_and_the_backend_stays_usable(write, project):
    # A long-lived owner (the `mkdocs serve` plugin) cancels a run and keeps its backend.
    import threading

    from docvalidate.config import load_config
    from docvalidate.engine import backend, check

    write("slow.md", block("import time\ntime.sleep(60)"))
    write("ok.md", block("x = 1\nprint(x)"))
    config = load_config(start=project)
    with backend(config) as made:
        timer = threading.Timer(2.0, made[0].cancel)
        timer.start()
        try:
            stopped = check(config, ("slow.md",), made=made)
        finally:
            timer.cancel()
        (outcome,) = stopped.outcomes
        assert outcome.result.error is not None
        assert outcome.result.error.type == "Cancelled"
        again = check(config, ("ok.md",), made=made)
        assert [o.result.status for o in again.outcomes] == ["passed"]
        assert again.outcomes[0].result.stdout == "1\n"


def test_fix_runs_check_repairs_and_final_check_through_one_backend(write, project,
                                                                     monkeypatch):
    from docvalidate import engine
    from docvalidate.config import load_config
    from docvalidate.fixing import fix

    made: list[object] = []
    real = engine.make_backend

    def counted(config):
        made.append(config)
        return real(config)

    monkeypatch.setattr(engine, "make_backend", counted)
    write("a.md", block("print(1 + 1)\n#> 3"))
    report = fix(load_config(start=project), ("a.md",), update_output=True)
    assert report.repairs and report.repairs[0].status == "fixed"
    assert report.final.count("passed") == 1
    assert len(made) == 1


def test_a_kept_backend_sees_the_project_as_it_is_now(write, project):
    # `mkdocs serve`: the same backend across rebuilds, the project edited in between.
    from docvalidate.config import load_config
    from docvalidate.engine import backend, check

    write("data.txt", "one")
    write("a.md", block("print(open('data.txt').read())"))
    config = load_config(start=project)
    with backend(config) as made:
        first = check(config, ("a.md",), made=made)
        write("data.txt", "two")
        second = check(config, ("a.md",), made=made)
    assert [o.result.stdout for o in (*first.outcomes, *second.outcomes)] == ["one\n", "two\n"]
