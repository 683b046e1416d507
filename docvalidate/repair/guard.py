"""The intent guard: does a candidate repair still teach what the original example taught?

A fixer (an LLM, usually) is rewarded for making an example pass, and the cheapest way to make
code pass is to stop it from doing anything. The guard compares the candidate with the
original, both parsed with :mod:`ast` (never run), and rejects one that

1. drops an import, call or attribute use of a non-standard-library name the original used,
   unless the original's error proved that very name does not exist;
2. adds a broad handler (bare ``except:``, ``except Exception``/``BaseException``, also inside
   a tuple, or ``contextlib.suppress`` of them) beyond those the original had;
3. adds mocking (``unittest.mock``/``mock``), a monkeypatch of an imported third-party name,
   or a way out (``sys.exit``, ``os._exit``, ``exit()``, ``quit()``, ``raise SystemExit``);
4. has fewer real ``assert`` statements, or removes/changes expected output (``#>`` comments,
   the output under ``>>>`` statements) unless ``update_output`` is set;
5. turns a non-trivial body (or the whole example) into ``pass``/``...``;
6. has more than 40% fewer lines of code (lines holding a token other than a comment);
7. changes a ``no-fix`` block at all.

The rules are checked in the order 7, syntax, 3, 2, 5, 4, 1, 6, so that the most specific
reason is the one reported.

Names are followed through aliases and the objects made from them: after
``import pandas as pd`` and ``df = pd.DataFrame(data)``, ``df.groupby`` is the key
``pandas.DataFrame().groupby``, so renaming ``df`` or the alias changes nothing, while dropping
the ``groupby`` call is noticed. Keys are compared as sets, and a key counts as kept when the
candidate uses it or something below it.
"""

from __future__ import annotations

import ast
import doctest
import io
import re
import sys
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from docvalidate.model import ErrorInfo

Key = tuple[str, ...]  # ("pandas", "DataFrame", "()", "groupby"): "()" a call, "[]" an item

MAX_SHRINK = 0.4  # a candidate may have at most 40% fewer lines of code than the original
MAX_LISTED = 3  # dropped names named in one reason

_PARSER = doctest.DocTestParser()
_MOCK_MODULES: tuple[Key, ...] = (("unittest", "mock"), ("mock",))
_EXITS: dict[Key, str] = {("sys", "exit"): "sys.exit()", ("os", "_exit"): "os._exit()"}
_BUILTIN_EXITS = frozenset({"exit", "quit"})
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


@dataclass(frozen=True)
class _Use:
    """One place where the example refers to an imported name (or an object made from one)."""

    key: Key
    text: str  # as written, for the reason: "df.groupby"
    called: bool = False
    imported: bool = False


@dataclass
class _Facts:
    """What the rules need to know about one version of the block."""

    syntax_error: str | None = None
    uses: list[_Use] = field(default_factory=list)
    cheats: list[str] = field(default_factory=list)  # rule 3, as "adds ..." completions
    broad: list[str] = field(default_factory=list)  # rule 2, the handlers as written
    asserts: int = 0
    hollow: Counter[str] = field(default_factory=Counter)  # bodies that are only pass/...
    full: Counter[str] = field(default_factory=Counter)  # bodies that do something
    trivial: bool = False  # the whole example is only pass/.../docstrings
    code_lines: int = 0
    outputs: list[str] = field(default_factory=list)  # expected-output groups, in order


def check_intent(original: str, candidate: str, *, interactive: bool = False,
                 error: ErrorInfo | None = None, update_output: bool = False,
                 no_fix: bool = False) -> str | None:
    """None when ``candidate`` still teaches what ``original`` did, else one sentence saying
    why it is rejected (shown to the user and given to the fixer for its next attempt).

    ``interactive``: the example is a ``>>>`` session (as its source decided: see
    ``Example.interactive``), whose statements are checked as one program and whose outputs
    are the expected output. ``error`` is what the original
    raised; it may prove a name missing, which may then be dropped or renamed.
    """
    if no_fix:
        # Only the final newlines are the rewriter's business, not the fixer's.
        if candidate.rstrip("\n") == original.rstrip("\n"):
            return None
        return "changes a block marked no-fix, which must stay as written"
    before = _study(original, interactive)
    after = _study(candidate, interactive)
    if after.syntax_error is not None:
        if before.syntax_error is not None:
            return None  # running it will tell; the guard cannot compare two non-programs
        kind = "a valid interactive session" if interactive else "valid Python"
        return f"the repair is not {kind}: {after.syntax_error}"
    return (_added_cheat(before, after)
            or _added_broad_handler(before, after)
            or _hollowed(before, after)
            or _removed_checks(before, after, update_output)
            or _dropped_names(before, after, error)
            or _shrunk(before, after))


# --- the rules, each returning a reason or None -------------------------------------------


def _added_cheat(before: _Facts, after: _Facts) -> str | None:
    """Rule 3: mocking, monkeypatching the documented library, exiting early."""
    new = _first_extra(before.cheats, after.cheats)
    return None if new is None else f"adds {new}"


def _added_broad_handler(before: _Facts, after: _Facts) -> str | None:
    """Rule 2: any added broad handler is suspect, whatever its body: it can hide the error."""
    if len(after.broad) <= len(before.broad):
        return None
    new = _first_extra(before.broad, after.broad) or after.broad[-1]
    return f"adds a broad {new} handler that can hide the error"


def _hollowed(before: _Facts, after: _Facts) -> str | None:
    """Rule 5: bodies that did something now only ``pass``/``...``."""
    if after.trivial and not before.trivial:
        return "replaces the whole example with `pass`/`...`"
    for label, count in after.hollow.items():
        if count > before.hollow[label] and before.full[label]:
            return f"replaces the body of {label} with `pass`/`...`"
    return None


