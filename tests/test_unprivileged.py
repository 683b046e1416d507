"""docvalidate run by an ordinary user, where its behaviour differs from root's: examples run as
that user (inside a user namespace of their own in the sandbox), the process limit must not
count the user's other programs, and a plain process can reach its parent.

The tests run as root (as CI does) and drop to a throw-away unprivileged user with setpriv (a
uid no account and no other program uses, so that nothing else counts against its process
limit), running docvalidate with the system's Python 3 and this environment's packages."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import block

import docvalidate
from docvalidate.backends.access import unreadable

# Below docvalidate's own session users (2000000000 and up), and no account's.
NOBODY = 1_999_000_000 + os.getpid() % 100_000
SYSTEM_PYTHON = "/usr/bin/python3"


def _prerequisites() -> str | None:
    """Why these tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root to become another user (CI runs as root)"
    if shutil.which("setpriv") is None:
        return "needs setpriv (util-linux)"
    if not os.path.exists(SYSTEM_PYTHON):
        return f"needs {SYSTEM_PYTHON}"
    version = subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != str(sys.version_info[:2]):
        return f"{SYSTEM_PYTHON} is Python {version}, not this environment's version"
    blocked = unreadable([SYSTEM_PYTHON])
    if blocked is not None:
        return f"user {NOBODY} cannot read {blocked}"
    return None


_VIEWS: list[str] = []


@functools.cache
def _reachable(path: str) -> str:
    """``path``, or a read-only view of it that the unprivileged user can reach (a clone under
    /root is not): a bind mount, removed when the tests end."""
    if unreadable([path]) is None:
        return path
    view = f"/tmp/docvalidate-nobody-view-{os.getpid()}-{len(_VIEWS)}"
    os.makedirs(view, mode=0o755, exist_ok=True)
    subprocess.run(["mount", "--bind", path, view], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", view], check=True)
    _VIEWS.append(view)
    return view


@pytest.fixture(scope="module", autouse=True)
def _remove_views() -> Iterator[None]:
    yield
    _reachable.cache_clear()
    while _VIEWS:
        view = _VIEWS.pop()
        subprocess.run(["umount", "-l", view], check=False)
        with contextlib.suppress(OSError):
            os.rmdir(view)


def _repo() -> str:
    return str(Path(docvalidate.__file__).resolve().parent.parent)


pytestmark = pytest.mark.skipif(_prerequisites() is not None,
                                reason=str(_prerequisites()))


@pytest.fixture
def home() -> Iterator[Path]:
    """A project folder owned by the unprivileged user, outside root's 0700 temp folders.

    One such test at a time, across pytest-xdist's workers: they all run as the same user, and
    its processes count against each other's process limit (which is what one test checks)."""
    with open("/tmp/docvalidate-tests-as-nobody.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # The last test's sessions may still be going away; they would count too.
        deadline = time.monotonic() + 10
        while _processes_of(NOBODY) and time.monotonic() < deadline:
            time.sleep(0.05)
        folder = Path(f"/tmp/docvalidate-nobody-{os.getpid()}-{os.urandom(4).hex()}")
        folder.mkdir(mode=0o755)
        os.chown(folder, NOBODY, NOBODY)
        yield folder
        shutil.rmtree(folder, ignore_errors=True)


def put(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.write_text(text)
    os.chown(path, NOBODY, NOBODY)


def as_nobody(folder: Path, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    search = [_reachable(_repo()), _reachable(sysconfig.get_paths()["purelib"])]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(folder),
           "PYTHONPATH": ":".join(search), **(env or {})}
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
               SYSTEM_PYTHON, "-m", "docvalidate", *args]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)


def examples(folder: Path, *args: str) -> list[dict]:
    done = as_nobody(folder, "check", "--format", "json", *args)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)["examples"]


@pytest.fixture
def busy_user() -> Iterator[None]:
    """300 other processes of the same user, as on a developer's desktop."""
    sleepers = subprocess.Popen(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", "sh",
         "-c", "for i in $(seq 300); do sleep 120 & done; wait"])
    deadline = time.monotonic() + 30
    while _sleepers() < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sleepers() >= 300
    try:
        yield
    finally:
        subprocess.run(["pkill", "-KILL", "-U", str(NOBODY), "-f", "sleep 120"], check=False)
        sleepers.kill()
        sleepers.wait()


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _sleepers() -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes() == b"sleep\x00120\x00":
                    count += 1
            except OSError:
                continue
    return count


