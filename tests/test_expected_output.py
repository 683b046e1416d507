"""Expected output: interactive sessions (doctest semantics) and ``#>`` print comments."""

from __future__ import annotations

import doctest

import pytest

from docvalidate.backends.base import BlockRun, StatementRun
from docvalidate.expected_output import (
    check_prints,
    check_session,
    flag_value,
    parse_print_comments,
    parse_session,
)
from docvalidate.model import ErrorInfo

FLAGS = flag_value(("ELLIPSIS", "NORMALIZE_WHITESPACE"))


def test_parse_session_lines_and_flags():
    code = ">>> x = 1\n>>> x  # doctest: +SKIP\n1\n>>> for i in []:\n...     pass\n>>> x\n1\n"
    prompts = parse_session(code, first_line=10, flags=FLAGS)
    assert [p.line for p in prompts] == [10, 11, 13, 15]
    assert [p.want_line for p in prompts] == [11, 12, 15, 16]
    assert [p.skip for p in prompts] == [False, True, False, False]
    assert prompts[1].flags & doctest.SKIP
    assert prompts[3].want == "1\n"


def test_parse_session_rejects_malformed():
    with pytest.raises(ValueError):
        parse_session(">>>x = 1\n", 1, FLAGS)


def _prompts(code: str, flags: int = FLAGS):
    return parse_session(code, 1, flags)


def test_session_output_compared_with_doctest_flags():
    prompts = _prompts(">>> f()\n[1, 2, ..., 9]\n>>> g()\na   b\n")
    runs = [StatementRun("[1, 2, 3, 4, 5, 6, 7, 8, 9]\n"), StatementRun("a b\n")]
    assert check_session(prompts, runs) is None
    strict = _prompts(">>> f()\n[1, 2, ..., 9]\n", flags=0)
    error = check_session(strict, runs[:1])
    assert error is not None and error.type == "OutputMismatch"
    assert error.line == 2
    assert "-[1, 2, ..., 9]" in error.diff and "+[1, 2, 3, 4, 5, 6, 7, 8, 9]" in error.diff


def test_session_expected_exception():
    prompts = _prompts(">>> int('z')\nTraceback (most recent call last):\n  ...\n"
                       "ValueError: bad\n")
    raised = ErrorInfo("ValueError", "bad", exception_only="ValueError: bad\n")
    assert check_session(prompts, [StatementRun("", raised)]) is None
    other = ErrorInfo("ValueError", "worse", exception_only="ValueError: worse\n")
    error = check_session(prompts, [StatementRun("", other)])
    assert error is not None and error.type == "OutputMismatch" and error.line == 2
    error = check_session(prompts, [StatementRun("")])
    assert error is not None and "none was raised" in error.message


def test_session_ignore_exception_detail():
    flags = FLAGS | doctest.IGNORE_EXCEPTION_DETAIL
    prompts = _prompts(">>> f()\nTraceback (most recent call last):\nmod.Oops: one\n", flags)
    raised = ErrorInfo("Oops", "two", exception_only="other.Oops: two\n")
    assert check_session(prompts, [StatementRun("", raised)]) is None


def test_session_unexpected_exception_is_the_error():
    prompts = _prompts(">>> 1/0\n>>> 2\n3\n")
    boom = ErrorInfo("ZeroDivisionError", "division by zero", line=1)
    error = check_session(prompts, [StatementRun("", boom), StatementRun("2\n")])
    assert error is not None
    assert error.type == "ZeroDivisionError"
    assert "(and 1 more failure in this example)" in error.message


def test_print_comments_found_under_calls():
    source = ("\n\nx = 1\nprint(x)\n#> 1\nprint(\n    x,\n)\n#> 1\n#> more\nprint('no comment')\n"
              "for i in range(2):\n    print(i)\n    #> 0\n    #> 1\n")
    comments = parse_print_comments(source)
    assert [(c.start, c.end, c.line, c.expected) for c in comments] == [
        (4, 4, 5, "1"), (6, 8, 9, "1\nmore"), (13, 13, 14, "0\n1"),
    ]