def _removed_checks(before: _Facts, after: _Facts, update_output: bool) -> str | None:
    """Rule 4: what the example checks or shows may not go; outputs may change on request."""
    if after.asserts < before.asserts:
        lost = before.asserts - after.asserts
        return (f"removes {lost} assert statement{'s' * (lost > 1)} "
                f"({before.asserts} -> {after.asserts})")
    if update_output:
        return None
    remaining = iter(after.outputs)
    for group in before.outputs:
        if group not in remaining:  # consumes: the groups must stay, in order
            fewer = _line_count(after.outputs) < _line_count(before.outputs)
            verb = "removes" if fewer else "changes"
            return f"{verb} the expected output {_snippet(group)}"
    return None


def _dropped_names(before: _Facts, after: _Facts, error: ErrorInfo | None) -> str | None:
    """Rule 1: every non-standard-library name the original used is still used."""
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
    """Rule 6: counted in lines holding code, so comments and blank lines do not matter."""
    if after.code_lines < before.code_lines * (1 - MAX_SHRINK):
        return (f"shrinks the example from {before.code_lines} to {after.code_lines} lines of "
                f"code (more than {MAX_SHRINK:.0%} shorter)")
    return None


# --- reading one version of the block -------------------------------------------------------


def _study(code: str, interactive: bool) -> _Facts:
    """Parse ``code`` and collect the facts; a syntax error is recorded, not raised."""
    outputs: list[str] = []
    if interactive:
        try:
            prompts = _PARSER.get_examples(code)
        except ValueError as exc:  # a malformed prompt
            return _Facts(syntax_error=str(exc))
        source = "".join(p.source for p in prompts)
        outputs = [_norm(p.want) for p in prompts if p.want.strip()]
    else:
        source = code
    code_lines, comments = _scan_tokens(source)
    facts = _Facts(code_lines=code_lines, outputs=comments + outputs)
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
    facts.trivial = _is_trivial(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and not isinstance(node.test, ast.Constant):
            facts.asserts += 1  # `assert True` checks nothing, so it does not count
        for label, body in _bodies(node):
            (facts.hollow if _is_trivial(body) else facts.full)[label] += 1
    return facts


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
    """The bodies rule 5 watches, each with a label for the reason."""
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
    return all(isinstance(stmt, ast.Pass)
               or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                   and (stmt.value.value is Ellipsis or isinstance(stmt.value.value, str)))
               for stmt in body)


class _Scanner(ast.NodeVisitor):
    """One pass in source order: which imported names the code uses (following aliases and
    the objects made from them), and what it does that could hide a failure."""

    def __init__(self) -> None:
        self.names: dict[str, Key] = {}  # local name -> what it refers to
        self.imported: set[str] = set()  # local names bound by an import statement
        self.uses: list[_Use] = []
        self.cheats: list[str] = []
        self.broad: list[str] = []
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
                continue
            key = (*module, alias.name)
            self._record(key, _dotted(key), imported=True)
            self._bind_import(alias.asname or alias.name, key)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in self.names:
            self._record(self.names[node.id], node.id, called=id(node) in self._calls)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load) and (key := self._resolve(node)) is not None:
            self._record(key, _text(node), called=id(node) in self._calls)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._calls.add(id(node.func))
        key = self._resolve(node.func)
        if key in _EXITS:
            self.cheats.append(f"a call to {_EXITS[key]}")
        elif isinstance(node.func, ast.Name) and node.func.id not in self.names:
            name = node.func.id
            if name in _BUILTIN_EXITS:
                self.cheats.append(f"a call to {name}()")
            elif name in ("setattr", "delattr") and len(node.args) >= 2:
                attr = node.args[1]
                self._patch(node.args[0], attr.value if isinstance(attr, ast.Constant)
                            and isinstance(attr.value, str) else "...")
        elif key == ("contextlib", "suppress") and any(_is_broad(a) for a in node.args):
            self.broad.append(f"`{_text(node.func)}({', '.join(map(ast.unparse, node.args))})`")
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

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self.broad.append("bare `except:`")
        elif _is_broad(node.type):
            self.broad.append(f"`except {ast.unparse(node.type)}:`")
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
            base = self._resolve(node.func)
            return None if base is None else (*base, "()")
        if isinstance(node, ast.Subscript):
            return _item(self._resolve(node.value))
        if isinstance(node, ast.Await):
            return self._resolve(node.value)
        return None

    def _record(self, key: Key, text: str, *, called: bool = False,
                imported: bool = False) -> None:
        self.uses.append(_Use(key, text, called, imported))
        if any(key[:len(mock)] == mock for mock in _MOCK_MODULES):
            self.cheats.append(f"mocking ({'import of ' * imported}{_dotted(key)})")

    def _bind_import(self, name: str, key: Key) -> None:
        self.names[name] = key
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
        """Setting ``attr`` on an imported third-party module or name is a monkeypatch.

        Only chains of attributes from an imported name count: setting an attribute on an
        object (``room.guests = 2``) is ordinary use of the library.
        """
        root = owner
        while isinstance(root, ast.Attribute):
            root = root.value
        key = self._resolve(owner)
        if (isinstance(root, ast.Name) and root.id in self.imported and key is not None
                and not _is_stdlib(key)):
            self.cheats.append(f"a monkeypatch of {_dotted((*key, attr))}")


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


def _snippet(group: str, width: int = 60) -> str:
    first = group.split("\n", 1)[0]
    if len(first) > width or "\n" in group:
        first = first[:width].rstrip() + " ..."
    return f'"{first}"'
