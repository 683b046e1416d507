"""E2B's real code-interpreter server on 127.0.0.1, for the E2B backend's tests.

The server is E2B's own open-source one (``shared/e2b-local/serve.sh``, outside this
repository): the real ``e2b-code-interpreter`` SDK in debug mode talks to it with no key.
``E2BLocal.find()`` uses one that runs (CI's: ``DOCVALIDATE_E2B_URL``), else starts one
into a cache folder when the shared folder is there, else says why there is none.

Several pytest-xdist workers share one server: the start is serialised by a file lock,
and a server this run started is stopped by the worker that started it once no worker
uses it any more (each user holds a shared lock on a second file for its whole session).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

# serve.sh's port (E2B_REAL_PORT) is the one the SDK's debug mode hard-codes unless changed
DEFAULT_URL = f"http://localhost:{os.environ.get('E2B_REAL_PORT', '49999')}"
# venvs and run files; kept between runs so that only the first start builds the venvs
CACHE = Path(os.environ.get("DOCVALIDATE_E2B_WORKDIR", "/tmp/docvalidate-e2b-local"))
REPO = Path(__file__).resolve().parent.parent


def looked_in() -> Path:
    """``DOCVALIDATE_E2B_LOCAL``, else ``shared/e2b-local`` beside this repository's clone."""
    given = os.environ.get("DOCVALIDATE_E2B_LOCAL")
    return Path(given) if given else REPO.parent / "shared" / "e2b-local"


def shared_folder() -> Path | None:
    """The folder of serve.sh, if there is one."""
    folder = looked_in()
    return folder if (folder / "serve.sh").is_file() else None


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether ``GET url/health`` answers the server's ``"OK"``."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout) as answer:
            return bool(answer.status == 200 and answer.read().strip() == b'"OK"')
    except OSError:
        return False


@dataclass(frozen=True)
class E2BServer:
    """A running server: where it is and the environment the SDK needs to reach it."""

    url: str
    started_here: bool
    env: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def at(url: str, started_here: bool) -> E2BServer:
        env = {"E2B_DEBUG": "true"}
        # debug mode hard-codes localhost:49999; anything else needs the (deprecated but
        # honoured) override, which replaces the whole sandbox URL
        if url.rstrip("/") not in ("http://localhost:49999", "http://127.0.0.1:49999"):
            env["E2B_SANDBOX_URL"] = url.rstrip("/")
        return E2BServer(url.rstrip("/"), started_here, env)


class Unavailable(Exception):
    """There is no server here and none can be started; the message says why."""


class Failed(Exception):
    """A server should have started here and did not; the message holds its logs."""


class E2BLocal:
    """One pytest session's hold on the shared server (see the module's docstring)."""

    def __init__(self) -> None:
        self.server: E2BServer | None = None
        self._users: IO[str] | None = None

    def find(self) -> E2BServer:
        given = os.environ.get("DOCVALIDATE_E2B_URL")
        url = (given or DEFAULT_URL).rstrip("/")
        if given and healthy(url):
            self.server = E2BServer.at(url, started_here=False)
            return self.server
        if given:
            raise Failed(f"DOCVALIDATE_E2B_URL={given} does not answer GET /health")
        folder = shared_folder()
        CACHE.mkdir(parents=True, exist_ok=True)
        with open(CACHE.with_suffix(".lock"), "w") as start_lock:
            fcntl.flock(start_lock, fcntl.LOCK_EX)
            self._users = open(CACHE.with_suffix(".users"), "w")  # noqa: SIM115 (held all session)
            # blocks while a finishing run stops the server it started
            fcntl.flock(self._users, fcntl.LOCK_SH)
            if healthy(url):
                # CI's, a developer's, or one another worker of this run started: used and
                # left running (a session killed before its teardown leaves one behind too)
                self.server = E2BServer.at(url, started_here=False)
                return self.server
            if folder is None:
                self._release()
                raise Unavailable(
                    f"no E2B code-interpreter server at {url}, and no serve.sh in "
                    f"{looked_in()} to start one (set DOCVALIDATE_E2B_LOCAL to the shared "
                    "e2b-local folder; .ci/run starts the server in CI)")
            started_at = time.monotonic()
            done = subprocess.run([str(folder / "serve.sh"), "start", str(CACHE)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0 or not healthy(url):
                self._release()
                raise Failed(f"serve.sh start {CACHE} failed (exit {done.returncode}) after "
                             f"{time.monotonic() - started_at:.0f}s:\n{done.stdout}{done.stderr}")
            self.server = E2BServer.at(url, started_here=True)
            return self.server

    def _release(self) -> None:
        if self._users is not None:
            self._users.close()  # closing drops the flock
            self._users = None

    def close(self) -> None:
        """Stop the server if this session started it, once no other session uses it."""
        started = self.server is not None and self.server.started_here
        self._release()
        if not started:
            return
        folder = shared_folder()
        with open(CACHE.with_suffix(".lock"), "w") as start_lock:
            fcntl.flock(start_lock, fcntl.LOCK_EX)
            with open(CACHE.with_suffix(".users"), "w") as users:
                fcntl.flock(users, fcntl.LOCK_EX)  # every other worker is done with it
                if folder is not None:
                    subprocess.run([str(folder / "serve.sh"), "stop", str(CACHE)],
                                   capture_output=True, check=False)
