"""pytest-examples' long print output: a ``\"\"\"`` string right under a ``print(...)``.

pytest-examples writes what a print call printed as a ``#>`` comment when it fits on one
line, and otherwise as a triple-quoted string statement on the line right after the call,
indented like the call, each argument on its own line and pretty-printed by black at 88
columns less that indentation (pydantic-settings' docs are full of them)::

    print(Settings().model_dump())
    \"\"\"
    {
        'v0': '0',
        'sub_model': {'v1': 'json-1', 'v2': b'nested-2', 'v3': 3, 'deep': {'v4': 'v4'}},
    }
    \"\"\"

Such a string is checked here against what the call printed (every run of it, in a loop):
line for line (trailing whitespace aside), or with long lines wrapped as for ``#>`` comments,
or laid out as pytest-examples lays it out: a new line where the output has a space or a
newline between two arguments, and printed Python code laid out by black (over several lines,
with other spaces between tokens, with commas before closing brackets: the same syntax tree
and the same tokens otherwise). pytest-examples writes ``0x0123456789ab>`` for memory
addresses; so may the doc.

Positions are lines of the block's code (1 = its first line); ``offset`` turns them into the
lines the run reports for print calls.
"""

from __future__ import annotations

import ast
import io
import keyword
import token
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, replace

from docvalidate.expected_output import Locate, _mismatch, _same, _wrapped_equal, any_address
from docvalidate.model import ErrorInfo

QUOTES = ('"""', "'''")
LINE_LENGTH = 88  # black's default, which pytest-examples formats printed values with
_INDENT = "    "
# Longer printed values are compared and rewritten as text only: parsing megabytes of output
# as Python would cost more than any doc's laid-out value is worth.
MAX_PARSED = 100_000
Prints = Sequence[tuple[int | None, str]]
_OPENING = ("(", "[", "{")
_CLOSING = (")", "]", "}")


@dataclass(frozen=True)
class PrintString:
    """A triple-quoted string statement on the line right after a ``print(...)`` statement."""

    start: int  # block lines of the print call
    end: int
    line: int  # block line of the opening quotes
    last: int  # block line of the closing quotes
    indent: str  # the print call's column, as spaces: the string's lines carry it too
    quote: str
    expected: str  # what is between the quotes, that indentation removed


def _column(line: str, byte_offset: int) -> int:
    """The character column of an AST byte offset."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


def parse_print_strings(code: str) -> tuple[PrintString, ...]:
    """The print strings of a block's code, in order."""
    if not any(quote in code for quote in QUOTES):
        return ()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return ()  # running it will report the error
    lines = code.split("\n")
    strings: dict[int, ast.Expr] = {}
    prints: list[ast.Expr] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Expr):
            continue
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            strings[node.lineno] = node
        elif (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
              and value.func.id == "print"):
            prints.append(node)
    found = []
    for call in prints:
        string = strings.get((call.end_lineno or call.lineno) + 1)
        if string is None or string.end_lineno is None or string.end_col_offset is None:
            continue
        first = lines[string.lineno - 1]
        begin = _column(first, string.col_offset)
        quote = first[begin:begin + 3]
        if quote not in QUOTES or first[:begin].strip():
            continue  # a prefixed or single-quoted string, or not the line's first statement
        last = lines[string.end_lineno - 1]
        end = _column(last, string.end_col_offset) - 3
        if string.lineno == string.end_lineno:
            text = first[begin + 3:end]
        else:
            text = "\n".join([first[begin + 3:], *lines[string.lineno:string.end_lineno - 1],
                              last[:end]])
        text = text.removeprefix("\n")
        head, _, tail = text.rpartition("\n")
        if head and not tail.strip():
            text = head  # the closing quotes' own line
        indent = " " * _column(lines[call.lineno - 1], call.col_offset)
        expected = "\n".join(line.removeprefix(indent) for line in text.split("\n"))
        found.append(PrintString(call.lineno, call.end_lineno or call.lineno, string.lineno,
                                 string.end_lineno, indent, quote, expected))
    return tuple(sorted(found, key=lambda s: s.start))


def _calls(string: PrintString, prints: Prints, offset: int) -> list[str]:
    """What each run of the string's print call wrote, in order."""
    return [text for line, text in prints
            if line is not None and string.start + offset <= line <= string.end + offset]


def _tokens(text: str, mode: str = "eval") -> list[tokenize.TokenInfo] | None:
    """The tokens of Python code (one expression, or with ``mode="exec"`` statements), without
    layout; None when ``text`` is not such code."""
    try:
        ast.parse(text.strip(), mode=mode)
        return [t for t in tokenize.generate_tokens(io.StringIO(text.strip()).readline)
                if t.type not in (token.NL, token.NEWLINE, token.INDENT, token.DEDENT,
                                  token.ENDMARKER, token.COMMENT)]
    except (SyntaxError, ValueError, tokenize.TokenError, RecursionError, MemoryError):
        return None


