"""What a name in the example refers to, as a key, and which keys make a repair suspect.

The tables name what rules 3, 4 and 6 look for, by the key the scanner resolves a name to
(after following aliases), so ``import os as o; o.write`` is found as ``("os", "write")``.
"""

from __future__ import annotations

import ast
import re
import sys

Key = tuple[str, ...]  # ("pandas", "DataFrame", "()", "groupby"): "()" a call, "[]" an item

# Rule 3: mocking, ways out, code hidden in a string.
MOCK_MODULES: tuple[Key, ...] = (("unittest", "mock"), ("mock",))
EXITS: dict[Key, str] = {("sys", "exit"): "sys.exit()", ("os", "_exit"): "os._exit()"}
BUILTIN_EXITS = frozenset({"exit", "quit"})
HIDDEN_CODE = frozenset({"exec", "eval", "compile"})

# Rule 4: what reaches outside the example, by what it is called (after following aliases).
FD = "a file-descriptor operation"
NATIVE = "native code access"
SIGNALS = "signal handling"
INTERPRETER = "access to the running interpreter"
OUTSIDE_CALLS: dict[Key, str] = {
    **{("os", name): FD for name in (
        "write", "writev", "pwrite", "pwritev", "sendfile", "dup", "dup2", "fdopen", "close",
        "closerange", "ftruncate", "lseek", "set_inheritable", "set_blocking")},
    ("socket", "fromfd"): FD,
    ("socket", "fromshare"): FD,
    **{("signal", name): SIGNALS for name in (
        "signal", "setitimer", "alarm", "pthread_sigmask", "set_wakeup_fd", "siginterrupt",
        "pthread_kill", "raise_signal")},
    ("os", "kill"): SIGNALS,
    ("os", "killpg"): SIGNALS,
    **{("sys", name): INTERPRETER for name in (
        "_getframe", "_current_frames", "_current_exceptions", "settrace", "setprofile",
        "monitoring", "addaudithook")},
    **{("sys", "modules", name): INTERPRETER for name in (
        "update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__")},
    **{("threading", name): INTERPRETER for name in (
        "settrace", "setprofile", "settrace_all_threads", "setprofile_all_threads")},
    **{("inspect", name): INTERPRETER for name in (
        "currentframe", "stack", "trace", "getouterframes")},
    **{("gc", name): INTERPRETER for name in ("get_objects", "get_referrers", "get_referents")},
    ("builtins", "__dict__"): INTERPRETER,
}
OUTSIDE_MODULES: dict[str, str] = {"ctypes": NATIVE, "_ctypes": NATIVE, "cffi": NATIVE,
                                   "faulthandler": INTERPRETER}
# Rule 5: the classes whose handlers catch (nearly) every error.
_BROAD = frozenset({"Exception", "BaseException"})
# Rule 6: ways to run code later, where an exception it raises does not fail the example.
DEFERRED: frozenset[Key] = frozenset({
    ("threading", "Thread"), ("threading", "Timer"), ("_thread", "start_new_thread"),
    ("_thread", "start_new"), ("atexit", "register"), ("weakref", "finalize"),
    ("concurrent", "futures", "ThreadPoolExecutor"),
    ("concurrent", "futures", "ProcessPoolExecutor"), ("multiprocessing", "Process")})
# Modules that are other names for the ones the tables above use.
_SAME_MODULE = {"posix": "os", "nt": "os", "_socket": "socket", "_signal": "signal",
                "_io": "io"}
IMPORT_CALLS: frozenset[Key] = frozenset({("importlib", "import_module"),
                                          ("importlib", "__import__")})
RUN_CODE: frozenset[Key] = frozenset({("runpy", "run_path"), ("runpy", "run_module")})
OPENERS: frozenset[Key] = frozenset({("builtins", "open"), ("io", "open"), ("io", "FileIO")})
FD_PATH = re.compile(r"/(?:proc/(?:self|thread-self|\d+)/fd|dev/fd)(?![\w-])")


def is_stdlib(key: Key) -> bool:
    return key[0] in sys.stdlib_module_names


def is_broad(node: ast.expr) -> bool:
    """``Exception``, ``BaseException`` (also as ``builtins.X``), or a tuple holding one."""
    if isinstance(node, ast.Tuple):
        return any(is_broad(element) for element in node.elts)
    if isinstance(node, ast.Attribute):
        return node.attr in _BROAD and isinstance(node.value, ast.Name) \
            and node.value.id == "builtins"
    return isinstance(node, ast.Name) and node.id in _BROAD


def is_descriptor(node: ast.expr) -> bool:
    """An int literal (``open(3)``) or a ``.fileno()`` call: what a file is opened on."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and node.func.attr == "fileno"


def last_name(node: ast.expr) -> str | None:
    """The name ``node`` ends in: ``f`` for ``f`` and for ``obj.f`` (a call by that name, a
    class an ``except`` names); None for other expressions."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def canonical(key: Key) -> Key:
    """``posix.write`` is ``os.write``: one name for a module the tables know by another."""
    return (_SAME_MODULE.get(key[0], key[0]), *key[1:]) if key else key


def item_of(key: Key | None) -> Key | None:
    return None if key is None else (*key, "[]")

