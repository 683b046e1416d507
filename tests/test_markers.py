"""Markers of other doc-test tools, read from info strings and planned like directives."""

from __future__ import annotations

import pytest

from docvalidate.config import Config
from docvalidate.model import Example
from docvalidate.sessions import plan_example, plan_file
from docvalidate.sources.markers import info_markers


def names(info: str) -> list[tuple[str, str | None, str]]:
    return [(d.name, d.value, d.origin) for d in info_markers(info, 3)]


@pytest.mark.parametrize(("info", "expected"), [
    ('py test="skip"', [("skip", None, 'test="skip"')]),
    ('py test="skip - needs network"', [("skip", "needs network", 'test="skip - needs network"')]),
    ('python test="xfail"', [("xfail", None, 'test="xfail"')]),
    ('py test="xfail - known bug"', [("xfail", "known bug", 'test="xfail - known bug"')]),
    ('py test="no-print-intercept"', [("no-print-check", None, 'test="no-print-intercept"')]),
    ('py group="setup"', [("session", "setup", 'group="setup"')]),
    ('python exec="on" session="demo"', [("session", "demo", 'session="demo"')]),
    ('py requires="3.12"', [("requires", "3.12", 'requires="3.12"')]),
    ('py lint="skip"', []),
    ('python exec="on"', []),
    ("python notest", [("skip", None, "notest")]),
    ("python continuation", [("continuation", None, "continuation")]),
    ('py title="notest.py"', []),
    ("python", []),
])
def test_info_markers(info: str, expected: list[tuple[str, str | None, str]]):
    assert names(info) == expected


def test_unknown_test_marker_is_an_error():
    (d,) = info_markers('py test="sometimes"', 5)
    assert d.name == "error" and 'test="sometimes"' in (d.value or "")


def example(info: str, line: int = 3, path: str = "a.md") -> Example:
    return Example(path=path, language="python", info=info, code="x = 1\n", span=(0, 0),
                   prefix="", newline="\n", line=line, end_line=line + 2,
                   directives=info_markers(info, line))


def test_plan_skip_and_marker():
    task = plan_example(example('py test="skip - slow"'), Config())
    assert task.skip == "slow" and task.marker == 'test="skip - slow"'


def test_plan_xfail():
    task = plan_example(example('py test="xfail - bug 12"'), Config())
    assert task.xfail == "bug 12" and task.skip is None and task.marker == 'test="xfail - bug 12"'


def test_plan_requires_against_the_examples_interpreter():
    ex = example('py requires="3.12"')
    old = plan_example(ex, Config(), python_version=(3, 11))
    assert old.skip == "requires Python 3.12 (examples run on 3.11)"
    assert old.marker == 'requires="3.12"'
    assert plan_example(ex, Config(), python_version=(3, 12)).skip is None
    assert plan_example(ex, Config(), python_version=(3, 13)).skip is None
    bad = plan_example(example('py requires="three"'), Config(), python_version=(3, 11))
    assert bad.error is not None and bad.error.type == "DirectiveError"


def test_plan_group_and_no_print_check():
    task = plan_example(example('py group="g1" test="no-print-intercept"'),
                        Config(sessions="block"))
    assert task.session == "a.md#g1" and task.check_prints is False


def test_continuation_joins_the_previous_block_in_block_mode():
    from docvalidate.model import SourceFile

    source = SourceFile("a.md", "commonmark", examples=(
        example("python", 1), example("python continuation", 5), example("python", 9)))
    sessions = plan_file(source, Config(sessions="block"))
    assert [[t.example.line for t in s.tasks] for s in sessions] == [[1, 5], [9]]
