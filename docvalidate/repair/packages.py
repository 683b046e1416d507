"""The packages an example imports, with their versions, for the prompt."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import sys
from collections.abc import Iterator


def imported_packages(code: str) -> dict[str, str]:
    """Top-level non-stdlib modules the code imports, with their installed versions.

    ``{"yaml": "6.0.1"}``: keyed by the module name as imported; modules without an
    installed distribution (local modules, unknown names) are left out.
    """
    found: dict[str, str] = {}
    for module in _imported_modules(code):
        if module in sys.stdlib_module_names or module in found:
            continue
        version = _version_of(module)
        if version is not None:
            found[module] = version
    return found


def _imported_modules(code: str) -> Iterator[str]:
    """Absolute top-level module names in ``import`` statements, in order of appearance."""
    tree = _parse(code)
    if tree is None:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.partition(".")[0]


def _parse(code: str) -> ast.Module | None:
    """The code parsed; a pycon session is parsed from its ``>>>``/``...`` lines."""
    for source in (code, _pycon_source(code)):
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError):
            continue
    return None


def _pycon_source(code: str) -> str:
    lines = []
    for line in code.splitlines():
        stripped = line.lstrip()
        if stripped.startswith((">>> ", "... ")) or stripped in (">>>", "..."):
            lines.append(stripped[4:])
    return "\n".join(lines)


def _version_of(module: str) -> str | None:
    for dist in _distributions().get(module, ()):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


@functools.cache
def _distributions() -> dict[str, list[str]]:
    """Module -> distributions; scanning every installed distribution is slow, so once."""
    return dict(importlib.metadata.packages_distributions())