def _without_trailing_commas(tokens: list[tokenize.TokenInfo]) -> list[str]:
    kept = []
    for i, tok in enumerate(tokens):
        after = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if not (tok.string == "," and after in _CLOSING):
            kept.append(tok.string)
    return kept


def _same_code(expected: str, actual: str) -> bool:
    """Whether ``expected`` is the Python code ``actual`` printed on one line, laid out as black
    lays it out: other whitespace, lines, commas before closing brackets; the same tokens
    otherwise, and the same syntax tree. (black formats a printed value as a module: a
    pydantic model printed as ``value=Model(...)`` becomes ``value = Model(...)``.)"""
    lines = expected.split("\n")
    if (len(actual) > MAX_PARSED or "\n" in actual
            or not lines[0].strip() or not lines[-1].strip()):
        return False  # blank lines around the value are not black's
    want, got = _tokens(expected, "exec"), _tokens(actual, "exec")
    if want is None or got is None:
        return False
    try:
        same_tree = (ast.dump(ast.parse(expected.strip()))
                     == ast.dump(ast.parse(actual.strip())))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return same_tree and _without_trailing_commas(want) == _without_trailing_commas(got)


def _span(got: str, start: int, compact: str) -> int | None:
    """Where the text from ``start`` in ``got`` ends that is ``compact`` once spaces are
    ignored, within one line; None when there is none."""
    at, k = start, 0
    while k < len(compact):
        if at >= len(got) or got[at] == "\n":
            return None
        if got[at] in " \t":
            at += 1
        elif got[at] == compact[k]:
            at, k = at + 1, k + 1
        else:
            return None
    return at


# Steps the layout matching may take (each compares about a line): a hostile page of
# thousands of bracket lines must not keep docvalidate busy. Real strings need a few a line.
LAYOUT_STEPS = 200_000


def _one_line(lines: list[str], keep_commas: bool) -> str:
    """Black's layout of a value put back on one line, as ``repr`` writes it: no space inside
    brackets, one after a comma, and (unless ``keep_commas``, for a one-item tuple) without
    the comma black adds before a closing bracket."""
    text = lines[0].rstrip()
    for line in lines[1:]:
        piece = line.strip()
        closing = piece.startswith(_CLOSING)
        if closing and text.endswith(",") and not keep_commas:
            text = text[:-1]
        text += piece if closing or text.endswith(_OPENING) else " " + piece
    return text


def _laid_out(want: list[str], got: str) -> bool:
    """Whether the lines ``want`` are the text ``got`` laid out as pytest-examples lays out
    print output: each argument (and each call) from a new line, where the output has a
    space or a newline, and a Python value spread over lines by black. Bounded by
    LAYOUT_STEPS: past it the output is reported as not matching."""
    end = len(want)
    reachable: list[set[int]] = [set() for _ in range(end + 1)]
    reachable[0].add(0)
    steps = 0

    def reach(j: int, q: int) -> None:
        if j == end:
            reachable[j].add(q)
        elif got[q:q + 1] in (" ", "\n"):
            reachable[j].add(q + 1)

    for i in range(end):
        for p in sorted(reachable[i]):
            q = p  # text as printed: this line, or this and the next (a string with newlines)
            exact = False
            for j in range(i + 1, end + 1):
                steps += 1
                if steps > LAYOUT_STEPS:
                    return False
                if j > i + 1:
                    if got[q:q + 1] != "\n":
                        break
                    q += 1
                if not got.startswith(want[j - 1], q):
                    break
                q += len(want[j - 1])
                exact = exact or j == i + 1
                reach(j, q)
            # Code black laid out: this line with other spaces, or lines from one ending with
            # an opening bracket to one starting with a closing one.
            last = end if want[i].endswith(_OPENING) else i + 1
            for j in range(i + 1 + exact, last + 1):
                steps += j - i
                if steps > LAYOUT_STEPS:
                    return False
                several = j > i + 1
                if several and not want[j - 1].lstrip().startswith(_CLOSING):
                    continue
                for keep in (False, True) if several else (True,):
                    text = _one_line(want[i:j], keep)
                    q_end = _span(got, p, text.replace(" ", "").replace("\t", ""))
                    if q_end is not None and _same_code("\n".join(want[i:j]), got[p:q_end]):
                        reach(j, q_end)
    return len(got) in reachable[end]


def _matches(expected: str, actual: str) -> bool:
    # pytest-examples strips the newlines around what was printed, and only those: a blank
    # line the string has and the output has not is a difference.
    want = [line.rstrip() for line in expected.split("\n")]
    for got in dict.fromkeys((actual, any_address(actual))):
        lines = [line.rstrip() for line in got.strip("\n").split("\n")]
        if _wrapped_equal(want, lines) or _laid_out(want, "\n".join(lines)):
            return True
    return False


