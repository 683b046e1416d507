"""The rules from 3 on: each compares the facts of the original and of the candidate and
returns the reason the candidate is rejected, or None. Their order is in ``check_intent``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from docvalidate.model import ErrorInfo
from docvalidate.repair.guard.facts import Assert, Facts
from docvalidate.repair.guard.names import Key, is_stdlib
from docvalidate.repair.guard.reachability import Dead
from docvalidate.repair.guard.scanner import Use
from docvalidate.repair.guard.wording import short

MAX_SHRINK = 0.4  # a candidate may have at most 40% fewer lines of code than the original
MAX_LISTED = 3  # dropped names named in one reason

# These read error *messages* (CPython's wording), not Python code.
_MISSING_NAME = {
    "AttributeError": re.compile(r"has no attribute '(\w+)'"),
    "NameError": re.compile(r"name '(\w+)' is not defined"),
    "ImportError": re.compile(r"cannot import name '(\w+)'"),
}
_MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")


def added_cheat(before: Facts, after: Facts) -> str | None:
    """Rule 3: mocking, monkeypatching the documented library, exiting early, hidden code."""
    new = _first_extra(before.cheats, after.cheats)
    return None if new is None else f"adds {new}"


def reached_outside(before: Facts, after: Facts) -> str | None:
    """Rule 4: file descriptors, native code, signals, the interpreter's own state: ways to
    talk to the runner (forge a result, erase output) or to rewrite the code as it runs."""
    new = _first_extra(before.outside, after.outside)
    return None if new is None else f"adds {new}, which reaches outside the example"


def added_broad_handler(before: Facts, after: Facts) -> str | None:
    """Rule 5: any added broad handler is suspect, whatever its body: it can hide the error."""
    if len(after.broad) <= len(before.broad):
        return None
    new = _first_extra(before.broad, after.broad) or after.broad[-1]
    return f"adds a broad {new} handler that can hide the error"


def swallowed_error(before: Facts, after: Facts, error: ErrorInfo | None) -> str | None:
    """Rule 6: a new handler for the very error the original raised (or one of its bases)
    that does not raise again; a handler for another error is a real repair."""
    if error is None:
        return None
    seen = _classes(error) - {"object"}

    def swallowing(facts: Facts) -> list[str]:
        return [h.text for h in facts.handlers if not h.reraises
                and (h.catches is None or not h.catches.isdisjoint(seen))]

    new = _first_extra(swallowing(before), swallowing(after))
    return None if new is None else (f"adds {new}, which swallows the {error.type} "
                                     "the example raised")


def made_dead(before: Facts, after: Facts) -> str | None:
    """Rule 7: statements in code that never runs, beyond those the original had there."""
    known = Counter(s for region in before.dead for s in _counted(region, before.ran))
    for region in after.dead:
        for statement in _counted(region, before.ran):
            if known[statement] <= 0:
                return region.reason
            known[statement] -= 1
    return None


def _counted(region: Dead, ran: frozenset[str]) -> list[str]:
    return [s for s in region.statements if not region.ran_only or s in ran]


def hollowed(before: Facts, after: Facts) -> str | None:
    """Rule 8: bodies that did something now only ``pass``/``...``."""
    if after.trivial and not before.trivial:
        return "replaces the whole example with `pass`/`...`"
    for label, count in after.hollow.items():
        if count > before.hollow[label] and before.full[label]:
            return f"replaces the body of {label} with `pass`/`...`"
    return None


def unrelated(before: Facts, after: Facts, error: ErrorInfo | None) -> str | None:
    """Rule 9: any shared name (a variable, a builtin, an attribute) clears the candidate, so
    that only a wholesale replacement is caught; names proven missing do not count."""
    missing, _modules = _proven_missing(error)
    called = [name for name in before.called if name not in missing]
    if not called or not (before.names - missing).isdisjoint(after.names):
        return None
    listed = ", ".join(f"`{name}`" for name in called[:MAX_LISTED])
    return f"replaces the example with unrelated code that keeps none of its names ({listed})"


def removed_checks(before: Facts, after: Facts, update_output: bool) -> str | None:
    """Rule 10: what the example checks or shows may not go; outputs may change on request."""
    real_before = sum(a.real for a in before.asserts)
    real_after = sum(a.real for a in after.asserts)
    if real_after < real_before:
        always = _first_extra([a.text for a in before.asserts if not (a.real or a.literal)],
                              [a.text for a in after.asserts if not (a.real or a.literal)])
        if always is not None:
            return f"replaces an assert with `{always}`, which is always true"
        lost = real_before - real_after
        return (f"removes {lost} assert statement{'s' * (lost > 1)} "
                f"({real_before} -> {real_after})")
    uncalled = _lost_call(before.asserts, after.asserts)
    if uncalled is not None:
        return uncalled
    if update_output:
        return None
    remaining = iter(after.outputs)
    for group in before.outputs:
        if group not in remaining:  # consumes: the groups must stay, in order
            fewer = _line_count(after.outputs) < _line_count(before.outputs)
            verb = "removes" if fewer else "changes"
            return f'{verb} the expected output "{short(group)}"'
    return None


def _lost_call(before: list[Assert], after: list[Assert]) -> str | None:
    """An assert that checked what a call returns and now calls nothing (``assert f(x) == 3``
    -> ``assert 3 == 3`` or ``assert y == 3``). Asserts pair up by position when there are as
    many; otherwise the asserts that call something are counted."""
    if len(before) == len(after):
        for old, new in zip(before, after, strict=True):
            if old.real and old.calls and not new.calls:
                return f"removes the call checked by `{old.text}` (now `{new.text}`)"
        return None
    checking = [a for a in before if a.real and a.calls]
    if sum(a.real and a.calls for a in after) >= len(checking):
        return None
    kept = {a.text for a in after}
    old = next((a for a in checking if a.text not in kept), checking[-1])
    return f"removes the call checked by `{old.text}`"


def dropped_names(before: Facts, after: Facts, error: ErrorInfo | None) -> str | None:
    """Rule 11: every non-standard-library name the original used is still used."""
    names, modules = _proven_missing(error)
    # A key is kept when the candidate uses it or anything below it (`pd` by `pd.read_csv`).
    kept = {use.key[:i] for use in after.uses for i in range(1, len(use.key) + 1)}
    lost: dict[Key, list[Use]] = {}
    for use in before.uses:
        key = use.key
        if (key in kept or is_stdlib(key) or names.intersection(key)
                or any(key[:len(m)] == m for m in modules)):
            continue
        lost.setdefault(key, []).append(use)
    specific = [uses for key, uses in lost.items() if _worth_naming(key, lost)]
    if not specific:
        return None
    named = [_describe(uses) for uses in specific[:MAX_LISTED]]
    more = len(specific) - len(named)
    if more:
        named.append(f"{more} more use{'s' * (more > 1)} of the library")
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return f"removes {listed}"


def _worth_naming(key: Key, lost: Iterable[Key]) -> bool:
    """Name ``np.linalg.norm`` rather than ``np``/``np.linalg``, and ``requests.get`` rather
    than the response object it made and that object's methods."""
    made = ("()", "[]")
    for other in lost:
        if len(other) > len(key) and other[:len(key)] == key and other[len(key)] not in made:
            return False  # a more specific name below it was lost
        if len(other) < len(key) and key[:len(other)] == other and key[len(other)] in made:
            return False  # it was made by a lost call
    return True


