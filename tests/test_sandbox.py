"""The local sandbox (bubblewrap), plain processes, and the resource limits: hostile examples
are contained, reported, and the host is left as it was. Tests that hold at both isolation
levels run at both; the ones only the sandbox can hold say why they are skipped for plain
processes. CI runs them as root, as CI containers do; tests/test_unprivileged.py runs the ones
whose behaviour differs as an ordinary user. CI installs bubblewrap (.ci/run)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import ISOLATIONS, block, gone, invoke, run_examples

from docvalidate.engine import bwrap_status

# What only the sandbox can hold: with isolation = "process", each such test is reported as
# skipped with this reason rather than silently left out.
sandbox_only = pytest.mark.parametrize("isolation", [
    "sandbox",
    pytest.param("process", marks=pytest.mark.skip(
        reason="cannot hold with isolation = process: a plain child process shares the "
        "network, the filesystem and the host's sockets with docvalidate")),
])
both = pytest.mark.parametrize("isolation", ISOLATIONS)


# --- privileges ---------------------------------------------------------------------------

STATUS = """
import os
status = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines())
def caps(name):
    return int(status[name].strip(), 16)
assert os.getuid() != 0 and os.geteuid() != 0, os.getuid()
assert os.getgid() != 0 and os.getegid() != 0, os.getgid()
assert 0 not in os.getgroups(), os.getgroups()
assert caps('CapEff') == 0 and caps('CapPrm') == 0 and caps('CapAmb') == 0, status
assert status['NoNewPrivs'].strip() == '1', status['NoNewPrivs']
print(os.getuid())
print(' '.join(open('/proc/self/uid_map').read().split()))
"""


@both
def test_examples_run_unprivileged(isolation: str, isolate, write, check_json):
    isolate(isolation)
    write("a.md", block(STATUS))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]
    uid, uid_map = ex["stdout"].splitlines()
    if os.geteuid() == 0:
        # No user namespace (the initial map): the uid seen is the host's, one of docvalidate's
        # own session users, never mapped to host root.
        assert int(uid) >= 2_000_000_000
        assert uid_map == "0 0 4294967295"
    else:
        assert int(uid) == os.getuid()


@both
def test_sessions_running_at_once_have_users_of_their_own(isolation: str, isolate, write,
                                                          check_json):
    if os.geteuid() != 0:
        pytest.skip("only as root do sessions get users of their own")
    isolate(isolation, "jobs = 2")
    for name in ("a", "b"):
        write(f"{name}.md", block("import os, time\ntime.sleep(0.5)\nprint(os.getuid())"))
    first, second = run_examples(check_json, "a.md", "b.md")
    assert first["status"] == second["status"] == "passed"
    assert first["stdout"] != second["stdout"]


@sandbox_only
def test_example_cannot_remount_unmount_or_mount(isolation: str, isolate, write, check_json):
    isolate(isolation)
    write("a.md", block(
        "import ctypes, errno, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "MS_RDONLY, MS_REMOUNT, MS_BIND, MNT_DETACH = 1, 32, 4096, 2\n"
        "def refused(result):\n    return result == -1 and ctypes.get_errno() in "
        "(errno.EPERM, errno.EACCES)\n"
        "assert refused(libc.mount(None, b'/', None, MS_REMOUNT | MS_BIND, None))\n"
        "assert refused(libc.mount(None, b'/usr', None, MS_REMOUNT | MS_BIND, None))\n"
        "assert refused(libc.umount2(b'/tmp', MNT_DETACH))\n"
        "assert refused(libc.umount2(b'/usr', MNT_DETACH))\n"
        "assert refused(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\n"
        "for target in ('/usr/docvalidate-pwned', '/etc/docvalidate-pwned'):\n"
        "    try:\n        open(target, 'w')\n    except OSError:\n        pass\n"
        "    else:\n        raise AssertionError(target)"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]
    assert not Path("/usr/docvalidate-pwned").exists()
    assert not Path("/etc/docvalidate-pwned").exists()


@both
def test_example_cannot_leave_its_cgroup(isolation: str, isolate, write, check_json):
    from docvalidate.backends.cgroup import ThreadCgroups

    if not ThreadCgroups(8).available:
        pytest.skip("docvalidate cannot make cgroups here")
    isolate(isolation)
    write("a.md", block(
        "import glob, os\nmoved = []\n"
        "for name in glob.glob('/sys/fs/cgroup/**/cgroup.procs', recursive=True)"
        " + glob.glob('/sys/fs/cgroup/**/tasks', recursive=True):\n"
        "    try:\n        open(name, 'w').write(str(os.getpid()))\n        moved.append(name)\n"
        "    except OSError:\n        pass\nassert moved == [], moved"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]


@both
def test_examples_cannot_make_user_namespaces(isolation: str, isolate, write, check_json):
    isolate(isolation)
    write("a.md", block(
        "import ctypes, errno, os, subprocess, threading\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "assert libc.unshare(0x10000000) == -1 and ctypes.get_errno() == errno.EPERM\n"
        "done = subprocess.run(['unshare', '--user', 'true'], capture_output=True)\n"
        "assert done.returncode != 0, done\n"
        "# Threads, forks and programs still work (clone3 falls back to clone).\n"
        "t = threading.Thread(target=print, args=('thread',))\nt.start()\nt.join()\n"
        "pid = os.fork()\nif pid == 0:\n    os._exit(7)\n"
        "assert os.waitpid(pid, 0)[1] >> 8 == 7\n"
        "assert subprocess.run(['true']).returncode == 0"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]


# --- what the sandbox shows --------------------------------------------------------------


@pytest.fixture
def host_sockets(tmp_path: Path):
    """Unix sockets anyone may connect to, where hosts keep theirs (/run, /tmp) and in the
    abstract namespace; yields their names and the list of connections they saw."""
    name = uuid.uuid4().hex[:12]
    paths = [Path(f"/run/docvalidate-test-{name}.sock"), Path(f"/tmp/docvalidate-{name}.sock")]
    servers = []
    for path in paths:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        path.chmod(0o777)
        servers.append(server)
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(f"\0docvalidate-test-{name}")
    servers.append(abstract)
    accepted: list[object] = []
    stop = threading.Event()

    def serve(server: socket.socket) -> None:
        server.listen(5)
        server.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept())

    threads = [threading.Thread(target=serve, args=(s,), daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield [str(p) for p in paths] + [f"\0docvalidate-test-{name}"], accepted
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for server in servers:
            server.close()
        for path in paths:
            path.unlink(missing_ok=True)


@sandbox_only
def test_host_unix_sockets_are_unreachable(isolation: str, isolate, write, check_json,
                                           host_sockets):
    targets, accepted = host_sockets
    isolate(isolation)
    write("a.md", block(
        "import socket\nreached = []\n"
        f"for target in {targets!r}:\n"
        "    s = socket.socket(socket.AF_UNIX)\n    s.settimeout(2)\n"
        "    try:\n        s.connect(target)\n        reached.append(target)\n"
        "    except OSError:\n        pass\nassert reached == [], reached\n"
        "import os\nassert not os.path.exists('/var/run/docker.sock')\n"
        "assert os.listdir('/run') == []\n"
        f"assert not any(os.path.exists(t) for t in {targets[:2]!r})"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]
    assert accepted == []


@sandbox_only
def test_no_network_not_even_loopback(isolation: str, isolate, write, check_json):
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
    isolate(isolation)
    try:
        write("a.md", block(f"import socket\ns = socket.socket()\ns.settimeout(2)\n"
                            f"s.connect(('127.0.0.1', {port}))")
              + block("import socket\nsocket.getaddrinfo('example.com', 80)"))
        connect, resolve = run_examples(check_json, "a.md")
    finally:
        stop.set()
        thread.join()
        server.close()
    assert connect["status"] == "failed" and "Error" in connect["error"]["type"]
    assert resolve["status"] == "failed" and resolve["error"]["type"] == "gaierror"
    assert accepted == []  # the server never saw a connection


def test_network_can_be_allowed(isolate, write, check_json):
    isolate("sandbox", "network = true")
    write("a.md", block("import socket\nsocket.socket().close()\n"
                        "print(socket.gethostname())"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]


@sandbox_only
def test_files_outside_the_project_are_hidden(isolation: str, tmp_path: Path, isolate, write,
                                              check_json, monkeypatch):
    home = tmp_path.parent / f"{tmp_path.name}-home"
    home.mkdir()
    (home / "secret.txt").write_text("s3cret")
    monkeypatch.setenv("HOME", str(home))
    isolate(isolation)
    write("data.txt", "project data")
    write("docs/a.md", block(
        f"import os\nassert not os.path.exists({str(home / 'secret.txt')!r})\n"
        "for folder in ['/root', '/home']:\n"
        "    # Only the folders leading to what the sandbox shows (an interpreter in /root).\n"
        "    for entry in os.listdir(folder) if os.path.exists(folder) else []:\n"
        "        assert os.path.isdir(os.path.join(folder, entry)), entry\n"
        "assert open('data.txt').read() == 'project data'"))
    (ex,) = run_examples(check_json, "docs/a.md")
    assert ex["status"] == "passed", ex["error"]


@both
def test_parent_environment_is_not_readable(isolation: str, isolate, write, check_json,
                                            monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    isolate(isolation)
    write("a.md", block("import os\nassert 'OPENAI_API_KEY' not in os.environ\n"
                        "for pid in os.listdir('/proc'):\n    if pid.isdigit():\n"
                        "        try:\n            data = open(f'/proc/{pid}/environ', 'rb').read()"
                        "\n        except OSError:\n            continue\n"
                        "        assert b'sk-do-not-leak' not in data, pid"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]


@both
def test_writes_outside_the_session_do_not_reach_the_host(isolation: str, project: Path,
                                                          isolate, write, check_json):
    if isolation == "process" and os.geteuid() != 0:
        pytest.skip("cannot hold with isolation = process as an ordinary user: examples run as "
                    "that user and may write wherever it may")
    isolate(isolation)
    doc = write("docs/a.md", "")
    marker = f"docvalidate-escape-{uuid.uuid4().hex}"
    home = Path.home()
    targets = [doc, project / "new.txt", home / marker]
    if isolation == "sandbox":
        targets.append(Path(f"/tmp/{marker}"))  # plain processes share the host's /tmp
    code = (
        f"for target in {[str(t) for t in targets]!r}:\n"
        "    try:\n        open(target, 'a').write('pwned')\n    except OSError:\n"
        "        pass\n"
    )
    text = block(code)
    doc.write_text(text)
    (ex,) = run_examples(check_json, "docs/a.md")
    assert ex["status"] == "passed", ex["error"]
    assert doc.read_text() == text
    for target in targets[1:]:
        assert not target.exists(), target


# --- project files: the session's own copy ------------------------------------------------


@both
def test_examples_overwrite_project_files_in_their_own_copy(isolation: str, project: Path,
                                                            isolate, write, check_json):
    isolate(isolation)
    write("results.json", '{"original": true}')
    write("data/input.csv", "a,b\n1,2\n")
    write("docs/a.md",
          block("import json, os\nassert json.load(open('results.json')) == {'original': True}\n"
                "json.dump({'written': 1}, open('results.json', 'w'))\n"
                "open('data/input.csv', 'a').write('3,4\\n')\n"
                "os.remove('pyproject.toml')\nopen('new.txt', 'w').write('x')\n"
                "import shutil\nshutil.rmtree('docs')")
          + block("import json\nassert json.load(open('results.json')) == {'written': 1}\n"
                  "assert open('data/input.csv').read().endswith('3,4\\n')")
          + block("import json\nassert json.load(open('results.json')) == {'original': True}",
                  "isolated"))
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()
              and p.name != "docvalidate.toml"}
    first, same_session, next_session = run_examples(check_json, "docs/a.md")
    assert first["status"] == "passed", first["error"]
    assert same_session["status"] == "passed", same_session["error"]
    assert next_session["status"] == "passed", next_session["error"]
    after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()
             and p.name != "docvalidate.toml"}
    assert after == before


def test_what_is_not_copied_is_shown_read_only(project: Path, isolate, write, check_json):
    isolate("sandbox")
    write("node_modules/pkg/index.js", "module.exports = 1\n")
    write(".git/config", "[http]\n\textraheader = AUTHORIZATION: basic c2VjcmV0\n")
    big = project / "big.bin"
    big.write_bytes(b"x" * (9 * 1024 * 1024))
    write("a.md", block(
        "assert open('node_modules/pkg/index.js').read().startswith('module')\n"
        "import os\nassert os.path.getsize('big.bin') == 9 * 1024 * 1024\n"
        "assert not os.path.exists('.git')  # version control: never shown (checkout tokens)\n"
        "for name in ('node_modules/pkg/index.js', 'big.bin'):\n    try:\n"
        "        open(name, 'a')\n"
        "    except OSError:\n        pass\n    else:\n        raise AssertionError(name)"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]
    assert big.stat().st_size == 9 * 1024 * 1024


@both
def test_a_copy_serves_again_only_when_nothing_in_it_changed(isolation: str, project: Path,
                                                            isolate, write, check_json):
    # One job: the sessions run one after another, as the same user, on reused copies.
    isolate(isolation, "jobs = 1")
    write("data.txt", "original")
    write("a.md",
          block("import os\nbefore = os.stat('data.txt')\nopen('data.txt', 'w').write('modified')"
                "\nos.utime('data.txt', ns=(before.st_atime_ns, before.st_mtime_ns))", "isolated")
          + block("assert open('data.txt').read() == 'original'", "isolated")
          + block("import os\nos.makedirs('made/deep')\nopen('made/deep/x', 'w').write('x')",
                  "isolated")
          + block("import os\nassert not os.path.exists('made')", "isolated")
          + block("import os\nos.chmod('data.txt', 0o600)", "isolated")
          + block("import os, stat\nassert stat.S_IMODE(os.stat('data.txt').st_mode) != 0o600",
                  "isolated")
          + block("import os\nos.chmod('.', 0o3777)", "isolated")
          + block("import os, stat\nassert stat.S_IMODE(os.stat('.').st_mode) != 0o3777",
                  "isolated"))
    results = run_examples(check_json, "a.md")
    assert [r["status"] for r in results] == ["passed"] * 8, [r["error"] for r in results]
    assert (project / "data.txt").read_text() == "original"


# --- limits and hostile programs ----------------------------------------------------------


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize(("config", "code", "kind"), [
    ("limit_memory_mb = 256", "blocks = []\nfor _ in range(64):\n"
     "    blocks.append(bytearray(128 * 1024 * 1024))", "MemoryLimit"),
    ("limit_file_size_mb = 1", "open('big.bin', 'wb').write(b'x' * (4 * 1024 * 1024))",
     "FileSizeLimit"),
    ("limit_open_files = 32", "files = [open('f%d' % i, 'w') for i in range(100)]",
     "OpenFilesLimit"),
    ("limit_cpu_seconds = 1", "while True:\n    pass", "CPULimit"),
    ("limit_processes = 16", "import threading, time\nthreads = [threading.Thread("
     "target=time.sleep, args=(2,)) for _ in range(64)]\nfor t in threads:\n    t.start()",
     "ProcessLimit"),
])
def test_limits(isolate, write, check_json, isolation: str, config: str, code: str, kind: str):
    isolate(isolation, config)
    write("a.md", block(code, "timeout=20") + block("print('next session')", "isolated"))
    first, second = run_examples(check_json, "a.md")
    assert first["status"] == "failed"
    assert first["error"]["type"] == kind, first["error"]
    assert "config limit_" in first["error"]["message"]
    assert second["status"] == "passed"


@both
def test_fork_bomb_is_capped_and_cleaned_up(isolate, write, check_json, isolation: str):
    isolate(isolation)
    marker = f"3599.{uuid.uuid4().int % 10**9}"
    write("a.md", block(
        "import os\nfor _ in range(3000):\n    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '{marker}'])", "timeout=20")
        + block("print('next')", "isolated"))
    first, second = run_examples(check_json, "a.md")
    assert first["status"] == "failed"
    assert first["error"]["type"] == "ProcessLimit", first["error"]
    assert second["status"] == "passed"
    assert gone(marker)


@both
def test_detached_processes_do_not_outlive_the_session(isolate, write, check_json,
                                                       isolation: str):
    isolate(isolation)
    marker = f"3598.{uuid.uuid4().int % 10**9}"
    write("a.md", block(
        "import os, subprocess\n"
        f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '{marker}'])\n    os._exit(0)\n"
        "os.wait()"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]
    assert gone(marker)


@both
def test_printing_a_gigabyte(isolate, write, check_json, isolation: str):
    isolate(isolation)
    write("a.md", block("chunk = 'x' * (1024 * 1024)\nfor _ in range(1024):\n    print(chunk)")
          + block("print('next')"))
    first, second = run_examples(check_json, "a.md")
    assert first["error"]["type"] == "OutputLimit"
    assert len(first["stdout"]) <= 1024 * 1024 and first["stdout_dropped"] > 0
    assert second["status"] == "passed"


@both
def test_sleeping_forever_times_out(isolate, write, check_json, isolation: str):
    isolate(isolation)
    write("a.md", block("import time\ntime.sleep(3600)", "timeout=1"))
    started = time.monotonic()
    (ex,) = run_examples(check_json, "a.md")
    assert ex["error"]["type"] == "Timeout" and ex["error"]["line"] == 4  # the sleep
    assert time.monotonic() - started < 15


@both
def test_writing_a_two_gigabyte_file(isolate, write, check_json, isolation: str):
    isolate(isolation)
    write("a.md", block("chunk = b'x' * (16 * 1024 * 1024)\nwith open('big.bin', 'wb') as f:\n"
                        "    for _ in range(128):\n        f.write(chunk)")
          + block("import os\nprint(os.path.getsize('big.bin'))"))
    first, second = run_examples(check_json, "a.md")
    assert first["error"]["type"] == "FileSizeLimit", first["error"]
    assert "64 MiB" in first["error"]["message"]
    assert int(second["stdout"]) <= 64 * 1024 * 1024  # the default limit held


@both
def test_killing_the_parent_is_contained(isolation: str, isolate, write, check_json):
    isolate(isolation)
    write("a.md", block("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
                        "import time\ntime.sleep(1)") + block("print('next')", "isolated"))
    # The example's parent is the sandbox's init or the session's supervisor, never
    # docvalidate (this very process, which must survive): the block fails, the run goes on.
    first, second = run_examples(check_json, "a.md")
    # The sandbox's init belongs to another user: the signal is refused. A plain process's
    # supervisor dies, and the session with it.
    if isolation == "process":
        assert first["error"]["type"] == "WorkerCrashed", first["error"]
    elif os.geteuid() == 0:
        assert first["error"]["type"] == "PermissionError", first["error"]
    # (As another user, the sandbox's init is the example's own user and ignores the signal.)
    assert second["status"] == "passed"


# --- choosing the isolation ----------------------------------------------------------------


def _without_bwrap(monkeypatch, tmp_path: Path) -> None:
    """As on a machine without bubblewrap (which docvalidate looks for in the system's folders
    only, never on PATH)."""
    from docvalidate.backends import sandbox

    real = sandbox.trusted_program
    monkeypatch.setattr(sandbox, "trusted_program",
                        lambda name: None if name == "bwrap" else real(name))
    bwrap_status.cache_clear()


@pytest.fixture
def no_bwrap(monkeypatch, tmp_path: Path):
    _without_bwrap(monkeypatch, tmp_path)
    yield
    monkeypatch.undo()
    bwrap_status.cache_clear()


def test_unset_isolation_falls_back_with_one_warning(write, no_bwrap):
    from conftest import examples_python

    python = examples_python()
    if python is None:
        pytest.skip("no interpreter here that an unprivileged user may run")
    write("docvalidate.toml", f"python = {python!r}\n")
    write("a.md", block("print('still runs')"))
    result = invoke("check", "a.md")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "not installed" in warnings[0] and "apt-get install bubblewrap" in warnings[0]


@pytest.mark.parametrize("how", ["config", "option"])
def test_explicit_sandbox_never_falls_back(how: str, write, no_bwrap):
    marker = Path(f"/tmp/docvalidate-ran-{uuid.uuid4().hex}")
    write("a.md", block(f"open({str(marker)!r}, 'w')"))
    if how == "config":
        write("docvalidate.toml", 'isolation = "sandbox"\n')
        result = invoke("check", "a.md")
    else:
        result = invoke("check", "--isolation", "sandbox", "a.md")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "sandbox" in lines[0] and "not installed" in lines[0]
    assert "Traceback" not in result.output
    assert not marker.exists()


def test_plain_processes_as_root_need_a_readable_interpreter(write, tmp_path: Path):
    import shutil

    if os.geteuid() != 0:
        pytest.skip("only as root do examples run as another user than docvalidate")
    hidden = tmp_path / "private"
    hidden.mkdir(mode=0o700)
    python = hidden / "python3"
    # Another interpreter than docvalidate's own (which could be shown through a view).
    shutil.copy("/bin/true", python)
    write("docvalidate.toml", f'isolation = "process"\npython = "{python}"\n')
    write("a.md", block("print(1)"))
    result = invoke("check", "a.md")
    assert result.exit_code == 2
    assert "unprivileged user" in result.stderr and str(hidden) in result.stderr


def test_sandbox_status_says_why(monkeypatch, tmp_path: Path):
    _without_bwrap(monkeypatch, tmp_path)
    try:
        status = bwrap_status()
        assert status.path is None and "not installed" in status.reason
    finally:
        monkeypatch.undo()
        bwrap_status.cache_clear()


def test_verbose_says_what_each_session_copies(project: Path, write):
    write("data/input.csv", "a\n")
    (project / ".git").mkdir()
    write("a.md", block("print(1)"))
    result = invoke("check", "-v", "a.md")
    assert result.exit_code == 0, result.output
    (note,) = [line for line in result.stdout.splitlines() if line.startswith("note: ")]
    assert "project copy:" in note and "files" in note and "not shown at all: .git" in note


# --- found by attacking the sandbox -------------------------------------------------------


PRELOAD = r"""
#include <unistd.h>
/* Loaded into every program started with LD_PRELOAD: one that runs as root (bwrap, setpriv
   before it drops) ends at once, so a session that ran it as root fails to start. */
