"""Cgroups: which mechanism holds a session's processes (v1's pids hierarchy, a v2 threaded
subtree, or none), each tested for what it must do: every process an example leaves is
killed, the process cap holds, the cgroups are removed afterwards. The mechanism is chosen with
DOCVALIDATE_CGROUP, as a user troubleshooting would."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from conftest import ISOLATIONS, block, gone

from docvalidate.backends import cgroup


def _mechanism(monkeypatch, wanted: str) -> tuple[int | None, bool]:
    """Choose the mechanism; its cgroup version (None: no cgroup) and whether it caps
    processes."""
    monkeypatch.setenv("DOCVALIDATE_CGROUP", wanted)
    groups = cgroup.ThreadCgroups(8)
    version, caps = groups.version, groups.caps_processes
    groups.close()
    if wanted != "none" and version != int(wanted[1]):
        pytest.skip(f"cgroup {wanted} cannot be used here by this user")
    return version, caps


def _ours(version: int) -> list[Path]:
    if version == 1:
        return list(cgroup.V1.glob(f"{cgroup.PREFIX}{os.getpid()}-*"))
    mount = cgroup._v2_mount()
    assert mount is not None
    return list(mount.rglob(f"{cgroup.PREFIX}{os.getpid()}-*"))


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("wanted", ["v1", "v2", "none"])
def test_leftovers_are_killed_and_processes_capped(wanted: str, isolation: str, monkeypatch,
                                                   isolate, write, check_json):
    version, _ = _mechanism(monkeypatch, wanted)
    isolate(isolation, "limit_processes = 32")
    marker = f"3595.{uuid.uuid4().int % 10**9}"
    write("a.md", block(
        "import os, subprocess\n"
        f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '{marker}'])\n    os._exit(0)\n"
        "os.wait()\nprint(open('/proc/self/cgroup').read())")
        + block("import os, time\nfor _ in range(200):\n    if os.fork() == 0:\n"
                "        time.sleep(5)\n        os._exit(0)", "isolated, timeout=20"))
    _, report = check_json("a.md")
    leaves, bomb = report["examples"]
    assert leaves["status"] == "passed", leaves["error"]
    assert bomb["error"]["type"] == "ProcessLimit", bomb["error"]
    assert gone(marker)
    if wanted == "v2" and isolation == "process":
        # Born in the runner thread's cgroup of the threaded subtree (no cgroup namespace).
        line = next(ln for ln in leaves["stdout"].splitlines() if ln.startswith("0::"))
        assert f"/{cgroup.PREFIX}{os.getpid()}-" in line and "/t-" in line, line
    if version is not None:
        assert _ours(version) == []  # removed with the run


def test_v2_pids_controller_caps_processes(monkeypatch, isolate, write, check_json):
    _, caps = _mechanism(monkeypatch, "v2")
    if not caps:
        pytest.skip("the pids controller is not available in this machine's cgroup v2 "
                    "hierarchy (it is bound to cgroup v1 here); RLIMIT_NPROC caps instead")
    isolate("process", "limit_processes = 16")
    write("a.md", block("import threading, time\nfor _ in range(64):\n"
                        "    threading.Thread(target=time.sleep, args=(2,)).start()",
                        "timeout=20"))
    _, report = check_json("a.md")
    assert report["examples"][0]["error"]["type"] == "ProcessLimit"


def test_cgroups_of_a_killed_run_are_removed(monkeypatch, isolate, write, check_json):
    _mechanism(monkeypatch, "v1")
    stale = cgroup.V1 / f"{cgroup.PREFIX}999999999-deadbeef"
    stale.mkdir()
    try:
        isolate("sandbox")
        write("a.md", block("print(1)"))
        _, report = check_json("a.md")
        assert report["examples"][0]["status"] == "passed"
        assert not stale.exists()
    finally:
        if stale.exists():
            stale.rmdir()
