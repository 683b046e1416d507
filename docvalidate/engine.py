"""The one engine function every front door (CLI, MkDocs plugin, pytest) calls."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from docvalidate.backends.access import unreadable
from docvalidate.backends.base import Backend, Limits
from docvalidate.backends.local import WORKER, LocalBackend, child_environment
from docvalidate.backends.sandbox import (
    PROBE,
    BwrapStatus,
    Interpreter,
    interpreter_folders,
    own_interpreter,
    parse_probe,
    probe_bwrap,
)
from docvalidate.config import Config
from docvalidate.discover import display_path, find_files
from docvalidate.errors import ConfigError, SandboxError
from docvalidate.expected_output import flag_value
from docvalidate.model import RunReport, Session, Setup, SourceFile
from docvalidate.probe import ask_interpreter
from docvalidate.runner import FileWork, Progress, run_all
from docvalidate.sessions import plan_file
from docvalidate.sources.kinds import KINDS

ROOT_MARKERS = ("pyproject.toml", "mkdocs.yml", "mkdocs.yaml")
INSTALL = "install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap)"
NO_SANDBOX = (
    "{reason}, so examples run as plain child processes (isolation = \"process\"): they can "
    "read your files and your programs' environments (API keys) and use the network; "
    + INSTALL + " to confine them, or set isolation = \"sandbox\" to refuse to run without it"
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
        # Markdown is the only kind of source so far; discovery will pick the kind per file.
        KINDS["markdown"].read(f.path, f.display, config.dialect, config.max_file_size)
        for f in found
    )
    return plan(config, files)


def plan(config: Config, files: tuple[SourceFile, ...]) -> Collected:
    """Plan the sessions of documents already read (``fix`` plans rewritten ones again)."""
    needs_version = any(d.name == "requires" for f in files for e in f.examples
                        for d in e.directives)
    version = interpreter(config).version if needs_version else None
    return Collected(files, tuple(plan_file(f, config, version) for f in files))


@cache
def project_root(folder: Path) -> Path:
    """The folder of the nearest pyproject.toml or mkdocs.yml, else the document's folder."""
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).is_file() for marker in ROOT_MARKERS):
            return candidate
    return folder


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


@cache
def bwrap_status() -> BwrapStatus:
    return probe_bwrap(as_root=os.geteuid() == 0)


def sandbox(config: Config) -> tuple[str | None, list[str]]:
    """The bwrap binary to confine examples with (None: plain processes), and notices.

    An explicit ``isolation = "sandbox"`` is a promise: without a working sandbox it is an
    error, never a quiet downgrade. Only an unset isolation falls back, with a warning."""
    if config.isolation == "process":
        return None, []
    status = bwrap_status()
    if status.path is not None:
        return status.path, []
    if config.isolation == "sandbox":
        remedy = INSTALL if "not installed" in status.reason else "let it (see the README's " \
            "security model)"
        raise SandboxError(f"isolation = \"sandbox\" was asked for, but {status.reason}; "
                           f"{remedy}, or choose isolation = \"process\" explicitly")
    return None, [NO_SANDBOX.format(reason=status.reason)]


def _backend(config: Config, python: str, bwrap: str | None, readable: tuple[str, ...],
             view: bool = False) -> LocalBackend:
    return LocalBackend(
        python=python,
        env=child_environment(os.environ, config.env, config.pass_env),
        limits=_limits(config),
        bwrap=bwrap,
        network=config.network,
        readable=readable,
        view=view,
    )


_INTERPRETERS: dict[tuple[object, ...], Interpreter] = {}


def interpreter(config: Config) -> Interpreter:
    """What the examples' interpreter is (asked once per interpreter and environment)."""
    if config.backend == "e2b":
        return _remote_interpreter(config)
    python = resolve_python(config)
    key = (python, config.isolation, tuple(sorted(config.env.items())),
           tuple(config.pass_env))
    if key not in _INTERPRETERS:
        _INTERPRETERS[key] = own_interpreter(python) or _probe(config, python)
    return _INTERPRETERS[key]


def _remote_interpreter(config: Config) -> Interpreter:
    """The interpreter of the E2B sandboxes (the template's, not this machine's): asked in a
    sandbox like an example, once per template."""
    key = ("e2b", config.e2b.get("template"))
    if key not in _INTERPRETERS:
        with backend(config) as made:
            run, _ = ask_interpreter(made[0], PROBE)
        try:
            if run is None or run.error is not None:
                raise ValueError(run.error.message if run and run.error else "no answer")
            found = parse_probe("/e2b/python", run.stdout)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ConfigError(f"backend = \"e2b\": cannot ask the sandbox's Python for its "
                              f"version ({exc})") from None
        _INTERPRETERS[key] = Interpreter("e2b", found.version, ())
    return _INTERPRETERS[key]


