"""Configuration: ``[tool.docvalidate]`` in the nearest ``pyproject.toml`` or a
``docvalidate.toml``, overridden by command-line options. Unknown keys and bad values are
ConfigErrors (exit 2)."""

from __future__ import annotations

import doctest
import math
import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Registers pytest's NUMBER option with doctest, so that the names checked below include it.
import docvalidate.doctest_number  # noqa: F401
from docvalidate.errors import ConfigError
from docvalidate.sources.dialects import DIALECTS

SESSIONS = ("page", "block")
MAX_TIMEOUT = 86400  # seconds: a day; a block's time limit is never more
MAX_OUTPUT = 16 * 1024 * 1024  # bytes captured per stream: bounds docvalidate's own memory
# The largest value of each limit. Each must fit what enforces it (setrlimit takes a C long,
# once MiB are bytes; pids.max and RLIMIT_NOFILE have their own ceilings), or every session
# would fail to start; beyond these a limit no longer limits anything anyway.
MAX_LIMITS = {
    "limit_cpu_seconds": 7 * 86400,  # a week of CPU time
    "limit_memory_mb": 64 * 1024 * 1024,  # 64 TiB of address space
    "limit_processes": 4194304,  # the kernel's largest pid_max
    "limit_file_size_mb": 64 * 1024 * 1024,  # 64 TiB
    "limit_open_files": 1048576,  # the kernel's default nr_open
}
MAX_LLM_RETRIES = 100
MAX_LLM_CONCURRENCY = 256
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ISOLATION = ("sandbox", "process")
BACKENDS = ("local", "e2b")
E2B_JOBS = 4  # sandboxes at once on E2B unless --jobs says otherwise


@dataclass(frozen=True)
class Config:
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    dialect: str = "auto"
    sessions: str = "page"
    python: str = sys.executable
    cwd: str | None = None  # project root for examples; default: nearest pyproject/mkdocs.yml
    # A Python file run in each session before its first block (relative to the config file).
    setup: str | None = None
    timeout: float = 30.0
    jobs: int = 0  # sessions at once; 0: not given (see ``parallel``)
    max_file_size: int = 10 * 1024 * 1024
    max_output: int = 1024 * 1024
    env: dict[str, str] = field(default_factory=dict)
    pass_env: tuple[str, ...] = ()
    doctest_flags: tuple[str, ...] = ("ELLIPSIS", "NORMALIZE_WHITESPACE")
    # sandbox (bubblewrap) | process; None: the sandbox when it works here, else plain
    # processes with a warning. Set explicitly, it never falls back.
    isolation: str | None = None
    network: bool = False  # inside the sandbox
    limit_cpu_seconds: int = 60
    limit_memory_mb: int = 2048
    limit_processes: int = 256
    limit_file_size_mb: int = 64
    limit_open_files: int = 256
    update_output: bool = False  # let `fix` rewrite expected output
    llm: dict[str, Any] = field(default_factory=dict)  # [tool.docvalidate.llm], see LLM_KEYS
    backend: str = "local"  # local | e2b
    e2b: dict[str, Any] = field(default_factory=dict)  # [tool.docvalidate.e2b], see E2B_KEYS
    source: Path | None = None  # the file this config came from

    @property
    def parallel(self) -> int:
        """Sessions run at once: ``jobs`` when given, else one per CPU here, or 4 sandboxes on
        E2B (where the machine's CPUs are not what limits)."""
        if self.jobs:
            return self.jobs
        return E2B_JOBS if self.backend == "e2b" else os.cpu_count() or 1

    @property
    def base(self) -> Path:
        """Folder that relative paths in the config file are relative to."""
        return self.source.parent if self.source else Path.cwd()


_KEYS = {f.name for f in fields(Config)} - {"source"}


def find_config_file(start: Path) -> Path | None:
    """``docvalidate.toml``, or a ``pyproject.toml`` with ``[tool.docvalidate]``, in ``start``
    or the nearest folder above it."""
    for folder in (start.resolve(), *start.resolve().parents):
        own = folder / "docvalidate.toml"
        if own.is_file():
            return own
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "docvalidate" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_config(path: Path | None = None, start: Path | None = None,
                strict: bool = False) -> Config:
    """Load the config file (``path``, or the nearest one above ``start``); defaults if none.

    ``strict``: the file is the project's, which a pull request may change; keys that would
    weaken the isolation of examples are an error (see :func:`weakening`)."""
    if path is None:
        path = find_config_file(start or Path.cwd())
        if path is None:
            return Config()
    elif not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("docvalidate", {})
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [tool.docvalidate] must be a table")
    config = merge(Config(source=path.resolve()), data, where=str(path))
    if strict:
        found = weakening(data, config)
        if found:
            raise ConfigError(
                f"{path}: --strict refuses {'; '.join(found)}. These keys weaken the isolation "
                "of examples and a pull request may set them; remove them from the project's "
                "config, or give the setting on the command line")
    return config


