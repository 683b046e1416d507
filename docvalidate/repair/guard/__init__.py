"""The intent guard: does a candidate repair still teach what the original example taught?

A fixer (an LLM, usually) is rewarded for making an example pass, and the cheapest way to make
code pass is to stop it from doing anything. The guard compares the candidate with the
original, both parsed with :mod:`ast` (never run; constant conditions are folded from literals
only), and rejects one that, checking in this order so that the most specific reason is the
one reported,

1. changes a ``no-fix`` block at all;
2. adds characters that have no place in a document (terminal escapes, other control
   characters, bidi overrides, lone surrogates: they would be written into the page); is not
   valid Python, or (an interactive session) not a valid session: also a session that lost all
   its ``>>>`` prompts while the original had some (a candidate that does not parse is left
   to the runner when the original did not parse either);
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
    triple-quoted string right under a print call, the output under ``>>>`` statements) unless
    ``update_output``;
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

The package: :mod:`.facts` reads one version of the block into facts (with the
:mod:`.scanner` that follows names, :mod:`.reachability` for code that never runs and
:mod:`.folding` for constant conditions); :mod:`.rules` compares two sets of facts, one rule a
function; :mod:`.names` holds the tables of suspect names and :mod:`.wording` how code is quoted
in a reason.
"""

from __future__ import annotations

from docvalidate.model import ErrorInfo
from docvalidate.repair.guard.facts import study
from docvalidate.repair.guard.names import Key
from docvalidate.repair.guard.rules import (
    MAX_LISTED,
    MAX_SHRINK,
    added_broad_handler,
    added_cheat,
    dropped_names,
    hollowed,
    made_dead,
    reached_outside,
    removed_checks,
    shrunk,
    swallowed_error,
    unrelated,
)
from docvalidate.report.safe import printable, unsafe_characters
from docvalidate.sources.fences import is_interactive

__all__ = ["MAX_LISTED", "MAX_SHRINK", "Key", "check_intent"]


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
    added = unsafe_characters(candidate) - unsafe_characters(original)
    if added:
        shown = ", ".join(printable(c, multiline=False) for c in sorted(added)[:3])
        return f"adds characters that have no place in a document ({shown})"
    # A caller that forgot: a block that starts with `>>>` is a session (as the sources say).
    interactive = interactive or is_interactive("python", original)
    before = study(original, interactive)
    after = study(candidate, interactive)
    if after.syntax_error is not None:
        if before.syntax_error is not None:
            return None  # running it will tell; the guard cannot compare two non-programs
        kind = "a valid interactive session" if interactive else "valid Python"
        return f"the repair is not {kind}: {after.syntax_error}"
    if interactive and before.prompts and not after.prompts:
        # doctest reads text without prompts as prose: such a candidate would run nothing.
        return ("the repair is not a valid interactive session: it has no `>>>` prompts "
                f"(the original had {before.prompts})")
    return (added_cheat(before, after)
            or reached_outside(before, after)
            or added_broad_handler(before, after)
            or swallowed_error(before, after, error)
            or made_dead(before, after)
            or hollowed(before, after)
            or unrelated(before, after, error)
            or removed_checks(before, after, update_output)
            or dropped_names(before, after, error)
            or shrunk(before, after))
