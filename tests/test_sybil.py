"""Sybil's Markdown markers: skip next/start/end and invisible code blocks, in both dialects."""

from __future__ import annotations

import pytest

from docvalidate.config import Config
from docvalidate.sessions import plan_file
from docvalidate.sources.document import parse_document
from docvalidate.sources.markdown import extract

DIALECTS = ("commonmark", "mkdocs")
FENCE = "```"


def load(text: str, dialect: str):
    return extract(parse_document("p.md", text.encode()), dialect)


def statuses(text: str, dialect: str) -> list[tuple[int, str | None, str | None]]:
    (sessions,) = [plan_file(load(text, dialect), Config())]
    tasks = sorted((t for s in sessions for t in s.tasks), key=lambda t: t.example.line)
    return [(t.example.line, t.skip, t.marker) for t in tasks]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_skip_next_applies_to_the_next_python_block_only(dialect: str):
    text = (f"<!-- skip: next -->\n\nprose\n\n{FENCE}bash\nls\n{FENCE}\n\n"
            f"{FENCE}python\na = 1\n{FENCE}\n\n{FENCE}python\nb = 2\n{FENCE}\n")
    result = statuses(text, dialect)
    assert [(line, marker) for line, _, marker in result] == [
        (9, "<!-- skip: next -->"), (13, None)]
    assert result[0][1] == "skipped by <!-- skip: next --> at line 1"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_skip_next_with_reason(dialect: str):
    text = f'<!-- skip: next "flaky on CI" -->\n{FENCE}python\nx\n{FENCE}\n'
    assert statuses(text, dialect)[0][1] == "flaky on CI"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_skip_region(dialect: str):
    text = (f"{FENCE}python\nkeep = 1\n{FENCE}\n<!-- skip: start -->\n"
            f"{FENCE}python\n1/0\n{FENCE}\n\n{FENCE}py\n1/0\n{FENCE}\n<!-- skip: end -->\n"
            f"{FENCE}python\nafter = 1\n{FENCE}\n")
    assert [bool(skip) for _, skip, _ in statuses(text, dialect)] == [False, True, True, False]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_conditional_skip_is_a_warning_and_not_applied(dialect: str):
    text = f"<!-- skip: next if(True, reason='x') -->\n{FENCE}python\nx = 1\n{FENCE}\n"
    source = load(text, dialect)
    assert [w.line for w in source.warnings] == [1]
    assert "not applied" in source.warnings[0].message
    assert statuses(text, dialect)[0][1] is None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_invisible_code_block_sybil_form(dialect: str):
    text = ("# T\n\n<!--- invisible-code-block: python\nsetup = 1\n--->\n\n"
            f"{FENCE}python\nsetup\n{FENCE}\n")
    source = load(text, dialect)
    hidden, shown = source.examples
    assert (hidden.line, hidden.end_line, hidden.code) == (3, 5, "setup = 1\n")
    assert text.encode()[hidden.span[0]:hidden.span[1]] == b"setup = 1\n"
    assert [d.name for d in hidden.directives] == ["invisible"]
    assert shown.line == 7
    (session,) = plan_file(source, Config())
    assert len(session.tasks) == 2  # hidden setup runs in the page's session


@pytest.mark.parametrize("dialect", DIALECTS)
def test_invisible_code_block_explicit_end_form(dialect: str):
    text = ("<!-- invisible-code-block: python -->\nx = 1\ny = 2\n"
            "<!-- end-invisible-code-block -->\n")
    (hidden,) = load(text, dialect).examples
    assert (hidden.line, hidden.end_line, hidden.code) == (1, 4, "x = 1\ny = 2\n")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_markers_inside_a_code_block_are_text(dialect: str):
    text = (f"````markdown\n<!-- skip: next -->\n<!--- invisible-code-block: python\n"
            f"boom()\n--->\n````\n\n{FENCE}python\nx = 1\n{FENCE}\n")
    source = load(text, dialect)
    assert [(e.line, e.directives) for e in source.examples] == [(8, ())]


def test_unclosed_invisible_block_warns():
    source = load("<!--- invisible-code-block: python\nx = 1\n", "commonmark")
    (hidden,) = source.examples
    assert not hidden.closed
    assert any("unclosed" in w.message and w.line == 1 for w in source.warnings)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_invisible_setup_feeds_the_next_block_in_block_mode(dialect: str):
    text = (f"<!--- invisible-code-block: python\nbase = 40\n--->\n\n{FENCE}python\n"
            f"assert base == 40\n{FENCE}\n\n{FENCE}python\nother = 1\n{FENCE}\n")
    source = load(text, dialect)
    sessions = plan_file(source, Config(sessions="block"))
    assert [[t.example.line for t in s.tasks] for s in sessions] == [[1, 5], [9]]
    assert source.examples[0].directives[0].origin == "<!--- invisible-code-block: python"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_skip_region_keeps_its_reason(dialect: str):
    text = (f'<!-- skip: start "old API" -->\n{FENCE}python\n1/0\n{FENCE}\n<!-- skip: end -->\n'
            f"<!-- skip: start 'never ended' -->\n{FENCE}python\n1/0\n{FENCE}\n")
    assert statuses(text, dialect) == [(2, "old API", "<!-- skip: start -->"),
                                       (7, "never ended", "<!-- skip: start -->")]


