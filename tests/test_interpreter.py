"""The examples' interpreter named in config is asked for its version and paths the way an
example runs: sandboxed (or as the unprivileged session user), with the scrubbed environment,
never on the host as docvalidate."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import examples_python, invoke

FENCE = "```"


def test_a_config_python_runs_only_where_examples_run(project: Path, write, monkeypatch):
    from conftest import needs_bwrap

    needs_bwrap()
    if not os.path.exists("/usr/bin/python3"):
        pytest.skip("needs /usr/bin/python3 for the wrapper to run")
    project.chmod(0o755)  # as a checkout is: the session's user reads the interpreter there
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    seen = Path(f"/tmp/docvalidate-probe-{uuid.uuid4().hex}")
    tools = project / "tools"
    tools.mkdir()
    fake = tools / "python"
    # A "python" that records its environment on the host, if it can, then runs Python.
    fake.write_text(f"#!/bin/sh\nenv > {seen} 2>/dev/null\nid >> {seen} 2>/dev/null\n"
                    'exec /usr/bin/python3 "$@"\n')
    fake.chmod(0o755)
    write("docvalidate.toml", 'python = "tools/python"\nisolation = "sandbox"\n')
    write("a.md", f'{FENCE}python requires="3.8"\nprint("ran")\n{FENCE}\n')
    result = invoke("check", "--format", "json", "a.md")
    assert not seen.exists()  # the sandbox's /tmp is its own
    assert result.exit_code == 0, result.output
    assert "sk-must-not-leak" not in result.output


@pytest.fixture
def script() -> Iterator[Callable[[str], Path]]:
    """``script(text)``: an executable file holding ``text``, where the examples' user can read
    it (pytest's own folders are private to root); removed afterwards."""
    folder = Path(f"/tmp/docvalidate-probe-{uuid.uuid4().hex}")
    folder.mkdir(mode=0o755)
    made = folder / "python"

    def make(text: str) -> Path:
        made.write_text(text)
        made.chmod(0o755)
        return made

    yield make
    made.unlink(missing_ok=True)
    folder.rmdir()


def test_a_python_that_is_not_python_is_one_clear_error(project: Path, write, script):
    if examples_python() is None:
        pytest.skip("no interpreter here that an unprivileged user may run")
    fake = script("#!/bin/sh\necho 'not json'\n")
    write("docvalidate.toml", f'python = "{fake}"\n')
    write("a.md", f'{FENCE}python requires="3.8"\nprint(1)\n{FENCE}\n')
    result = invoke("check", "a.md")
    assert result.exit_code == 2
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("docvalidate: error:")]
    assert f"python = '{fake}': cannot run it" in line


def test_probe_environment_is_scrubbed(project: Path, write, monkeypatch, script):
    python = examples_python()
    if python is None or os.path.realpath(python) == os.path.realpath(sys.executable):
        pytest.skip("needs an interpreter other than docvalidate's own")
    monkeypatch.setenv("DOCVALIDATE_PROBE_SECRET", "s3cret")
    # Fails the probe when it can see the secret.
    wrapper = script('#!/bin/sh\n[ -n "$DOCVALIDATE_PROBE_SECRET" ] && exit 9\n'
                     f'exec {python} "$@"\n')
    write("docvalidate.toml", f'python = "{wrapper}"\n')
    write("a.md", f'{FENCE}python requires="3.8"\nprint(1)\n{FENCE}\n')
    result = invoke("check", "a.md")
    assert result.exit_code == 0, result.output


def _version_of(python: str) -> tuple[int, int, int]:
    import subprocess

    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:3])"],
                         capture_output=True, text=True, check=True).stdout
    major, minor, micro = map(int, out.split())
    return major, minor, micro


@pytest.mark.parametrize("which", ["own", "configured"])
def test_requires_compares_the_micro_version(which: str, project: Path, write, check_json,
                                             script):
    """``requires="3.11.2"`` runs on 3.11.2 and later micro releases, and is skipped before:
    the whole version of the examples' interpreter counts, whether docvalidate runs the
    examples with its own interpreter or asks the configured one (the probe)."""
    if which == "own":
        python = sys.executable
    else:
        found = examples_python()
        if found is None:
            pytest.skip("no interpreter here that an unprivileged user may run")
        # A wrapper is not docvalidate's interpreter, so it is asked for its version.
        python = str(script(f'#!/bin/sh\nexec {found} "$@"\n'))
        write("docvalidate.toml", f'python = "{python}"\nisolation = "process"\n')
    major, minor, micro = _version_of(python)
    same, newer = f"{major}.{minor}.{micro}", f"{major}.{minor}.{micro + 1}"
    older = f"{major}.{minor}.{micro - 1}" if micro else f"{major}.{minor - 1}.99"
    write("a.md", "".join(f'{FENCE}python requires="{v}"\nprint("ran")\n{FENCE}\n\n'
                          for v in (older, same, newer)))
    _, report = check_json("a.md")
    assert [(e["status"], e["reason"]) for e in report["examples"]] == [
        ("passed", None), ("passed", None),
        ("skipped", f"requires Python {newer} (examples run on {same})")]