def sandbox_works_for_nobody(folder: Path) -> bool:
    put(folder, "probe.md", block("pass"))
    done = as_nobody(folder, "check", "--isolation", "sandbox", "probe.md")
    (folder / "probe.md").unlink()
    return done.returncode == 0


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
def test_examples_run_as_the_user_without_privileges(isolation: str, home: Path):
    if isolation == "sandbox" and not sandbox_works_for_nobody(home):
        pytest.skip("bubblewrap cannot make user namespaces for an ordinary user here")
    put(home, "pyproject.toml", "[project]\nname = 'demo'\n")
    put(home, "a.md", block(
        "import os\nstatus = dict(line.split(':', 1) for line in "
        "open('/proc/self/status').read().splitlines())\n"
        f"assert os.getuid() == {NOBODY}, os.getuid()\n"
        "assert int(status['CapEff'], 16) == 0 and int(status['CapPrm'], 16) == 0\n"
        "assert status['NoNewPrivs'].strip() == '1'"))
    (ex,) = examples(home, "--isolation", isolation, "a.md")
    assert ex["status"] == "passed", ex["error"]


def test_sandbox_examples_cannot_make_user_namespaces(home: Path):
    if not sandbox_works_for_nobody(home):
        pytest.skip("bubblewrap cannot make user namespaces for an ordinary user here")
    put(home, "a.md", block(
        "import subprocess\ndone = subprocess.run(['unshare', '--user', '--map-root-user', "
        "'true'], capture_output=True)\nassert done.returncode != 0, done"))
    (ex,) = examples(home, "--isolation", "sandbox", "a.md")
    assert ex["status"] == "passed", ex["error"]


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
def test_the_process_limit_ignores_the_users_other_programs(isolation: str, home: Path,
                                                            busy_user: None):
    if isolation == "sandbox" and not sandbox_works_for_nobody(home):
        pytest.skip("bubblewrap cannot make user namespaces for an ordinary user here")
    # One session at a time: plain processes of one user share its count, the fork bomb of
    # one session included (the sandbox gives each session a user namespace of its own).
    put(home, "docvalidate.toml", "limit_processes = 64\njobs = 1\n")
    put(home, "a.md", block(
        "import threading, time\nthreads = [threading.Thread(target=time.sleep, args=(0.2,)) "
        "for _ in range(16)]\nfor t in threads:\n    t.start()\nfor t in threads:\n    t.join()")
        + block("import os, time\nfor _ in range(500):\n    if os.fork() == 0:\n"
                "        time.sleep(3)\n        os._exit(0)", "isolated, timeout=30"))
    threads, bomb = examples(home, "--isolation", isolation, "a.md")
    assert threads["status"] == "passed", threads["error"]  # 300 other processes do not count
    assert bomb["error"]["type"] == "ProcessLimit", bomb["error"]


def test_a_plain_process_killing_its_parent_does_not_kill_docvalidate(home: Path):
    put(home, "a.md", block("import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\n"
                            "time.sleep(2)")
        + block("print('next')", "isolated"))
    done = as_nobody(home, "check", "--isolation", "process", "--format", "json", "a.md")
    assert done.returncode == 1, done.stderr
    first, second = json.loads(done.stdout)["examples"]
    assert first["status"] == "failed" and first["error"]["type"] == "WorkerCrashed"
    assert second["status"] == "passed"


def test_project_files_stay_as_they_were(home: Path):
    put(home, "results.json", "{}")
    put(home, "a.md", block("open('results.json', 'w').write('overwritten')\n"
                            "assert open('results.json').read() == 'overwritten'"))
    for isolation in ("process", "sandbox"):
        if isolation == "sandbox" and not sandbox_works_for_nobody(home):
            continue
        (ex,) = examples(home, "--isolation", isolation, "a.md")
        assert ex["status"] == "passed", ex["error"]
        assert (home / "results.json").read_text() == "{}"


@pytest.mark.parametrize("isolation", ["sandbox", "process"])
def test_examples_cannot_read_docvalidates_environment(isolation: str, home: Path):
    if isolation == "sandbox" and not sandbox_works_for_nobody(home):
        pytest.skip("bubblewrap cannot make user namespaces for an ordinary user here")
    put(home, "a.md", block(
        "import os\nassert 'OPENAI_API_KEY' not in os.environ\nleaked = []\n"
        "for pid in os.listdir('/proc'):\n    if pid.isdigit():\n        try:\n"
        "            data = open(f'/proc/{pid}/environ', 'rb').read()\n"
        "        except OSError:\n            continue\n"
        "        if b'sk-do-not-leak' in data:\n            leaked.append(pid)\n"
        "assert leaked == [], leaked"))
    done = as_nobody(home, "check", "--isolation", isolation, "--format", "json", "a.md",
                     env={"OPENAI_API_KEY": "sk-do-not-leak"})
    (ex,) = json.loads(done.stdout)["examples"]
    assert ex["status"] == "passed", ex["error"]