def weakening(values: dict[str, Any], config: Config) -> list[str]:
    """The keys of a project config file that weaken the isolation of examples, each said in
    a few words."""
    found = []
    if values.get("isolation") == "process":
        found.append('isolation = "process" (examples would run unconfined)')
    if values.get("network"):
        found.append("network = true (examples would reach the network)")
    if values.get("pass_env"):
        found.append("pass_env (examples would see variables of your environment)")
    if values.get("env"):
        found.append("env (variables set for examples, such as PYTHONPATH or LD_PRELOAD)")
    if "python" in values and not _in_environment(config):
        found.append(f"python = {config.python!r} (not the interpreter docvalidate runs with)")
    outside = [p for p in config.paths if not _inside(config.base / p, config.base)]
    if "paths" in values and outside:
        found.append(f"paths = {outside!r} (outside the project: other files would be read, "
                     "run and, by fix, written)")
    if "cwd" in values and config.cwd is not None and not _inside(config.base / config.cwd,
                                                                   config.base):
        found.append(f"cwd = {config.cwd!r} (outside the project)")
    if "setup" in values and config.setup is not None and not _inside(
            config.base / config.setup, config.base):
        found.append(f"setup = {config.setup!r} (outside the project: another file would be "
                     "read and run)")
    if values.get("backend") == "e2b":
        found.append('backend = "e2b" (your project and examples would be sent to E2B with '
                     "your E2B_API_KEY)")
    if isinstance(values.get("llm"), dict) and "base_url" in values["llm"]:
        found.append("llm.base_url (your OPENAI_API_KEY would be sent to that server)")
    defaults = Config()
    raised = [key for key in (*_LIMITS, "max_output")
              if key in values and getattr(config, key) > getattr(defaults, key)]
    if raised:
        found.append(f"{', '.join(raised)} above the default (examples could use more of the "
                     "machine, and docvalidate more memory)")
    if "jobs" in values and config.jobs > (os.cpu_count() or 1):
        found.append("jobs above the number of CPUs")
    return found


_LIMITS = ("limit_cpu_seconds", "limit_memory_mb", "limit_processes", "limit_file_size_mb",
           "limit_open_files")


def _in_environment(config: Config) -> bool:
    """Whether the configured interpreter is the one docvalidate runs with: a link to the same
    program (a virtual environment's python3.11 for its python), never a script or another
    program, even one inside the environment (a checkout can hold the environment)."""
    import shutil

    python = config.python
    if os.sep in python:
        path = Path(python) if os.path.isabs(python) else config.base / python
    else:
        found = shutil.which(python)
        if found is None:
            return False
        path = Path(found)
    return path.resolve() == Path(sys.executable).resolve()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.absolute().resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def merge(config: Config, values: dict[str, Any], where: str = "command line") -> Config:
    """A copy of ``config`` with ``values`` validated and applied."""
    unknown = sorted(set(values) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known keys: {', '.join(sorted(_KEYS))})"
        )
    checked = {key: _check(key, value, where) for key, value in values.items()}
    return replace(config, **checked)


# [tool.docvalidate.e2b] keys: what each must be. The API key is deliberately not one of them.
E2B_KEYS = ("template", "timeout", "max_sandboxes", "requirements", "install_project",
            "upload")


def _check_e2b(value: Any, where: str) -> dict[str, Any]:
    return _check_table("e2b", "E2B_API_KEY", E2B_KEYS, _e2b_value_problem, value, where)


def _e2b_value_problem(key: str, item: Any) -> str | None:
    """What ``e2b.KEY`` should be, when ``item`` is not that; None when it is fine."""
    whole = isinstance(item, int) and not isinstance(item, bool)
    strings = isinstance(item, list) and all(isinstance(v, str) and v for v in item)
    return {
        "template": None if isinstance(item, str) and item.strip() else "a template name",
        "timeout": None if whole and 60 <= item <= MAX_TIMEOUT
        else f"a whole number of seconds from 60 to {MAX_TIMEOUT}",
        "max_sandboxes": None if whole and 1 <= item <= 1000
        else "a whole number from 1 to 1000",
        "requirements": None if strings else "a list of pip requirement strings",
        "install_project": None if isinstance(item, bool) else "true or false",
        "upload": None if strings else "a list of glob patterns",
    }[key]


def _check_table(name: str, key_variable: str, known: Iterable[str],
                 problem: Callable[[str, Any], str | None], value: Any, where: str
                 ) -> dict[str, Any]:
    """A ``[tool.docvalidate.NAME]`` table: known keys with good values, and never an API key
    (it comes from ``key_variable`` only)."""
    known = tuple(known)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {name} must be a table ([tool.docvalidate.{name}])")
    for key, item in value.items():
        if key in ("api_key", "key", "token"):
            raise ConfigError(f"{where}: {name}.{key}: the API key is read from "
                              f"{key_variable} only, never from a config file")
        if key not in known:
            raise ConfigError(f"{where}: unknown key '{name}.{key}' (known: "
                              f"{', '.join(known)})")
        expected = problem(key, item)
        if expected is not None:
            raise ConfigError(f"{where}: {name}.{key} = {item!r} is invalid: expected "
                              f"{expected}")
    return dict(value)


