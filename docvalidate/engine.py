"""The one engine function every front door (CLI, MkDocs plugin, pytest) calls."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from docvalidate.backends import cgroup
from docvalidate.backends.local import Limits, LocalBackend, child_environment
from docvalidate.backends.sandbox import find_bwrap, interpreter_paths, readable_by_others
from docvalidate.config import Config
from docvalidate.discover import find_files
from docvalidate.errors import ConfigError
from docvalidate.expected_output import flag_value
from docvalidate.model import RunReport, Session, SourceFile
from docvalidate.runner import FileWork, Progress, run_all
from docvalidate.sessions import plan_file
from docvalidate.sources.markdown import load_markdown

ROOT_MARKERS = ("pyproject.toml", "mkdocs.yml", "mkdocs.yaml")
NO_SANDBOX = (
    "bubblewrap (bwrap) is missing or cannot create namespaces here, so examples run as plain "
    "child processes (isolation = \"process\"): they can read your files, write outside the "
    "docs and use the network; install bubblewrap (apt-get install bubblewrap) to confine them"
)


@dataclass(frozen=True)
class Collected:
    files: tuple[SourceFile, ...]
    sessions: tuple[tuple[Session, ...], ...]  # per file


def search_paths(config: Config, paths: tuple[str, ...]) -> list[Path]:
    """Command-line paths, else config ``paths`` (relative to the config file), else ``docs/``
    when it exists, else the current directory."""
    if paths:
        return [Path(p) for p in paths]
    if config.paths:
        return [config.base / p for p in config.paths]
    docs = Path("docs")
    return [docs] if docs.is_dir() else [Path(".")]


def collect(config: Config, paths: tuple[str, ...] = ()) -> Collected:
    """Find and read every document and plan its sessions, without running anything."""
    found = find_files(search_paths(config, paths), config.exclude)
    files = tuple(
        load_markdown(f.path, f.display, config.dialect, config.max_file_size) for f in found
    )
    return plan(config, files)


def plan(config: Config, files: tuple[SourceFile, ...]) -> Collected:
    """Plan the sessions of documents already read (``fix`` plans rewritten ones again)."""
    needs_version = any(d.name == "requires" for f in files for e in f.examples
                        for d in e.directives)
    version = interpreter_version(resolve_python(config)) if needs_version else None
    return Collected(files, tuple(plan_file(f, config, version) for f in files))


@cache
def interpreter_version(python: str) -> tuple[int, int]:
    """(major, minor) of the interpreter that runs the examples, for ``requires=`` markers."""
    if Path(python).resolve() == Path(sys.executable).resolve():
        return sys.version_info[0], sys.version_info[1]
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        major, minor = out.split()
        return int(major), int(minor)
    except (OSError, subprocess.SubprocessError, ValueError):
        raise ConfigError(f"python = {python!r}: cannot run it to ask its version") from None


@cache
def project_root(folder: Path) -> Path:
    """The folder of the nearest pyproject.toml or mkdocs.yml, else the current directory."""
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).is_file() for marker in ROOT_MARKERS):
            return candidate
    return Path.cwd()


def resolve_python(config: Config) -> str:
    python = config.python
    if os.sep in python or (os.altsep and os.altsep in python):
        path = Path(python)
        if not path.is_absolute() and config.source is not None:
            path = config.base / path
        if not path.exists():
            raise ConfigError(f"python = {config.python!r}: no such interpreter")
        return str(path)
    found = shutil.which(python)
    if found is None:
        raise ConfigError(f"python = {python!r}: not found on PATH")
    return found


def make_backend(config: Config) -> tuple[LocalBackend, list[str]]:
    """The local backend the config asks for, and run-wide notices about it."""
    notices: list[str] = []
    bwrap = find_bwrap() if config.isolation == "sandbox" else None
    if config.isolation == "sandbox" and bwrap is None:
        notices.append(NO_SANDBOX)
    python = resolve_python(config)
    unprivileged = False
    if os.geteuid() == 0 and not cgroup.available():
        # Root is exempt from RLIMIT_NPROC: without a pids cgroup, examples must run as an
        # unprivileged user for the process limit to hold, and that user must be able to read
        # the interpreter (inside the sandbox, the folders leading to it are made readable).
        blocker = None if bwrap else readable_by_others(interpreter_paths(python))
        if blocker is None:
            unprivileged = True
        else:
            notices.append(
                "docvalidate runs as root and cannot make a pids cgroup here, so examples run "
                f"as root and the process limit is not enforced: {blocker} is not readable "
                "by other users, so they cannot run as an unprivileged user")
    backend = LocalBackend(
        python=python,
        env=child_environment(os.environ, config.env, config.pass_env),
        limits=Limits(config.limit_cpu_seconds, config.limit_memory_mb, config.limit_processes,
                      config.limit_file_size_mb, config.limit_open_files),
        bwrap=bwrap,
        network=config.network,
        unprivileged=unprivileged,
    )
    return backend, notices


def file_work(config: Config, collected: Collected) -> list[FileWork]:
    fixed_root = (config.base / config.cwd).resolve() if config.cwd else None
    return [
        FileWork(source, sessions,
                 fixed_root or project_root(Path(source.path).resolve().parent))
        for source, sessions in zip(collected.files, collected.sessions, strict=True)
        if source.error is None and sessions
    ]


def check(config: Config, paths: tuple[str, ...] = (), progress: Progress | None = None,
          collected: Collected | None = None,
          made: tuple[LocalBackend, list[str]] | None = None) -> RunReport:
    """Find, plan and run every example below ``paths`` (with ``made``, the result of
    make_backend, when the caller runs more through the same backend afterwards)."""
    collected = collected or collect(config, paths)
    backend, notices = made or make_backend(config)
    outcomes = run_all(file_work(config, collected), backend, config.jobs, config.max_output,
                       progress, doctest_flags=flag_value(config.doctest_flags))
    return RunReport(collected.files, tuple(outcomes), tuple(notices))
