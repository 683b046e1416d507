"""The intent guard: does a candidate repair still teach what the original example taught?

A fixer (an LLM, usually) is rewarded for making an example pass, and the cheapest way to make
code pass is to stop it from doing anything. The guard compares the candidate with the
original, both parsed with :mod:`ast` (never run; constant conditions are folded from literals
only), and rejects one that, checking in this order so that the most specific reason is the
one reported,

1. changes a ``no-fix`` block at all;
2. is not valid Python, or (an interactive session) not a valid session: also a session that
   lost all its ``>>>`` prompts while the original had some (a candidate that does not parse
   is left to the runner when the original did not parse either);
3. adds mocking (``unittest.mock``/``mock``), a monkeypatch of an imported third-party name,
   a way out (``sys.exit``, ``os._exit``, ``exit()``, ``quit()``, ``raise SystemExit``), or
   code hidden in a string (the builtins ``exec``/``eval``/``compile``, ``runpy``);
4. reaches outside the example: file descriptors (``os.write``, ``os.dup2``, ``os.fdopen``,
   ``open(3)``, ``socket.fromfd``, ``/proc/self/fd``, ...), native code (``ctypes``,
   ``cffi``), signals (``signal.signal``, ``signal.alarm``, ``os.kill``, ...), or the running
   interpreter (``sys._getframe``, ``inspect.stack``, ``gc.get_objects``, ``sys.settrace``,
   changes to ``sys.modules`` or ``builtins``, ``__builtins__``, ``faulthandler``), also
   when reached through ``__import__``, ``importlib``, ``getattr``, ``sys.modules["os"]``,
   ``vars(os)``, ``posix`` or a star import;
5. adds a broad handler (bare ``except:``, ``except Exception``/``BaseException``, also inside
   a tuple, or ``contextlib.suppress`` of them), whatever its body;
6. adds, when the original's error is known, a handler that swallows it: an ``except`` (or
   ``contextlib.suppress``) naming its class or one of its bases without a ``raise``
   statement of its own, a ``finally`` that returns, breaks or continues, an ``__exit__``
   that returns a value, or a way to run code later whose exceptions are printed, not raised
   (``threading.Thread``, ``atexit.register``, executors, ...);
7. puts code where it never runs: under a condition that is always false (``if False:``,
   ``if 0:``, ``if 1 == 2:``, ``while False:``, ``if False and x:``, the ``else`` of
   ``if True:``, a loop over ``()`` or ``range(0)``, the ``except`` of a ``try: pass``),
   behind ``False and`` / ``True or`` or in the branch of ``a if False else b`` never taken,
   after a ``return``, ``raise``, ``continue``, ``break`` or exit call in the same body, or
   (statements the original ran outside any function) under ``if TYPE_CHECKING:``, in a
   function that is never called, a coroutine never awaited or a generator never iterated;
8. turns a non-trivial body (or the whole example) into ``pass``/``...``;
9. replaces the example with unrelated code: the original called something, and the candidate
   keeps none of its names (apart from names its error proved missing);
10. checks less: fewer real ``assert`` statements (one that is always true, such as
    ``assert 1 == 1``, ``assert x == x`` or ``assert isinstance(x, object)``, is not real), an
    assert that checked a call and no longer calls anything but builtins on literals
    (asserts pair up by position), or removed/changed expected output (``#>`` comments, the
    output under ``>>>`` statements) unless ``update_output``;
11. drops an import, call or attribute use of a non-standard-library name the original used,
    unless the original's error proved that very name does not exist;
12. has more than 40% fewer lines of code (lines holding a token other than a comment).

What is added (rules 3 to 7) is compared with what the original already had, as multisets
(for rule 7, of the statements in code that never runs): only what is new counts, and names
are compared after following aliases. An interactive session (``interactive``, or a block whose
first line starts with ``>>>`` whatever the caller says) is checked as the program its
statements make, and its expected output is the output under its statements.

Names are followed through aliases and the objects made from them: after
``import pandas as pd`` and ``df = pd.DataFrame(data)``, ``df.groupby`` is the key
``pandas.DataFrame().groupby``, so renaming ``df`` or the alias changes nothing, while dropping
the ``groupby`` call is noticed. Keys are compared as sets, and a key counts as kept when the
candidate uses it or something below it.
"""

from __future__ import annotations

import ast
import builtins
import doctest
import io
import operator
import re
import sys
import tokenize
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from docvalidate.model import ErrorInfo
from docvalidate.sources.fences import is_interactive

Key = tuple[str, ...]  # ("pandas", "DataFrame", "()", "groupby"): "()" a call, "[]" an item

MAX_SHRINK = 0.4  # a candidate may have at most 40% fewer lines of code than the original
MAX_LISTED = 3  # dropped names named in one reason

_PARSER = doctest.DocTestParser()
_MOCK_MODULES: tuple[Key, ...] = (("unittest", "mock"), ("mock",))
_EXITS: dict[Key, str] = {("sys", "exit"): "sys.exit()", ("os", "_exit"): "os._exit()"}
_BUILTIN_EXITS = frozenset({"exit", "quit"})
_HIDDEN_CODE = frozenset({"exec", "eval", "compile"})
_BUILTIN_NAMES = frozenset(dir(builtins))
_BROAD = frozenset({"Exception", "BaseException"})
_NOT_CODE = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                       tokenize.DEDENT, tokenize.ENDMARKER})
# These read error *messages* (CPython's wording), not Python code.
_MISSING_NAME = {
    "AttributeError": re.compile(r"has no attribute '(\w+)'"),
    "NameError": re.compile(r"name '(\w+)' is not defined"),
    "ImportError": re.compile(r"cannot import name '(\w+)'"),
}
_MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")