def check_print_strings(strings: Sequence[PrintString], prints: Prints,
                        where: Locate = _same) -> ErrorInfo | None:
    """The first print string that does not hold what its call printed, as an
    OutputMismatch at the string's line of the code (messages name ``where``'s lines)."""
    for string in strings:
        calls = _calls(string, prints, 0)
        actual = "".join(calls)
        if _matches(string.expected, actual):
            continue
        error = _mismatch(string.line, f"what print() at line {where(string.start)} wrote",
                          string.expected, actual.strip("\n"), where)
        if not calls:  # the usual cause: an exception expected before it was not raised
            error = replace(error, message=f"print() at line {where(string.start)} did not "
                            "run (or printed nothing), so the expected output at line "
                            f"{where(string.line)} was not printed")
        return error
    return None


def pretty(text: str, width: int) -> str:
    """``text`` as black would lay it out in ``width`` columns when it is one Python
    expression too long for one line (brackets split from the last one, their contents one
    item a line with a trailing comma where there are several); any other text unchanged."""
    if "\n" in text or len(text) <= width or len(text) > MAX_PARSED:
        return text
    tokens = _tokens(text)
    if tokens is None or text != text.strip():
        return text
    partner: dict[int, int] = {}
    stack: list[int] = []
    for i, tok in enumerate(tokens):
        if tok.string in "([{" and tok.type == token.OP:
            stack.append(i)
        elif tok.string in ")]}" and tok.type == token.OP and stack:
            partner[i] = stack.pop()
            partner[partner[i]] = i

    def flat(a: int, b: int) -> str:  # tokens a..b-1, as written
        return text[tokens[a].start[1]:tokens[b - 1].end[1]]

    def layout(a: int, b: int, depth: int, suffix: str) -> list[str]:
        indent = _INDENT * depth
        line = flat(a, b)
        if len(indent) + len(line) + len(suffix) <= width:
            return [indent + line + suffix]
        close = b - 1
        while close >= a and not (tokens[close].string in ")]}" and close in partner):
            close -= 1
        opening = partner.get(close, close)
        if close < a or opening < a or opening + 1 == close:
            return [indent + line + suffix]  # nothing to split at: left long, as black does
        parts, start, i = [], opening + 1, opening + 1
        while i < close:
            if tokens[i].string == ",":
                parts.append((start, i))
                start = i + 1
            elif i in partner and partner[i] > i:
                i = partner[i]
            i += 1
        trailing_comma = start == close
        if not trailing_comma:
            parts.append((start, close))
        before = tokens[opening - 1] if opening > a else None
        trailer = before is not None and (
            before.type == token.STRING or before.string in ")]}"
            or (before.type == token.NAME and not keyword.iskeyword(before.string)))
        body = flat(opening + 1, close)
        explode = (len(parts) > 1 or trailing_comma) and (
            not trailer or trailing_comma or len(indent) + len(_INDENT) + len(body) > width)
        head = [indent + flat(a, opening + 1)]
        tail = [indent + flat(close, b) + suffix]
        if explode:
            inner = [line for pa, pb in parts for line in layout(pa, pb, depth + 1, ",")]
        else:
            inner = layout(opening + 1, close, depth + 1, "")
        return head + inner + tail

    return "\n".join(layout(0, len(tokens), 0, ""))


def _written(string: PrintString, calls: list[str]) -> list[str]:
    """The string's new lines (without the quotes' own lines): what the calls printed, laid
    out as pytest-examples does, with the call's indentation."""
    width = LINE_LENGTH - len(string.indent)
    # Exactly what was printed, each call's value laid out, and the newlines around it all
    # dropped: the text the check compares the string with.
    printed = "".join(pretty(text.removesuffix("\n"), width) + "\n" * text.endswith("\n")
                      for text in calls).strip("\n")
    return [(string.indent + line).rstrip() if line.strip() else ""
            for line in printed.split("\n")]


def print_string_edits(code: str, prints: Prints, offset: int
                       ) -> list[tuple[int, int, list[str]]]:
    """For ``fix --update-output``: (index of the first line in ``code``'s lines, how many
    lines, the lines that replace them) for each print string that does not hold what its
    call printed. The quotes keep their style and their lines, unless the output holds that
    quote: then the other style is used, and a string that holds both is left alone."""
    lines = code.split("\n")
    edits = []
    for string in parse_print_strings(code):
        calls = _calls(string, prints, offset)
        if not calls or _matches(string.expected, "".join(calls)):
            continue  # a call that did not run says nothing of what it prints
        new = _written(string, calls)
        quotes = [q for q in (string.quote, *QUOTES) if not any(q in line for line in new)]
        if not quotes:
            continue
        quote = quotes[0]
        first, last = lines[string.line - 1], lines[string.last - 1]
        opening = first.index(string.quote)
        closing = last.rindex(string.quote)
        own_line = string.line != string.last and not last[:closing].strip()
        closing_line = (last[:closing] if own_line else string.indent) + quote + last[closing + 3:]
        edits.append((string.line - 1, string.last - string.line + 1,
                      [first[:opening] + quote, *new, closing_line.rstrip()]))
    return edits
