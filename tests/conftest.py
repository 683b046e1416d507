"""Shared helpers: write real files into a temporary project and run docvalidate on them."""

from __future__ import annotations

import json
from collections.abc import Callable
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
