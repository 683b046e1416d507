"""Deterministic fixers: no LLM, no cost, always available offline.

* ``fix_output`` rewrites the expected output (``#>`` comments, interactive-session output)
  to what the code printed — only with ``--update-output``, since a changed output can also
  be a real regression.
* ``fix_import`` adds the import a ``NameError`` asks for: a standard-library module, or an
  import the same docs make elsewhere (``np`` -> ``import numpy as np``).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable

from docvalidate.expected_output import parse_print_comments, parse_session
from docvalidate.model import ErrorInfo, Example, Result
from docvalidate.print_strings import print_string_edits

_NAME_ERROR_RE = re.compile(r"name '(?P<name>[A-Za-z_]\w*)' is not defined")
_TRACEBACK_HEADER = "Traceback (most recent call last):"


def known_imports(examples: Iterable[Example]) -> dict[str, str]:
    """Name bound -> the import statement that binds it, from every example of the docs (the
    first one seen wins)."""
    found: dict[str, str] = {}
    for example in examples:
        if example.interactive:
            continue
        try:
            tree = ast.parse(example.code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    found.setdefault(bound, ast.unparse(ast.Import(names=[alias])))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    if alias.name != "*":
                        stmt = ast.ImportFrom(module=node.module, names=[alias], level=0)
                        found.setdefault(alias.asname or alias.name, ast.unparse(stmt))
    return found


def fix_import(example: Example, error: ErrorInfo, imports: dict[str, str]) -> str | None:
    """The example's code with the import a NameError asks for, or None."""
    if error.type != "NameError":
        return None
    m = _NAME_ERROR_RE.search(error.message)
    if m is None:
        return None
    name = m.group("name")
    statement = imports.get(name)
    if statement is None and name in sys.stdlib_module_names:
        statement = f"import {name}"
    if statement is None:
        return None
    lines = example.code.split("\n")
    if example.interactive:
        first = next((line for line in lines if line.strip()), "")
        indent = first[: len(first) - len(first.lstrip())]
        return f"{indent}>>> {statement}\n{example.code}"
    # After a module docstring and `from __future__` imports, which must stay first.
    at = 0
    try:
        body = ast.parse(example.code).body
    except SyntaxError:
        body = []
    for node in body:
        is_doc = (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                  and isinstance(node.value.value, str) and node is body[0])
        if is_doc or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            at = node.end_lineno or at
        else:
            break
    return "\n".join([*lines[:at], statement, *lines[at:]])


def fix_output(example: Example, result: Result, doctest_flags: int) -> str | None:
    """The example's code with its expected output replaced by what it printed, or None when
    the failure is not an output mismatch."""
    if result.error is None or result.error.type != "OutputMismatch":
        return None
    # Positions are lines of the code (1-based), as the run reports them.
    lines = example.code.split("\n")
    if example.interactive:
        prompts = [p for p in parse_session(example.code, 1, doctest_flags) if not p.skip]
        for prompt, (output, exception) in reversed(list(zip(prompts, result.outputs,
                                                              strict=False))):
            at = prompt.want_line - 1
            count = prompt.want.count("\n")
            source_line = lines[prompt.line - 1]
            indent = source_line[: len(source_line) - len(source_line.lstrip())]
            text = f"{_TRACEBACK_HEADER}\n    ...\n{exception}" if exception else output
            new = text.rstrip("\n").split("\n") if text.strip() else []
            lines[at:at + count] = [indent + (line or "<BLANKLINE>") for line in new]
        return "\n".join(lines)
    comments = parse_print_comments(example.code)
    edits = print_string_edits(example.code, result.prints, 0)
    for comment in comments:
        printed = "".join(text for line, text in result.prints
                          if line is not None and comment.start <= line <= comment.end)
        at = comment.line - 1
        count = comment.expected.count("\n") + 1
        marker = lines[at]
        indent = marker[: len(marker) - len(marker.lstrip())]
        new = [f"{indent}#> {line}".rstrip() for line in printed.rstrip("\n").split("\n")]
        edits.append((at, count, new))
    for at, count, new in sorted(edits, reverse=True):  # from the end: earlier lines stay put
        lines[at:at + count] = new
    return "\n".join(lines)
