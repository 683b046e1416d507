"""How code and names are quoted in a reason: short, one line, arguments elided."""

from __future__ import annotations

import ast

from docvalidate.repair.guard.names import Key


def dotted(key: Key) -> str:
    """``("requests", "get", "()", "json")`` -> ``requests.get().json``."""
    text = key[0]
    for part in key[1:]:
        dot = "" if text.endswith(".") else "."  # `from . import x` -> ".x"
        text += "(...)" if part == "()" else "[...]" if part == "[]" else f"{dot}{part}"
    return text


def as_written(node: ast.expr) -> str:
    """A chain as written, with arguments elided: ``requests.get(...).json``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{as_written(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{as_written(node.func)}(...)"
    if isinstance(node, ast.Subscript):
        return f"{as_written(node.value)}[...]"
    if isinstance(node, ast.Await):
        return f"await {as_written(node.value)}"
    return ast.unparse(node)


def short(text: str, width: int = 60) -> str:
    """One line of code for a reason: the first line, cut at ``width``."""
    first = text.split("\n", 1)[0]
    return first if len(first) <= width and "\n" not in text else first[:width].rstrip() + " ..."
