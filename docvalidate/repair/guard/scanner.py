"""The scanner: one pass over the tree, following names through imports and aliases.

It records what rule 11 compares (the uses of imported names, as keys), and what rules 3 to 6
look for (cheats, reaches outside the example, broad handlers, handlers that may swallow the
error), each as the words a reason will use.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from docvalidate.repair.guard.folding import constant_truth
from docvalidate.repair.guard.names import (
    BUILTIN_EXITS,
    DEFERRED,
    EXITS,
    FD,
    FD_PATH,
    HIDDEN_CODE,
    IMPORT_CALLS,
    INTERPRETER,
    MOCK_MODULES,
    OPENERS,
    OUTSIDE_CALLS,
    OUTSIDE_MODULES,
    RUN_CODE,
    Key,
    canonical,
    is_broad,
    is_descriptor,
    is_stdlib,
    item_of,
    last_name,
)
from docvalidate.repair.guard.reachability import jumps_out
from docvalidate.repair.guard.wording import as_written, dotted, short


@dataclass(frozen=True)
class Use:
    """One place where the example refers to an imported name (or an object made from one)."""

    key: Key
    text: str  # as written, for the reason: "df.groupby"
    called: bool = False
    imported: bool = False


@dataclass(frozen=True)
class Handler:
    """Something that can stop an exception: an ``except``, a ``suppress``, a ``finally``."""

    text: str  # for the reason: "an `except ValueError:` handler"
    catches: frozenset[str] | None  # class names (the last part); None: every exception
    reraises: bool = False


class Scanner(ast.NodeVisitor):
    """One pass in source order: which imported names the code uses (following aliases and
    the objects made from them), and what it does that could hide a failure."""

    def __init__(self) -> None:
        self.names: dict[str, Key] = {}  # local name -> what it refers to
        self.imported: set[str] = set()  # local names bound by an import statement
        self.stars: list[Key] = []  # modules imported with `from m import *`
        self.uses: list[Use] = []
        self.cheats: list[str] = []
        self.outside: list[str] = []
        self.broad: list[str] = []
        self.handlers: list[Handler] = []
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
                self._record(module, dotted(module), imported=True)
                self.stars.append(module)
                continue
            key = (*module, alias.name)
            self._record(key, dotted(key), imported=True)
            self._bind_import(alias.asname or alias.name, key)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "__builtins__":
            self.outside.append(f"{INTERPRETER} (__builtins__)")
        if isinstance(node.ctx, ast.Load):
            if node.id in self.names:
                self._record(self.names[node.id], node.id, called=id(node) in self._calls)
            else:
                for module in self.stars:  # `from os import *` then `write(...)`
                    if (*module, node.id) in OUTSIDE_CALLS:
                        self._reach((*module, node.id))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load) and (key := self._resolve(node)) is not None:
            self._record(key, as_written(node), called=id(node) in self._calls)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del) and self._resolve(node.value) == (
                "sys", "modules"):
            self.outside.append(f"{INTERPRETER} (a change to sys.modules)")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
        if isinstance(value, str):
            if FD_PATH.search(value):
                self.outside.append(f"{FD} (the path {short(value, 40)})")
            elif value == "__builtins__":
                self.outside.append(f"{INTERPRETER} (__builtins__)")

    def visit_Call(self, node: ast.Call) -> None:
        self._calls.add(id(node.func))
        key = self._resolve(node.func)
        builtin = self._builtin(node.func)
        if key in EXITS:
            self.cheats.append(f"a call to {EXITS[key]}")
            self.exits[id(node)] = EXITS[key]
        elif builtin in BUILTIN_EXITS:
            self.cheats.append(f"a call to {builtin}()")
            self.exits[id(node)] = f"{builtin}()"
        elif builtin in HIDDEN_CODE:
            self.cheats.append(f"a call to {builtin}(), which runs code the guard cannot read")
        elif builtin in ("setattr", "delattr") and len(node.args) >= 2:
            attr = _string(node.args[1])
            self._patch(node.args[0], "..." if attr is None else attr)
        elif key in RUN_CODE:
            self.cheats.append(f"a call to {dotted(key)}(), which runs code the guard "
                               "cannot read")
        elif key in DEFERRED:  # an exception in a thread is printed, not raised
            shown = f"`{as_written(node.func)}`"
            self.handlers.append(Handler(f"{'an' if shown[1] in 'aeiou' else 'a'} {shown}",
                                         None))
        elif key == ("contextlib", "suppress"):
            shown = f"`{as_written(node.func)}({', '.join(map(ast.unparse, node.args))})`"
            if any(is_broad(a) for a in node.args):
                self.broad.append(shown)
            self.handlers.append(Handler(f"a {shown} handler", self._caught(node.args)))
        if builtin == "open" or key in OPENERS:
            file = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "file"), None)
            if file is not None and is_descriptor(file):
                self.outside.append(f"{FD} ({dotted(key or ('open',))}({ast.unparse(file)}))")
        elif key == ("socket", "socket") and (len(node.args) >= 4 or any(
                k.arg == "fileno" for k in node.keywords)):
            self.outside.append(f"{FD} (socket.socket(fileno=...))")
        elif key is not None and not isinstance(node.func, ast.Name | ast.Attribute):
            self._reach(key)  # `getattr(os, "write")(...)`: no name of its own was recorded
        if builtin == "__import__" or key in IMPORT_CALLS:
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
        self._assign(node.target, item_of(self._resolve(node.iter)))
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
        self._assign(node.target, item_of(self._resolve(node.iter)))
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
                and constant_truth(n.value) is not False for n in ast.walk(node)):
            # A context manager whose __exit__ returns a true value swallows the exception.
            self.handlers.append(Handler(f"an `{node.name}` that returns a value", None))
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
        ending = jumps_out(node.finalbody)
        if ending is not None:  # leaving a `finally` drops the exception in flight
            self.handlers.append(Handler(f"a `finally:` block that ends in `{ending}`", None))
        self.generic_visit(node)

    visit_TryStar = visit_Try

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self.broad.append("bare `except:`")
            shown = "a bare `except:` handler"
        else:
            if is_broad(node.type):
                self.broad.append(f"`except {ast.unparse(node.type)}:`")
            shown = f"an `except {ast.unparse(node.type)}:` handler"
        # Raised again only by a `raise` of the handler's own body, not a conditional one.
        reraises = any(isinstance(stmt, ast.Raise) for stmt in node.body)
        caught = None if node.type is None else self._caught([node.type])
        self.handlers.append(Handler(shown, caught, reraises))
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
            name = _string(node.slice)
            if base is not None and name is not None:
                if base == ("sys", "modules"):  # sys.modules["os"] is the module
                    return canonical(tuple(name.split(".")))
                if base[-1] == "__dict__":  # os.__dict__["write"], vars(os)["write"]
                    return (*base[:-1], name)
            return item_of(base)
        if isinstance(node, ast.Await):
            return self._resolve(node.value)
        return None

    def _resolve_call(self, node: ast.Call) -> Key | None:
        """``__import__("os")``, ``importlib.import_module("os")`` and ``getattr(os,
        "write")`` are the module or name they fetch; other calls make an object."""
        first = node.args[0] if node.args else None
        text = _string(first)
        builtin = self._builtin(node.func)
        function = self._resolve(node.func)
        if text and (builtin == "__import__" or function == ("importlib", "__import__")):
            return canonical((text.split(".")[0],))  # it returns the top-level package
        if text and function == ("importlib", "import_module"):
            return canonical(tuple(text.split(".")))
        if builtin == "vars" and first is not None:
            base = self._resolve(first)
            return None if base is None else (*base, "__dict__")
        if builtin == "getattr" and first is not None and len(node.args) >= 2:
            base = self._resolve(first)
            attr = _string(node.args[1])
            return None if base is None or attr is None else (*base, attr)
        return None if function is None else (*function, "()")

    def _builtin(self, func: ast.expr) -> str | None:
        """The plain name called, unless it is bound to an imported one: ``exec`` is the
        builtin, ``from os import system as exec`` is not."""
        return func.id if isinstance(func, ast.Name) and func.id not in self.names else None

    def _record(self, key: Key, text: str, *, called: bool = False,
                imported: bool = False) -> None:
        self.uses.append(Use(key, text, called, imported))
        if any(key[:len(mock)] == mock for mock in MOCK_MODULES):
            self.cheats.append(f"mocking ({'import of ' * imported}{dotted(key)})")
        self._reach(key, imported=imported)

    def _reach(self, key: Key, *, imported: bool = False) -> None:
        """Note a use of something that reaches outside the example (rule 4). A name counts
        where it is used, not where it is imported, except for whole modules."""
        if key[0] in OUTSIDE_MODULES:
            self.outside.append(f"{OUTSIDE_MODULES[key[0]]} ({key[0]})")
        elif not imported and key in OUTSIDE_CALLS:
            self.outside.append(f"{OUTSIDE_CALLS[key]} ({dotted(key)})")

    def _caught(self, types: Iterable[ast.expr]) -> frozenset[str]:
        """The class names (last part, aliases followed) an except clause or suppress names."""
        names: set[str] = set()
        for node in types:
            if isinstance(node, ast.Tuple):
                names |= self._caught(node.elts)
                continue
            key = self._resolve(node)
            name = key[-1] if key is not None else last_name(node)
            if name is not None:
                names.add(name)
        return frozenset(names)

    def _bind_import(self, name: str, key: Key) -> None:
        self.names[name] = canonical(key)
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
            self.outside.append(f"{INTERPRETER} (a patch of {dotted((*key, attr))})")
        elif (isinstance(root, ast.Name) and root.id in self.imported and key is not None
                and not is_stdlib(key)):
            self.cheats.append(f"a monkeypatch of {dotted((*key, attr))}")


def _string(node: ast.expr | None) -> str | None:
    """The value of a string literal (a name written as a string: ``getattr(os, "write")``)."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
