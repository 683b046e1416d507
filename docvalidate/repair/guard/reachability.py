"""Where control never goes (rule 7), and where it jumps out of a ``finally`` (rule 6).

Code that never runs is read from the shape of the code alone: a condition folded from
literals, a statement after one that ends its body, a function nothing calls.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from docvalidate.repair.guard.folding import constant_truth
from docvalidate.repair.guard.names import last_name
from docvalidate.repair.guard.wording import short


@dataclass(frozen=True)
class Dead:
    """Statements that never run, and why (the reason rule 7 gives)."""

    reason: str
    statements: tuple[str, ...]  # the simple statements (or expressions) inside, unparsed
    ran_only: bool = False  # only those the original ran at the top level count


def is_trivial(body: Sequence[ast.stmt]) -> bool:
    """Only ``pass``, ``...`` and docstrings (or nothing at all)."""
    return all(_is_filler(stmt) for stmt in body)


def _is_filler(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        and (stmt.value.value is Ellipsis or isinstance(stmt.value.value, str)))


def dead_code(tree: ast.Module, exits: dict[int, str]) -> list[Dead]:
    """Every stretch of statements that can never run, outermost first. ``exits``: the
    calls that end the program (id of the node -> how to name it)."""
    regions: list[Dead] = []
    for node in ast.walk(tree):
        for body in _statement_lists(node):
            for index, stmt in enumerate(body[:-1]):
                word = _terminator(stmt, exits)
                if word is not None:
                    regions.append(Dead(f"puts code after `{word}`, where it never runs",
                                        simple_statements(body[index + 1:])))
                    break
        if isinstance(node, ast.If | ast.While):
            truth = constant_truth(node.test)
            header = f"`{'while' if isinstance(node, ast.While) else 'if'} " \
                     f"{short(ast.unparse(node.test), 40)}:`"
            if truth is False:
                regions.append(Dead(f"puts code under {header}, which never runs",
                                    simple_statements(node.body)))
            elif truth is True and isinstance(node, ast.If) and node.orelse:
                regions.append(Dead(f"puts code under the `else` of {header}, which never "
                                    "runs", simple_statements(node.orelse)))
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                # False when the code runs; a new import there is fine, the example is not.
                regions.append(Dead(f"moves code the example ran under {header}, which is "
                                    "false when it runs", simple_statements(node.body),
                                    ran_only=True))
        elif isinstance(node, ast.For | ast.AsyncFor) and constant_truth(node.iter) is False:
            regions.append(Dead(f"puts code in a loop over `{short(ast.unparse(node.iter))}`"
                                ", which never runs", simple_statements(node.body)))
        elif isinstance(node, ast.Try | ast.TryStar) and is_trivial(node.body):
            regions.append(Dead("puts code in an `except` clause of a `try` that raises "
                                "nothing, where it never runs",
                                simple_statements(h for handler in node.handlers
                                                  for h in handler.body)))
        elif isinstance(node, ast.BoolOp):
            decisive = isinstance(node.op, ast.Or)  # `True or x`, `False and x`
            word = "or" if decisive else "and"
            for index, value in enumerate(node.values[:-1]):
                if constant_truth(value) is decisive:
                    regions.append(Dead(f"puts code behind `{short(ast.unparse(value), 40)} "
                                        f"{word}`, where it never runs",
                                        tuple(map(ast.unparse, node.values[index + 1:]))))
                    break
        elif isinstance(node, ast.IfExp) and (truth := constant_truth(node.test)) is not None:
            untaken = node.orelse if truth else node.body
            regions.append(Dead(f"puts code in the branch of `... if "
                                f"{short(ast.unparse(node.test), 40)} else ...` that is "
                                "never taken", (ast.unparse(untaken),)))
    regions.extend(_uncalled_functions(tree))
    return [region for region in regions if region.statements]


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statement_lists(node: ast.AST) -> Iterator[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            yield value


def _inner_bodies(stmt: ast.stmt) -> Iterator[list[ast.stmt]]:
    """Every body nested in ``stmt``: also those of its ``except`` clauses and ``case``s."""
    yield from _statement_lists(stmt)
    for part in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
        yield part.body


def _terminator(stmt: ast.stmt, exits: dict[int, str]) -> str | None:
    """How ``stmt`` ends its body for good (``return``, ``sys.exit()``), or None."""
    words = {ast.Return: "return", ast.Raise: "raise", ast.Continue: "continue",
             ast.Break: "break"}
    if type(stmt) in words:
        return words[type(stmt)]
    if isinstance(stmt, ast.Expr) and id(stmt.value) in exits:
        return exits[id(stmt.value)]
    return None


def _uncalled_functions(tree: ast.Module) -> Iterator[Dead]:
    """Functions whose body never runs: never mentioned outside their own body (neither
    called, passed on, nor named in a string such as ``__all__``), or, for a generator or a
    coroutine, only called in a statement of its own, which makes an object and drops it.
    Decorated functions and ``__dunder__`` methods are called by others."""
    defs = [node for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and not node.decorator_list
            and not (node.name.startswith("__") and node.name.endswith("__"))]
    if not defs:
        return
    everywhere, dropped = _mentions(tree)
    for node in defs:
        own, own_dropped = _mentions(node)
        name = node.name
        mentioned = everywhere[name] - own[name]
        coroutine = isinstance(node, ast.AsyncFunctionDef)
        where = f"moves code the example ran into `{'async ' * coroutine}def {name}`"
        if mentioned <= 0:
            reason = f"{where}, which is never called"
        elif mentioned > dropped[name] - own_dropped[name]:
            continue
        elif coroutine:
            reason = f"{where}, which is never awaited"
        elif _is_generator(node):
            reason = f"{where}, a generator that is never iterated"
        else:
            continue
        yield Dead(reason, simple_statements(node.body), ran_only=True)


def _mentions(tree: ast.AST) -> tuple[Counter[str], Counter[str]]:
    """How often each name is mentioned, and how often it is called in a statement of its own
    (``f()``: what the call returns is dropped).

    A mention is a read of the name (not one that is a whole statement: ``f`` alone does
    nothing), an attribute of that name, or the name as a string where strings name things:
    a subscript (``globals()["f"]``), ``getattr``/``hasattr``, ``__all__``.
    """
    found: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    idle: set[int] = set()  # names that are a statement of their own
    named: set[int] = set()  # strings that name something
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Name):
                idle.add(id(node.value))
            elif isinstance(node.value, ast.Call):
                name = last_name(node.value.func)
                if name is not None:
                    dropped[name] += 1
        elif isinstance(node, ast.Subscript):
            named.add(id(node.slice))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2):
            named.add(id(node.args[1]))
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and any(
                isinstance(t, ast.Name) and t.id == "__all__"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        ) and node.value is not None:
            named.update(id(n) for n in ast.walk(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            if id(node) not in idle:
                found[node.id] += 1
        elif isinstance(node, ast.Attribute):
            found[node.attr] += 1
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) in named:
            found[node.value] += 1
    return found, dropped


def _is_generator(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A ``yield`` in the function's own body (not in a function defined inside it)."""
    nested = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if not isinstance(node, nested):
            pending.extend(ast.iter_child_nodes(node))
    return False


