"""pytest's ``NUMBER`` doctest option, for sessions written for ``pytest --doctest-modules``.

With ``NUMBER``, a floating-point number in the expected output matches a number in the
actual output that is within the precision written: ``3.14`` matches ``3.14159`` (they differ
by no more than 0.01), ``1.0e-3`` matches ``0.00104`` (by no more than 10**-4), as pytest's
``_pytest/doctest.py`` has it. Written again here because docvalidate never imports
pytest: the option is registered with the standard ``doctest`` module under the same name,
so ``# doctest: +NUMBER`` directives and the ``doctest_flags`` config accept it.
"""

from __future__ import annotations

import doctest
import math
import re

# The same name and the same registry as pytest: registering twice gives the same value.
NUMBER = doctest.register_optionflag("NUMBER")

# pytest's pattern: a number with a decimal point or an exponent (a bare integer is not
# compared loosely), optionally signed.
_NUMBER_RE = re.compile(
    r"""
    (?P<number>
      (?P<mantissa>
        (?P<integer1> [+-]?\d*)\.(?P<fraction>\d+)
        |
        (?P<integer2> [+-]?\d+)\.
      )
      (?:
        [Ee]
        (?P<exponent1> [+-]?\d+)
      )?
      |
      (?P<integer3> [+-]?\d+)
      (?:
        [Ee]
        (?P<exponent2> [+-]?\d+)
      )
    )
    """,
    re.VERBOSE,
)

# Past these, 10**-precision is 0 or more than any float: no need to compute it (an exponent
# of a million digits in a page must not make docvalidate work out a huge power of ten).
_FINEST = 400
_COARSEST = -308


def _tolerance(fraction: str | None, exponent: str | None) -> float:
    """10 ** -(digits after the point - exponent): how far apart two numbers may be."""
    precision = 0 if fraction is None else len(fraction)
    if exponent is not None:
        digits = exponent.lstrip("+-").lstrip("0")
        if len(digits) > 6:
            return 0.0 if exponent.startswith("-") else math.inf
        precision -= int(exponent)
    if precision > _FINEST:
        return 0.0
    if precision < _COARSEST:
        return math.inf
    return float(10.0 ** -precision)


def _close(want: float, got: float, tolerance: float) -> bool:
    """pytest.approx(got, abs=tolerance) == want: equal, or finite and within tolerance."""
    if want == got:
        return True
    if math.isinf(want) or math.isinf(got):
        return False
    return abs(want - got) <= tolerance


def with_wanted_precision(want: str, got: str) -> str:
    """``got`` with each number that is close enough to its counterpart in ``want`` replaced
    by the text of ``want``'s. Numbers pair up by position, only when both outputs hold as
    many; otherwise ``got`` is returned unchanged."""
    wants = list(_NUMBER_RE.finditer(want))
    gots = list(_NUMBER_RE.finditer(got))
    if len(wants) != len(gots):
        return got
    pieces: list[str] = []
    at = 0
    for w, g in zip(wants, gots, strict=True):
        exponent = w.group("exponent1") or w.group("exponent2")
        if _close(float(w.group()), float(g.group()), _tolerance(w.group("fraction"),
                                                                  exponent)):
            pieces.append(got[at:g.start()])
            pieces.append(w.group())
            at = g.end()
    pieces.append(got[at:])
    return "".join(pieces)


class OutputChecker(doctest.OutputChecker):
    """doctest's comparison, plus ``NUMBER``."""

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        if super().check_output(want, got, optionflags):
            return True
        if not optionflags & NUMBER:
            return False
        return super().check_output(want, with_wanted_precision(want, got), optionflags)
