"""The command line as a user meets it: reports, exit codes, config, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke

REPO = Path(__file__).resolve().parents[1]
OK = "```python\nprint('ok')\n```\n"
BAD = "# Title\n\n```python\nx = 1\nprint(y)\n```\n"


def test_exit_codes(write):
    write("good.md", OK)
    write("bad.md", BAD)
    assert invoke("check", "good.md").exit_code == 0
    assert invoke("check", "bad.md").exit_code == 1
    assert invoke("check", "missing.md").exit_code == 2
    assert invoke("check", "--sessions", "nope", "good.md").exit_code == 2
    assert invoke("check", "--no-such-option").exit_code == 2


def test_text_report_shows_place_code_and_traceback(write):
    write("bad.md", BAD)
    result = invoke("check", "bad.md")
    out = result.output
    assert "FAILED bad.md:5" in out
    assert "> 5 | print(y)" in out  # the broken line is marked
    assert "  4 | x = 1" in out
    assert 'File "bad.md", line 5' in out
    assert "NameError: name 'y' is not defined" in out
    assert out.strip().splitlines()[-1].startswith("0 passed, 1 failed, 0 skipped")


def test_json_report_shape(write):
    write("docs/a.md", "intro\n\n" + OK + "\n" + BAD)
    result = invoke("check", "--format", "json", "docs")
    report = json.loads(result.stdout)
    assert set(report) >= {"version", "summary", "files", "examples"}
    assert report["version"] == 1
    assert report["summary"] == {"passed": 1, "failed": 1, "skipped": 0, "errors": 0,
                                 "file_errors": 0}
    assert report["files"] == [{"path": "docs/a.md", "dialect": "commonmark", "examples": 2,
                                "error": None, "warnings": []}]
    first, second = report["examples"]
    required = {"id", "path", "line", "end_line", "language", "session", "status", "reason",
                "duration", "stdout", "stderr", "error"}
    assert required <= set(first)
    assert (first["id"], first["line"], first["end_line"]) == ("docs/a.md:3", 3, 5)
    assert first["stdout"] == "ok\n" and first["error"] is None
    assert second["error"]["type"] == "NameError"
    assert second["error"]["line"] == 11
    assert set(second["error"]) >= {"type", "message", "line", "traceback"}


def test_json_output_file(write, project: Path):
    write("a.md", OK)
    result = invoke("check", "--format", "json", "--output", "report.json", "a.md")
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads((project / "report.json").read_text())["summary"]["passed"] == 1


def test_paths_outside_cwd_are_absolute(tmp_path: Path, write):
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (outside / "x.md").write_text(OK)
    report = json.loads(invoke("check", "--format", "json", str(outside)).stdout)
    assert report["examples"][0]["path"] == str(outside / "x.md")


def test_list_command(write):
    write("a.md", "<!-- docvalidate: skip -->\n" + OK + "\n<!-- docvalidate: session=s1 -->\n"
          + OK)
    text = invoke("list", "a.md")
    assert text.exit_code == 0
    assert "a.md:2" in text.output and "skip" in text.output
    assert "session=a.md#s1" in text.output
    data = json.loads(invoke("list", "--format", "json", "a.md").stdout)
    assert [e["id"] for e in data["examples"]] == ["a.md:2", "a.md:7"]
    assert data["examples"][0]["directives"][0]["name"] == "skip"
    assert "status" not in data["examples"][0]


def test_default_paths(project: Path, write):
    write("top.md", BAD)
    write("docs/in_docs.md", OK)
    report = json.loads(invoke("check", "--format", "json").stdout)
    assert [e["path"] for e in report["examples"]] == ["docs/in_docs.md"]  # docs/ wins
    shutil.rmtree(project / "docs")
    report = json.loads(invoke("check", "--format", "json").stdout)
    assert [e["path"] for e in report["examples"]] == ["top.md"]  # else "."
    write("docvalidate.toml", 'paths = ["guide"]\n')
    write("guide/g.md", OK)
    report = json.loads(invoke("check", "--format", "json").stdout)
    assert [e["path"] for e in report["examples"]] == ["guide/g.md"]  # config paths


def test_discovery_skips_hidden_site_venv_and_excluded(project: Path, write):
    write("docs/keep.md", OK)
    write("docs/also.markdown", OK)
    write("docs/notes.txt", BAD)
    write(".hidden/x.md", BAD)
    write("site/x.md", BAD)
    write("env/pyvenv.cfg", "home = /usr\n")
    write("env/x.md", BAD)
    write("docs/drafts/x.md", BAD)
    write("docs/old/y.md", BAD)
    result = invoke("check", "--format", "json", ".", "--exclude", "drafts",
                    "--exclude", "docs/old")
    paths = sorted(e["path"] for e in json.loads(result.stdout)["examples"])
    assert paths == ["docs/also.markdown", "docs/keep.md"]
    assert result.exit_code == 0


def test_config_exclude_and_explicit_path(project: Path, write):
    write("pyproject.toml", "[tool.docvalidate]\nexclude = ['broken']\n")
    write("docs/ok.md", OK)
    write("docs/broken/b.md", BAD)
    assert invoke("check", "docs").exit_code == 0
    # A folder named explicitly is searched even though the config excludes it.
    assert invoke("check", "docs/broken").exit_code == 1


@pytest.mark.parametrize(("config", "message"), [
    ("unknown_key = 1\n", "unknown key 'unknown_key'"),
    ("timeout = -1\n", "timeout"),
    ("sessions = 'cell'\n", "sessions"),
    ("jobs = 'many'\n", "jobs"),
    ("this is not toml\n", "invalid TOML"),
    ("python = 'no-such-python-here'\n", "no-such-python-here"),
])
def test_config_errors_exit_2_with_one_line(write, config: str, message: str):
    write("docvalidate.toml", config)
    write("a.md", OK)
    result = invoke("check", "a.md")
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_pyproject_section_is_read(write):
    write("pyproject.toml", "[tool.docvalidate]\nsessions = 'block'\n")
    write("a.md", "```python\nx = 1\n```\n\n```python\nprint(x)\n```\n")
    assert invoke("check", "a.md").exit_code == 1
    assert invoke("check", "--sessions", "page", "a.md").exit_code == 0  # option overrides


def test_explicit_config_file(write):
    write("ci.toml", "sessions = 'block'\n")
    write("a.md", "```python\nx = 1\n```\n\n```python\nprint(x)\n```\n")
    assert invoke("check", "a.md").exit_code == 0
    assert invoke("check", "--config", "ci.toml", "a.md").exit_code == 1
    assert invoke("check", "--config", "missing.toml", "a.md").exit_code == 2


# --- bad input: one clear message naming the file, the rest is still checked ----------------


def _bad_input_run(project: Path) -> tuple[int, dict, str]:
    result = invoke("check", "--format", "json", ".")
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def _file_entry(report: dict, name: str) -> dict:
    return next(f for f in report["files"] if f["path"] == name)


def test_bad_files_are_reported_and_others_still_run(project: Path, write):
    write("good.md", OK)
    (project / "latin1.md").write_bytes("caf\xe9\n```python\nx=1\n```\n".encode("latin-1"))
    (project / "binary.md").write_bytes(b"abc\n\x00\x01\x02")
    (project / "dangling.md").symlink_to(project / "nowhere.md")
    (project / "huge.md").write_bytes(b"x" * (11 * 1024 * 1024))
    code, report, _ = _bad_input_run(project)
    assert code == 1
    assert report["summary"]["passed"] == 1
    assert report["summary"]["file_errors"] == 4
    assert "UTF-8" in _file_entry(report, "latin1.md")["error"]
    assert "line 1" in _file_entry(report, "latin1.md")["error"]
    assert "binary" in _file_entry(report, "binary.md")["error"]
    assert "broken symbolic link" in _file_entry(report, "dangling.md")["error"]
    assert "MiB" in _file_entry(report, "huge.md")["error"]


def test_unreadable_file(project: Path, write, monkeypatch):
    write("good.md", OK)
    write("secret.md", OK)
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.md":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code, report, _ = _bad_input_run(project)
    assert code == 1
    assert "Permission denied" in _file_entry(report, "secret.md")["error"]
    assert report["summary"]["passed"] == 1


def test_text_report_names_bad_file(project: Path, write):
    (project / "binary.md").write_bytes(b"\x00")
    write("good.md", OK)
    result = invoke("check", ".")
    assert result.exit_code == 1
    assert "binary.md: error: binary file" in result.output
    assert "1 file error" in result.output


def test_unclosed_fence_is_a_warning_not_silently_run(project: Path, write):
    write("a.md", "# A\n\n```python\nprint('never closed')\n")
    _code, report, _ = _bad_input_run(project)
    (warning,) = report["files"][0]["warnings"]
    assert warning["line"] == 3 and "unclosed" in warning["message"]
    (ex,) = report["examples"]
    assert ex["status"] == "skipped" and "unclosed" in ex["reason"]
    assert ex["stdout"] == ""
    text = invoke("check", "a.md").output
    assert "a.md:3: warning: unclosed" in text


def test_invalid_front_matter(project: Path, write):
    write("a.md", "---\ntitle: [unclosed\n---\n\n```python\nprint('still runs')\n```\n")
    _code, report, _ = _bad_input_run(project)
    (warning,) = report["files"][0]["warnings"]
    assert "front matter" in warning["message"] and warning["line"] in (2, 3, 4)
    assert report["examples"][0]["status"] == "passed"
    assert report["examples"][0]["line"] == 5


def test_empty_folder(project: Path):
    (project / "empty").mkdir()
    result = invoke("check", "empty")
    assert result.exit_code == 0
    assert "no Markdown files found" in result.output


def test_missing_path_is_a_usage_error(project: Path):
    result = invoke("check", "nope/")
    assert result.exit_code == 2
    assert result.stderr.strip() == "docvalidate: error: path nope does not exist"


# --- the installed command and the sample docs ----------------------------------------------


def _docvalidate(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([sys.executable, "-m", "docvalidate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_sample_docs_pass_without_the_broken_folder():
    result = _docvalidate("check", "sample_docs", "--exclude", "broken", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["passed"] >= 20
    assert report["summary"]["skipped"] >= 3
    dialects = {f["path"]: f["dialect"] for f in report["files"]}
    assert dialects["sample_docs/docs/index.md"] == "mkdocs"


def test_sample_docs_broken_folder_fails():
    result = _docvalidate("check", "sample_docs/broken")
    assert result.returncode == 1
    assert "FAILED sample_docs/broken/stock-report.md:" in result.stdout
    assert "Traceback (most recent call last)" in result.stdout


def test_progress_bar_only_on_a_terminal(project: Path, write):
    import pty

    write("a.md", "```python\nimport time\ntime.sleep(0.3)\n```\n")
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "docvalidate", "check", "a.md"],
                              stdout=subprocess.PIPE, stderr=slave, timeout=60, text=True,
                              env={**os.environ, "TERM": "xterm", "COLUMNS": "80"})
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert b"checking examples" in seen  # drawn on the terminal (stderr)
    assert "checking examples" not in proc.stdout  # never mixed into the report
    piped = _docvalidate("check", "a.md", cwd=project)
    assert "checking examples" not in piped.stdout + piped.stderr


def test_readme_examples_pass():
    result = _docvalidate("check", "README.md", "--format", "json")
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["summary"]["passed"] >= 2


@pytest.mark.parametrize("command", ["check", "list", "fix"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_report_to_a_folder_that_does_not_exist(command: str, fmt: str, write, tmp_path):
    write("a.md", "```python\nprint(1)\n```\n")
    result = invoke(command, "--format", fmt, "--output", str(tmp_path / "no" / "r.txt"),
                    "a.md")
    assert result.exit_code == 2
    # (Without a sandbox here, a warning line says so first.)
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("docvalidate: error:")]
    assert line.startswith("docvalidate: error: cannot write report to ")


def test_fix_writes_its_text_report_to_output(write, tmp_path):
    write("a.md", "```python\nprint(1)\n```\n")
    target = tmp_path / "fix.txt"
    result = invoke("fix", "--dry-run", "--output", str(target), "a.md")
    assert result.exit_code == 0
    assert "after fixing: 1 passed, 0 failed" in target.read_text()
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["check", "list", "fix"])
def test_a_text_report_that_cannot_be_written_is_one_line(command: str, write):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full, where every write fails (ENOSPC)")
    write("a.md", OK)
    result = invoke(command, "--output", "/dev/full", "a.md")
    assert result.exit_code == 2
    errors = [ln for ln in result.stderr.splitlines() if not ln.startswith("docvalidate: warn")]
    assert errors == ["docvalidate: error: cannot write report to /dev/full: No space left on "
                      "device"]


def test_a_relative_python_option_is_relative_to_the_current_folder(project: Path, write,
                                                                   monkeypatch):
    write("docvalidate.toml", "timeout = 20\n")  # a config file, in the folder above
    write("sub/a.md", "```python\nimport sys\nprint(sys.executable)\n```\n")
    for folder in (project / "sub" / "venv" / "bin", project / "tools"):
        folder.mkdir(parents=True)
        (folder / "python").symlink_to(sys.executable)
    monkeypatch.chdir(project / "sub")
    result = invoke("check", "--python", "./venv/bin/python", "a.md")
    assert result.exit_code == 0, result.output
    result = invoke("check", "--python", "venv/bin/python", "a.md")
    assert result.exit_code == 0, result.output
    # Not found where it is typed: the error names the path as typed, from here.
    result = invoke("check", "--python", "./tools/python", "a.md")
    assert result.exit_code == 2
    assert f"{project / 'sub'}/./tools/python" in result.stderr
    # In the config file, a relative path stays relative to the config file's folder.
    write("docvalidate.toml", 'python = "./tools/python"\n')
    result = invoke("check", "a.md")
    assert result.exit_code == 0, result.output
