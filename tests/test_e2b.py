"""The E2B backend, through the real ``e2b-code-interpreter`` SDK in debug mode against E2B's
own code-interpreter server on this machine (``e2b_server``; skipped with the reason where
there is none): pages, sessions on several contexts, timeouts, project files, the key, the
pool's lifecycle, faults, and parity with the local backend."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import block, invoke

from docvalidate.backends.base import Job, Limits
from docvalidate.backends.e2b import E2BBackend, E2BSettings, SdkSandboxes

PARITY = Path(__file__).resolve().parent / "fixtures" / "parity"


def check(*args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("check", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in report["examples"]}


# --- running pages ------------------------------------------------------------------------------


def test_a_page_runs_in_e2b(e2b_env, write):
    write("data.txt", "hello")
    write("a.md", "# A\n\n" + block("x = open('data.txt').read()\nprint(x)")
          + block("print(x.upper())\n#> HELLO") + block("y = 1 / 0"))
    code, report = check("--backend", "e2b", "a.md")
    assert code == 1
    first, second, third = report["examples"]
    assert (first["status"], first["stdout"], first["backend"]) == ("passed", "hello\n", "e2b")
    assert second["status"] == "passed"
    assert third["error"]["type"] == "ZeroDivisionError" and third["error"]["line"] == 14
    assert 'File "a.md", line 14' in third["error"]["traceback"]
    # one sandbox, or more if the shared test server had a fault the run got over
    assert re.fullmatch(r"E2B: \d+ sandbox(es)?, \d+ s of sandbox time", report["usage"])


def test_the_text_summary_says_what_e2b_cost(e2b_env, write):
    write("a.md", block("print(1)"))
    result = invoke("check", "--backend", "e2b", "a.md")
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed, 0 skipped in " in result.output
    assert re.search(r"\(E2B: \d+ sandbox(es)?, \d+ s of sandbox time\)", result.output)


def test_pages_never_share_state_across_contexts(e2b_env, write):
    for n in range(4):
        write(f"p{n}.md", block(f"import os\nmine = {n}\nassert 'theirs' not in globals()")
              + block("theirs = mine\nprint(sorted(os.listdir('.')))"))
    code, report = check("--backend", "e2b", "--jobs", "3", ".")
    assert code == 0, report
    assert len(report["examples"]) == 8
    # every session saw a fresh copy of the project: no page's files in another's folder
    assert {e["stdout"] for e in report["examples"] if e["stdout"]} == {
        "['p0.md', 'p1.md', 'p2.md', 'p3.md', 'pyproject.toml']\n"}


def test_a_timeout_names_its_line_and_ends_the_session(e2b_env, write):
    write("t.md", "# T\n\n" + block("import time\nx = 1\nwhile True:\n    time.sleep(0.05)",
                                    "timeout=2") + block("print('never')"))
    code, report = check("--backend", "e2b", "t.md")
    first, second = report["examples"]
    assert code == 1
    assert first["error"]["type"] == "Timeout" and first["error"]["line"] in (7, 8)
    assert second["status"] == "skipped" and second["reason"] == "session aborted at line 4"


def test_examples_change_their_copy_not_the_upload(e2b_env, write):
    write("data.txt", "original")
    write("a.md", block("open('data.txt', 'w').write('changed')\nprint(open('data.txt').read())"))
    write("b.md", block("print(open('data.txt').read())"))
    _, report = check("--backend", "e2b", "--jobs", "1", "a.md", "b.md")
    assert [e["stdout"] for e in report["examples"]] == ["changed\n", "original\n"]


def test_the_key_never_reaches_the_examples(e2b_env, write, monkeypatch):
    monkeypatch.setenv("E2B_API_KEY", "e2b_sekrit_key_123")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sekrit")
    write("a.md", block("import os\nprint(sorted(os.environ.items()))"))
    code, report = check("--backend", "e2b", "a.md")
    assert code == 0
    (example,) = report["examples"]
    assert "sekrit" not in example["stdout"] and "E2B_API_KEY" not in example["stdout"]


def test_configured_env_reaches_the_examples_without_shifting_lines(e2b_env, write):
    write("docvalidate.toml", 'backend = "e2b"\nenv = { GREETING = "it\'s \\"quoted\\"" }\n')
    write("a.md", "# A\n\n" + block("import os\nprint(os.environ['GREETING'])\nboom"))
    _, report = check("a.md")
    (example,) = report["examples"]
    assert example["stdout"] == 'it\'s "quoted"\n'
    assert example["error"]["type"] == "NameError" and example["error"]["line"] == 6


def test_a_missing_key_is_one_line_before_anything_runs(write, monkeypatch):
    for name in ("E2B_API_KEY", "E2B_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    write("a.md", block("open('ran', 'w')"))
    result = invoke("check", "--backend", "e2b", "a.md")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        'docvalidate: error: backend = "e2b" needs an API key in E2B_API_KEY (never in a '
        "config file); E2B_DEBUG=true talks to a local E2B server instead"]


def test_the_key_is_refused_in_config(write):
    write("docvalidate.toml", '[e2b]\napi_key = "e2b_x"\n')
    write("a.md", block("x = 1"))
    result = invoke("check", "a.md")
    assert result.exit_code == 2 and "E2B_API_KEY only" in result.output


def test_strict_refuses_e2b_from_the_project(write):
    write("docvalidate.toml", 'backend = "e2b"\n')
    write("a.md", block("x = 1"))
    result = invoke("check", "--strict", "a.md")
    assert result.exit_code == 2 and 'backend = "e2b"' in result.output


# --- parity with the local backend ------------------------------------------------------------

# What may differ between the backends: nothing in the parity corpus. Limits that only a local
# sandbox enforces (the network, other users' files) are covered by test_sandbox.py instead.
COMPARED = ("status", "reason", "stdout", "marker")


def test_the_corpus_gives_the_same_verdicts_on_both_backends(e2b_env, tmp_path, monkeypatch):
    project = tmp_path / "parity"
    shutil.copytree(PARITY, project)
    monkeypatch.chdir(project)
    _, local = check("docs")
    _, remote = check("--backend", "e2b", "docs")
    local_by, remote_by = by_id(local), by_id(remote)
    assert local_by.keys() == remote_by.keys() and len(local_by) >= 18
    for example_id, mine in local_by.items():
        theirs = remote_by[example_id]
        for key in COMPARED:
            assert mine[key] == theirs[key], (example_id, key, mine[key], theirs[key])
        mine_error, their_error = mine["error"], theirs["error"]
        assert (mine_error is None) == (their_error is None), example_id
        if mine_error is not None:
            for key in ("type", "line", "message"):
                assert mine_error[key] == their_error[key], (example_id, key)
        assert mine["stderr"] == theirs["stderr"], example_id
    assert local["summary"] == remote["summary"]
    statuses = {e["status"] for e in local["examples"]}
    assert statuses == {"passed", "failed", "skipped"}


# --- the pool ---------------------------------------------------------------------------------


class Counted:
    """Real debug-mode sandboxes, with every control-plane call counted (the seam)."""

    def __init__(self, settings: E2BSettings, fail_first: int = 0) -> None:
        self.real = SdkSandboxes(settings)
        self.created: list[Any] = []
        self.killed: list[Any] = []
        self.extended: list[int] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def create(self) -> Any:
        from e2b.exceptions import RateLimitException

        with self.lock:
            if self.fail_first:
                self.fail_first -= 1
                raise RateLimitException("429: rate limit exceeded")
        sandbox = self.real.create()
        with self.lock:
            self.created.append(sandbox)
        return sandbox

    def extend(self, sandbox: Any, seconds: int) -> None:
        self.extended.append(seconds)

    def kill(self, sandbox: Any) -> None:
        self.killed.append(sandbox)


def _run_pages(backend: E2BBackend, root: Path, pages: int, jobs: int) -> list[Any]:
    from docvalidate.config import Config
    from docvalidate.engine import check as engine_check

    for n in range(pages):
        (root / f"p{n}.md").write_text(block(f"x = {n}") + block(f"assert x == {n}"))
    config = Config(jobs=jobs, backend="e2b")
    report = engine_check(config, (str(root),), made=(backend, []))
    return list(report.outcomes)


def test_the_pool_makes_at_most_jobs_sandboxes_and_reuses_them(e2b_env, project):
    settings = E2BSettings(debug=True)
    made = Counted(settings)
    backend = E2BBackend(settings, Limits(), {}, jobs=2, sandboxes=made)
    try:
        outcomes = _run_pages(backend, project, pages=6, jobs=2)
    finally:
        backend.close()
    assert [o.result.status for o in outcomes] == ["passed"] * 12
    assert 1 <= len(made.created) <= 2
    assert len(made.killed) == len(made.created)  # every sandbox is killed at the end


def test_sandboxes_are_made_no_faster_than_the_service_allows(e2b_env, project):
    import time

    settings = E2BSettings(debug=True)
    made = Counted(settings)
    stamps: list[float] = []
    real_create = made.create

    def stamped() -> Any:
        stamps.append(time.monotonic())
        return real_create()

    made.create = stamped  # type: ignore[method-assign]
    backend = E2BBackend(settings, Limits(), {}, jobs=3, sandboxes=made)
    backend._pool.interval = 0.3
    try:
        # Three sessions that each wait, so that three sandboxes are asked for at once.
        for n in range(3):
            (project / f"w{n}.md").write_text(block("import time\ntime.sleep(1.5)"))
        from docvalidate.config import Config
        from docvalidate.engine import check as engine_check

        engine_check(Config(jobs=3, backend="e2b"), (str(project),), made=(backend, []))
    finally:
        backend.close()
    assert len(stamps) == 3
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(gap >= 0.29 for gap in gaps), gaps


def test_a_rate_limited_creation_is_retried(e2b_env, project):
    settings = E2BSettings(debug=True)
    made = Counted(settings, fail_first=2)
    backend = E2BBackend(settings, Limits(), {}, jobs=1, sandboxes=made)
    backend._pool.interval = backend._pool.backoff = 0.05
    try:
        outcomes = _run_pages(backend, project, pages=1, jobs=1)
    finally:
        backend.close()
    assert [o.result.status for o in outcomes] == ["passed", "passed"]
    assert made.fail_first == 0 and len(made.created) == 1


def test_a_sandbox_in_use_is_kept_alive(e2b_env, project):
    settings = E2BSettings(debug=True, lifetime=60)
    made = Counted(settings)
    backend = E2BBackend(settings, Limits(), {}, jobs=1, sandboxes=made)
    try:
        _run_pages(backend, project, pages=1, jobs=1)
        (slot,) = backend._pool._all
        slot.expires -= 45  # as if it had run for most of its life
        _run_pages(backend, project, pages=1, jobs=1)
    finally:
        backend.close()
    assert made.extended == [60]


def test_every_sandbox_is_killed_when_the_run_is_stopped(e2b_env, project):
    from docvalidate.config import Config
    from docvalidate.engine import check as engine_check

    settings = E2BSettings(debug=True)
    made = Counted(settings)
    backend = E2BBackend(settings, Limits(), {}, jobs=2, sandboxes=made)
    (project / "slow.md").write_text(block("import time\ntime.sleep(60)"))
    timer = threading.Timer(3.0, backend.cancel)
    timer.start()
    try:
        report = engine_check(Config(jobs=2, backend="e2b"), (str(project),),
                              made=(backend, []))
    finally:
        timer.cancel()
        backend.close()
    (outcome,) = report.outcomes
    assert outcome.result.error is not None and outcome.result.error.type == "Cancelled"
    assert made.created and len(made.killed) == len(made.created)


def test_a_job_through_the_backend_directly(e2b_env, project):
    # The transport alone: the protocol client drives it as it drives the local backend.
    from docvalidate.backends.base import Block
    from docvalidate.protocol import run_job

    settings = E2BSettings(debug=True)
    backend = E2BBackend(settings, Limits(), {}, jobs=1)
    try:
        runs = list(run_job(backend, Job("a.md", project, (
            Block("a.md:1", "print('one')\n", 10.0),
            Block("a.md:5", "raise KeyError('k')\n", 10.0)), 1 << 20, Limits())))
    finally:
        backend.close()
    assert [r.stdout for r in runs] == ["one\n", ""]
    assert runs[1].error is not None and runs[1].error.mro[0] == "builtins.KeyError"
    assert os.environ.get("E2B_DEBUG") == "true"


def test_a_sandbox_that_cannot_be_made_is_an_error_not_a_failure(e2b_env, project, monkeypatch):
    import docvalidate.runner as runner

    monkeypatch.setattr(runner, "RETRY_PAUSE", 0.01)
    settings = E2BSettings(debug=True)
    made = Counted(settings, fail_first=10_000)
    backend = E2BBackend(settings, Limits(), {}, jobs=1, sandboxes=made, retries=1)
    backend._pool.interval = backend._pool.backoff = 0.01
    try:
        outcomes = _run_pages(backend, project, pages=1, jobs=1)
    finally:
        backend.close()
    first, second = (o.result for o in outcomes)
    assert first.status == "error" and first.error is None
    assert first.reason is not None and "RateLimitException" in first.reason
    assert "2 tries" in first.reason
    assert second.status == "skipped"


# --- faults of the service --------------------------------------------------------------------


@pytest.fixture
def proxy(e2b_server, monkeypatch):
    """The fault proxy in front of the local server, with the SDK pointed at it."""
    from e2b_faults import FaultProxy

    import docvalidate.runner as runner

    monkeypatch.setattr(runner, "RETRY_PAUSE", 0.05)
    with FaultProxy(e2b_server.url) as faults:
        monkeypatch.delenv("E2B_API_KEY", raising=False)
        for name, value in faults.sdk_env().items():
            monkeypatch.setenv(name, value)
        yield faults


def _warm_backend(project: Path) -> tuple[E2BBackend, Any]:
    """A backend that has run the page once (its sandbox is made and the project uploaded),
    so that the next run's requests are the session's own: set-up cell, block, clean-up."""
    from docvalidate.config import Config
    from docvalidate.engine import check as engine_check

    (project / "a.md").write_text(block("x = 41") + block("print(x + 1)\n#> 42"))
    (project / "b.md").write_text(block("x = 1", "timeout=2") + block("y = 2"))
    backend = E2BBackend(E2BSettings(debug=True), Limits(), {}, jobs=1)
    config = Config(jobs=1, backend="e2b")
    report = engine_check(config, ("a.md",), made=(backend, []))
    assert [o.result.status for o in report.outcomes] == ["passed", "passed"]
    backend.settle()  # its clean-up and the spare context are done: the next cells are ours
    return backend, lambda: engine_check(config, ("a.md",), made=(backend, []))


# Cells a run of a warm backend sends before its first block: the session's set-up (the
# project, unchanged since the first run, is not uploaded again).
BEFORE_FIRST_BLOCK = 1


def _faults() -> list[Any]:
    from e2b_faults import BAD_GATEWAY, RATE_LIMITED, SERVICE_BUSY, Drop, EndEarly

    return [BAD_GATEWAY, SERVICE_BUSY, RATE_LIMITED, Drop(0), EndEarly(0)]


@pytest.mark.parametrize("fault", _faults(), ids=["502", "503", "429", "dropped", "short"])
def test_a_fault_in_a_session_runs_the_session_again(proxy, project, fault):
    from e2b_faults import Slow

    backend, again = _warm_backend(project)
    try:
        # The upload and the set-up cell pass; the first block's cell meets the fault.
        proxy.inject("execute", *[Slow(0)] * BEFORE_FIRST_BLOCK, fault)
        report = again()
    finally:
        backend.close()
    assert [o.result.status for o in report.outcomes] == ["passed", "passed"]
    assert report.outcomes[1].result.stdout == "42\n"
    assert proxy.pending("execute") == 0  # the fault was met, and the session ran again


def test_a_context_that_vanished_is_a_fault(proxy, project):
    from e2b_faults import CONTEXT_NOT_FOUND

    backend, again = _warm_backend(project)
    try:
        proxy.inject("create_context", CONTEXT_NOT_FOUND)
        report = again()
    finally:
        backend.close()
    assert [o.result.status for o in report.outcomes] == ["passed", "passed"]
    assert proxy.pending("create_context") == 0


def test_faults_that_do_not_stop_are_errors_never_failures(proxy, project, model_server,
                                                          monkeypatch):
    from e2b_faults import SERVICE_BUSY

    (project / "a.md").write_text(block("print(undefined_name)"))
    monkeypatch.setenv("DOCVALIDATE_E2B_TEST", "1")
    proxy.inject("execute", *[SERVICE_BUSY] * 200)
    result = invoke("fix", "--backend", "e2b", "--format", "json", "a.md")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    (example,) = report["examples"]
    assert example["status"] == "error" and example["error"] is None
    assert "503 Service Unavailable" in example["reason"]
    assert "4 tries" in example["reason"]
    assert report["summary"]["errors"] == 1 and report["summary"]["failed"] == 0
    assert model_server.requests == []  # never shown to the model as the example's error
    assert (project / "a.md").read_text() == block("print(undefined_name)")


def test_a_hung_execution_never_hangs_the_run(proxy, project):
    from e2b_faults import Slow

    backend, _ = _warm_backend(project)
    try:
        from docvalidate.config import Config
        from docvalidate.engine import check as engine_check

        # the block's answer never comes
        proxy.inject("execute", *[Slow(0)] * BEFORE_FIRST_BLOCK, Slow(120))
        report = engine_check(Config(jobs=1, backend="e2b"), ("b.md",), made=(backend, []))
    finally:
        backend.close()
    first, second = (o.result for o in report.outcomes)
    assert first.error is not None and first.error.type == "Timeout"
    assert second.status == "skipped"


# --- fix on E2B -------------------------------------------------------------------------------


def test_fix_runs_every_candidate_in_e2b(e2b_env, project, write, model_server):
    from llm_server import answer

    # The model's first answer still fails (in E2B); the error goes back to it, and its
    # second answer passes (in E2B) and is written.
    write("a.md", block("prices = [1, 2, 3]\nprint(total(prices))\n#> 6"))
    model_server.script(
        answer("prices = [1, 2, 3]\nprint(summ(prices))\n#> 6\n"),
        answer("prices = [1, 2, 3]\nprint(sum(prices))\n#> 6\n"))
    result = invoke("fix", "--backend", "e2b", "--format", "json", "a.md")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (example,) = report["examples"]
    assert example["backend"] == "e2b"
    attempts = example["repair"]["attempts"]
    assert [a["error"]["type"] if a["error"] else None for a in attempts] == ["NameError", None]
    assert "summ" in json.dumps(model_server.requests[1].messages)  # fed back from E2B
    assert example["final"]["status"] == "passed"
    assert "print(sum(prices))" in (project / "a.md").read_text()


# --- what the sandbox holds -------------------------------------------------------------------


def test_upload_globs_choose_the_files_and_v_says_what_went(e2b_env, write):
    write("docvalidate.toml", 'backend = "e2b"\n[e2b]\nupload = ["data/*.csv"]\n')
    write("data/input.csv", "a,b\n")
    write("data/notes.txt", "private")
    write("a.md", block("import os\nprint(sorted(os.listdir('data')), os.path.exists('a.md'))"))
    result = invoke("check", "-v", "a.md")
    assert result.exit_code == 0, result.output
    assert "['input.csv'] False" not in result.output  # stdout is not shown for a pass
    _, report = check("a.md")
    assert report["examples"][0]["stdout"] == "['input.csv'] False\n"
    assert "e2b upload: " in result.output and "1 file (0 KiB" in result.output
    assert "chosen by e2b.upload ['data/*.csv']" in result.output


def test_a_requirement_that_cannot_be_installed_is_named(e2b_env, write):
    write("docvalidate.toml", 'backend = "e2b"\n[e2b]\n'
          'requirements = ["docvalidate-no-such-package-e2b-test==0.0.1"]\n')
    write("a.md", block("x = 1"))
    _, report = check("a.md")
    (example,) = report["examples"]
    assert example["status"] == "failed"
    assert example["error"]["message"].startswith(
        "E2B: pip could not install requirement 'docvalidate-no-such-package-e2b-test==0.0.1'")


def test_e2b_config_is_validated(write):
    write("docvalidate.toml", 'backend = "e2b"\n[e2b]\nmax_sandboxes = 0\n')
    write("a.md", block("x = 1"))
    result = invoke("check", "a.md")
    assert result.exit_code == 2
    assert "e2b.max_sandboxes = 0 is invalid: expected a whole number from 1 to 1000" in (
        result.output)


def test_install_project_installs_the_uploaded_project(e2b_env, write):
    from e2b_code_interpreter import Sandbox

    write("pyproject.toml", '[build-system]\nrequires = ["setuptools>=61"]\n'
          'build-backend = "setuptools.build_meta"\n\n[project]\n'
          'name = "docvalidate-e2b-installed-probe"\nversion = "1.2.3"\n\n'
          '[tool.setuptools]\npy-modules = ["dv_e2b_installed_probe"]\n'
          '\n[tool.docvalidate]\nbackend = "e2b"\n[tool.docvalidate.e2b]\n'
          'install_project = true\n')
    write("dv_e2b_installed_probe.py", "ANSWER = 42\n")
    write("a.md", block("import importlib.metadata as m\n"
                        "print(m.version('docvalidate-e2b-installed-probe'))"))
    try:
        code, report = check("a.md")
        assert code == 0, report
        assert report["examples"][0]["stdout"] == "1.2.3\n"
    finally:  # the debug "sandbox" is this machine's shared server: leave nothing installed
        sandbox = Sandbox.create(debug=True)
        context = sandbox.create_code_context()
        sandbox.run_code("import subprocess, sys\nsubprocess.run([sys.executable, '-m', 'pip', "
                         "'uninstall', '-y', 'docvalidate-e2b-installed-probe'])",
                         context=context, timeout=120)
        sandbox.remove_code_context(context)


def test_every_context_made_is_removed(proxy, write):
    # Seen on the wire: the other tests share the server, so its list of contexts says nothing.
    write("a.md", block("x = 1") + block("assert x == 1"))
    write("b.md", block("import time\nwhile True:\n    time.sleep(0.05)", "timeout=2"))
    write("c.md", block("y = 2"))
    code, _ = check("--backend", "e2b", "--jobs", "2", ".")
    assert code == 1
    made = proxy.kinds().count("create_context")
    removed = [path for kind, method, path in proxy.requests
               if kind == "context" and method == "DELETE"]
    assert made >= 4  # two sandboxes' own contexts and three sessions' at least
    assert len(removed) == made


def test_a_kept_backend_uploads_again_only_what_changed(proxy, project):
    from docvalidate.config import Config
    from docvalidate.engine import check as engine_check

    (project / "data.txt").write_text("one")
    (project / "a.md").write_text(block("print(open('data.txt').read())"))
    backend = E2BBackend(E2BSettings(debug=True), Limits(), {}, jobs=1)
    config = Config(jobs=1, backend="e2b")

    def run() -> tuple[str, int]:
        before = len(proxy.requests)
        report = engine_check(config, ("a.md",), made=(backend, []))
        backend.settle()
        cells = [kind for kind, _, _ in proxy.requests[before:]].count("execute")
        return report.outcomes[0].result.stdout, cells

    try:
        first, uploaded = run()
        second, unchanged = run()  # refreshed (as `mkdocs serve` does), nothing changed
        (project / "data.txt").write_text("two")
        third, changed = run()
    finally:
        backend.close()
    assert (first, second, third) == ("one\n", "one\n", "two\n")
    assert unchanged == uploaded - 3  # no folders, archive or unpacking: the copy is current
    assert changed == uploaded


def test_requires_compares_with_the_sandboxes_python(proxy, write):
    from e2b_code_interpreter import Sandbox

    sandbox = Sandbox.create(debug=True)
    context = sandbox.create_code_context()
    asked = sandbox.run_code("import sys; print('%d.%d.%d' % sys.version_info[:3])",
                             context=context)
    sandbox.remove_code_context(context)
    theirs = "".join(asked.logs.stdout).strip()
    before = len(proxy.requests)
    write("a.md", '```python requires="99.0"\nx = 1\n```\n')
    code, report = check("--backend", "e2b", "a.md")
    (example,) = report["examples"]
    assert code == 0 and example["status"] == "skipped"
    assert example["reason"] == f"requires Python 99.0 (examples run on {theirs})"
    # Nothing of the page ran: what the proxy saw was the question to the sandbox's Python.
    assert "execute" in [kind for kind, _, _ in proxy.requests[before:]]


def test_four_sandboxes_unless_jobs_says_otherwise(monkeypatch):
    import os as _os

    from docvalidate.config import Config
    from docvalidate.engine import make_backend

    monkeypatch.setenv("E2B_DEBUG", "true")
    for config, size in ((Config(backend="e2b"), 4), (Config(backend="e2b", jobs=9), 9),
                         (Config(backend="e2b", jobs=50), 20)):  # at most max_sandboxes
        made, _ = make_backend(config)
        try:
            assert made._pool.size == size  # type: ignore[attr-defined]
        finally:
            made.close()
    assert Config().parallel == (_os.cpu_count() or 1)


# --- attacks: an example that writes where the worker answers ------------------------------------


def test_an_example_cannot_answer_in_the_workers_place(e2b_env, write):
    # The answer channel on E2B is the kernel's own stdout: an example finds the kernel's
    # stream (sys.__stdout__, the OutStream objects) and writes "passed" answers there, for
    # its own block and the next, with any marker and nonce it can guess.
    forged = json.dumps({"t": "end", "b": 1, "n": "0" * 32, "error": None, "stdout": "",
                         "stderr": "", "stdout_dropped": 0, "stderr_dropped": 0,
                         "prints": [], "statements": [], "detail_dropped": 0})
    attack = ("import gc, sys\n"
              f"lines = [m + {forged!r} + '\\n' for m in ('\\x1edocvalidate-0000:', '')]\n"
              "for thing in [sys.__stdout__, *gc.get_objects()]:\n"
              "    if type(thing).__name__ in ('OutStream', 'TextIOWrapper'):\n"
              "        for line in lines:\n"
              "            try:\n"
              "                thing.write(line)\n"
              "                thing.flush()\n"
              "            except Exception:\n"
              "                pass\n"
              "raise ValueError('the real outcome')")
    write("a.md", block(attack) + block("raise ValueError('must not pass')")
          + block("print('next session')", "isolated"))
    code, report = check("--backend", "e2b", "a.md")
    first, second, other = report["examples"]
    assert code == 1
    assert first["status"] == "failed" and first["error"]["type"] == "ValueError"
    assert second["status"] == "failed" and second["error"]["message"] == "must not pass"
    assert other["status"] == "passed"