def simple_statements(body: Iterable[ast.stmt], *, into_functions: bool = True
                      ) -> tuple[str, ...]:
    """The statements without a body of their own, unparsed, ``pass``/docstrings left out;
    with ``into_functions=False``, those the code runs outside any function."""
    found: list[str] = []

    def walk(statements: Iterable[ast.stmt]) -> None:
        for stmt in statements:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and not into_functions:
                continue
            lists = [*_inner_bodies(stmt)]
            if lists:
                for inner in lists:
                    walk(inner)
            elif not _is_filler(stmt):
                found.append(ast.unparse(stmt))

    walk(body)
    return tuple(found)


def jumps_out(body: list[ast.stmt], loop: bool = False) -> str | None:
    """The ``return``/``break``/``continue`` that jumps out of ``body`` (a ``finally``), if
    any: not one inside a function defined there, nor a ``break`` of a loop inside it."""
    for stmt in body:
        if isinstance(stmt, ast.Return):
            return "return"
        if isinstance(stmt, ast.Break | ast.Continue) and not loop:
            return "break" if isinstance(stmt, ast.Break) else "continue"
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        inner = isinstance(stmt, ast.For | ast.AsyncFor | ast.While)
        for part in _inner_bodies(stmt):
            # A loop's own body catches a `break`; its `else` does not.
            found = jumps_out(part, loop or (inner and part is getattr(stmt, "body", None)))
            if found is not None:
                return found
    return None
