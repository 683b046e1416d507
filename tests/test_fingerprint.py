"""Example fingerprints: stable across edits of the prose and lines above an example, new when
its code changes, distinct for identical blocks under one heading, and in the JSON reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import invoke

from docvalidate.model import SourceFile
from docvalidate.sources.document import parse_document
from docvalidate.sources.markdown import extract

DIALECTS = ["commonmark", "mkdocs"]
FENCE = "```"


def load(text: str, dialect: str = "commonmark") -> SourceFile:
    return extract(parse_document("doc.md", text.encode()), dialect)


def prints(value: str) -> str:
    return f"{FENCE}python\nprint({value})\n{FENCE}\n"


PAGE = ("# Guide\n\nSome prose.\n\n## Install\n\nMore prose.\n\n" + prints("1") + "\n"
        + prints("2") + "\n## Use\n\n" + prints("1"))


def fingerprints(text: str, dialect: str = "commonmark") -> list[str]:
    found = [ex.fingerprint for ex in load(text, dialect).examples]
    assert all(len(f) == 16 for f in found)
    return found


@pytest.mark.parametrize("dialect", DIALECTS)
def test_prose_and_lines_above_do_not_change_it(dialect: str) -> None:
    before = load(PAGE, dialect).examples
    edited = PAGE.replace("Some prose.", "Rewritten prose,\nnow on\nthree lines.") \
        .replace("More prose.", "Other words entirely.\n\n> a quote\n")
    after = load("Intro paragraph.\n\n" + edited, dialect).examples
    assert [ex.line for ex in after] != [ex.line for ex in before]  # the ids moved ...
    assert [ex.fingerprint for ex in after] == [ex.fingerprint for ex in before]  # these not


@pytest.mark.parametrize("dialect", DIALECTS)
def test_code_change_gives_a_new_one_and_only_to_that_example(dialect: str) -> None:
    before = fingerprints(PAGE, dialect)
    after = fingerprints(PAGE.replace("print(2)", "print(3)"), dialect)
    assert after[1] != before[1]
    assert [after[0], after[2]] == [before[0], before[2]]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_identical_blocks_under_one_heading_differ(dialect: str) -> None:
    text = "# Same\n\n" + prints("1") + "\ntext\n\n" + prints("1")
    first, second = fingerprints(text, dialect)
    assert first != second
    # Adding an identical block under another heading does not renumber these two.
    assert fingerprints("# Other\n\n" + prints("1") + "\n" + text, dialect)[1:] == \
        [first, second]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_whole_heading_path_counts_not_only_the_nearest(dialect: str) -> None:
    (a,) = load("# Part A\n\n## Usage\n\n" + prints("1"), dialect).examples
    (b,) = load("# Part B\n\n## Usage\n\n" + prints("1"), dialect).examples
    assert a.heading == b.heading == "Usage"
    assert a.fingerprint != b.fingerprint


def test_a_sibling_heading_closes_the_one_before() -> None:
    # "Usage" under B is the same path whether or not A has a subsection above it.
    plain = "# B\n\n## Usage\n\n" + prints("1")
    nested = "# A\n\n## Deep\n\n### Deeper\n\n" + plain
    assert fingerprints(nested)[0] == fingerprints(plain)[0]


def test_setext_headings_have_their_level() -> None:
    setext = "Guide\n=====\n\nInstall\n-------\n\n" + prints("1")
    atx = "# Guide\n\n## Install\n\n" + prints("1")
    assert fingerprints(setext) == fingerprints(atx)


def test_in_the_json_reports(project: Path) -> None:
    page = project / "a.md"
    page.write_text(PAGE.replace("print(2)", "print(json.dumps(2))"))
    expected = [ex.fingerprint for ex in load(page.read_text()).examples]
    for command in ("check", "list"):
        report = json.loads(invoke(command, "--format", "json", "a.md").stdout)
        assert [e["fingerprint"] for e in report["examples"]] == expected, command
    report = json.loads(invoke("fix", "--format", "json", "a.md").stdout)
    assert [e["fingerprint"] for e in report["examples"]] == expected
    # After the repair (an import added), the repaired example has a new fingerprint and the
    # one below it, moved down a line, keeps its own.
    final = [e["final"]["fingerprint"] for e in report["examples"]]
    assert final[0] == expected[0] and final[2] == expected[2] and final[1] != expected[1]
    assert report["examples"][2]["final"]["line"] == report["examples"][2]["line"] + 1