def test_no_print_comments_without_markers_or_on_syntax_error():
    assert parse_print_comments("print(1)\n# > not a marker\n") == ()
    assert parse_print_comments("print(1\n#> 1\n") == ()


def _run(*prints: tuple[int, str]) -> BlockRun:
    return BlockRun(block=0, error=None, prints=prints)


def test_check_prints():
    comments = parse_print_comments("print(1)\n#> 1\nprint(2)\n#> 2\n")
    assert check_prints(comments, _run((1, "1\n"), (3, "2\n"))) is None
    error = check_prints(comments, _run((1, "1\n"), (3, "3\n")))
    assert error is not None and error.type == "OutputMismatch" and error.line == 4
    assert "-2" in error.diff and "+3" in error.diff
    missing = check_prints(comments, _run((1, "1\n")))
    assert missing is not None and missing.line == 4


def test_check_prints_wrapped_long_output():
    comments = parse_print_comments(
        "print(m)\n#> Model(name='a very long name', values=[1, 2, 3],\n#>       other=True)\n")
    actual = "Model(name='a very long name', values=[1, 2, 3], other=True)\n"
    assert check_prints(comments, _run((1, actual))) is None
    assert check_prints(comments, _run((1, actual.replace("True", "False")))) is not None


def test_check_prints_trailing_whitespace():
    comments = parse_print_comments("print(x)\n#> a\n#> b\n")
    assert check_prints(comments, _run((1, "a   \nb\n"))) is None


@pytest.mark.parametrize(("comment", "printed"), [
    ("#> JaneDoe", "Jane Doe\n"),  # whitespace inside a line matters
    ("#> ab", "a\nb\n"),  # so do line breaks the doc does not have
    ("#> a\n#> b", "ab\n"),  # a short line is never a wrapped one
    ("#> a\n#> b", "a\n"),  # missing output
    ("#> a", "a\nb\n"),  # extra output
])
def test_check_prints_real_mismatches(comment: str, printed: str):
    comments = parse_print_comments(f"print(x)\n{comment}\n")
    assert check_prints(comments, _run((1, printed))) is not None


def test_check_prints_wrap_without_space():
    long = "'" + "abcdefghij" * 5 + "'"
    comments = parse_print_comments(f"print(x)\n#> {long[:30]}\n#> {long[30:]}\n")
    assert check_prints(comments, _run((1, long + "\n"))) is None
    assert check_prints(comments, _run((1, long.upper() + "\n"))) is not None


def test_check_prints_of_many_lines_does_not_recurse():
    lines = [str(i) for i in range(5000)]
    comments = parse_print_comments("print(x)\n" + "".join(f"#> {n}\n" for n in lines))
    assert check_prints(comments, _run((1, "\n".join(lines) + "\n"))) is None
    assert check_prints(comments, _run((1, "\n".join(lines[:-1]) + "\nX\n"))) is not None


def test_check_prints_is_bounded_on_hostile_comments():
    # A hundred thousand empty "#>" lines under a long printed line: every split of them was a
    # candidate wrapping, which took minutes; now it is a quick mismatch.
    import time

    comments = parse_print_comments("print(x)\n" + "#>\n" * 100_000 + "#> B\n")
    started = time.process_time()
    error = check_prints(comments, _run((1, "A" * 50 + "\n")))
    assert error is not None and error.type == "OutputMismatch"
    assert time.process_time() - started < 20  # a hang guard, not a speed target


def test_more_failures_of_one_block_are_not_called_a_session(write):
    from conftest import invoke

    write("a.md", "```pycon\n>>> 1 + 1\n3\n>>> 2 + 2\n5\n>>> 3 + 3\n7\n```\n")
    result = invoke("check", "a.md")
    assert result.exit_code == 1
    # A session is a namespace shared by blocks; these are failures of one block.
    assert "(and 2 more failures in this example)" in result.stdout
    assert "session" not in result.stdout
