"""``<!-- docvalidate: ... -->`` comments: every known directive, and malformed ones whose error
names the offending directive."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docvalidate.model import Directive
from docvalidate.sources.directives import KNOWN, Comment, parse_comment


def parse(body: str, line: int = 7) -> Comment:
    comment = parse_comment(f"<!-- docvalidate: {body} -->", line)
    assert comment is not None
    return comment


def items(comment: Comment) -> list[tuple[str, str | None]]:
    assert comment.error is None, comment.error
    return [(d.name, d.value) for d in comment.directives]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("skip", [("skip", None)]),
        ('skip="needs a network"', [("skip", "needs a network")]),
        ("skip='a, b = c'", [("skip", "a, b = c")]),  # commas and '=' inside quotes
        ("skip=flaky", [("skip", "flaky")]),
        ("isolated", [("isolated", None)]),
        ("session=db", [("session", "db")]),
        ("session=setup-2_b", [("session", "setup-2_b")]),
        ('session="db"', [("session", "db")]),
        ("raises=ValueError", [("raises", "ValueError")]),
        ("raises=json.JSONDecodeError", [("raises", "json.JSONDecodeError")]),
        ("timeout=5", [("timeout", "5")]),
        ("timeout=0.25", [("timeout", "0.25")]),
        ("no-fix", [("no-fix", None)]),
        ("off", [("off", None)]),
        ("on", [("on", None)]),
        ("raises=KeyError, timeout=5", [("raises", "KeyError"), ("timeout", "5")]),
        ("isolated,no-fix ,  timeout = 2", [("isolated", None), ("no-fix", None),
                                            ("timeout", "2")]),
        ("SKIP, Timeout=3", [("skip", None), ("timeout", "3")]),  # names are case-insensitive
    ],
)
def test_known_directives(body: str, expected: list[tuple[str, str | None]]) -> None:
    comment = parse(body, line=12)
    assert items(comment) == expected
    assert all(d.line == 12 for d in comment.directives)


@pytest.mark.parametrize(
    "text",
    [
        "<!--docvalidate:skip-->",
        "  <!--  DocValidate :  skip  -->  ",
        "> <!-- docvalidate: skip -->",
        "    <!-- docvalidate: skip -->",
        "> > <!-- docvalidate: skip -->",
    ],
)
def test_comment_spelling_and_container_prefixes(text: str) -> None:
    comment = parse_comment(text, 3)
    assert comment == Comment(3, (Directive("skip", None, 3),))


@pytest.mark.parametrize(
    "text",
    [
        "<!-- just a comment -->",
        "text <!-- docvalidate: skip -->",
        "docvalidate: skip",
        "<!-- docvalidate: skip",  # not closed on this line
        "",
    ],
)
def test_not_a_directive_comment(text: str) -> None:
    assert parse_comment(text, 1) is None


@pytest.mark.parametrize(("body", "region"), [("off", "off"), ("on", "on"), ("skip", None),
                                              ("isolated, timeout=1", None)])
def test_region(body: str, region: str | None) -> None:
    assert parse(body).region == region


@pytest.mark.parametrize(
    ("text", "names", "message"),
    [
        # unknown name
        ("<!-- docvalidate: skipp -->", "skipp", "unknown directive 'skipp'"),
        ("<!-- docvalidate: skip, bogus=1 -->", "bogus", "unknown directive 'bogus'"),
        # missing value
        ("<!-- docvalidate: session -->", "session", "directive 'session' needs a value"),
        ("<!-- docvalidate: raises -->", "raises", "directive 'raises' needs a value"),
        ("<!-- docvalidate: timeout -->", "timeout", "directive 'timeout' needs a value"),
        # value where none is allowed
        ("<!-- docvalidate: isolated=yes -->", "isolated", "directive 'isolated' takes no value"),
        ("<!-- docvalidate: no-fix=1 -->", "no-fix", "directive 'no-fix' takes no value"),
        ("<!-- docvalidate: off=true -->", "off", "directive 'off' takes no value"),
        # bad values
        ("<!-- docvalidate: timeout=abc -->", "timeout", "timeout='abc' is not a number"),
        ("<!-- docvalidate: timeout=0 -->", "timeout", "timeout=0 must be greater than 0"),
        ("<!-- docvalidate: timeout=-1 -->", "timeout", "timeout=-1 must be greater than 0"),
        ("<!-- docvalidate: timeout=nan -->", "timeout", "timeout=nan must be greater than 0"),
        ("<!-- docvalidate: timeout=inf -->", "timeout", "timeout=inf must be at most 86400"),
        ("<!-- docvalidate: timeout=1e999 -->", "timeout", "timeout=1e999 must be at most"),
        ("<!-- docvalidate: timeout=86401 -->", "timeout", "timeout=86401 must be at most"),
        ("<!-- docvalidate: raises=3Error -->", "raises", "raises='3Error' is not an exception"),
        ('<!-- docvalidate: raises="Value Error" -->', "raises", "raises='Value Error' is not"),
        ('<!-- docvalidate: session="a b" -->', "session", "session='a b' is not a valid"),
        # shape
        ("<!-- docvalidate skip -->", "skip", "malformed directive '<!-- docvalidate skip -->'"),
        ("<!-- docvalidate: skip because -->", "skip", "malformed directive 'skip because'"),
        ("<!-- docvalidate: raises=a=b -->", "raises", "raises='a=b' is not an exception name"),
        ("<!-- docvalidate: off, skip -->", "off", "'off' must stand alone"),
        ("<!-- docvalidate: on, isolated -->", "on", "'on' must stand alone"),
        ("<!-- docvalidate: -->", "docvalidate", "empty docvalidate directive"),
    ],
)
def test_malformed_directives_name_the_directive(text: str, names: str, message: str) -> None:
    comment = parse_comment(text, 9)
    assert comment is not None and comment.line == 9
    assert comment.directives == ()
    assert comment.error is not None
    assert comment.error.startswith(message), comment.error
    assert names in comment.error


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_every_known_directive_is_checked_for_its_value(name: str) -> None:
    """A directive that takes a value refuses none, and one that takes none refuses one."""
    bare, valued = parse(name), parse(f"{name}=x")
    if KNOWN[name] is True:
        assert bare.error and name in bare.error
    else:
        assert items(bare) == [(name, None)]
    if KNOWN[name] is False:
        assert valued.error and name in valued.error
    elif name != "timeout":  # "x" is a valid value for every other one
        assert items(valued) == [(name, "x")]


VALUES = {
    "skip": st.none() | st.text(alphabet="ab ,=", max_size=8).map(lambda s: "r" + s),
    "isolated": st.none(),
    "session": st.text(alphabet="aZ_-9", max_size=5).map(lambda s: "s" + s),
    "raises": st.lists(st.text(alphabet="aE_9", max_size=4).map(lambda s: "E" + s),
                       min_size=1, max_size=3).map(".".join),
    "timeout": st.floats(0.001, 86400).map(lambda f: f"{f:g}"),
    "no-fix": st.none(),
}


# Generation time is the machine's, not the parser's: a busy CI host must not fail the test.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=4).flatmap(
    lambda names: st.tuples(*(VALUES[n].map(lambda v, n=n: (n, v)) for n in names))))
def test_any_well_formed_list_parses_back(pairs: tuple[tuple[str, str | None], ...]) -> None:
    body = ", ".join(name if value is None else f'{name}="{value}"' for name, value in pairs)
    assert items(parse(body)) == list(pairs)
