"""pytest's ``NUMBER`` doctest option: floats compare to the precision the doc wrote."""

from __future__ import annotations

import doctest

import pytest
from conftest import FENCE

from docvalidate.doctest_number import NUMBER, OutputChecker

# (expected, actual, whether pytest's checker with NUMBER accepts it)
CASES = [
    ("3.14", "3.14159", True),
    ("3.14", "3.16", False),
    ("3.1", "3.14159", True),
    ("3.", "3.4", True),  # no digits after the point: within 1
    ("3.", "4.1", False),
    ("1.0e-3", "0.00104", True),
    ("1.0e-3", "0.0012", False),
    ("1e3", "1004.0", True),  # an exponent widens the precision
    ("[1.5, 2.25]", "[1.5000001, 2.2499]", True),
    ("[1.5, 2.25]", "[1.5, 2.2, 7.0]", False),  # numbers pair up only when as many
    ("-0.5", "-0.49", True),
    ("0.5", "-0.5", False),
    ("3", "3.1", False),  # a bare integer is no float to compare loosely
    ("x = 2.50 y", "x = 2.5012 y", True),
    ("x = 2.50 y", "x = 2.5012 z", False),  # the rest must still match
    ("1.5e400", "1.5e400", True),
    ("0.33", "0.333333333", True),
]


@pytest.mark.parametrize(("want", "got", "accepted"), CASES)
def test_number_semantics(want: str, got: str, accepted: bool):
    checker = OutputChecker()
    assert checker.check_output(want + "\n", got + "\n", NUMBER) is accepted
    if want != got:
        assert not checker.check_output(want + "\n", got + "\n", 0)


@pytest.mark.parametrize(("want", "got", "accepted"), CASES)
def test_agrees_with_pytest(want: str, got: str, accepted: bool):
    # pytest's own checker as the oracle (the tests may import pytest; docvalidate may not).
    from _pytest.doctest import _get_checker

    assert doctest.OPTIONFLAGS_BY_NAME["NUMBER"] == NUMBER
    assert _get_checker().check_output(want + "\n", got + "\n", NUMBER) is accepted


def test_with_other_flags():
    checker = OutputChecker()
    flags = NUMBER | doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    assert checker.check_output("[3.14,   ..., 2.0]\n", "[3.14159, 5, 2.0]\n", flags)
    assert not checker.check_output("[3.14,   ..., 2.0]\n", "[3.2, 5, 2.0]\n", flags)


def test_huge_exponents_are_cheap():
    # pytest computes 10 ** (the exponent): with a long one it never finishes, or overflows.
    # Here the tolerance is simply zero or infinite.
    checker = OutputChecker()
    assert not checker.check_output("1e" + "9" * 100_000 + "\n", "2.0\n", NUMBER)
    assert checker.check_output("1e" + "9" * 100_000 + "\n", "1e999\n", NUMBER)  # both inf
    assert not checker.check_output("1.0e-" + "9" * 100_000 + "\n", "0.5\n", NUMBER)
    assert checker.check_output("1.0e-" + "9" * 100_000 + "\n", "0.0\n", NUMBER)
    assert not checker.check_output("1.5e400\n", "1.0\n", NUMBER)  # pytest: OverflowError


SESSION = (f"{FENCE}pycon\n>>> import math\n>>> math.pi\n3.14\n>>> [math.e, 1 / 3]\n"
           f"[2.718, 0.33]\n{FENCE}\n")


def test_number_from_config(write, check_json):
    write("a.md", SESSION)
    code, report = check_json("a.md")
    assert code == 1 and report["examples"][0]["error"]["type"] == "OutputMismatch"
    write("docvalidate.toml", 'doctest_flags = ["ELLIPSIS", "NUMBER"]\n')
    code, report = check_json("a.md")
    assert code == 0, report
    write("a.md", SESSION.replace("0.33", "0.35"))
    code, report = check_json("a.md")
    assert code == 1
    assert report["examples"][0]["error"]["line"] == 6  # the wrong number's line


def test_number_inline_directive(write, check_json):
    write("a.md", f"{FENCE}pycon\n>>> import math\n>>> math.pi  # doctest: +NUMBER\n3.14\n"
          f">>> math.pi\n3.14\n{FENCE}\n")
    code, report = check_json("a.md")
    assert code == 1
    assert report["examples"][0]["error"]["line"] == 6  # only the prompt without the flag
    write("a.md", f"{FENCE}pycon\n>>> import math\n>>> math.pi  # doctest: +NUMBER\n3.14\n"
          f"{FENCE}\n")
    code, report = check_json("a.md")
    assert code == 0, report


def test_number_turned_off_inline(write, check_json):
    write("docvalidate.toml", 'doctest_flags = ["NUMBER"]\n')
    write("a.md", f"{FENCE}pycon\n>>> 1 / 3  # doctest: -NUMBER\n0.33\n{FENCE}\n")
    code, report = check_json("a.md")
    assert code == 1 and report["examples"][0]["error"]["type"] == "OutputMismatch"
