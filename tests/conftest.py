"""Shared helpers: write real files into a temporary project and run docvalidate on them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from docvalidate.cli import cli


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder (with a pyproject.toml so it is the project root) as cwd."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write(project: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def check_json() -> Callable[..., tuple[int, dict[str, Any]]]:
    """Run ``docvalidate check --format json ARGS``; return (exit code, parsed report)."""

    def run(*args: str) -> tuple[int, dict[str, Any]]:
        result = invoke("check", "--format", "json", *args)
        assert result.exit_code in (0, 1), result.output
        return result.exit_code, json.loads(result.stdout)

    return run


def by_line(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {e["line"]: e for e in report["examples"]}


ISOLATIONS = ("sandbox", "process")


def examples_python() -> str | None:
    """An interpreter that examples can run as plain processes: as root they run as a user of
    their own, who must be able to read it (a pyenv build under /root is not readable)."""
    import os
    import sys

    from docvalidate.backends.access import unreadable
    from docvalidate.backends.sandbox import own_interpreter

    if os.geteuid() != 0:
        return sys.executable
    own = own_interpreter(sys.executable)
    assert own is not None
    if unreadable([sys.executable, *own.paths]) is None:
        return sys.executable
    system = "/usr/bin/python3"
    if os.path.exists(system) and unreadable([system]) is None:
        return system
    return None


def needs_bwrap() -> str:
    from docvalidate.engine import bwrap_status

    status = bwrap_status()
    if status.path is None:
        pytest.skip(f"no working sandbox here: {status.reason} (.ci/run installs bubblewrap)")
    return status.path


@pytest.fixture
def isolate(write: Callable[[str, str], Path]) -> Callable[..., None]:
    """``isolate("process", "timeout = 5")``: a docvalidate.toml choosing that isolation level
    (with an interpreter the examples' user can run), plus more config lines."""

    def choose(isolation: str, *more: str) -> None:
        lines = [f'isolation = "{isolation}"', *more]
        if isolation == "sandbox":
            needs_bwrap()
        else:
            python = examples_python()
            if python is None:
                pytest.skip("no interpreter here that an unprivileged user may run")
            lines.append(f"python = {python!r}")
        write("docvalidate.toml", "\n".join(lines) + "\n")

    return choose


FENCE = "```"


def block(code: str, directive: str = "") -> str:
    """A Python fence holding ``code``, with a ``<!-- docvalidate: ... -->`` comment."""
    head = f"<!-- docvalidate: {directive} -->\n" if directive else ""
    return f"{head}{FENCE}python\n{code}\n{FENCE}\n\n"


def run_examples(check_json: Callable[..., tuple[int, dict[str, Any]]], *args: str
                 ) -> list[dict[str, Any]]:
    """``docvalidate check --format json ARGS``: the examples of the report."""
    _, report = check_json(*args)
    return report["examples"]


def alive(marker: str) -> list[int]:
    """Processes on this machine whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def gone(marker: str, seconds: float = 10) -> bool:
    """Whether every process holding ``marker`` is gone within ``seconds`` (a PID namespace's
    processes die as the kernel tears it down, a moment after the session)."""
    import time

    deadline = time.monotonic() + seconds
    while alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(marker) == []


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """tests/llm_server.py on 127.0.0.1, configured for docvalidate through the environment
    (key, base URL, model), as a user would."""
    from llm_server import LLMServer

    with LLMServer() as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("DOCVALIDATE_MODEL", "test-model")
        yield server


@pytest.fixture(scope="session")
def e2b_server() -> Iterator[Any]:
    """E2B's real code-interpreter server (``tests/e2b_local.py``): an ``E2BServer`` with
    ``url`` and ``env`` (what the real SDK needs in debug mode). Skips with the reason when
    there is none and none can be started here; shared by pytest-xdist workers."""
    from e2b_local import E2BLocal, Failed, Unavailable

    local = E2BLocal()
    try:
        server = local.find()
    except Unavailable as why:
        pytest.skip(str(why))
    except Failed as why:
        pytest.fail(str(why), pytrace=False)
    try:
        yield server
    finally:
        local.close()


@pytest.fixture
def e2b_env(e2b_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``e2b_server``'s environment applied for one test (no API key: debug mode needs none)."""
    for name in ("E2B_API_KEY", "E2B_API_URL", "E2B_SANDBOX_URL", "E2B_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in e2b_server.env.items():
        monkeypatch.setenv(name, value)
    return e2b_server