# Rule 4: what reaches outside the example, by what it is called (after following aliases).
_FD = "a file-descriptor operation"
_NATIVE = "native code access"
_SIGNALS = "signal handling"
_INTERPRETER = "access to the running interpreter"
_OUTSIDE_CALLS: dict[Key, str] = {
    **{("os", name): _FD for name in (
        "write", "writev", "pwrite", "pwritev", "sendfile", "dup", "dup2", "fdopen", "close",
        "closerange", "ftruncate", "lseek", "set_inheritable", "set_blocking")},
    ("socket", "fromfd"): _FD,
    ("socket", "fromshare"): _FD,
    **{("signal", name): _SIGNALS for name in (
        "signal", "setitimer", "alarm", "pthread_sigmask", "set_wakeup_fd", "siginterrupt",
        "pthread_kill", "raise_signal")},
    ("os", "kill"): _SIGNALS,
    ("os", "killpg"): _SIGNALS,
    **{("sys", name): _INTERPRETER for name in (
        "_getframe", "_current_frames", "_current_exceptions", "settrace", "setprofile",
        "monitoring", "addaudithook")},
    **{("sys", "modules", name): _INTERPRETER for name in (
        "update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__")},
    **{("threading", name): _INTERPRETER for name in (
        "settrace", "setprofile", "settrace_all_threads", "setprofile_all_threads")},
    **{("inspect", name): _INTERPRETER for name in (
        "currentframe", "stack", "trace", "getouterframes")},
    **{("gc", name): _INTERPRETER for name in ("get_objects", "get_referrers", "get_referents")},
    ("builtins", "__dict__"): _INTERPRETER,
}
_OUTSIDE_MODULES: dict[str, str] = {"ctypes": _NATIVE, "_ctypes": _NATIVE, "cffi": _NATIVE,
                                    "faulthandler": _INTERPRETER}
# Rule 6: ways to run code later, where an exception it raises does not fail the example.
_DEFERRED: frozenset[Key] = frozenset({
    ("threading", "Thread"), ("threading", "Timer"), ("_thread", "start_new_thread"),
    ("_thread", "start_new"), ("atexit", "register"), ("weakref", "finalize"),
    ("concurrent", "futures", "ThreadPoolExecutor"),
    ("concurrent", "futures", "ProcessPoolExecutor"), ("multiprocessing", "Process")})
# Modules that are other names for the ones the tables above use.
_SAME_MODULE = {"posix": "os", "nt": "os", "_socket": "socket", "_signal": "signal",
                "_io": "io"}
_IMPORT_CALLS: frozenset[Key] = frozenset({("importlib", "import_module"),
                                           ("importlib", "__import__")})
_RUN_CODE: frozenset[Key] = frozenset({("runpy", "run_path"), ("runpy", "run_module")})
_OPENERS: frozenset[Key] = frozenset({("builtins", "open"), ("io", "open"), ("io", "FileIO")})
_FD_PATH = re.compile(r"/(?:proc/(?:self|thread-self|\d+)/fd|dev/fd)(?![\w-])")


@dataclass(frozen=True)
class _Use:
    """One place where the example refers to an imported name (or an object made from one)."""

    key: Key
    text: str  # as written, for the reason: "df.groupby"
    called: bool = False
    imported: bool = False


@dataclass(frozen=True)
class _Handler:
    """Something that can stop an exception: an ``except``, a ``suppress``, a ``finally``."""

    text: str  # for the reason: "an `except ValueError:` handler"
    catches: frozenset[str] | None  # class names (the last part); None: every exception
    reraises: bool = False


@dataclass(frozen=True)
class _Assert:
    text: str  # `assert x == 1`, shortened
    real: bool  # neither a literal (`assert True`) nor always true (`assert 1 == 1`)
    literal: bool
    calls: bool  # its test calls something


@dataclass(frozen=True)
class _Dead:
    """Statements that never run, and why (the reason rule 7 gives)."""

    reason: str
    statements: tuple[str, ...]  # the simple statements (or expressions) inside, unparsed
    ran_only: bool = False  # only those the original ran at the top level count


@dataclass
class _Facts:
    """What the rules need to know about one version of the block."""

    syntax_error: str | None = None
    prompts: int = 0  # lines starting with `>>>` (interactive sessions)
    uses: list[_Use] = field(default_factory=list)
    cheats: list[str] = field(default_factory=list)  # rule 3, as "adds ..." completions
    outside: list[str] = field(default_factory=list)  # rule 4, as "adds ..." completions
    broad: list[str] = field(default_factory=list)  # rule 5, the handlers as written
    handlers: list[_Handler] = field(default_factory=list)  # rule 6
    dead: list[_Dead] = field(default_factory=list)  # rule 7
    ran: frozenset[str] = frozenset()  # simple statements run outside any function
    hollow: Counter[str] = field(default_factory=Counter)  # bodies that are only pass/...
    full: Counter[str] = field(default_factory=Counter)  # bodies that do something
    trivial: bool = False  # the whole example is only pass/.../docstrings
    names: frozenset[str] = frozenset()  # rule 9: every identifier
    called: tuple[str, ...] = ()  # rule 9: the identifiers called, in source order
    asserts: list[_Assert] = field(default_factory=list)  # in source order
    code_lines: int = 0
    outputs: list[str] = field(default_factory=list)  # expected-output groups, in order


