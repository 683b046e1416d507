"""A realistic documentation site, checked end to end with the real command line.

``tests/fixtures/library_docs`` is an MkDocs site documenting ``minimodel``, a tiny
pydantic-like library that lives next to its ``mkdocs.yml`` (docvalidate puts that folder on
``sys.path``). Its pages are written the way pydantic's reference docs are, with the markers of
pytest-examples (``test="skip"``, ``test="xfail - ..."``, ``group=``, ``requires=``,
``test="no-print-intercept"``, ``lint="skip"``, ``#>`` print comments), Sybil's comments,
docvalidate's own directives, interactive sessions, admonitions and content tabs.

Every block's outcome is known. The site passes entirely both with ``sessions = "page"`` and
with ``sessions = "block"`` (pytest-examples semantics): every ungrouped block is
self-contained, as on pydantic's site, so sharing a namespace changes nothing. The only state
shared between blocks is explicit: ``group="..."`` blocks, and the Sybil invisible setup block
of migration.md, which a docvalidate directive puts in the ``records`` group of the blocks
that use it. (Without a directive, an invisible block runs in the page's session under
``sessions = "page"`` but in a session of its own under ``sessions = "block"``, where no other
block sees its names.)
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SITE = Path(__file__).resolve().parent / "fixtures" / "library_docs"
DOCS = "tests/fixtures/library_docs/docs"  # as the report names it (relative to REPO)
PAGES = ("index.md", "concepts/models.md", "concepts/fields.md", "concepts/validators.md",
         "errors.md", "migration.md")
TOTAL_EXAMPLES = 48
MODES = ("page", "block")
VERSION = ".".join(map(str, sys.version_info[:3]))  # the examples' interpreter


def docvalidate(*args: str | Path) -> tuple[int, dict[str, Any]]:
    """Run ``python -m docvalidate ARGS`` from the repository root; (exit code, JSON report)."""
    proc = subprocess.run([sys.executable, "-m", "docvalidate", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def page_lines(page: str, root: Path = SITE) -> list[str]:
    return (root / "docs" / page).read_text(encoding="utf-8").splitlines()


def line_of(page: str, anchor: str) -> int:
    """The 1-based line of the only line of ``page`` that contains ``anchor``."""
    hits = [n for n, text in enumerate(page_lines(page), 1) if anchor in text]
    assert len(hits) == 1, f"{anchor!r} should occur once in {page}, found on lines {hits}"
    return hits[0]


def _opens_example(text: str) -> bool:
    return text.lstrip().startswith(("```", "<!--- invisible-code-block"))


def example_at(page: str, anchor: str) -> str:
    """The id of the example that opens on, or first after, the line holding ``anchor``."""
    lines = page_lines(page)
    n = line_of(page, anchor)
    while not _opens_example(lines[n - 1]):
        n += 1
    return f"{DOCS}/{page}:{n}"


def example_holding(page: str, anchor: str) -> str:
    """The id of the example whose code holds the line with ``anchor``."""
    lines = page_lines(page)
    n = line_of(page, anchor)
    while not _opens_example(lines[n - 1]):
        n -= 1  # a fence above a line of code is the opening fence of its block
    return f"{DOCS}/{page}:{n}"


# What decides every example that is not simply run: (page, anchor) -> (marker, reason).
SKIPPED = {
    ("concepts/models.md", 'test="skip - needs network access"'):
        ('test="skip - needs network access"', "needs network access"),
    ("concepts/models.md", '```py test="skip"'):
        ('test="skip"', 'skipped by test="skip" at line {fence}'),
    ("concepts/fields.md", 'requires="3.99"'):
        ('requires="3.99"', f"requires Python 3.99 (examples run on {VERSION})"),
    ("migration.md", "<!-- skip: next -->"):
        ("<!-- skip: next -->", "skipped by <!-- skip: next --> at line {anchor}"),
    ("migration.md", 'test="skip - needs a running PostgreSQL server"'):
        ('test="skip - needs a running PostgreSQL server"', "needs a running PostgreSQL server"),
}
XFAIL = {
    ("concepts/validators.md", 'test="xfail - minimodel does not validate assignment yet"'):
        ('test="xfail - minimodel does not validate assignment yet"',
         "failed as expected (minimodel does not validate assignment yet): AssertionError: "
         "assignment was not validated"),
    ("errors.md", '```py test="xfail"'):
        ('test="xfail"', "failed as expected: TypeError: minimodel cannot validate fields of "
         "type typing.Literal['red', 'amber', 'green']"),
}
GROUPS = {  # named sessions: (page, group) -> a line of each of their blocks, in order
    ("concepts/models.md", "basic-model"): ["class User(Model):", "user = User(id='123')",
                                            "assert user.id == 123", "print(User.model_fields)",
                                            "user.id = 321"],
    ("concepts/validators.md", "signup"): ["class Signup(Model):",
                                           "print(Signup(username='scolvin', password='zxcvbn'))",
                                           ">>> Signup(username='scolvin!', password='')"],
    ("migration.md", "records"): ["<!--- invisible-code-block: python",
                                  "users = [User(**asdict(record)) for record in legacy]",
                                  "print([user.model_dump_json() for user in users])"],
}


def expected_skips() -> dict[str, tuple[str, str]]:
    result = {}
    for (page, anchor), (marker, reason) in SKIPPED.items():
        ex = example_at(page, anchor)
        fence = int(ex.rsplit(":", 1)[1])
        result[ex] = (marker, reason.format(fence=fence, anchor=line_of(page, anchor)))
    return result


def expected_xfails() -> dict[str, tuple[str, str]]:
    return {example_at(page, anchor): value for (page, anchor), value in XFAIL.items()}


@pytest.fixture(scope="module", params=MODES)
def checked(request: pytest.FixtureRequest) -> tuple[str, int, dict[str, Any]]:
    """The whole site checked once per sessions mode: (mode, exit code, JSON report)."""
    code, report = docvalidate("check", "--format", "json", "--sessions", request.param, DOCS)
    return request.param, code, report


@pytest.fixture(scope="module")
def listed() -> dict[str, Any]:
    code, report = docvalidate("list", "--format", "json", DOCS)
    assert code == 0
    return report


def test_the_whole_site_passes(checked):
    mode, code, report = checked
    failed = [(e["id"], e["error"]) for e in report["examples"] if e["status"] == "failed"]
    assert failed == [] and code == 0, f"--sessions {mode}: {failed}"
    assert report["summary"] == {"passed": TOTAL_EXAMPLES - len(SKIPPED), "failed": 0,
                                 "skipped": len(SKIPPED), "errors": 0, "file_errors": 0}
    assert len(report["examples"]) == TOTAL_EXAMPLES >= 40
    files = {f["path"]: (f["dialect"], f["error"], f["warnings"]) for f in report["files"]}
    assert files == {f"{DOCS}/{page}": ("mkdocs", None, []) for page in PAGES}
    assert sum(f["examples"] for f in report["files"]) == TOTAL_EXAMPLES


def test_skipped_examples_and_their_markers(checked):
    _, _, report = checked
    skipped = {e["id"]: (e["marker"], e["reason"]) for e in report["examples"]
               if e["status"] == "skipped"}
    assert skipped == expected_skips()


def test_xfail_examples_fail_as_expected(checked):
    _, _, report = checked
    by_id = {e["id"]: e for e in report["examples"]}
    for ex, (marker, reason) in expected_xfails().items():
        entry = by_id[ex]
        assert (entry["status"], entry["marker"], entry["reason"], entry["error"]) == (
            "passed", marker, reason, None), ex
    others = [e["id"] for e in report["examples"] if (e["reason"] or "").startswith("failed as")]
    assert sorted(others) == sorted(expected_xfails())


def test_examples_that_are_simply_run_pass_without_a_reason(checked):
    _, _, report = checked
    special = {*expected_skips(), *expected_xfails()}
    plain = [e for e in report["examples"] if e["id"] not in special]
    assert len(plain) == TOTAL_EXAMPLES - len(special)
    assert {(e["status"], e["reason"], e["marker"], e["error"]) for e in plain} == {
        ("passed", None, None, None)}


def test_markers_that_do_not_skip(checked):
    _, _, report = checked
    by_id = {e["id"]: e for e in report["examples"]}

    def names(page: str, anchor: str) -> list[tuple[str, str | None]]:
        entry = by_id[example_at(page, anchor)]
        assert entry["status"] == "passed", entry
        return [(d["name"], d["value"]) for d in entry["directives"]]

    assert names("concepts/fields.md", 'requires="3.10"') == [("requires", "3.10")]
    assert names("concepts/models.md", 'lint="skip"') == []  # concerns linting only
    assert names("concepts/fields.md", 'test="no-print-intercept"') == [("no-print-check", None)]
    assert names("errors.md", "raises=minimodel.ValidationError") == [
        ("raises", "minimodel.ValidationError")]
    assert names("errors.md", "raises=ValueError") == [("raises", "ValueError")]
    assert names("migration.md", "<!--- invisible-code-block") == [
        ("session", "records"), ("invisible", None)]


def test_sessions(checked):
    """Groups are named sessions in both modes; other blocks share the page's session (page)
    or each have their own (block)."""
    mode, _, report = checked
    sessions = {e["id"]: e["session"] for e in report["examples"]}
    grouped = set()
    for (page, group), anchors in GROUPS.items():
        members = [example_holding(page, anchor) for anchor in anchors]
        assert [sessions[m] for m in members] == [f"{DOCS}/{page}#{group}"] * len(anchors)
        grouped.update(members)
    assert sum(s.endswith(("#basic-model", "#signup", "#records")) for s in sessions.values()) \
        == len(grouped) == 11
    for ex, session in sessions.items():
        if ex not in grouped:
            assert session == (ex.rsplit(":", 1)[0] if mode == "page" else ex)


def test_list_shows_the_deciding_marker(listed):
    entries = {e["id"]: e for e in listed["examples"]}
    assert len(entries) == TOTAL_EXAMPLES
    decided = {ex: (e["marker"], e["skip"]) for ex, e in entries.items()
               if e["marker"] is not None or e["skip"] is not None}
    expected = {ex: (marker, reason) for ex, (marker, reason) in expected_skips().items()}
    expected.update({ex: (marker, None) for ex, (marker, _) in expected_xfails().items()})
    assert decided == expected


# --- every expected output is compared ----------------------------------------------------


def expected_status(ex: str) -> str:
    return "skipped" if ex in expected_skips() else "passed"


def as_in_site(ex: str, copy: Path) -> str:
    """The id in the fixture site of an example of a copy of it."""
    prefix = f"{copy / 'docs'}/"
    assert ex.startswith(prefix), ex
    return f"{DOCS}/{ex.removeprefix(prefix)}"


def copy_site(tmp_path: Path) -> Path:
    copy = tmp_path / "library_docs"
    shutil.copytree(SITE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def replace_line(root: Path, page: str, number: int, old: str, new: str) -> None:
    path = root / "docs" / page
    lines = path.read_text(encoding="utf-8").split("\n")
    assert old in lines[number - 1], (page, number, lines[number - 1])
    lines[number - 1] = lines[number - 1].replace(old, new)
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("page", "old", "new", "minus", "plus"), [
    pytest.param("concepts/models.md", "#> x=1 y='not checked'", "#> x=1 y='checked'",
                 "-x=1 y='checked'", "+x=1 y='not checked'", id="print-comment"),
    pytest.param("concepts/models.md", "    Item(name='cup', price=3.0)",
                 "    Item(name='cup', price=3)",
                 "-Item(name='cup', price=3)", "+Item(name='cup', price=3.0)", id="pycon"),
])
def test_a_changed_expected_output_fails_at_its_line(tmp_path, mode, page, old, new, minus,
                                                     plus):
    copy = copy_site(tmp_path)
    number = line_of(page, old)
    replace_line(copy, page, number, old, new)
    code, report = docvalidate("check", "--format", "json", "--sessions", mode,
                               copy / "docs" / page)
    assert code == 1
    failed = [e for e in report["examples"] if e["status"] == "failed"]
    assert len(failed) == 1, failed
    (example,) = failed
    error = example["error"]
    assert error["type"] == "OutputMismatch"
    assert error["line"] == number
    assert example["line"] < number < example["end_line"]
    assert minus in error["diff"].splitlines()
    assert plus in error["diff"].splitlines()
    others = {as_in_site(e["id"], copy): e["status"] for e in report["examples"]
              if e is not example}
    assert others == {ex: expected_status(ex) for ex in others}
    assert len(others) == len(report["examples"]) - 1 >= 5


def _example_lines(root: Path, entry: dict[str, Any]) -> list[tuple[int, str]]:
    page = entry["path"].removeprefix(f"{DOCS}/")
    lines = page_lines(page, root)
    return [(n, lines[n - 1].strip()) for n in range(entry["line"] + 1, entry["end_line"])]


def _first_expected_output(body: list[tuple[int, str]]) -> tuple[int, int] | None:
    """For an interactive session: (line the mismatch is reported at, line to change)."""
    for (_, before), (n, text) in itertools.pairwise(body):
        if before.startswith((">>>", "...")) and text and not text.startswith((">>>", "...")):
            if not text.startswith("Traceback"):
                return n, n
            message = next(m for m, t in body if m > n and t and t[0].isalnum())
            return n, message  # doctest reports an exception at its Traceback line
    return None


def test_every_print_comment_and_session_output_is_compared(tmp_path, listed):
    """Change the first expected line of every example: each example that is run and whose
    output is checked must fail at that line; the others keep their status."""
    copy = copy_site(tmp_path)
    unchecked = {*expected_skips(), *expected_xfails(),
                 example_at("concepts/fields.md", 'test="no-print-intercept"')}
    expected_failures: dict[str, int] = {}
    changed_unchecked = []
    for entry in listed["examples"]:
        body = _example_lines(SITE, entry)
        if entry["language"] == "pycon" or (body and body[0][1].startswith(">>>")):
            found = _first_expected_output(body)
            assert found is not None, entry["id"]
            report_line, change = found
        else:
            comments = [n for n, text in body if text.startswith("#>")]
            if not comments:
                continue
            report_line = change = comments[0]
        page = entry["path"].removeprefix(f"{DOCS}/")
        text = page_lines(page)[change - 1].strip()
        head = "#> " if text.startswith("#>") else ""
        replace_line(copy, page, change, text, head + "CHANGED " + text.removeprefix(head))
        if entry["id"] in unchecked:
            changed_unchecked.append(entry["id"])
        else:
            expected_failures[entry["id"]] = report_line
    assert len(expected_failures) == 34
    assert len(changed_unchecked) == 5  # no-print-intercept, an xfail, three skipped blocks

    original = [e["id"] for e in listed["examples"]]
    for mode in MODES:
        code, report = docvalidate("check", "--format", "json", "--sessions", mode,
                                   copy / "docs")
        assert code == 1
        outcomes = {as_in_site(e["id"], copy): e for e in report["examples"]}
        assert len(outcomes) == TOTAL_EXAMPLES
        failures = {ex: (e["error"]["type"], e["error"]["line"])
                    for ex, e in outcomes.items() if e["status"] == "failed"}
        assert failures == {ex: ("OutputMismatch", n) for ex, n in expected_failures.items()}
        assert {ex: e["status"] for ex, e in outcomes.items() if ex not in failures} == {
            ex: expected_status(ex) for ex in original if ex not in expected_failures}


# --- the site is what MkDocs builds --------------------------------------------------------

_BLOCK_RE = re.compile(r'<div [^>]*\bclass="language-(?P<lang>\S+)[^"]*\bhighlight"[^>]*>'
                       r".*?<code>(?P<body>.*?)</code>", re.DOTALL)
_TAG_RE = re.compile(r"<[^>]+>")
LANGUAGES = {"py": "python", "python": "python", "pycon": "pycon"}


def test_examples_are_the_code_blocks_of_the_built_site(tmp_path, listed):
    """``mkdocs build --strict`` builds the fixture (its hook hides the pytest-examples options
    from superfences, as pydantic's site does); the examples docvalidate finds, including those
    nested in admonitions, details and both kinds of tabs, are exactly the Python code blocks
    of the built pages (plus the invisible setup block, which the site does not show)."""
    built = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                           "--config-file", SITE / "mkdocs.yml", "--site-dir", built],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == 0, proc.stderr
    containers, total = set(), 0
    for page in PAGES:
        output = built / page.removesuffix("index.md").removesuffix(".md") / "index.html"
        rendered = output.read_text(encoding="utf-8")
        containers.update(re.findall(r'<(?:div|details) class="([^"]*)"', rendered))
        shown = [(LANGUAGES[m.group("lang")],
                  html.unescape(_TAG_RE.sub("", m.group("body"))).strip())
                 for m in _BLOCK_RE.finditer(rendered) if m.group("lang") in LANGUAGES]
        found = []
        for entry in listed["examples"]:
            if entry["path"] != f"{DOCS}/{page}" or any(
                    d["name"] == "invisible" for d in entry["directives"]):
                continue
            lines = page_lines(page)[entry["line"]:entry["end_line"] - 1]
            found.append((entry["language"], textwrap.dedent("\n".join(lines)).strip()))
        assert shown == found, page
        total += len(found)
    assert total == TOTAL_EXAMPLES - 1
    assert {"admonition note", "admonition info", "tip", "warning",  # !!! and ??? blocks
            "tabbed-set tabbed-alternate",  # === "Tab" content tabs
            "tabbed-set"} <= containers  # /// tab | Title blocks
