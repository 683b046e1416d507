"""The worker protocol: verdicts come only from docvalidate. An example that writes into every
file descriptor it can find, forks, or runs other programs cannot change another block's
verdict, move a deadline, or grow docvalidate's memory. Each attack runs at both isolation
levels."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ISOLATIONS, block, run_examples

from docvalidate.protocol import running_line

both = pytest.mark.parametrize("isolation", ISOLATIONS)


def forged(index: int, nonce: str = "0" * 32) -> str:
    """A "passed" answer for block ``index``, as the worker would write it."""
    return json.dumps({"t": "end", "b": index, "n": nonce, "error": None, "stdout": "",
                       "stderr": "", "stdout_dropped": 0, "stderr_dropped": 0, "prints": [],
                       "statements": [], "detail_dropped": 0}) + "\n"


# Finds the worker's result channel (the one socket it holds) as ``channel``: an example that
# looks for it finds it, whatever the worker shows in sys.argv.
CHANNEL = ("import os\ndef _channel():\n    for f in os.listdir('/proc/self/fd'):\n"
           "        try:\n            if os.readlink('/proc/self/fd/' + f).startswith('socket:'):\n"
           "                return int(f)\n        except OSError:\n            pass\n"
           "channel = _channel()\n")


# Writes its argument to every file descriptor the process has (``but``: except that one).
EVERY_FD = ("import os\ndef everywhere(data, but=None):\n    for fd in range(3, 256):\n"
            "        try:\n            if fd != but:\n                os.write(fd, data)\n"
            "        except OSError:\n            pass\n")


@both
def test_forged_passes_for_itself_and_later_blocks(isolation: str, isolate, write, check_json):
    isolate(isolation)
    lies = "".join(forged(i) for i in range(4))
    write("a.md", block(EVERY_FD + f"everywhere({lies!r}.encode())\n"
                        "raise ValueError('the real outcome')")
          + block("raise ValueError('must not pass')")
          + block("print('next session')", "isolated"))
    first, second, other = run_examples(check_json, "a.md")
    assert first["status"] == "failed"
    assert first["error"]["type"] in ("WorkerError", "ValueError"), first["error"]
    assert second["status"] != "passed"
    assert other["status"] == "passed"


@both
def test_forged_answer_from_a_child_process_is_refused(isolation: str, isolate, write,
                                                       check_json):
    isolate(isolation)
    # The child steals the next block's instructions from the channel (nonce included) and
    # answers in the worker's place, with a pass.
    thief = (
        CHANNEL + "import json, os, sys, time\nfd = channel\n"
        "if os.fork() == 0:\n"
        "    data = b''\n"
        "    while b'\\n' not in data:\n        data += os.read(fd, 1 << 20)\n"
        "    order = json.loads(data.split(b'\\n')[0])\n"
        f"    answer = json.loads({forged(0)!r})\n"
        "    answer.update(b=order['b'], n=order['n'])\n"
        "    os.write(fd, (json.dumps(answer) + '\\n').encode())\n"
        "    time.sleep(30)\n    os._exit(0)\n"
        "time.sleep(0.2)\n"
    )
    write("a.md", block(thief) + block("raise ValueError('must not pass')", "timeout=5")
          + block("print('next session')", "isolated"))
    first, second, other = run_examples(check_json, "a.md")
    assert first["status"] == "passed", first["error"]
    # Whoever reads the instructions first: the worker (the real outcome), or the child,
    # whose answer is refused (it is not the worker).
    assert second["status"] == "failed", second
    assert second["error"]["type"] in ("WorkerError", "ValueError"), second["error"]
    if second["error"]["type"] == "WorkerError":
        assert "wrote into it" in second["error"]["message"]
    assert other["status"] == "passed"


@both
def test_programs_an_example_runs_never_get_the_channel(isolation: str, isolate, write,
                                                        check_json):
    isolate(isolation)
    lies = forged(1).strip().replace('"', '\\"')
    write("a.md", block(
        "import subprocess\nsubprocess.run(['sh', '-c', 'for fd in 3 4 5 6 7 8 9 10 11 12; do "
        f"echo \"{lies}\" >&$fd; done'], stderr=subprocess.DEVNULL)")
        + block("raise ValueError('the real outcome')"))
    first, second = run_examples(check_json, "a.md")
    assert first["status"] == "passed", first["error"]
    assert second["status"] == "failed" and second["error"]["type"] == "ValueError"


@both
@pytest.mark.parametrize("newline", [True, False])
def test_writing_to_the_channel_does_not_move_the_deadline(isolation: str, newline: bool,
                                                           isolate, write, check_json):
    isolate(isolation)
    spam = json.dumps({"t": "start", "b": 0}) + ("\n" if newline else "")
    write("a.md", block(
        EVERY_FD + "import threading, time\n"
        "def spam():\n    while True:\n"
        f"        everywhere({spam!r}.encode())\n        time.sleep(0.05)\n"
        "threading.Thread(target=spam, daemon=True).start()\ntime.sleep(3600)", "timeout=1"))
    started = time.monotonic()
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "failed"
    # A whole line is caught at once; bytes without a newline leave the deadline where it was.
    assert ex["error"]["type"] == ("WorkerError" if newline else "Timeout"), ex["error"]
    assert time.monotonic() - started < 15


@both
def test_a_huge_line_does_not_grow_docvalidate(isolation: str, isolate, write, project: Path):
    isolate(isolation)
    write("a.md", block(EVERY_FD + "chunk = b'x' * (16 * 1024 * 1024)\n"
                        "for _ in range(25):\n    everywhere(chunk)\n", "timeout=60")
          + block("print('next session')", "isolated"))
    proc = subprocess.Popen([sys.executable, "-m", "docvalidate", "check", "--format", "json",
                             "a.md"], stdout=subprocess.PIPE, cwd=project)
    started = time.monotonic()
    peak, output = _peak_rss(proc)
    elapsed = time.monotonic() - started
    first, other = json.loads(output)["examples"]
    assert first["status"] == "failed" and first["error"]["type"] == "WorkerError", first
    assert "corrupted" in first["error"]["message"]
    assert other["status"] == "passed"
    # 400 MB were written; docvalidate keeps at most one capped answer (22 MiB by default).
    assert peak < 200 * 1024 * 1024, peak
    assert elapsed < 30


@both
def test_a_forged_stack_dump_does_not_move_a_timeout(isolation: str, isolate, write,
                                                     check_json):
    isolate(isolation)
    dump = ('Current thread 0x00007f (most recent call first):\n'
            '  File "a.md", line 99 in <module>\n')
    # Everywhere but the result channel (a dump there is caught as a corrupted channel).
    spoof = CHANNEL + f"import sys\neverywhere({dump!r}.encode(), but=channel)\n"
    doc = write("a.md", block(EVERY_FD + spoof + "print('done')")
                + block(EVERY_FD + spoof + "import time\ntime.sleep(3600)", "timeout=1"))
    sleep = doc.read_text().splitlines().index("time.sleep(3600)") + 1
    first, second = run_examples(check_json, "a.md")
    assert first["status"] == "passed", first["error"]
    assert second["error"]["type"] == "Timeout"
    assert second["error"]["line"] == sleep  # the line really running, not line 99


@both
def test_crashes_and_closed_channels(isolation: str, isolate, write, check_json):
    isolate(isolation)
    write("a.md",
          block(CHANNEL + "import os, sys\nos.write(channel, b'garbage\\n')")
          + block("print('after garbage, same session')")
          + block("import os\nos._exit(0)", "isolated")
          + block("import sys\nsys.stdout = None\nprint('lost')", "isolated")
          + block(CHANNEL + "import sys, os\nos.close(channel)\nprint('closed')", "isolated")
          + block("print('still running')", "isolated"))
    garbage, after, exited, no_stdout, closed, last = run_examples(check_json, "a.md")
    assert garbage["error"]["type"] == "WorkerError"
    assert "corrupted" in garbage["error"]["message"]
    assert after["status"] == "skipped" and "aborted" in after["reason"]
    assert exited["error"]["type"] == "WorkerCrashed" and "code 0" in exited["error"]["message"]
    assert no_stdout["status"] == "passed"
    assert closed["status"] == "failed"
    assert last["status"] == "passed"


def test_running_line_prefers_the_main_thread():
    dump = ("Thread 0x00007f01 (most recent call first):\n"
            '  File "a.md", line 40 in spam\n'
            "  File \"/usr/lib/python3.11/threading.py\", line 975 in run\n\n"
            "Current thread 0x00007f02 (most recent call first):\n"
            '  File "a.md", line 12 in <module>\n'
            '  File "/x/docvalidate/backends/worker.py", line 200 in _run\n')
    assert running_line(dump, ["a.md"]) == ("a.md", 12)
    assert running_line("garbage", ["a.md"]) is None


@both
def test_a_deeply_nested_answer_is_refused(isolation: str, isolate, write, check_json):
    isolate(isolation)
    write("a.md", block(CHANNEL + "import os, sys\nos.write(channel, b'[' * 100000 + b'\\n')"))
    write("b.md", block("raise ValueError('this other page fails')"))
    _, report = check_json("a.md", "b.md")
    first, other = report["examples"]
    assert first["status"] == "failed" and first["error"]["type"] == "WorkerError"
    assert other["error"]["type"] == "ValueError"  # the run went on


@both
def test_a_stopped_worker_does_not_hang_docvalidate(isolation: str, isolate, write,
                                                    check_json):
    isolate(isolation)
    # The worker stops reading once this block is over (as if stopped with SIGSTOP), and the
    # next block is too big for the socket's buffer (the page is 5 MB): sending it must time
    # out, not block for ever.
    stopper = (
        "import gc, time\nfor thing in gc.get_objects():\n"
        "    if type(thing).__name__ == '_Channel':\n"
        "        type(thing).receive = lambda self: time.sleep(3600)\n")
    filler = ("#" * 99 + "\n") * 50_000
    write("a.md", block(stopper, "timeout=2") + filler
          + block("raise RuntimeError('never reported')", "timeout=2"))
    started = time.monotonic()
    first, second = run_examples(check_json, "a.md")
    assert first["status"] == "passed", first["error"]
    assert second["status"] == "failed" and second["error"]["type"] == "Timeout"
    assert time.monotonic() - started < 120  # not for ever (the block limit is 2 s)


@both
@pytest.mark.parametrize("module", ["linecache", "traceback", "tokenize"])
def test_project_modules_named_like_the_standard_library_do_not_report_for_it(
        module: str, isolation: str, isolate, write, check_json):
    isolate(isolation)
    # A pull request adds one file: modules the worker imports to describe a failure.
    write(f"{module}.py", "def format_exception(*a, **k):\n    return []\n"
          "def format_exception_only(*a, **k):\n    return []\n"
          "def getline(*a, **k):\n    return ''\n"
          "import sys\nsys.modules[__name__].__dict__.update(globals())\n")
    write("a.md", block("raise ValueError('still a failure')")
          + block(f"import {module}\nraise KeyError('after importing the project\\'s "
                  f"{module}')", "isolated"))
    first, second = run_examples(check_json, "a.md")
    assert first["error"]["type"] == "ValueError"
    assert "still a failure" in first["error"]["traceback"]
    assert second["error"]["type"] == "KeyError"
    assert "Traceback" in second["error"]["traceback"]


@both
@pytest.mark.parametrize("replaced", ["exec", "eval", "compile"])
def test_replacing_builtins_does_not_pass_later_blocks(replaced: str, isolation: str, isolate,
                                                      write, check_json):
    isolate(isolation)
    write("a.md", block(f"import builtins\nbuiltins.{replaced} = lambda *a, **k: None")
          + block("raise RuntimeError('this block is broken')")
          + block("async def f():\n    raise RuntimeError('so is this one')\nawait f()"))
    _, broken, coroutine = run_examples(check_json, "a.md")
    # The worker runs them with what it took at start: they fail as written. (Importing a
    # module afterwards uses the replaced compile(), which may crash the session: a failure,
    # never a pass.)
    assert broken["status"] == "failed"
    assert broken["error"]["type"] in ("RuntimeError", "WorkerCrashed"), broken["error"]
    assert coroutine["status"] != "passed"


@both
def test_an_answer_of_millions_of_values_does_not_grow_docvalidate(isolation: str, isolate,
                                                                    write, project: Path):
    isolate(isolation)
    write("a.md", block(CHANNEL + "import os, sys\n"
                        "line = b'[' + b'[],' * (7 * 1024 * 1024) + b'[]]\\n'\n"
                        "view = memoryview(line)\nwhile view:\n"
                        "    view = view[os.write(channel, view):]"))
    proc = subprocess.Popen([sys.executable, "-m", "docvalidate", "check", "--format", "json",
                             "a.md"], stdout=subprocess.PIPE, cwd=project)
    peak, output = _peak_rss(proc)
    (ex,) = json.loads(output)["examples"]
    assert ex["error"]["type"] == "WorkerError" and "too many values" in ex["error"]["message"]
    assert peak < 250 * 1024 * 1024, peak


def _peak_rss(proc: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    """The largest resident size of ``proc`` seen while it runs, and its output."""
    peak = 0
    output: list[bytes] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read()))  # type: ignore
    reader.start()
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                peak = max(peak, int(line.split()[1]) * 1024)
        time.sleep(0.02)
    reader.join()
    proc.wait()
    return peak, output[0]
