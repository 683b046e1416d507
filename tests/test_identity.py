"""Who examples run as, when docvalidate runs as root: users of docvalidate's own, one per
running session, held across every docvalidate process on the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from docvalidate.backends.base import BackendError
from docvalidate.backends.identity import UID_BASE, Identities, _lock_folder

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="only root hands out session users")


@root_only
def test_a_user_is_held_by_one_session_across_processes(tmp_path: Path):
    mine = Identities()
    held = [mine.acquire() for _ in range(3)]
    assert len({i.uid for i in held}) == 3 and all(i.uid >= UID_BASE for i in held)
    assert all(i.dedicated and i.uid != 0 for i in held)
    # Another docvalidate process never gets one of them while they are held.
    code = ("from docvalidate.backends.identity import Identities\n"
            "ids = Identities()\nprint(' '.join(str(ids.acquire().uid) for _ in range(1030)))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    taken = {i.uid for i in held}
    if other.returncode == 0:
        assert not taken & {int(u) for u in other.stdout.split()}
    else:  # it ran out of users: those held here were refused to it
        assert "every session user is in use" in other.stderr
    for identity in held:
        mine.release(identity)


@root_only
def test_a_released_user_serves_this_process_next():
    ids = Identities()
    first = ids.acquire()
    ids.release(first)
    # Its session ended with everything it ran: the next session of this process takes it
    # (with the copy of the project it left unchanged), and it stays this process's own.
    assert ids.acquire().uid == first.uid
    code = ("from docvalidate.backends.identity import Identities\n"
            "ids = Identities()\nprint(' '.join(str(ids.acquire().uid) for _ in range(8)))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert str(first.uid) not in other.stdout.split()


@pytest.mark.parametrize("plant", ["symlink", "open"])
def test_a_planted_lock_folder_is_refused(plant: str, tmp_path: Path):
    folder = tmp_path / "docvalidate-users"
    if plant == "symlink":
        target = tmp_path / "elsewhere"
        target.mkdir()
        folder.symlink_to(target)
    else:
        folder.mkdir()
        folder.chmod(0o777)
    with pytest.raises(BackendError, match="not a folder of docvalidate's own"):
        _lock_folder(tmp_path)
