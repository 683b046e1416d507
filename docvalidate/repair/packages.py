"""The packages an example imports, with the versions installed where examples run, for the
prompt.

The versions are asked of the examples' interpreter (``python =`` may name another
environment than docvalidate's), through the backend like any example, once per run for
every module the failing examples import. Its answer is untrusted: bounded, and only a
version string for a module we asked about is kept.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Collection, Iterable, Mapping

from docvalidate.backends.base import Backend
from docvalidate.expected_output import parse_session
from docvalidate.probe import ask_interpreter

MAX_MODULES = 500  # asked about in one run at most
MAX_ANSWER = 64 * 1024  # bytes of the probe's output read
# PEP 440 versions (and the local labels of builds); anything else is not shown to the model.
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]{0,63}")

# Runs in the examples' interpreter, which may be older than ours: no newer syntax. It reads
# the installed distributions' metadata; it imports none of the modules asked about.
_PROBE = """\
import json
found = {{}}
try:
    from importlib import metadata
    owners = metadata.packages_distributions()
except Exception:
    owners = {{}}
for module in {modules!r}:
    for dist in owners.get(module, ()):
        try:
            found[module] = metadata.version(dist)
            break
        except Exception:
            pass
print()
print(json.dumps(found))
"""


def imported_modules(code: str) -> list[str]:
    """Top-level non-stdlib modules the code imports, in order of first appearance; a ``>>>``
    session's statements are read as the session parser reads them."""
    tree = _parse(code)
    if tree is None:
        return []
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.partition(".")[0]
            if top not in sys.stdlib_module_names:
                found.setdefault(top)
    return list(found)


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        pass
    try:
        return ast.parse("".join(p.source for p in parse_session(code, 1, 0)))
    except (SyntaxError, ValueError):
        return None


def package_versions(backend: Backend, modules: Iterable[str]) -> dict[str, str]:
    """``{"yaml": "6.0.1"}`` for the modules installed in the examples' interpreter (as the
    backend runs it); modules without an installed distribution are left out. Any trouble
    asking means no versions: they are a hint for the model, not worth failing a run."""
    wanted = sorted({m for m in modules if m.isidentifier()})[:MAX_MODULES]
    if not wanted:
        return {}
    run, _ = ask_interpreter(backend, _PROBE.format(modules=wanted), MAX_ANSWER)
    if run is None or run.error is not None:
        return {}
    return parse_versions(run.stdout, wanted)


def parse_versions(output: str, wanted: Collection[str]) -> dict[str, str]:
    """What the probe printed, validated: a JSON object on the last line, whose keys are
    modules we asked about and whose values are version strings. Anything else is dropped."""
    lines = output[-MAX_ANSWER:].strip().splitlines()
    try:
        data = json.loads(lines[-1]) if lines else None
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {module: version for module, version in data.items()
            if module in wanted and isinstance(version, str) and _VERSION.fullmatch(version)}


def versions_for(code: str, versions: Mapping[str, str]) -> dict[str, str]:
    """The versions of the modules ``code`` imports, from the run's ``versions``."""
    return {m: versions[m] for m in imported_modules(code) if m in versions}
