"""Constant conditions, folded from literals only: nothing is ever run.

``if 1 == 2:`` never runs and ``assert 1 == 1`` checks nothing; but only what literals alone
decide is folded (no names, no arithmetic beyond signs), so folding stays cheap and safe.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any, Final

UNKNOWN: Final = object()
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_SINGLETONS = (type(None), bool, type(Ellipsis))


def constant_truth(node: ast.expr, *, reflexive: bool = False) -> bool | None:
    """Whether ``node`` is always true (True), always false (False), or it depends (None).

    Only literals, ``not``/``-``, ``and``/``or`` and comparisons of literals are folded, plus
    displays (a non-empty tuple is true). ``reflexive`` (for asserts): ``x == x`` and
    ``isinstance(x, object)`` count as always true too (not for ``if``: ``x != x`` is NaN's
    test).
    """
    value = constant_value(node)
    if value is not UNKNOWN:
        return bool(value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = constant_truth(node.operand, reflexive=reflexive)
        return None if inner is None else not inner
    if isinstance(node, ast.BoolOp):
        truths = [constant_truth(value, reflexive=reflexive) for value in node.values]
        decisive = isinstance(node.op, ast.Or)  # one true operand decides `or`, a false `and`
        if decisive in truths:
            return decisive
        return (not decisive) if all(t is (not decisive) for t in truths) else None
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        if any(not isinstance(element, ast.Starred) for element in node.elts):
            return True
        return None if node.elts else False
    if isinstance(node, ast.Dict):
        if any(key is not None for key in node.keys):  # None: a `**mapping`
            return True
        return None if node.keys else False
    if isinstance(node, ast.Lambda):
        return True
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range" and not node.keywords and 1 <= len(node.args) <= 3):
        bounds = [b for a in node.args if isinstance(b := constant_value(a), int)]
        if len(bounds) == len(node.args):  # range(0), range(3, 3): empty
            try:
                return bool(range(*bounds))
            except (ValueError, OverflowError):
                return None
    if isinstance(node, ast.JoinedStr) and any(
            isinstance(part, ast.Constant) and part.value for part in node.values):
        return True
    if reflexive and _reflexive(node):
        return True
    return None


def _reflexive(node: ast.expr) -> bool:
    if (isinstance(node, ast.Compare) and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Eq | ast.Is | ast.LtE | ast.GtE)):
        return ast.dump(node.left) == ast.dump(node.comparators[0])
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2):
        kinds = node.args[1]
        elements = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
        return any(isinstance(e, ast.Name) and e.id == "object" for e in elements)
    return False


def constant_value(node: ast.expr) -> object:
    """The value of an expression made of literals only, else ``UNKNOWN``. No arithmetic
    beyond signs, so nothing can be made big: folding stays cheap and safe."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        values = [constant_value(element) for element in node.elts]  # a `*x` is unknown
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        if isinstance(node, ast.Set):
            try:
                return set(values)
            except TypeError:  # an unhashable element: not a value, an error
                return UNKNOWN
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.UnaryOp):
        value = constant_value(node.operand)
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(value, int | float | complex):
            if isinstance(node.op, ast.USub):
                return -value
            if isinstance(node.op, ast.UAdd):
                return +value
            if isinstance(node.op, ast.Invert) and isinstance(value, int):
                return ~value
        return UNKNOWN
    if isinstance(node, ast.BoolOp):
        values = [constant_value(value) for value in node.values]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        stop = isinstance(node.op, ast.Or)  # `or` stops at a true operand, `and` at a false
        return next((v for v in values[:-1] if bool(v) is stop), values[-1])
    if isinstance(node, ast.Compare):
        left = constant_value(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = constant_value(comparator)
            if left is UNKNOWN or right is UNKNOWN:
                return UNKNOWN
            outcome = _compare(op, left, right)
            if outcome is None:
                return UNKNOWN
            if not outcome:
                return False  # a chain stops at its first false comparison
            left = right
        return True
    return UNKNOWN


def _compare(op: ast.cmpop, left: object, right: object) -> bool | None:
    if isinstance(op, ast.Is | ast.IsNot):
        if not (isinstance(left, _SINGLETONS) and isinstance(right, _SINGLETONS)):
            return None  # identity of other literals is an implementation detail
        return (left is right) is isinstance(op, ast.Is)
    try:
        return bool(_COMPARE[type(op)](left, right))
    except (TypeError, ValueError):
        return None