def check_intent(original: str, candidate: str, *, interactive: bool = False,
                 error: ErrorInfo | None = None, update_output: bool = False,
                 no_fix: bool = False) -> str | None:
    """None when ``candidate`` still teaches what ``original`` did, else one sentence saying
    why it is rejected (shown to the user and given to the fixer for its next attempt).

    ``interactive``: the example is a ``>>>`` session (as its source decided: see
    ``Example.interactive``, also for a session in a ``python`` fence), whose statements are
    checked as one program and whose outputs are the expected output. ``error`` is what the
    original raised; it may prove a name missing, which may then be dropped or renamed, and
    a new handler may not swallow it.
    """
    if no_fix:
        # Only the final newlines are the rewriter's business, not the fixer's.
        if candidate.rstrip("\n") == original.rstrip("\n"):
            return None
        return "changes a block marked no-fix, which must stay as written"
    # A caller that forgot: a block that starts with `>>>` is a session (as the sources say).
    interactive = interactive or is_interactive("python", original)
    before = _study(original, interactive)
    after = _study(candidate, interactive)
    if after.syntax_error is not None:
        if before.syntax_error is not None:
            return None  # running it will tell; the guard cannot compare two non-programs
        kind = "a valid interactive session" if interactive else "valid Python"
        return f"the repair is not {kind}: {after.syntax_error}"
    if interactive and before.prompts and not after.prompts:
        # doctest reads text without prompts as prose: such a candidate would run nothing.
        return ("the repair is not a valid interactive session: it has no `>>>` prompts "
                f"(the original had {before.prompts})")
    return (_added_cheat(before, after)
            or _reached_outside(before, after)
            or _added_broad_handler(before, after)
            or _swallowed_error(before, after, error)
            or _made_dead(before, after)
            or _hollowed(before, after)
            or _unrelated(before, after, error)
            or _removed_checks(before, after, update_output)
            or _dropped_names(before, after, error)
            or _shrunk(before, after))


# --- the rules, each returning a reason or None -------------------------------------------


def _added_cheat(before: _Facts, after: _Facts) -> str | None:
    """Rule 3: mocking, monkeypatching the documented library, exiting early, hidden code."""
    new = _first_extra(before.cheats, after.cheats)
    return None if new is None else f"adds {new}"


def _reached_outside(before: _Facts, after: _Facts) -> str | None:
    """Rule 4: file descriptors, native code, signals, the interpreter's own state: ways to
    talk to the runner (forge a result, erase output) or to rewrite the code as it runs."""
    new = _first_extra(before.outside, after.outside)
    return None if new is None else f"adds {new}, which reaches outside the example"


def _added_broad_handler(before: _Facts, after: _Facts) -> str | None:
    """Rule 5: any added broad handler is suspect, whatever its body: it can hide the error."""
    if len(after.broad) <= len(before.broad):
        return None
    new = _first_extra(before.broad, after.broad) or after.broad[-1]
    return f"adds a broad {new} handler that can hide the error"


def _swallowed_error(before: _Facts, after: _Facts, error: ErrorInfo | None) -> str | None:
    """Rule 6: a new handler for the very error the original raised (or one of its bases)
    that does not raise again; a handler for another error is a real repair."""
    if error is None:
        return None
    seen = {error.type, *(name.rsplit(".", 1)[-1] for name in error.mro)} - {"object"}

    def swallowing(facts: _Facts) -> list[str]:
        return [h.text for h in facts.handlers if not h.reraises
                and (h.catches is None or not h.catches.isdisjoint(seen))]

    new = _first_extra(swallowing(before), swallowing(after))
    return None if new is None else (f"adds {new}, which swallows the {error.type} "
                                     "the example raised")


def _made_dead(before: _Facts, after: _Facts) -> str | None:
    """Rule 7: statements in code that never runs, beyond those the original had there."""
    known = Counter(s for region in before.dead for s in _counted(region, before.ran))
    for region in after.dead:
        for statement in _counted(region, before.ran):
            if known[statement] <= 0:
                return region.reason
            known[statement] -= 1
    return None


def _counted(region: _Dead, ran: frozenset[str]) -> list[str]:
    return [s for s in region.statements if not region.ran_only or s in ran]


def _hollowed(before: _Facts, after: _Facts) -> str | None:
    """Rule 8: bodies that did something now only ``pass``/``...``."""
    if after.trivial and not before.trivial:
        return "replaces the whole example with `pass`/`...`"
    for label, count in after.hollow.items():
        if count > before.hollow[label] and before.full[label]:
            return f"replaces the body of {label} with `pass`/`...`"
    return None


def _unrelated(before: _Facts, after: _Facts, error: ErrorInfo | None) -> str | None:
    """Rule 9: any shared name (a variable, a builtin, an attribute) clears the candidate, so
    that only a wholesale replacement is caught; names proven missing do not count."""
    missing, _modules = _proven_missing(error)
    called = [name for name in before.called if name not in missing]
    if not called or not (before.names - missing).isdisjoint(after.names):
        return None
    listed = ", ".join(f"`{name}`" for name in called[:MAX_LISTED])
    return f"replaces the example with unrelated code that keeps none of its names ({listed})"


def _removed_checks(before: _Facts, after: _Facts, update_output: bool) -> str | None:
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
            return f"{verb} the expected output {_snippet(group)}"
    return None


def _lost_call(before: list[_Assert], after: list[_Assert]) -> str | None:
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