__attribute__((constructor)) static void refuse_root(void) {
    if (geteuid() == 0) _exit(99);
}
"""


@both
def test_config_environment_never_reaches_a_root_program(isolation: str, isolate, write,
                                                         check_json, project: Path):
    import shutil
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("only as root do bwrap and setpriv run as root")
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to build the preloaded library")
    (project / "evil.c").write_text(PRELOAD)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(project / "evil.so"),
                    str(project / "evil.c")], check=True)
    project.chmod(0o755)
    (project / "evil.so").chmod(0o755)
    isolate(isolation, f'env = {{ LD_PRELOAD = "{project / "evil.so"}" }}')
    write("a.md", block("import os\nassert os.environ['LD_PRELOAD'].endswith('evil.so')\n"
                        "assert os.geteuid() != 0"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]  # the examples' own interpreter got it


@sandbox_only
def test_sockets_in_shared_project_folders_are_masked(isolation: str, isolate, write,
                                                      check_json, project: Path):
    (project / ".venv").mkdir()
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    path = project / ".venv" / "dev-server.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    path.chmod(0o777)
    server.listen(1)
    isolate(isolation)
    write("a.md", block("import socket\ns = socket.socket(socket.AF_UNIX)\n"
                        "import os\nassert os.path.exists('.venv/dev-server.sock')\n"
                        "try:\n    s.connect('.venv/dev-server.sock')\n"
                        "except OSError:\n    pass\nelse:\n    raise AssertionError('reached')"))
    try:
        (ex,) = run_examples(check_json, "a.md")
    finally:
        server.close()
    assert ex["status"] == "passed", ex["error"]


@sandbox_only
def test_where_docvalidate_was_started_is_not_shown(isolation: str, isolate, write,
                                                    project: Path, tmp_path: Path):
    import json
    import subprocess
    import sys

    elsewhere = tmp_path.parent / f"{tmp_path.name}-started-here"  # outside the project
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("s3cret")
    isolate(isolation)
    write("a.md", block(f"import os\nassert not os.path.exists({str(elsewhere)!r})"))
    # `python -m` puts the folder it runs in first on sys.path.
    done = subprocess.run([sys.executable, "-m", "docvalidate", "check", "--format", "json",
                           str(project / "a.md")], cwd=elsewhere, capture_output=True,
                          text=True)
    (ex,) = json.loads(done.stdout)["examples"]
    assert ex["status"] == "passed", ex["error"]


@both
def test_examples_cannot_use_kernel_keyrings(isolation: str, isolate, write, check_json):
    isolate(isolation)
    write("a.md", block(
        "import ctypes, errno\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.syscall.restype = ctypes.c_long\n"
        "numbers = {'x86_64': 248, 'aarch64': 217}\nimport os\n"
        "number = numbers[os.uname().machine]\n"
        "key = libc.syscall(number, b'user', b'left', b'data', 4, -4)\n"
        "assert key == -1 and ctypes.get_errno() == errno.EPERM, key"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]


def test_plain_processes_leave_nothing_in_shared_folders(isolate, write, check_json):
    if os.geteuid() != 0:
        pytest.skip("only sessions of docvalidate's own users can be swept")
    isolate("process")
    name = f"docvalidate-left-{uuid.uuid4().hex}"
    key = uuid.uuid4().int % 2**31
    write("a.md", block(
        f"import ctypes, os\nopen('/tmp/{name}', 'w').write('x')\n"
        f"open('/dev/shm/{name}', 'w').write('x')\nos.makedirs('/var/tmp/{name}/deep')\n"
        "libc = ctypes.CDLL(None)\n"
        f"assert libc.shmget({key}, 4096, 0o1666) >= 0\n"
        "import tempfile\nassert tempfile.gettempdir() == os.environ['HOME']"))
    (ex,) = run_examples(check_json, "a.md")
    assert ex["status"] == "passed", ex["error"]
    for folder in ("/tmp", "/dev/shm", "/var/tmp"):
        assert not Path(folder, name).exists()
    shm = Path("/proc/sysvipc/shm").read_text().split()
    assert str(key) not in shm


@both
def test_a_run_killed_outright_leaves_nothing_running(isolation: str, isolate, write,
                                                      project: Path, monkeypatch):
    import subprocess
    import sys

    from conftest import alive

    if isolation == "process" and os.geteuid() != 0:
        pytest.skip("as an ordinary user, plain processes of a killed run cannot be told apart "
                    "from the user's own")
    isolate(isolation)
    marker = f"3594.{uuid.uuid4().int % 10**9}"
    write("a.md", block(f"import subprocess, time\nsubprocess.Popen(['sleep', '{marker}'], "
                        "start_new_session=True)\ntime.sleep(60)"))
    killed = subprocess.Popen([sys.executable, "-m", "docvalidate", "check", "a.md"],
                              cwd=project, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(marker), "the example never started"
    killed.kill()
    killed.wait()
    # The next run (of anything) ends what the killed one left.
    write("b.md", block("print('next run')"))
    subprocess.run([sys.executable, "-m", "docvalidate", "check", "b.md"], cwd=project,
                   capture_output=True, check=True)
    assert gone(marker)


def test_root_without_bubblewrap_runs_a_private_interpreter_from_a_view(write, no_bwrap):
    import sys

    from docvalidate.backends.access import unreadable
    from docvalidate.backends.sandbox import own_interpreter

    if os.geteuid() != 0:
        pytest.skip("only as root do examples run as another user than docvalidate")
    own = own_interpreter(sys.executable)
    assert own is not None
    if unreadable([sys.executable, *own.paths]) is None:
        pytest.skip("this interpreter is readable by every user: no view is needed")
    write("a.md", block("import os, sys\nassert os.getuid() != 0\n"
                        "import click, docvalidate  # this environment's packages\n"
                        "for folder in (sys.base_prefix, os.path.dirname(click.__file__)):\n"
                        "    try:\n        open(os.path.join(folder, 'planted.py'), 'w')\n"
                        "    except OSError:\n        pass\n"
                        "    else:\n        raise AssertionError(folder)  # the view is read-only\n"
                        "print(sys.executable)"))
    result = invoke("check", "--format", "json", "a.md")
    assert result.exit_code == 0, result.output
    import json

    (ex,) = json.loads(result.stdout)["examples"]
    assert "/docvalidate-" in ex["stdout"]  # started from the view in the run's folder
    mounts = Path("/proc/self/mountinfo").read_text()
    assert f"docvalidate-{os.getpid()}-" not in mounts  # the view went with the run


@pytest.mark.parametrize("program", ["bwrap", "setpriv", "env", "true"])
def test_programs_run_as_root_are_never_taken_from_path(program: str, write, check_json,
                                                        tmp_path: Path, monkeypatch):
    # A virtual environment inside the checkout comes first on PATH once activated: a pull
    # request could put its own bwrap there.
    planted = tmp_path.parent / f"{tmp_path.name}-bin"
    planted.mkdir()
    marker = planted / "ran"
    fake = planted / program
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexec /usr/bin/{program} \"$@\"\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{planted}:{os.environ['PATH']}")
    bwrap_status.cache_clear()
    try:
        write("a.md", block("print('ran')"))
        run_examples(check_json, "a.md")
    finally:
        bwrap_status.cache_clear()
    assert not marker.exists()