def _probe(config: Config, python: str) -> Interpreter:
    bwrap, _ = sandbox(config)
    folders = interpreter_folders(python)
    if bwrap is None and os.geteuid() == 0:
        _readable_to_sessions(python, folders)
    # Config is data: the interpreter it names is run like an example, in the same sandbox,
    # as the same user, with the same scrubbed environment, never on the host as us.
    backend = _backend(config, python, bwrap, folders)
    try:
        run, root = ask_interpreter(backend, PROBE)
    finally:
        backend.close()
    try:
        if run is None or run.error is not None:
            raise ValueError(run.error.message if run and run.error else "no answer")
        found = parse_probe(python, run.stdout)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ConfigError(f"python = {config.python!r}: cannot run it to ask for its version "
                          f"and paths ({exc})") from None
    return Interpreter(found.python, found.version,
                       tuple(p for p in found.paths if p != root))


def _readable_to_sessions(python: str, paths: tuple[str, ...]) -> None:
    """Examples never run as root: as plain processes they run as an unprivileged user, which
    must be able to read the interpreter and docvalidate's worker."""
    blocker = unreadable([python, *paths, str(WORKER)])
    if blocker is not None:
        raise SandboxError(
            f"docvalidate runs as root and examples run as an unprivileged user, who cannot "
            f"read {blocker} (needed to run {python}); make it readable by other users, or "
            f"{INSTALL} to use the sandbox")


Made = tuple[Backend, list[str]]


@contextlib.contextmanager
def backend(config: Config) -> Iterator[Made]:
    """The backend the config asks for (and run-wide notices about it), for as long as the
    ``with`` block runs: ``check`` then ``fix`` use one, and a long-lived owner (the
    ``mkdocs serve`` plugin) keeps one across rebuilds. It is closed when the block ends."""
    made = make_backend(config)
    try:
        yield made
    finally:
        made[0].close()


def make_backend(config: Config) -> Made:
    """The backend the config asks for, and run-wide notices about it; the caller closes it
    (prefer :func:`backend`)."""
    if config.backend == "e2b":
        return _e2b_backend(config), []
    bwrap, notices = sandbox(config)
    found = interpreter(config)
    view = False
    if bwrap is None and os.geteuid() == 0:
        if own_interpreter(found.python) is None:
            _readable_to_sessions(found.python, found.paths)
        else:
            # docvalidate's own interpreter, when the sessions' user cannot read it, is shown
            # to that user through a read-only view in the run's folder.
            view = unreadable([found.python, *found.paths, str(WORKER)]) is not None
    return _backend(config, found.python, bwrap, found.paths, view), notices


def load_setup(config: Config) -> Setup | None:
    """Config ``setup``: the file run before each session's first block, read once."""
    if config.setup is None:
        return None
    path = config.base / config.setup
    try:
        with path.open("rb") as f:
            data = f.read(config.max_file_size + 1)
    except OSError as exc:
        raise ConfigError(f"setup = {config.setup!r}: cannot read {path}: "
                          f"{exc.strerror or exc}") from None
    if len(data) > config.max_file_size:
        raise ConfigError(f"setup = {config.setup!r}: larger than max_file_size "
                          f"({config.max_file_size} bytes)")
    try:
        code = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"setup = {config.setup!r}: not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})") from None
    return Setup(display_path(path), code, config.timeout)


def _e2b_backend(config: Config) -> Backend:
    from docvalidate.backends.e2b import E2BBackend, settings_from_env

    settings = settings_from_env(config.e2b, os.environ)
    if not settings.debug and not settings.api_key:
        raise ConfigError("backend = \"e2b\" needs an API key in E2B_API_KEY (never in a "
                          "config file); E2B_DEBUG=true talks to a local E2B server instead")
    # The sandbox has its own PATH, locale and home: only what the config names is set.
    env = dict(config.env)
    env.update({name: os.environ[name] for name in config.pass_env if name in os.environ})
    return E2BBackend(settings, _limits(config), env, jobs=config.parallel)


def _limits(config: Config) -> Limits:
    return Limits(config.limit_cpu_seconds, config.limit_memory_mb, config.limit_processes,
                  config.limit_file_size_mb, config.limit_open_files)


def file_work(config: Config, collected: Collected) -> list[FileWork]:
    fixed_root = (config.base / config.cwd).resolve() if config.cwd else None
    setup = load_setup(config)
    return [
        FileWork(source, sessions,
                 fixed_root or project_root(Path(source.path).resolve().parent), setup)
        for source, sessions in zip(collected.files, collected.sessions, strict=True)
        if source.error is None and sessions
    ]


def check(config: Config, paths: tuple[str, ...] = (), progress: Progress | None = None,
          collected: Collected | None = None, made: Made | None = None) -> RunReport:
    """Find, plan and run every example below ``paths``, through ``made`` (from
    :func:`backend`) when the caller owns a backend, else through one of its own."""
    collected = collected or collect(config, paths)
    if made is None:
        with backend(config) as own:
            return check(config, paths, progress, collected, own)
    runner, notices = made
    runner.refresh()  # a long-lived backend may have seen the project as it was before
    outcomes = run_all(file_work(config, collected), runner, config.parallel, config.max_output,
                       progress, doctest_flags=flag_value(config.doctest_flags))
    return RunReport(collected.files, tuple(outcomes), tuple(notices),
                     details=tuple(runner.describe()), usage=runner.usage())
