"""What an example says it prints, and whether it did.

Two conventions: interactive sessions (``>>>`` statements followed by their output, parsed and
compared by the standard ``doctest`` module) and ``#>`` comments under ``print(...)`` calls
(pydantic's convention). Both are decided here, above the backends, so that every backend
gives the same verdict for the same run.
"""

from __future__ import annotations

import ast
import difflib
import doctest
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from docvalidate.backends.base import BlockRun, StatementRun
from docvalidate.doctest_number import OutputChecker
from docvalidate.model import ErrorInfo

DEFAULT_FLAGS = ("ELLIPSIS", "NORMALIZE_WHITESPACE")
_PARSER = doctest.DocTestParser()
MAX_DIFF_LINES = 30
# A line of the example's code to the line of its file (through the example's line map):
# messages name the lines a reader sees.
Locate = Callable[[int], int]


def _same(line: int) -> int:
    return line
WRAP_MIN = 40  # printed lines shorter than this are never wrapped by a doc


@dataclass(frozen=True)
class Prompt:
    """One ``>>>`` statement of an interactive session and what it should print."""

    source: str
    want: str
    exc_msg: str | None  # the expected exception line(s), when a traceback is expected
    line: int  # line of the ``>>>`` in the example's code
    want_line: int  # line of the first expected-output line in the example's code
    flags: int
    skip: bool


@dataclass(frozen=True)
class PrintComment:
    """``#>`` lines right under a ``print(...)`` call."""

    start: int  # lines of the call in the example's code
    end: int
    expected: str
    line: int  # line of the first ``#>`` in the example's code


def flag_value(names: Sequence[str]) -> int:
    value = 0
    for name in names:
        value |= doctest.OPTIONFLAGS_BY_NAME[name]
    return value


def parse_session(code: str, first_line: int, flags: int) -> tuple[Prompt, ...]:
    """The prompts of an interactive session; raises ValueError for a malformed one."""
    prompts = []
    for item in _PARSER.get_examples(code):
        effective = flags
        for flag, on in item.options.items():
            effective = effective | flag if on else effective & ~flag
        line = first_line + item.lineno
        prompts.append(Prompt(
            source=item.source,
            want=item.want,
            exc_msg=item.exc_msg,
            line=line,
            want_line=line + item.source.count("\n"),
            flags=effective,
            skip=bool(effective & doctest.SKIP),
        ))
    return tuple(prompts)


def parse_print_comments(source: str) -> tuple[PrintComment, ...]:
    """``#>`` groups under print calls in ``source`` (an example's code)."""
    lines = source.split("\n")
    if not any(line.lstrip().startswith("#>") for line in lines):
        return ()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()  # running it will report the syntax error
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "print" and node.end_lineno is not None):
            continue
        expected = []
        k = node.end_lineno  # 0-based index of the line after the call
        while k < len(lines) and lines[k].lstrip().startswith("#>"):
            text = lines[k].lstrip()[2:]
            expected.append(text[1:] if text.startswith(" ") else text)
            k += 1
        if expected:
            found.append(PrintComment(node.lineno, node.end_lineno, "\n".join(expected),
                                      node.end_lineno + 1))
    return tuple(sorted(found, key=lambda p: p.start))


def _diff(expected: str, actual: str) -> str:
    lines = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                      "expected", "actual", lineterm="", n=2))
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more lines)"]
    return "\n".join(lines)


def _mismatch(line: int, what: str, expected: str, actual: str,
              where: Locate = _same) -> ErrorInfo:
    """An OutputMismatch at ``line`` of the example's code (``line`` in the ErrorInfo stays a
    line of the code: the runner maps it with the rest)."""
    diff = _diff(expected, actual)
    return ErrorInfo("OutputMismatch",
                     f"{what} differs from the expected output at line {where(line)}",
                     line=line, traceback=diff, diff=diff)


