"""What one version of the block is: the facts the rules compare, read with :mod:`ast`.

:func:`study` reads the original and the candidate alike; the rules only compare two sets
of facts, so a fact is worked out once, however many rules use it.
"""

from __future__ import annotations

import ast
import builtins
import io
import tokenize
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from docvalidate.expected_output import parse_session
from docvalidate.print_strings import parse_print_strings
from docvalidate.repair.guard.folding import UNKNOWN, constant_truth, constant_value
from docvalidate.repair.guard.names import last_name
from docvalidate.repair.guard.reachability import Dead, dead_code, is_trivial, simple_statements
from docvalidate.repair.guard.scanner import Handler, Scanner, Use
from docvalidate.repair.guard.wording import short
from docvalidate.sources.document import text_lines
from docvalidate.sources.fences import is_prompt

_BUILTIN_NAMES = frozenset(dir(builtins))
_NOT_CODE = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                       tokenize.DEDENT, tokenize.ENDMARKER})


@dataclass(frozen=True)
class Assert:
    """One ``assert`` statement, as rule 10 compares them."""

    text: str  # `assert x == 1`, shortened
    real: bool  # neither a literal (`assert True`) nor always true (`assert 1 == 1`)
    literal: bool
    calls: bool  # its test calls something


@dataclass
class Facts:
    """What the rules need to know about one version of the block."""

    syntax_error: str | None = None
    prompts: int = 0  # lines starting with `>>>` (interactive sessions)
    uses: list[Use] = field(default_factory=list)
    cheats: list[str] = field(default_factory=list)  # rule 3, as "adds ..." completions
    outside: list[str] = field(default_factory=list)  # rule 4, as "adds ..." completions
    broad: list[str] = field(default_factory=list)  # rule 5, the handlers as written
    handlers: list[Handler] = field(default_factory=list)  # rule 6
    dead: list[Dead] = field(default_factory=list)  # rule 7
    ran: frozenset[str] = frozenset()  # simple statements run outside any function
    hollow: Counter[str] = field(default_factory=Counter)  # bodies that are only pass/...
    full: Counter[str] = field(default_factory=Counter)  # bodies that do something
    trivial: bool = False  # the whole example is only pass/.../docstrings
    names: frozenset[str] = frozenset()  # rule 9: every identifier
    called: tuple[str, ...] = ()  # rule 9: the identifiers called, in source order
    asserts: list[Assert] = field(default_factory=list)  # in source order
    code_lines: int = 0
    outputs: list[str] = field(default_factory=list)  # expected-output groups, in order


def study(code: str, interactive: bool) -> Facts:
    """Parse ``code`` and collect the facts; a syntax error is recorded, not raised."""
    outputs: list[str] = []
    prompts = 0
    if interactive:
        prompts = sum(1 for line in text_lines(code) if is_prompt(line))
        try:
            examples = parse_session(code, 1, 0)
        except ValueError as exc:  # a malformed prompt
            return Facts(syntax_error=str(exc), prompts=prompts)
        source = "".join(p.source for p in examples)
        outputs = [_norm(p.want) for p in examples if p.want.strip()]
    else:
        source = code
    code_lines, comments = _scan_tokens(source)
    if not interactive:  # pytest-examples' long output: a string right under a print call
        outputs = [string.expected.rstrip() for string in parse_print_strings(code)]
    facts = Facts(prompts=prompts, code_lines=code_lines, outputs=comments + outputs)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        facts.syntax_error = f"{exc.msg} (line {exc.lineno})"
        facts.trivial = code_lines == 0  # it had code, even if it did not parse
        return facts
    except ValueError as exc:  # a NUL byte in the source: not a program either
        facts.syntax_error = str(exc)
        return facts
    scanner = Scanner()
    scanner.visit(tree)
    facts.uses, facts.cheats, facts.broad = scanner.uses, scanner.cheats, scanner.broad
    facts.outside, facts.handlers = scanner.outside, scanner.handlers
    facts.dead = dead_code(tree, scanner.exits)
    facts.ran = frozenset(simple_statements(tree.body, into_functions=False))
    facts.names, facts.called = _identifiers(tree)
    facts.trivial = is_trivial(tree.body)
    asserts: list[ast.Assert] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            asserts.append(node)
        for label, body in _bodies(node):
            (facts.hollow if is_trivial(body) else facts.full)[label] += 1
    asserts.sort(key=lambda node: (node.lineno, node.col_offset))
    facts.asserts = [_study_assert(node) for node in asserts]
    return facts


def _study_assert(node: ast.Assert) -> Assert:
    literal = isinstance(node.test, ast.Constant)  # `assert True` checks nothing
    always = constant_truth(node.test, reflexive=True) is True
    calls = any(isinstance(n, ast.Call) and not _on_literals(n) for n in ast.walk(node.test))
    return Assert(short(ast.unparse(node)), not (literal or always), literal, calls)


def _on_literals(call: ast.Call) -> bool:
    """A builtin called on literals only (``int(7)``, ``len("abc")``): no call of the
    example's code, just another way to write a constant."""
    return (isinstance(call.func, ast.Name) and call.func.id in _BUILTIN_NAMES
            and all(constant_value(a) is not UNKNOWN for a in call.args)
            and all(constant_value(k.value) is not UNKNOWN for k in call.keywords))


def _scan_tokens(source: str) -> tuple[int, list[str]]:
    """The number of lines holding code, and the ``#>`` comment groups (consecutive lines).

    The tokenizer, not a line scan, so a ``#`` inside a string is not taken for a comment.
    """
    lines: set[int] = set()
    groups: list[list[str]] = []
    previous = -1
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and token.string.startswith("#>"):
                text = token.string[2:].removeprefix(" ").rstrip()
                if token.start[0] == previous + 1 and groups:
                    groups[-1].append(text)
                else:
                    groups.append([text])
                previous = token.start[0]
            elif token.type not in _NOT_CODE:
                lines.update(range(token.start[0], token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # only for code that does not parse; what was read so far will do
    return len(lines), ["\n".join(group) for group in groups]


def _bodies(node: ast.AST) -> Iterable[tuple[str, list[ast.stmt]]]:
    """The bodies rule 8 watches, each with a label for the reason."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        yield f"`def {node.name}`", node.body
    elif isinstance(node, ast.ClassDef):
        yield f"`class {node.name}`", node.body
    elif isinstance(node, ast.For | ast.AsyncFor | ast.While):
        yield f"a `{'while' if isinstance(node, ast.While) else 'for'}` loop", node.body
    elif isinstance(node, ast.If):
        yield "an `if` block", node.body
        if node.orelse and not (len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If)):
            yield "an `else` block", node.orelse  # an elif is an If of its own
    elif isinstance(node, ast.With | ast.AsyncWith):
        yield "a `with` block", node.body
    elif isinstance(node, ast.Try | ast.TryStar):
        yield "a `try` block", node.body


def _identifiers(tree: ast.Module) -> tuple[frozenset[str], tuple[str, ...]]:
    """Every identifier the code mentions, and those it calls (in source order)."""
    names: set[str] = set()
    calls: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.update(node.name.split("."))
            if node.asname:
                names.add(node.asname)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(node.module.split("."))
        if isinstance(node, ast.Call) and (name := last_name(node.func)) is not None:
            calls.append((node.lineno, node.col_offset, name))
    called = dict.fromkeys(name for *_, name in sorted(calls))
    return frozenset(names), tuple(called)


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))