def _dropped_names(before: _Facts, after: _Facts, error: ErrorInfo | None) -> str | None:
    """Rule 11: every non-standard-library name the original used is still used."""
    names, modules = _proven_missing(error)
    # A key is kept when the candidate uses it or anything below it (`pd` by `pd.read_csv`).
    kept = {use.key[:i] for use in after.uses for i in range(1, len(use.key) + 1)}
    lost: dict[Key, list[_Use]] = {}
    for use in before.uses:
        key = use.key
        if (key in kept or _is_stdlib(key) or names.intersection(key)
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


def _shrunk(before: _Facts, after: _Facts) -> str | None:
    """Rule 12: counted in lines holding code, so comments and blank lines do not matter."""
    if after.code_lines < before.code_lines * (1 - MAX_SHRINK):
        return (f"shrinks the example from {before.code_lines} to {after.code_lines} lines of "
                f"code (more than {MAX_SHRINK:.0%} shorter)")
    return None


# --- reading one version of the block -------------------------------------------------------


def _study(code: str, interactive: bool) -> _Facts:
    """Parse ``code`` and collect the facts; a syntax error is recorded, not raised."""
    outputs: list[str] = []
    prompts = 0
    if interactive:
        prompts = sum(1 for line in code.splitlines() if line.lstrip().startswith(">>>"))
        try:
            examples = _PARSER.get_examples(code)
        except ValueError as exc:  # a malformed prompt
            return _Facts(syntax_error=str(exc), prompts=prompts)
        source = "".join(p.source for p in examples)
        outputs = [_norm(p.want) for p in examples if p.want.strip()]
    else:
        source = code
    code_lines, comments = _scan_tokens(source)
    facts = _Facts(prompts=prompts, code_lines=code_lines, outputs=comments + outputs)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        facts.syntax_error = f"{exc.msg} (line {exc.lineno})"
        facts.trivial = code_lines == 0  # it had code, even if it did not parse
        return facts
    except ValueError as exc:  # a NUL byte in the source: not a program either
        facts.syntax_error = str(exc)
        return facts
    scanner = _Scanner()
    scanner.visit(tree)
    facts.uses, facts.cheats, facts.broad = scanner.uses, scanner.cheats, scanner.broad
    facts.outside, facts.handlers = scanner.outside, scanner.handlers
    facts.dead = _dead_code(tree, scanner.exits)
    facts.ran = frozenset(_simple_statements(tree.body, into_functions=False))
    facts.names, facts.called = _identifiers(tree)
    facts.trivial = _is_trivial(tree.body)
    asserts: list[ast.Assert] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            asserts.append(node)
        for label, body in _bodies(node):
            (facts.hollow if _is_trivial(body) else facts.full)[label] += 1
    asserts.sort(key=lambda node: (node.lineno, node.col_offset))
    facts.asserts = [_study_assert(node) for node in asserts]
    return facts


def _study_assert(node: ast.Assert) -> _Assert:
    literal = isinstance(node.test, ast.Constant)  # `assert True` checks nothing
    always = _truth(node.test, reflexive=True) is True
    calls = any(isinstance(n, ast.Call) and not _on_literals(n) for n in ast.walk(node.test))
    return _Assert(_short(ast.unparse(node)), not (literal or always), literal, calls)


def _on_literals(call: ast.Call) -> bool:
    """A builtin called on literals only (``int(7)``, ``len("abc")``): no call of the
    example's code, just another way to write a constant."""
    return (isinstance(call.func, ast.Name) and call.func.id in _BUILTIN_NAMES
            and all(_literal(a) is not _UNKNOWN for a in call.args)
            and all(_literal(k.value) is not _UNKNOWN for k in call.keywords))


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


def _is_trivial(body: Sequence[ast.stmt]) -> bool:
    """Only ``pass``, ``...`` and docstrings (or nothing at all)."""
    return all(_is_filler(stmt) for stmt in body)


def _is_filler(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        and (stmt.value.value is Ellipsis or isinstance(stmt.value.value, str)))


# --- rule 7: code that never runs -----------------------------------------------------------


def _dead_code(tree: ast.Module, exits: dict[int, str]) -> list[_Dead]:
    """Every stretch of statements that can never run, outermost first. ``exits``: the
    calls that end the program (id of the node -> how to name it)."""
    regions: list[_Dead] = []
    for node in ast.walk(tree):
        for body in _statement_lists(node):
            for index, stmt in enumerate(body[:-1]):
                word = _terminator(stmt, exits)
                if word is not None:
                    regions.append(_Dead(f"puts code after `{word}`, where it never runs",
                                         _simple_statements(body[index + 1:])))
                    break
        if isinstance(node, ast.If | ast.While):
            truth = _truth(node.test)
            header = f"`{'while' if isinstance(node, ast.While) else 'if'} " \
                     f"{_short(ast.unparse(node.test), 40)}:`"
            if truth is False:
                regions.append(_Dead(f"puts code under {header}, which never runs",
                                     _simple_statements(node.body)))
            elif truth is True and isinstance(node, ast.If) and node.orelse:
                regions.append(_Dead(f"puts code under the `else` of {header}, which never "
                                     "runs", _simple_statements(node.orelse)))
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                # False when the code runs; a new import there is fine, the example is not.
                regions.append(_Dead(f"moves code the example ran under {header}, which is "
                                     "false when it runs", _simple_statements(node.body),
                                     ran_only=True))
        elif isinstance(node, ast.For | ast.AsyncFor) and _truth(node.iter) is False:
            regions.append(_Dead(f"puts code in a loop over `{_short(ast.unparse(node.iter))}`"
                                 ", which never runs", _simple_statements(node.body)))
        elif isinstance(node, ast.Try | ast.TryStar) and _is_trivial(node.body):
            regions.append(_Dead("puts code in an `except` clause of a `try` that raises "
                                 "nothing, where it never runs",
                                 _simple_statements(h for handler in node.handlers
                                                    for h in handler.body)))
        elif isinstance(node, ast.BoolOp):
            decisive = isinstance(node.op, ast.Or)  # `True or x`, `False and x`
            word = "or" if decisive else "and"
            for index, value in enumerate(node.values[:-1]):
                if _truth(value) is decisive:
                    regions.append(_Dead(f"puts code behind `{_short(ast.unparse(value), 40)} "
                                         f"{word}`, where it never runs",
                                         tuple(map(ast.unparse, node.values[index + 1:]))))
                    break
        elif isinstance(node, ast.IfExp) and (truth := _truth(node.test)) is not None:
            untaken = node.orelse if truth else node.body
            regions.append(_Dead(f"puts code in the branch of `... if "
                                 f"{_short(ast.unparse(node.test), 40)} else ...` that is "
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


def _terminator(stmt: ast.stmt, exits: dict[int, str]) -> str | None:
    """How ``stmt`` ends its body for good (``return``, ``sys.exit()``), or None."""
    words = {ast.Return: "return", ast.Raise: "raise", ast.Continue: "continue",
             ast.Break: "break"}
    if type(stmt) in words:
        return words[type(stmt)]
    if isinstance(stmt, ast.Expr) and id(stmt.value) in exits:
        return exits[id(stmt.value)]
    return None


def _uncalled_functions(tree: ast.Module) -> Iterator[_Dead]:
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
        yield _Dead(reason, _simple_statements(node.body), ran_only=True)


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
                func = node.value.func
                if isinstance(func, ast.Name | ast.Attribute):
                    dropped[func.id if isinstance(func, ast.Name) else func.attr] += 1
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


def _simple_statements(body: Iterable[ast.stmt], *, into_functions: bool = True
                       ) -> tuple[str, ...]:
    """The statements without a body of their own, unparsed, ``pass``/docstrings left out;
    with ``into_functions=False``, those the code runs outside any function."""
    found: list[str] = []

    def walk(statements: Iterable[ast.stmt]) -> None:
        for stmt in statements:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and not into_functions:
                continue
            lists = [*_statement_lists(stmt)]
            lists += [h.body for h in getattr(stmt, "handlers", ())]
            lists += [case.body for case in getattr(stmt, "cases", ())]
            if lists:
                for inner in lists:
                    walk(inner)
            elif not _is_filler(stmt):
                found.append(ast.unparse(stmt))

    walk(body)
    return tuple(found)


# --- constant conditions, folded from literals only (nothing is ever run) ------------------

_UNKNOWN: Final = object()
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_SINGLETONS = (type(None), bool, type(Ellipsis))


def _truth(node: ast.expr, *, reflexive: bool = False) -> bool | None:
    """Whether ``node`` is always true (True), always false (False), or it depends (None).

    Only literals, ``not``/``-``, ``and``/``or`` and comparisons of literals are folded, plus
    displays (a non-empty tuple is true). ``reflexive`` (for asserts): ``x == x`` and
    ``isinstance(x, object)`` count as always true too (not for ``if``: ``x != x`` is NaN's
    test).
    """
    value = _literal(node)
    if value is not _UNKNOWN:
        return bool(value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _truth(node.operand, reflexive=reflexive)
        return None if inner is None else not inner
    if isinstance(node, ast.BoolOp):
        truths = [_truth(value, reflexive=reflexive) for value in node.values]
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
        bounds = [b for a in node.args if isinstance(b := _literal(a), int)]
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


def _literal(node: ast.expr) -> object:
    """The value of an expression made of literals only, else ``_UNKNOWN``. No arithmetic
    beyond signs, so nothing can be made big: folding stays cheap and safe."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        values = [_literal(element) for element in node.elts]  # a `*x` is unknown
        if any(v is _UNKNOWN for v in values):
            return _UNKNOWN
        if isinstance(node, ast.Set):
            try:
                return set(values)
            except TypeError:  # an unhashable element: not a value, an error
                return _UNKNOWN
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.UnaryOp):
        value = _literal(node.operand)
        if value is _UNKNOWN:
            return _UNKNOWN
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(value, int | float | complex):
            if isinstance(node.op, ast.USub):
                return -value
            if isinstance(node.op, ast.UAdd):
                return +value
            if isinstance(node.op, ast.Invert) and isinstance(value, int):
                return ~value
        return _UNKNOWN
    if isinstance(node, ast.BoolOp):
        values = [_literal(value) for value in node.values]
        if any(v is _UNKNOWN for v in values):
            return _UNKNOWN
        stop = isinstance(node.op, ast.Or)  # `or` stops at a true operand, `and` at a false
        return next((v for v in values[:-1] if bool(v) is stop), values[-1])
    if isinstance(node, ast.Compare):
        left = _literal(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _literal(comparator)
            if left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            outcome = _compare(op, left, right)
            if outcome is None:
                return _UNKNOWN
            if not outcome:
                return False  # a chain stops at its first false comparison
            left = right
        return True
    return _UNKNOWN


def _compare(op: ast.cmpop, left: object, right: object) -> bool | None:
    if isinstance(op, ast.Is | ast.IsNot):
        if not (isinstance(left, _SINGLETONS) and isinstance(right, _SINGLETONS)):
            return None  # identity of other literals is an implementation detail
        return (left is right) is isinstance(op, ast.Is)
    try:
        return bool(_COMPARE[type(op)](left, right))
    except (TypeError, ValueError):
        return None


# --- rule 9: names ----------------------------------------------------------------------


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
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else None
            if name is not None:
                calls.append((node.lineno, node.col_offset, name))
    called = dict.fromkeys(name for *_, name in sorted(calls))
    return frozenset(names), tuple(called)


# --- the scanner ------------------------------------------------------------------------


class _Scanner(ast.NodeVisitor):
    """One pass in source order: which imported names the code uses (following aliases and
    the objects made from them), and what it does that could hide a failure."""

    def __init__(self) -> None:
        self.names: dict[str, Key] = {}  # local name -> what it refers to
        self.imported: set[str] = set()  # local names bound by an import statement
        self.stars: list[Key] = []  # modules imported with `from m import *`
        self.uses: list[_Use] = []
        self.cheats: list[str] = []
        self.outside: list[str] = []
        self.broad: list[str] = []
        self.handlers: list[_Handler] = []
        self.exits: dict[int, str] = {}  # id() of each call that ends the program -> its name
        self._calls: set[int] = set()  # id() of the func node of every call

    # -- names ---------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            key = tuple(alias.name.split("."))
            self._record(key, alias.name, imported=True)
            # `import a.b` binds `a`; `import a.b as x` binds `x` to `a.b`.
            self._bind_import(alias.asname or key[0], key if alias.asname else key[:1])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        # A relative import is the project's own code: its root (".pkg") is never stdlib.
        module: Key = (("." * node.level + (node.module or ""),) if node.level
                       else tuple((node.module or "").split(".")))
        for alias in node.names:
            if alias.name == "*":
                self._record(module, _dotted(module), imported=True)
                self.stars.append(module)
                continue
            key = (*module, alias.name)
            self._record(key, _dotted(key), imported=True)
            self._bind_import(alias.asname or alias.name, key)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "__builtins__":
            self.outside.append(f"{_INTERPRETER} (__builtins__)")
        if isinstance(node.ctx, ast.Load):
            if node.id in self.names:
                self._record(self.names[node.id], node.id, called=id(node) in self._calls)
            else:
                for module in self.stars:  # `from os import *` then `write(...)`
                    if (*module, node.id) in _OUTSIDE_CALLS:
                        self._reach((*module, node.id))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load) and (key := self._resolve(node)) is not None:
            self._record(key, _text(node), called=id(node) in self._calls)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del) and self._resolve(node.value) == (
                "sys", "modules"):
            self.outside.append(f"{_INTERPRETER} (a change to sys.modules)")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
        if isinstance(value, str):
            if _FD_PATH.search(value):
                self.outside.append(f"{_FD} (the path {_short(value, 40)})")
            elif value == "__builtins__":
                self.outside.append(f"{_INTERPRETER} (__builtins__)")

    def visit_Call(self, node: ast.Call) -> None:
        self._calls.add(id(node.func))
        key = self._resolve(node.func)
        builtin = node.func.id if isinstance(node.func, ast.Name) \
            and node.func.id not in self.names else None
        if key in _EXITS:
            self.cheats.append(f"a call to {_EXITS[key]}")
            self.exits[id(node)] = _EXITS[key]
        elif builtin in _BUILTIN_EXITS:
            self.cheats.append(f"a call to {builtin}()")
            self.exits[id(node)] = f"{builtin}()"
        elif builtin in _HIDDEN_CODE:
            self.cheats.append(f"a call to {builtin}(), which runs code the guard cannot read")
        elif builtin in ("setattr", "delattr") and len(node.args) >= 2:
            attr = node.args[1]
            self._patch(node.args[0], attr.value if isinstance(attr, ast.Constant)
                        and isinstance(attr.value, str) else "...")
        elif key in _RUN_CODE:
            self.cheats.append(f"a call to {_dotted(key)}(), which runs code the guard "
                               "cannot read")
        elif key in _DEFERRED:  # an exception in a thread is printed, not raised
            shown = f"`{_text(node.func)}`"
            self.handlers.append(_Handler(f"{'an' if shown[1] in 'aeiou' else 'a'} {shown}",
                                          None))
        elif key == ("contextlib", "suppress"):
            shown = f"`{_text(node.func)}({', '.join(map(ast.unparse, node.args))})`"
            if any(_is_broad(a) for a in node.args):
                self.broad.append(shown)
            self.handlers.append(_Handler(f"a {shown} handler", self._caught(node.args)))
        if builtin == "open" or key in _OPENERS:
            file = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "file"), None)
            if file is not None and _is_descriptor(file):
                self.outside.append(f"{_FD} ({_dotted(key or ('open',))}({ast.unparse(file)}))")
        elif key == ("socket", "socket") and (len(node.args) >= 4 or any(
                k.arg == "fileno" for k in node.keywords)):
            self.outside.append(f"{_FD} (socket.socket(fileno=...))")
        elif key is not None and not isinstance(node.func, ast.Name | ast.Attribute):
            self._reach(key)  # `getattr(os, "write")(...)`: no name of its own was recorded
        if builtin == "__import__" or key in _IMPORT_CALLS:
            made = self._resolve_call(node)  # a module imported by a call: like an import
            if made is not None:
                self._reach(made, imported=True)
        self.generic_visit(node)

    # -- bindings, so that objects made from library names are followed ------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._assign(target, self._resolve(node.value))

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self._assign(node.target, self._resolve(node.value))

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self._assign(node.target, None)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._assign(node.target, self._resolve(node.value))

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._assign(node.target, _item(self._resolve(node.iter)))
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._assign(item.optional_vars, self._resolve(item.context_expr))
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.visit(node.iter)
        self._assign(node.target, _item(self._resolve(node.iter)))
        for condition in node.ifs:
            self.visit(condition)

    def _visit_comprehension_expr(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp
                                  | ast.DictComp) -> None:
        # The generators bind the names the element uses, so they go first.
        for generator in node.generators:
            self.visit(generator)
        for part in ((node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)):
            self.visit(part)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = (
        _visit_comprehension_expr)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        if node.name in ("__exit__", "__aexit__") and any(
                isinstance(n, ast.Return) and n.value is not None
                and _truth(n.value) is not False for n in ast.walk(node)):
            # A context manager whose __exit__ returns a true value swallows the exception.
            self.handlers.append(_Handler(f"an `{node.name}` that returns a value", None))
        outer = dict(self.names), set(self.imported)
        arguments = node.args
        for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                    arguments.vararg, arguments.kwarg]:
            if arg is not None:
                self._unbind(arg.arg)  # a parameter shadows a module of the same name
        for stmt in node.body:
            self.visit(stmt)
        self.names, self.imported = outer
        self._unbind(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.generic_visit(node)
        # A subclass of a library class stands for it: `User(BaseModel)` -> pydantic.BaseModel.
        base = next((k for b in node.bases if (k := self._resolve(b)) is not None), None)
        self._unbind(node.name)
        if base is not None:
            self.names[node.name] = base

    # -- handlers that can hide the error ------------------------------------------------

    def visit_Try(self, node: ast.Try | ast.TryStar) -> None:
        ending = _jumps_out(node.finalbody)
        if ending is not None:  # leaving a `finally` drops the exception in flight
            self.handlers.append(_Handler(f"a `finally:` block that ends in `{ending}`", None))
        self.generic_visit(node)

    visit_TryStar = visit_Try

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self.broad.append("bare `except:`")
            shown = "a bare `except:` handler"
        else:
            if _is_broad(node.type):
                self.broad.append(f"`except {ast.unparse(node.type)}:`")
            shown = f"an `except {ast.unparse(node.type)}:` handler"
        # Raised again only by a `raise` of the handler's own body, not a conditional one.
        reraises = any(isinstance(stmt, ast.Raise) for stmt in node.body)
        caught = None if node.type is None else self._caught([node.type])
        self.handlers.append(_Handler(shown, caught, reraises))
        if node.name:
            self._unbind(node.name)
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(exc, ast.Name) and exc.id == "SystemExit":
            self.cheats.append("`raise SystemExit`")
        self.generic_visit(node)

    # -- helpers -----------------------------------------------------------------------

    def _resolve(self, node: ast.expr) -> Key | None:
        """What ``node`` refers to, when it comes from an import; None otherwise."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value)
            return None if base is None else (*base, node.attr)
        if isinstance(node, ast.Call):
            return self._resolve_call(node)
        if isinstance(node, ast.Subscript):
            base = self._resolve(node.value)
            name = node.slice.value if isinstance(node.slice, ast.Constant) else None
            if base is not None and isinstance(name, str):
                if base == ("sys", "modules"):  # sys.modules["os"] is the module
                    return _canonical(tuple(name.split(".")))
                if base[-1] == "__dict__":  # os.__dict__["write"], vars(os)["write"]
                    return (*base[:-1], name)
            return _item(base)
        if isinstance(node, ast.Await):
            return self._resolve(node.value)
        return None

    def _resolve_call(self, node: ast.Call) -> Key | None:
        """``__import__("os")``, ``importlib.import_module("os")`` and ``getattr(os,
        "write")`` are the module or name they fetch; other calls make an object."""
        first = node.args[0] if node.args else None
        text = first.value if isinstance(first, ast.Constant) \
            and isinstance(first.value, str) else None
        builtin = node.func.id if isinstance(node.func, ast.Name) \
            and node.func.id not in self.names else None
        function = self._resolve(node.func)
        if text and (builtin == "__import__" or function == ("importlib", "__import__")):
            return _canonical((text.split(".")[0],))  # it returns the top-level package
        if text and function == ("importlib", "import_module"):
            return _canonical(tuple(text.split(".")))
        if builtin == "vars" and first is not None:
            base = self._resolve(first)
            return None if base is None else (*base, "__dict__")
        if builtin == "getattr" and first is not None and len(node.args) >= 2:
            attr = node.args[1]
            base = self._resolve(first)
            if base is not None and isinstance(attr, ast.Constant) \
                    and isinstance(attr.value, str):
                return (*base, attr.value)
            return None
        return None if function is None else (*function, "()")

    def _record(self, key: Key, text: str, *, called: bool = False,
                imported: bool = False) -> None:
        self.uses.append(_Use(key, text, called, imported))
        if any(key[:len(mock)] == mock for mock in _MOCK_MODULES):
            self.cheats.append(f"mocking ({'import of ' * imported}{_dotted(key)})")
        self._reach(key, imported=imported)

    def _reach(self, key: Key, *, imported: bool = False) -> None:
        """Note a use of something that reaches outside the example (rule 4). A name counts
        where it is used, not where it is imported, except for whole modules."""
        if key[0] in _OUTSIDE_MODULES:
            self.outside.append(f"{_OUTSIDE_MODULES[key[0]]} ({key[0]})")
        elif not imported and key in _OUTSIDE_CALLS:
            self.outside.append(f"{_OUTSIDE_CALLS[key]} ({_dotted(key)})")

    def _caught(self, types: Iterable[ast.expr]) -> frozenset[str]:
        """The class names (last part, aliases followed) an except clause or suppress names."""
        names: set[str] = set()
        for node in types:
            if isinstance(node, ast.Tuple):
                names |= self._caught(node.elts)
                continue
            key = self._resolve(node)
            if key is not None:
                names.add(key[-1])
            elif isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
        return frozenset(names)

    def _bind_import(self, name: str, key: Key) -> None:
        self.names[name] = _canonical(key)
        self.imported.add(name)

    def _unbind(self, name: str) -> None:
        self.names.pop(name, None)
        self.imported.discard(name)

    def _assign(self, target: ast.expr, key: Key | None) -> None:
        """Bind a plain name to ``key``; note an assignment to a library attribute."""
        self.visit(target)  # loads inside the target: `df["a"] = ...` uses df
        if isinstance(target, ast.Name):
            self._unbind(target.id)
            if key is not None:
                self.names[target.id] = key
        elif isinstance(target, ast.Attribute):
            self._patch(target.value, target.attr)
        else:
            for name in ast.walk(target):  # a tuple target: its names are now unknown
                if isinstance(name, ast.Name):
                    self._unbind(name.id)

    def _patch(self, owner: ast.expr, attr: str) -> None:
        """Setting ``attr`` on an imported third-party module or name is a monkeypatch;
        setting it on ``builtins`` or ``sys.modules`` rewrites the interpreter (rule 4).

        Only chains of attributes from an imported name count: setting an attribute on an
        object (``room.guests = 2``) is ordinary use of the library.
        """
        root = owner
        while isinstance(root, ast.Attribute):
            root = root.value
        key = self._resolve(owner)
        if key is not None and (key[0] == "builtins" or (*key, attr) == ("sys", "modules")):
            self.outside.append(f"{_INTERPRETER} (a patch of {_dotted((*key, attr))})")
        elif (isinstance(root, ast.Name) and root.id in self.imported and key is not None
                and not _is_stdlib(key)):
            self.cheats.append(f"a monkeypatch of {_dotted((*key, attr))}")


def _jumps_out(body: list[ast.stmt], loop: bool = False) -> str | None:
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
        for part in _statement_lists(stmt):
            found = _jumps_out(part, loop or (inner and part is getattr(stmt, "body", None)))
            if found is not None:
                return found
        for handler in [*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())]:
            found = _jumps_out(handler.body, loop)
            if found is not None:
                return found
    return None


# --- small helpers ------------------------------------------------------------------------


def _proven_missing(error: ErrorInfo | None) -> tuple[frozenset[str], list[Key]]:
    """Names and modules the original's error proved not to exist; uses of them may go."""
    if error is None:
        return frozenset(), []
    kinds = {error.type, *(qualified.rsplit(".", 1)[-1] for qualified in error.mro)}
    text = f"{error.message}\n{error.exception_only}"
    names = {name for kind, pattern in _MISSING_NAME.items() if kind in kinds
             for name in pattern.findall(text)}
    modules = [tuple(found.split(".")) for found in _MISSING_MODULE.findall(text)
               if "ImportError" in kinds]
    return frozenset(names), modules


def _is_stdlib(key: Key) -> bool:
    return key[0] in sys.stdlib_module_names


def _is_broad(node: ast.expr) -> bool:
    """``Exception``, ``BaseException`` (also as ``builtins.X``), or a tuple holding one."""
    if isinstance(node, ast.Tuple):
        return any(_is_broad(element) for element in node.elts)
    if isinstance(node, ast.Attribute):
        return node.attr in _BROAD and isinstance(node.value, ast.Name) \
            and node.value.id == "builtins"
    return isinstance(node, ast.Name) and node.id in _BROAD


def _is_descriptor(node: ast.expr) -> bool:
    """An int literal (``open(3)``) or a ``.fileno()`` call: what a file is opened on."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and node.func.attr == "fileno"


def _canonical(key: Key) -> Key:
    """``posix.write`` is ``os.write``: one name for a module the tables know by another."""
    return (_SAME_MODULE.get(key[0], key[0]), *key[1:]) if key else key


def _item(key: Key | None) -> Key | None:
    return None if key is None else (*key, "[]")


def _dotted(key: Key) -> str:
    """``("requests", "get", "()", "json")`` -> ``requests.get().json``."""
    text = key[0]
    for part in key[1:]:
        dot = "" if text.endswith(".") else "."  # `from . import x` -> ".x"
        text += "(...)" if part == "()" else "[...]" if part == "[]" else f"{dot}{part}"
    return text


def _text(node: ast.expr) -> str:
    """A chain as written, with arguments elided: ``requests.get(...).json``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_text(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{_text(node.func)}(...)"
    if isinstance(node, ast.Subscript):
        return f"{_text(node.value)}[...]"
    if isinstance(node, ast.Await):
        return f"await {_text(node.value)}"
    return ast.unparse(node)


def _describe(uses: list[_Use]) -> str:
    """"the call to requests.get" / "the import of pandas" / "the use of np.nan"."""
    called = next((use.text for use in uses if use.called), None)
    if called is not None:
        return f"the call to {called}"
    return f"the {'import' if uses[0].imported else 'use'} of {uses[0].text}"


def _first_extra(before: list[str], after: list[str]) -> str | None:
    """The first item of ``after`` that occurs there more often than in ``before``."""
    extra = Counter(after) - Counter(before)
    return next((item for item in after if extra[item]), None)


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


def _line_count(groups: list[str]) -> int:
    return sum(group.count("\n") + 1 for group in groups)


def _short(text: str, width: int = 60) -> str:
    """One line of code for a reason: the first line, cut at ``width``."""
    first = text.split("\n", 1)[0]
    return first if len(first) <= width and "\n" not in text else first[:width].rstrip() + " ..."


def _snippet(group: str, width: int = 60) -> str:
    first = group.split("\n", 1)[0]
    if len(first) > width or "\n" in group:
        first = first[:width].rstrip() + " ..."
    return f'"{first}"'
