"""Config discovery, validation and precedence."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from conftest import ISOLATIONS, invoke

from docvalidate.config import MAX_LIMITS, Config, find_config_file, load_config, merge
from docvalidate.discover import find_files, is_excluded
from docvalidate.engine import project_root, search_paths
from docvalidate.errors import ConfigError


def test_nearest_file_with_a_section_wins(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.docvalidate]\ntimeout = 5\n")
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    (tmp_path / "a" / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no section
    assert find_config_file(inner) == tmp_path / "pyproject.toml"
    assert load_config(start=inner).timeout == 5.0
    (tmp_path / "a" / "docvalidate.toml").write_text("timeout = 7\n")
    assert load_config(start=inner).timeout == 7.0


def test_no_config_gives_defaults(tmp_path: Path):
    config = load_config(start=tmp_path)
    assert config.source is None and config.sessions == "page" and config.timeout == 30.0


def test_paths_are_relative_to_the_config_file(tmp_path: Path, monkeypatch):
    (tmp_path / "docvalidate.toml").write_text("paths = ['guide']\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    config = load_config()
    assert search_paths(config, ()) == [tmp_path / "guide"]
    assert search_paths(config, ("x.md",)) == [Path("x.md")]


@pytest.mark.parametrize(("values", "fragment"), [
    ({"timeout": 0}, "greater than 0"),
    ({"timeout": True}, "greater than 0"),
    ({"timeout": float("inf")}, "at most 86400"),
    ({"timeout": float("nan")}, "at most 86400"),
    ({"jobs": 0}, "at least 1"),
    ({"exclude": [1]}, "list of strings"),
    ({"env": {"A": 1}}, "NAME = \"value\""),
    ({"dialect": "gfm"}, "auto or commonmark or mkdocs"),
    ({"colour": "red"}, "unknown key 'colour'"),
])
def test_invalid_values(values, fragment):
    with pytest.raises(ConfigError, match=fragment):
        merge(Config(), values)


def test_merge_converts_and_keeps_others():
    config = merge(Config(timeout=3), {"exclude": "drafts", "jobs": 2})
    assert config.exclude == ("drafts",) and config.jobs == 2 and config.timeout == 3


@pytest.mark.parametrize(("path", "patterns", "excluded"), [
    ("broken/a.md", ["broken"], True),
    ("docs/broken/a.md", ["broken"], True),
    ("docs/a.md", ["broken"], False),
    ("docs/draft-1.md", ["draft-*.md"], True),
    ("docs/old/a.md", ["docs/old"], True),
    ("docs/older/a.md", ["docs/old"], False),
    ("x/docs/old/a.md", ["docs/old"], False),
    ("docs/old/a.md", ["docs/*"], True),
])
def test_exclude_patterns(path, patterns, excluded):
    assert is_excluded(PurePosixPath(path), patterns) is excluded


def test_find_files_order_and_dedup(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("b.md", "a.md", "sub/c.md", "sub/z.markdown"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = find_files([Path("."), Path("a.md")], [])
    assert [f.display for f in found] == ["a.md", "b.md", "sub/c.md", "sub/z.markdown"]


def test_project_root(tmp_path: Path):
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n")
    deep = tmp_path / "docs" / "a"
    deep.mkdir(parents=True)
    assert project_root(deep) == tmp_path


# -- --strict: project config that weakens isolation ---------------------------------------


@pytest.mark.parametrize(("line", "said"), [
    ('isolation = "process"', 'isolation = "process"'),
    ("network = true", "network = true"),
    ('pass_env = ["AWS_SECRET_ACCESS_KEY"]', "pass_env"),
    ('env = { LD_PRELOAD = "/tmp/x.so" }', "env"),
    ('python = "tools/python"', "python = 'tools/python'"),
    ('python = "/usr/bin/python3"', "not the interpreter docvalidate runs with"),
    ('paths = ["/etc"]', "outside the project"),
    ('cwd = "/"', "cwd = '/'"),
    ('[llm]\nbase_url = "https://attacker.example/v1"', "llm.base_url"),
    ("limit_memory_mb = 100000", "limit_memory_mb above the default"),
    ("limit_processes = 100000", "limit_processes above the default"),
    ("max_output = 16000000", "max_output above the default"),
    ("jobs = 1000", "jobs above the number of CPUs"),
])
def test_strict_refuses_config_that_weakens_isolation(line: str, said: str, tmp_path: Path,
                                                      monkeypatch):
    from conftest import invoke

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "python").write_text("#!/bin/sh\ntouch /tmp/pwned\n")
    (tmp_path / "docvalidate.toml").write_text(line + "\n")
    (tmp_path / "a.md").write_text("```python\nprint(1)\n```\n")
    for command in ("check", "list", "fix"):
        result = invoke(command, "--strict", "a.md")
        assert result.exit_code == 2, (command, result.output)
        (message,) = result.stderr.strip().splitlines()
        assert "--strict refuses" in message and said in message
    # The same setting given on the command line is the CI job's own choice.
    if line == 'isolation = "process"':
        (tmp_path / "docvalidate.toml").write_text("")
        assert invoke("list", "--strict", "a.md").exit_code == 0


def test_strict_accepts_what_keeps_isolation(tmp_path: Path, monkeypatch):
    import sys

    from conftest import invoke

    monkeypatch.chdir(tmp_path)
    (tmp_path / "docvalidate.toml").write_text(
        f'isolation = "sandbox"\nnetwork = false\ntimeout = 5\npython = {sys.executable!r}\n'
        'cwd = "."\nsessions = "block"\n[llm]\nmodel = "gpt-4o-mini"\n')
    (tmp_path / "a.md").write_text("```python\nprint(1)\n```\n")
    assert invoke("list", "--strict", "a.md").exit_code == 0


@pytest.mark.parametrize(("values", "fragment"), [
    ({"timeout": 1e300}, "at most 86400"),
    ({"max_output": 10**12}, "at most 16777216 bytes"),
    ({"env": {"A=B": "x"}}, "names of letters, digits and _"),
    ({"env": {"X": "a\0b"}}, "names of letters, digits and _"),
])
def test_values_that_would_exhaust_docvalidate_are_refused(values, fragment):
    with pytest.raises(ConfigError, match=fragment):
        merge(Config(), values)


def test_a_timeout_directive_is_capped(write, check_json):
    write("a.md", "<!-- docvalidate: timeout=1e300 -->\n```python\nprint(1)\n```\n")
    _, report = check_json("a.md")
    (ex,) = report["examples"]
    assert ex["error"]["type"] == "DirectiveError" and "at most 86400" in ex["error"]["message"]


@pytest.mark.parametrize("key", ["limit_cpu_seconds", "limit_memory_mb", "limit_processes",
                                 "limit_file_size_mb", "limit_open_files"])
def test_a_limit_beyond_its_maximum_is_one_config_error(key: str, write):
    write("docvalidate.toml", f"{key} = {10**20}\n")
    write("a.md", "```python\nprint(1)\n```\n")
    result = invoke("check", "a.md")
    assert result.exit_code == 2
    (said,) = result.stderr.splitlines()
    assert said.endswith(f"{key} = {10**20} is invalid: expected a whole number from 1 to "
                         f"{MAX_LIMITS[key]}")


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_every_limit_at_its_maximum_still_runs_examples(isolation: str, isolate, write,
                                                        check_json):
    isolate(isolation, *(f"{key} = {value}" for key, value in MAX_LIMITS.items()))
    write("a.md", "```python\nprint(sum(range(10)))\n#> 45\n```\n")
    code, report = check_json("a.md")
    (ex,) = report["examples"]
    assert code == 0 and ex["status"] == "passed", ex["error"]