def shrunk(before: Facts, after: Facts) -> str | None:
    """Rule 12: counted in lines holding code, so comments and blank lines do not matter."""
    if after.code_lines < before.code_lines * (1 - MAX_SHRINK):
        return (f"shrinks the example from {before.code_lines} to {after.code_lines} lines of "
                f"code (more than {MAX_SHRINK:.0%} shorter)")
    return None


def _proven_missing(error: ErrorInfo | None) -> tuple[frozenset[str], list[Key]]:
    """Names and modules the original's error proved not to exist; uses of them may go."""
    if error is None:
        return frozenset(), []
    kinds = _classes(error)
    text = f"{error.message}\n{error.exception_only}"
    names = {name for kind, pattern in _MISSING_NAME.items() if kind in kinds
             for name in pattern.findall(text)}
    modules = [tuple(found.split(".")) for found in _MISSING_MODULE.findall(text)
               if "ImportError" in kinds]
    return frozenset(names), modules


def _classes(error: ErrorInfo) -> set[str]:
    """The class of the error and its bases, each by its own name (``ValueError``)."""
    return {error.type, *(qualified.rsplit(".", 1)[-1] for qualified in error.mro)}


def _describe(uses: list[Use]) -> str:
    """"the call to requests.get" / "the import of pandas" / "the use of np.nan"."""
    called = next((use.text for use in uses if use.called), None)
    if called is not None:
        return f"the call to {called}"
    return f"the {'import' if uses[0].imported else 'use'} of {uses[0].text}"


def _first_extra(before: list[str], after: list[str]) -> str | None:
    """The first item of ``after`` that occurs there more often than in ``before``."""
    extra = Counter(after) - Counter(before)
    return next((item for item in after if extra[item]), None)


def _line_count(groups: list[str]) -> int:
    return sum(group.count("\n") + 1 for group in groups)