def test_skip_reasons_are_the_reported_reasons(write, check_json):
    write("a.md", f'<!-- skip: start "old API" -->\n{FENCE}python\n1/0\n{FENCE}\n'
                  f'<!-- skip: end -->\n\n<!-- skip: next "flaky on CI" -->\n'
                  f"{FENCE}python\n1/0\n{FENCE}\n")
    _, report = check_json("a.md")
    assert [(e["status"], e["reason"]) for e in report["examples"]] == [
        ("skipped", "old API"), ("skipped", "flaky on CI")]


# --- clear-namespace -------------------------------------------------------------------------

CLEARED = (f"{FENCE}python\nbefore = 1\n{FENCE}\n\n"  # line 1
           "<!-- clear-namespace -->\n\n"  # line 5
           f"{FENCE}python\ntry:\n    before\nexcept NameError:\n    print('gone')\n"  # line 7
           f"else:\n    print('still there')\nafter = 2\n{FENCE}\n\n"
           f"{FENCE}python\nprint(after)\n{FENCE}\n")  # line 17


@pytest.mark.parametrize("dialect", DIALECTS)
def test_clear_namespace_starts_the_page_anew(dialect: str, write, check_json):
    write("a.md", CLEARED)
    _, report = check_json("--dialect", dialect, "a.md")
    assert [(e["line"], e["status"], e["stdout"], e["session"]) for e in report["examples"]] == [
        (1, "passed", "", "a.md"),
        (7, "passed", "gone\n", "a.md@5"),  # `before` is not seen below the marker
        (17, "passed", "2\n", "a.md@5"),  # what is defined below it is shared as before
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_clear_namespace_sybil_multiline_form(dialect: str):
    text = (f"{FENCE}python\nx = 1\n{FENCE}\n<!--- clear-namespace\n--->\n"
            f"{FENCE}python\nprint(x)\n{FENCE}\n")
    sessions = plan_file(load(text, dialect), Config())
    assert [(s.id, [t.example.line for t in s.tasks]) for s in sessions] == [
        ("p.md", [1]), ("p.md@4", [6])]
    (_, after) = load(text, dialect).examples
    assert [(d.name, d.line, d.origin) for d in after.directives] == [
        ("clear-namespace", 4, "<!--- clear-namespace")]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_clear_namespace_as_text_or_in_a_code_block_is_not_a_marker(dialect: str):
    text = (f"````markdown\n<!-- clear-namespace -->\n````\n\n{FENCE}python\nx = 1\n{FENCE}\n"
            "<!-- clear-namespace: not quite -->\n\n"
            f"{FENCE}python\nprint(x)\n{FENCE}\n")
    sessions = plan_file(load(text, dialect), Config())
    assert [s.id for s in sessions] == ["p.md"]


def test_clear_namespace_starts_named_sessions_anew(write, check_json):
    write("a.md", f'{FENCE}python group="g"\nfrom_g = 1\n{FENCE}\n\n<!-- clear-namespace -->\n\n'
                  f'{FENCE}python group="g"\nprint("from_g" in globals())\n{FENCE}\n')
    _, report = check_json("a.md")
    assert [(e["session"], e["stdout"]) for e in report["examples"]] == [
        ("a.md#g", ""), ("a.md#g@5", "False\n")]


def test_continuation_across_clear_namespace_is_a_directive_error(write, check_json):
    write("a.md", f"{FENCE}python\nx = 1\n{FENCE}\n\n<!-- clear-namespace -->\n\n"
                  f"{FENCE}python continuation\nprint(x)\n{FENCE}\n\n"
                  f"{FENCE}python continuation\ny = 2\n{FENCE}\n")
    code, report = check_json("a.md")
    first, crossing, later = report["examples"]
    assert code == 1 and first["status"] == "passed"
    assert crossing["status"] == "failed" and crossing["error"]["type"] == "DirectiveError"
    assert "'continuation' cannot continue the block before <!-- clear-namespace -->" in \
        crossing["error"]["message"]
    # A continuation further down continues the namespace started at the marker.
    assert later["status"] == "passed" and later["session"] == "a.md@5"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_hidden_setup_does_not_feed_a_block_after_clear_namespace(dialect: str):
    text = (f"<!--- invisible-code-block: python\nbase = 40\n--->\n<!-- clear-namespace -->\n"
            f"{FENCE}python\nbase\n{FENCE}\n")
    sessions = plan_file(load(text, dialect), Config(sessions="block"))
    assert [[t.example.line for t in s.tasks] for s in sessions] == [[1], [5]]
