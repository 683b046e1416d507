"""The local sandbox (bubblewrap) and the resource limits: hostile examples are contained,
reported, and the host is left as it was. CI installs bubblewrap (.ci/run)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import invoke

from docvalidate.engine import bwrap_status


def find_bwrap() -> str | None:
    return bwrap_status().path

needs_bwrap = pytest.mark.skipif(
    find_bwrap() is None, reason="bubblewrap is not installed or cannot create namespaces here "
    "(.ci/run installs it)")
# What only the sandbox can hold: run with isolation = "process", each such test is reported
# as skipped with this reason rather than silently left out.
sandbox_only = pytest.mark.parametrize("isolation", [
    "sandbox",
    pytest.param("process", marks=pytest.mark.skip(
        reason="cannot hold with isolation = process: a plain child process shares the "
        "network, the filesystem and the process tree with docvalidate")),
])
FENCE = "```"


def block(code: str, directive: str = "") -> str:
    head = f"<!-- docvalidate: {directive} -->\n" if directive else ""
    return f"{head}{FENCE}python\n{code}\n{FENCE}\n\n"


def run(check_json, *args: str) -> list[dict]:
    _, report = check_json(*args)
    return report["examples"]


@needs_bwrap
@sandbox_only
def test_no_network_not_even_loopback(isolation: str, write, check_json):
    accepted: list[object] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        write("a.md", block(f"import socket\ns = socket.socket()\ns.settimeout(2)\n"
                            f"s.connect(('127.0.0.1', {port}))")
              + block("import socket\nsocket.getaddrinfo('example.com', 80)"))
        connect, resolve = run(check_json, "a.md")
    finally:
        stop.set()
        thread.join()
        server.close()
    assert connect["status"] == "failed" and "Error" in connect["error"]["type"]
    assert resolve["status"] == "failed" and resolve["error"]["type"] == "gaierror"
    assert accepted == []  # the server never saw a connection


@needs_bwrap
def test_network_can_be_allowed(write, check_json):
    write("docvalidate.toml", "network = true\n")
    write("a.md", block("import socket\nsocket.socket().close()\n"
                        "print(socket.gethostname())"))
    (ex,) = run(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]


@needs_bwrap
@sandbox_only
def test_files_outside_the_project_are_hidden(isolation: str, tmp_path: Path, write,
                                              check_json, monkeypatch):
    home = tmp_path.parent / f"{tmp_path.name}-home"
    home.mkdir()
    (home / "secret.txt").write_text("s3cret")
    monkeypatch.setenv("HOME", str(home))
    write("data.txt", "project data")
    write("docs/a.md", block(f"try:\n    open({str(home / 'secret.txt')!r}).read()\n"
                             "    leaked = True\nexcept OSError:\n    leaked = False\n"
                             "assert not leaked\nassert open('data.txt').read() == 'project data'"))
    (ex,) = run(check_json, "docs/a.md")
    assert ex["status"] == "passed", ex["error"]


@needs_bwrap
@sandbox_only
def test_parent_environment_is_not_readable(isolation: str, write, check_json, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    write("a.md", block("import os\nfor pid in os.listdir('/proc'):\n    if pid.isdigit():\n"
                        "        try:\n            data = open(f'/proc/{pid}/environ', 'rb').read()"
                        "\n        except OSError:\n            continue\n"
                        "        assert b'sk-do-not-leak' not in data, pid"))
    (ex,) = run(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]


@needs_bwrap
@sandbox_only
def test_writes_outside_scratch_do_not_reach_the_host(isolation: str, project: Path, write,
                                                      check_json):
    doc = write("docs/a.md", "")
    marker = f"docvalidate-escape-{uuid.uuid4().hex}"
    home = Path.home()
    code = (
        "import pathlib\nfailures = 0\n"
        f"for target in [{str(doc)!r}, {str(project / 'new.txt')!r}]:\n"
        "    try:\n        open(target, 'a').write('pwned')\n    except OSError:\n"
        "        failures += 1\n"
        "assert failures == 2\n"
        f"pathlib.Path('/tmp/{marker}').write_text('x')\n"
        f"try:\n    pathlib.Path({str(home / marker)!r}).write_text('x')\nexcept OSError:\n"
        "    pass\n"
    )
    text = block(code)
    doc.write_text(text)
    (ex,) = run(check_json, "docs/a.md")
    assert ex["status"] == "passed", ex["error"]
    assert doc.read_text() == text
    assert not (project / "new.txt").exists()
    assert not Path(f"/tmp/{marker}").exists()
    assert not (home / marker).exists()


@needs_bwrap
@sandbox_only
def test_killing_the_parent_is_contained(isolation: str, write, check_json):
    write("a.md", block("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
                        "import time\ntime.sleep(1)") + block("print('next')", "isolated"))
    # The example's parent is the sandbox's init, which ignores the signal; either way
    # docvalidate (this very process) survives, reports the block and runs the next session.
    first, second = run(check_json, "a.md")
    assert first["status"] in ("passed", "failed")
    assert second["status"] == "passed"


def test_fallback_without_bubblewrap(write, monkeypatch, tmp_path: Path):
    empty = tmp_path / "no-bwrap-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    find_bwrap.cache_clear()
    try:
        write("a.md", block("print('still runs')"))
        result = invoke("check", "a.md")
    finally:
        find_bwrap.cache_clear()
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "bubblewrap" in warnings[0] and "apt-get install bubblewrap" in warnings[0]


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
@pytest.mark.parametrize(("config", "code", "kind"), [
    ("limit_memory_mb = 256", "blocks = []\nfor _ in range(64):\n"
     "    blocks.append(bytearray(128 * 1024 * 1024))", "MemoryLimit"),
    ("limit_file_size_mb = 1", "open('big.bin', 'wb').write(b'x' * (4 * 1024 * 1024))",
     "FileSizeLimit"),
    ("limit_open_files = 32", "files = [open('f%d' % i, 'w') for i in range(100)]",
     "OpenFilesLimit"),
    ("limit_cpu_seconds = 1", "while True:\n    pass", "CPULimit"),
])
def test_limits(write, check_json, isolation: str, config: str, code: str, kind: str):
    if isolation == "sandbox" and find_bwrap() is None:
        pytest.skip("bubblewrap is not available here (.ci/run installs it)")
    write("docvalidate.toml", f'{config}\nisolation = "{isolation}"\n')
    write("a.md", block(code, "timeout=20") + block("print('next session')", "isolated"))
    first, second = run(check_json, "a.md")
    assert first["status"] == "failed"
    assert first["error"]["type"] == kind, first["error"]
    assert "config limit_" in first["error"]["message"]
    assert second["status"] == "passed"


# --- hostile examples that must hold in both isolation levels where the machine allows ---


def _isolation(write, isolation: str) -> None:
    if isolation == "sandbox" and find_bwrap() is None:
        pytest.skip("bubblewrap is not available here (.ci/run installs it)")
    if isolation == "process":
        from docvalidate.backends.cgroup import PidsCgroup

        probe = PidsCgroup.create(8)
        if probe is None:
            pytest.skip("without a pids cgroup (root), plain processes cannot be tracked")
        probe.remove()
    write("docvalidate.toml", f'isolation = "{isolation}"\n')


def _alive(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
def test_fork_bomb_is_capped_and_cleaned_up(write, check_json, isolation: str):
    _isolation(write, isolation)
    marker = f"3599.{uuid.uuid4().int % 10**9}"
    write("a.md", block(
        "import os\nfor _ in range(3000):\n    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '{marker}'])", "timeout=20")
        + block("print('next')", "isolated"))
    first, second = run(check_json, "a.md")
    assert first["status"] == "failed"
    assert first["error"]["type"] == "ProcessLimit", first["error"]
    assert second["status"] == "passed"
    assert _alive(marker) == []


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
def test_detached_processes_do_not_outlive_the_session(write, check_json, isolation: str):
    _isolation(write, isolation)
    marker = f"3598.{uuid.uuid4().int % 10**9}"
    write("a.md", block(
        "import os, subprocess\n"
        f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '{marker}'])\n    os._exit(0)\n"
        "os.wait()"))
    (ex,) = run(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]
    assert _alive(marker) == []


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
def test_printing_a_gigabyte(write, check_json, isolation: str):
    _isolation(write, isolation)
    write("a.md", block("chunk = 'x' * (1024 * 1024)\nfor _ in range(1024):\n    print(chunk)")
          + block("print('next')"))
    first, second = run(check_json, "a.md")
    assert first["error"]["type"] == "OutputLimit"
    assert len(first["stdout"]) <= 1024 * 1024 and first["stdout_dropped"] > 0
    assert second["status"] == "passed"


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
def test_corrupting_the_result_channel(write, check_json, isolation: str):
    _isolation(write, isolation)
    write("a.md",
          block("import os, sys\nos.write(int(sys.argv[1]), b'garbage\\n')")
          + block("print('after garbage, same session')")
          + block("import os\nos._exit(0)", "isolated")
          + block("import sys\nsys.stdout = None\nprint('lost')", "isolated")
          + block("import sys, os\nos.close(int(sys.argv[1]))\nprint('closed')", "isolated")
          + block("print('still running')", "isolated"))
    garbage, after, exited, no_stdout, closed, last = run(check_json, "a.md")
    assert garbage["error"]["type"] == "WorkerError"
    assert "corrupted" in garbage["error"]["message"]
    assert after["status"] == "skipped" and "aborted" in after["reason"]
    assert exited["error"]["type"] == "WorkerCrashed" and "code 0" in exited["error"]["message"]
    assert no_stdout["status"] == "passed"
    assert closed["status"] == "failed"
    assert last["status"] == "passed"


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
def test_sleeping_forever_times_out(write, check_json, isolation: str):
    _isolation(write, isolation)
    write("a.md", block("import time\ntime.sleep(3600)", "timeout=1"))
    (ex,) = run(check_json, "a.md")
    assert ex["error"]["type"] == "Timeout" and ex["error"]["line"] == 4  # the sleep


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
def test_writing_a_two_gigabyte_file(write, check_json, isolation: str):
    _isolation(write, isolation)
    write("a.md", block("chunk = b'x' * (16 * 1024 * 1024)\nwith open('big.bin', 'wb') as f:\n"
                        "    for _ in range(128):\n        f.write(chunk)")
          + block("import os\nprint(os.path.getsize('big.bin'))"))
    first, second = run(check_json, "a.md")
    assert first["error"]["type"] == "FileSizeLimit", first["error"]
    assert "64 MiB" in first["error"]["message"]
    assert int(second["stdout"]) <= 64 * 1024 * 1024  # the default limit held


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="this path is for docvalidate running as root")
def test_root_without_a_pids_cgroup_runs_examples_unprivileged(project: Path, write,
                                                                check_json, monkeypatch):
    from docvalidate.backends import cgroup

    monkeypatch.setattr(cgroup.PidsCgroup, "create", classmethod(lambda cls, limit: None))
    project.chmod(0o755)  # the examples' user must be able to read the project
    write("data.txt", "readable")
    marker = f"3597.{uuid.uuid4().int % 10**9}"
    write("a.md", block("import os\nassert os.getuid() == 65534, os.getuid()\n"
                        "assert open('data.txt').read() == 'readable'\n"
                        "open('out.txt', 'w').write('scratch is writable')")
          + block("import os\nfor _ in range(3000):\n    if os.fork() == 0:\n"
                  f"        os.execv('/bin/sleep', ['sleep', '{marker}'])", "timeout=20")
          + block("print('next')", "isolated"))
    first, bomb, last = run(check_json, "a.md")
    assert first["status"] == "passed", first["error"]
    assert bomb["error"]["type"] == "ProcessLimit", bomb["error"]
    assert last["status"] == "passed"
    # Without a cgroup the kernel ends them when the sandbox's PID namespace goes away, which
    # it finishes asynchronously: allow it a few seconds.
    deadline = time.monotonic() + 10
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(marker) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="this path is for docvalidate running as root")
def test_root_without_a_pids_cgroup_in_process_mode(project: Path, write, monkeypatch):
    from docvalidate.backends import cgroup
    from docvalidate.backends.sandbox import interpreter_paths, readable_by_others

    system = "/usr/bin/python3"
    if not os.path.exists(system) or readable_by_others(interpreter_paths(system)):
        pytest.skip("needs a system interpreter readable by every user")
    monkeypatch.setattr(cgroup.PidsCgroup, "create", classmethod(lambda cls, limit: None))
    project.chmod(0o755)
    write("docvalidate.toml", f'isolation = "process"\npython = "{system}"\n')
    write("a.md", block("import os\nassert os.getuid() == 65534, os.getuid()")
          + block("import os, time\npids = []\nfor _ in range(3000):\n    pid = os.fork()\n"
                  "    if pid == 0:\n        time.sleep(5)\n        os._exit(0)\n"
                  "    pids.append(pid)", "timeout=20"))
    result = invoke("check", "--format", "json", "a.md")
    first, bomb = json.loads(result.stdout)["examples"]
    assert first["status"] == "passed", first["error"]
    assert bomb["error"]["type"] == "ProcessLimit", bomb["error"]
    # An interpreter that other users cannot read: examples stay root, and a notice says the
    # process limit is not enforced.
    write("docvalidate.toml", 'isolation = "process"\n')
    result = invoke("check", "a.md")
    assert "process limit is not enforced" in result.stderr
    assert "not readable by other users" in result.stderr