# [tool.docvalidate.llm] keys and their types. The API key is deliberately not one of them.
LLM_KEYS: dict[str, type | tuple[type, ...]] = {
    "model": str, "base_url": str, "templates": str, "max_tokens_total": int,
    "timeout": (int, float), "max_retries": int, "concurrency": int,
}


def _check_llm(value: Any, where: str) -> dict[str, Any]:
    return _check_table("llm", "OPENAI_API_KEY", LLM_KEYS, _llm_value_problem, value, where)


def _llm_value_problem(key: str, item: Any) -> str | None:
    """What ``llm.KEY`` should be, when ``item`` is not that; None when it is fine. Checked
    here, before the openai SDK sees a value (it would raise deep inside a request)."""
    def whole(low: int, high: int | None) -> bool:
        return (isinstance(item, int) and not isinstance(item, bool) and item >= low
                and (high is None or item <= high))

    if key == "model":
        ok = isinstance(item, str) and item.strip() != "" and item.isprintable()
        return None if ok else "a model name (a non-empty string)"
    if key == "base_url":
        ok = isinstance(item, str) and _http_url(item)
        return None if ok else "an http:// or https:// URL, such as http://localhost:11434/v1"
    if key == "templates":
        ok = isinstance(item, str) and item != "" and "\0" not in item
        return None if ok else "a folder (a path relative to the config file)"
    if key == "max_tokens_total":
        return None if whole(1, None) else "a whole number of tokens, at least 1"
    if key == "max_retries":
        ok = whole(0, MAX_LLM_RETRIES)
        return None if ok else f"a whole number from 0 to {MAX_LLM_RETRIES}"
    if key == "concurrency":
        ok = whole(1, MAX_LLM_CONCURRENCY)
        return None if ok else f"a whole number from 1 to {MAX_LLM_CONCURRENCY}"
    if key == "timeout":
        ok = (isinstance(item, int | float) and not isinstance(item, bool)
              and math.isfinite(item) and 0 < item <= MAX_TIMEOUT)
        return None if ok else f"a number of seconds greater than 0, at most {MAX_TIMEOUT}"
    raise AssertionError(key)  # pragma: no cover - LLM_KEYS and this are kept in step


def _http_url(text: str) -> bool:
    if not text.isprintable() or " " in text:
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check(key: str, value: Any, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: {key} = {value!r} is invalid: expected {expected}")

    if key == "doctest_flags":
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list | tuple) or not all(
            isinstance(n, str) and n in doctest.OPTIONFLAGS_BY_NAME for n in names
        ):
            raise bad("a list of doctest option names ("
                      + ", ".join(sorted(doctest.OPTIONFLAGS_BY_NAME)) + ")")
        return tuple(names)
    if key in ("paths", "exclude", "pass_env"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    if key == "dialect":
        if value not in DIALECTS:
            raise bad(" or ".join(DIALECTS))
        return value
    if key == "isolation":
        if value not in ISOLATION:
            raise bad(" or ".join(ISOLATION))
        return value
    if key in ("network", "update_output"):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if key == "backend":
        if value not in BACKENDS:
            raise bad(" or ".join(BACKENDS))
        return value
    if key == "e2b":
        return _check_e2b(value, where)
    if key == "llm":
        return _check_llm(value, where)
    if key == "sessions":
        if value not in SESSIONS:
            raise bad(" or ".join(SESSIONS))
        return value
    if key in ("python", "cwd", "setup"):
        if not isinstance(value, str) or not value:
            raise bad("a path")
        return value
    if key == "timeout":
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT):
            raise bad(f"a number of seconds greater than 0, at most {MAX_TIMEOUT} (a day)")
        return float(value)
    if key in ("jobs", "max_file_size", "max_output") or key.startswith("limit_"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad("a whole number of at least 1")
        if key == "max_output" and value > MAX_OUTPUT:
            raise bad(f"at most {MAX_OUTPUT} bytes")
        if key in MAX_LIMITS and value > MAX_LIMITS[key]:
            raise bad(f"a whole number from 1 to {MAX_LIMITS[key]}")
        return value
    if key == "env":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and _ENV_NAME.fullmatch(k) and isinstance(v, str)
            and "\0" not in v for k, v in value.items()
        ):
            raise bad("a table of NAME = \"value\" strings (names of letters, digits and _)")
        return dict(value)
    raise AssertionError(key)  # pragma: no cover - _KEYS and _check are kept in step