def check_session(prompts: Sequence[Prompt], runs: Sequence[StatementRun],
                  where: Locate = _same) -> ErrorInfo | None:
    """The first failing prompt of an interactive session, with doctest's comparison."""
    checker = OutputChecker()
    failures: list[ErrorInfo] = []
    for prompt, run in zip([p for p in prompts if not p.skip], runs, strict=False):
        error = run.error
        if error is not None and prompt.exc_msg is None:
            failures.append(error)
        elif error is not None:
            assert prompt.exc_msg is not None
            got = error.exception_only
            ok = checker.check_output(prompt.exc_msg, got, prompt.flags)
            if not ok and prompt.flags & doctest.IGNORE_EXCEPTION_DETAIL:
                ok = _exception_name(prompt.exc_msg) == _exception_name(got)
            if not ok:
                failures.append(_mismatch(prompt.want_line, "the exception raised",
                                          prompt.exc_msg, got, where))
        elif prompt.exc_msg is not None:
            failures.append(ErrorInfo(
                "OutputMismatch",
                f"expected an exception ({prompt.exc_msg.strip()}) at line "
                f"{where(prompt.line)}, but none was raised",
                line=prompt.want_line,
                traceback=_diff(prompt.want, run.output), diff=_diff(prompt.want, run.output),
            ))
        elif not checker.check_output(prompt.want, run.output, prompt.flags):
            failures.append(_mismatch(prompt.want_line, "the output", prompt.want, run.output,
                                      where))
    if not failures:
        return None
    first = failures[0]
    if len(failures) > 1:
        more = len(failures) - 1
        return ErrorInfo(first.type, f"{first.message} (and {more} more "
                         f"failure{'s' * (more > 1)} in this example)", first.line,
                         first.traceback, first.mro, first.exception_only, first.diff)
    return first


def _exception_name(text: str) -> str:
    head = text.strip().split(":", 1)[0]
    return head.rsplit(".", 1)[-1]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


# Steps the wrapped-line comparison may take: an adversarial page (a hundred thousand ``#>``
# lines) must not keep docvalidate busy for minutes. Real blocks need a few per line.
WRAP_STEPS = 2_000_000


def _wrapped_equal(expected: list[str], actual: list[str]) -> bool:
    """Whether ``expected`` is ``actual`` with some lines wrapped onto several ``#>`` lines.

    Each actual line must be one expected line, or (when it is long enough that a doc would
    wrap it) several whose continuations, their leading whitespace removed, are joined with a
    space or with nothing; every other difference, whitespace inside a line included, is a
    mismatch. Continuations are never empty (a doc does not wrap onto an empty line).

    Iterative, over the expected lines each actual line may end at, and bounded by
    WRAP_STEPS: past it the output is reported as not matching.
    """
    reachable = {0}
    steps = 0
    for line in actual:
        ends: set[int] = set()
        for start in sorted(reachable):
            if start >= len(expected) or not line.startswith(expected[start]):
                continue
            spaced = tight = len(expected[start])  # how much of the line each join matched
            k = start + 1
            if tight == len(line):
                ends.add(k)
            while k < len(expected) and len(line) >= WRAP_MIN and (spaced or tight):
                steps += 1
                if steps > WRAP_STEPS:
                    return False
                piece = expected[k].lstrip()
                if not piece:
                    break
                spaced = (spaced + 1 + len(piece) if spaced and line.startswith(" " + piece,
                                                                                  spaced)
                          else 0)
                tight = tight + len(piece) if tight and line.startswith(piece, tight) else 0
                k += 1
                if len(line) in (spaced, tight):
                    ends.add(k)
        if not ends:
            return False
        reachable = ends
    return len(expected) in reachable


_ADDRESS = re.compile(r"0x[a-f0-9]{8,12}>")


def any_address(printed: str) -> str:
    """``printed`` with memory addresses (``<Foo object at 0x7f...>``) written as
    pytest-examples writes them in docs, ``0x0123456789ab>``."""
    return _ADDRESS.sub("0x0123456789ab>", printed)


def check_prints(comments: Sequence[PrintComment], run: BlockRun,
                 where: Locate = _same) -> ErrorInfo | None:
    """Compare what each print call wrote with its ``#>`` lines. Whitespace may differ where
    the doc wrapped a long line onto several ``#>`` lines."""
    for comment in comments:
        actual = "".join(text for line, text in run.prints
                         if line is not None and comment.start <= line <= comment.end)
        expected = _lines(comment.expected)
        if _wrapped_equal(expected, _lines(actual)) or (
                any_address(actual) != actual
                and _wrapped_equal(expected, _lines(any_address(actual)))):
            continue
        return _mismatch(comment.line, f"what print() at line {where(comment.start)} wrote",
                         comment.expected, actual.rstrip("\n"), where)
    return None
