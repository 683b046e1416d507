"""``docvalidate fix`` without an LLM: deterministic fixers, safe write-back, reports."""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

from docvalidate.config import Config
from docvalidate.engine import collect
from docvalidate.fixing import fix

FENCE = "```"


def test_missing_import_is_added_and_only_code_bytes_change(project: Path):
    doc = project / "a.md"
    original = (f"\ufeff# Title\r\n\r\n> {FENCE}python\r\n> print(json.dumps([1]))\r\n"
                f"> {FENCE}\r\n\r\nafter\r\n").encode()
    doc.write_bytes(original)
    os.chmod(doc, 0o640)
    result = invoke("fix", "a.md")
    assert result.exit_code == 0, result.output
    assert "FIXED a.md:3" in result.output and "by import" in result.output
    new = doc.read_bytes()
    assert new == original.replace(b"> print(", b"> import json\r\n> print(")
    assert stat.S_IMODE(doc.stat().st_mode) == 0o640
    assert invoke("check", "a.md").exit_code == 0


def test_import_seen_elsewhere_in_the_docs(project: Path, write):
    write("docs/setup.md", f"{FENCE}python\nimport collections as co\n{FENCE}\n")
    doc = write("docs/use.md", f"{FENCE}python\nprint(co.Counter('aab'))\n{FENCE}\n")
    assert invoke("fix", "docs").exit_code == 0
    assert doc.read_text().startswith(f"{FENCE}python\nimport collections as co\n")


def test_dry_run_writes_nothing_and_prints_the_diff(project: Path, write):
    doc = write("a.md", f"{FENCE}python\nprint(math.pi > 3)\n{FENCE}\n")
    before = doc.read_bytes()
    result = invoke("fix", "--dry-run", "a.md")
    assert doc.read_bytes() == before
    assert "+import math" in result.output and "--- a/a.md" in result.output
    assert "0 files written" in result.output


def test_diffs_keep_a_line_with_a_form_feed_whole(project: Path, write):
    # A form feed is an ordinary character inside a Markdown line: str.splitlines would cut
    # the line in two, and the diff would show a line that is not in the file.
    write("a.md", f"# T\x0cU\n\n{FENCE}python\nx = 1  # a\x0cb\nprint(math.pi > 3)\n{FENCE}\n")
    result = invoke("fix", "--dry-run", "--format", "json", "a.md")
    report = json.loads(result.stdout)
    assert report["examples"][0]["repair"]["diff"] == (
        "--- a.md:3 (before)\n+++ a.md:3 (after)\n@@ -1,2 +1,3 @@\n"
        "+import math\n x = 1  # a\x0cb\n print(math.pi > 3)\n")
    shown = invoke("fix", "--dry-run", "a.md").output
    assert "@@ -1,6 +1,7 @@\n # T\\x0cU\n" in shown, shown


def test_output_is_only_updated_when_asked(project: Path, write):
    doc = write("a.md", f"{FENCE}python\nprint(1 + 1)\n#> 3\n{FENCE}\n")
    result = invoke("fix", "a.md")
    assert result.exit_code == 1
    assert "UNFIXED a.md:1" in result.output
    assert "configure a model" in result.output  # the one-line hint when no LLM is set
    assert "#> 3" in doc.read_text()
    result = invoke("fix", "--update-output", "a.md")
    assert result.exit_code == 0, result.output
    assert "#> 2" in doc.read_text() and "by output" in result.output


def test_repairing_an_earlier_block_fixes_the_later_one(project: Path, write):
    doc = write("a.md", f"{FENCE}python\ndata = json.loads('[1, 2]')\n{FENCE}\n\n"
                f"{FENCE}python\nassert sum(data) == 3\n{FENCE}\n")
    result = invoke("fix", "--format", "json", "a.md")
    report = json.loads(result.stdout)
    first, second = report["examples"]
    assert first["repair"]["status"] == "fixed" and first["repair"]["fixer"] == "import"
    assert second["repair"]["status"] == "fixed" and second["repair"]["fixer"] is None
    assert second["repair"]["diff"] == ""
    assert report["summary"]["still_failing"] == 0 and result.exit_code == 0
    assert doc.read_text().count("import json") == 1


def test_no_fix_blocks_are_left_alone(project: Path, write):
    doc = write("a.md", f"<!-- docvalidate: no-fix -->\n{FENCE}python\nprint(os.sep)\n{FENCE}\n")
    before = doc.read_text()
    result = invoke("fix", "--format", "json", "a.md")
    (ex,) = json.loads(result.stdout)["examples"]
    assert ex["repair"]["status"] == "skipped" and "no-fix" in ex["repair"]["reason"]
    assert doc.read_text() == before and result.exit_code == 1


def test_a_file_changed_on_disk_is_not_overwritten(project: Path, write):
    doc = write("a.md", f"{FENCE}python\nprint(json.dumps(1))\n{FENCE}\n")
    config = Config()
    collected = collect(config, ("a.md",))
    doc.write_text(doc.read_text() + "\nEdited meanwhile.\n")
    edited = doc.read_text()
    report = fix(config, ("a.md",), collected=collected)
    assert doc.read_text() == edited
    (repair,) = report.repairs
    assert repair.status == "conflict"
    assert report.files[0].status == "conflict" and not report.ok


def test_json_report_of_a_fix(project: Path, write):
    write("a.md", f"{FENCE}python\nprint(sys.version_info.major)\n{FENCE}\n\n"
          f"{FENCE}python\nundefined_thing()\n{FENCE}\n")
    result = invoke("fix", "--format", "json", "a.md")
    report = json.loads(result.stdout)
    fixed, unfixed = (e["repair"] for e in report["examples"])
    assert fixed["status"] == "fixed" and "+import sys" in fixed["diff"]
    assert fixed["attempts"][0]["code"].startswith("import sys\n")
    assert fixed["attempts"][0]["error"] is None and fixed["attempts"][0]["rejected"] is None
    assert unfixed["status"] == "unfixed" and unfixed["fixer"] is None
    assert report["summary"]["fixed"] == 1 and report["summary"]["unfixed"] == 1
    assert report["summary"]["still_failing"] == 1 and report["summary"]["tokens"] == 0
    assert result.exit_code == 1


def test_one_session_run_judges_a_repair_and_the_blocks_after_it(
        project: Path, write, monkeypatch):
    """Block 1's import repair runs with blocks 2 and 3 after it (3 passed in the check); that
    one run also shows that block 2 passes now, so block 2 is not run again."""
    from docvalidate.repair import loop

    runs: list[int] = []

    def counting(work, session, *args, **kwargs):  # type: ignore[no-untyped-def]
        runs.append(len(session.tasks))
        return real(work, session, *args, **kwargs)

    real = loop.run_session
    monkeypatch.setattr(loop, "run_session", counting)
    doc = write("a.md", f"{FENCE}python\ndata = json.loads('[1, 2]')\n{FENCE}\n\n"
                f"{FENCE}python\nassert sum(data) == 3\n{FENCE}\n\n"
                f"{FENCE}python\nprint('ok')\n{FENCE}\n")
    report = fix(Config(), ("a.md",))
    assert [r.status for r in report.repairs] == ["fixed", "fixed"]
    assert report.repairs[1].reason == "passes once the blocks before it are repaired"
    assert runs == [3]  # one candidate, the whole session
    assert doc.read_text().count("import json") == 1


# --- the final check decides ------------------------------------------------------------------

FIXABLE = f"{FENCE}python\nprint(json.dumps([1]))\n{FENCE}\n"
UNFIXABLE = f"\n{FENCE}python\nundefined_thing()\n{FENCE}\n"
# Passes in the check and in the repair's run (the page on disk has no import yet), fails once
# the repair is written: only a check of the written file can see that.
READS_THE_PAGE = (f"\n{FENCE}python\nlines = open('a.md').read().splitlines()\n"
                  f"assert not any(line.startswith('import') for line in lines), "
                  f"'the page has an import now'\n{FENCE}\n")


@pytest.mark.parametrize("text, code, final", [
    (FIXABLE, 0, {"passed": 1, "failed": 0}),
    (FIXABLE + UNFIXABLE, 1, {"passed": 1, "failed": 1}),
    (FIXABLE + READS_THE_PAGE, 1, {"passed": 1, "failed": 1}),
], ids=["all-fixed", "one-unfixable", "fails-only-once-written"])
def test_the_check_after_writing_decides_the_exit_code(project: Path, write, text: str,
                                                       code: int, final: dict[str, int]):
    doc = write("a.md", text)
    result = invoke("fix", "--format", "json", "a.md")
    assert result.exit_code == code, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["failed"] == 1 + text.count("undefined_thing")  # the first check
    assert {k: report["final"][k] for k in final} == final
    assert report["summary"]["still_failing"] == final["failed"]
    assert report["files_written"] == [{"path": "a.md", "status": "written", "message": None}]
    first = report["examples"][0]
    assert first["repair"]["status"] == "fixed" and first["final"]["status"] == "passed"
    assert doc.read_text().startswith(f"{FENCE}python\nimport json\n")
    if len(report["examples"]) == 2:
        # The example after the repair moved down a line; its final entry says where it is.
        second = report["examples"][1]
        assert second["final"]["line"] == second["line"] + 1
        assert second["final"]["status"] == "failed"
    # The text report's last line is the final check's.
    doc.write_text(text)
    lines = invoke("fix", "a.md").output.strip().splitlines()
    summary = [line for line in lines if " fixed; " in line]
    assert summary == [f"1 fixed; 1 file written; after fixing: {final['passed']} passed, "
                       f"{final['failed']} failed"]


def test_a_written_example_that_fails_afterwards_is_reported(project: Path, write):
    write("a.md", FIXABLE + READS_THE_PAGE)
    result = invoke("fix", "a.md")
    assert result.exit_code == 1
    assert ("FAILED a.md:6  after fixing: AssertionError: the page has an import now"
            in result.output)


@pytest.mark.parametrize("text, code", [(FIXABLE, 0), (FIXABLE + UNFIXABLE, 1)],
                         ids=["fully-fixable", "partly-fixable"])
def test_dry_run_exits_as_the_real_run_does(project: Path, write, text: str, code: int):
    doc = write("a.md", text)
    os.utime(doc, ns=(1_000_000_000, 1_000_000_000))  # an mtime a rewrite could not keep
    before = doc.read_bytes()
    dry = invoke("fix", "--dry-run", "--format", "json", "a.md")
    assert dry.exit_code == code, dry.output
    assert doc.read_bytes() == before and doc.stat().st_mtime_ns == 1_000_000_000
    assert json.loads(dry.stdout)["files_written"][0]["status"] == "dry-run"
    assert json.loads(dry.stdout)["final"]["failed"] == code
    real = invoke("fix", "a.md")
    assert real.exit_code == dry.exit_code
    assert doc.read_bytes() != before


# --- pages behind symlinks ----------------------------------------------------------------------

BROKEN = f"# Page\n\n{FENCE}python\nprint(json.dumps([1]))\n{FENCE}\n"
REPAIRED = BROKEN.replace("print(", "import json\nprint(")


def _layout(kind: str, project: Path, outside: Path) -> tuple[str, Path, list[Path]]:
    """(page as named, the file it really is, the links on the way) for each kind of link."""
    if kind == "file-link":
        target = project / "real" / "a.md"
        links = [project / "docs" / "a.md"]
        pairs = [(links[0], target)]
    elif kind == "chain":
        target = project / "real" / "a.md"
        links = [project / "docs" / "a.md", project / "docs" / "hop.md"]
        pairs = [(links[0], links[1]), (links[1], target)]
    elif kind == "folder-link":
        target = project / "real" / "a.md"
        links = [project / "docs"]
        pairs = [(links[0], project / "real")]
    elif kind == "file-link-outside":
        target = outside / "a.md"
        links = [project / "docs" / "a.md"]
        pairs = [(links[0], target)]
    elif kind == "folder-link-outside":
        target = outside / "a.md"
        links = [project / "docs"]
        pairs = [(links[0], outside)]
    else:  # a link into another project: its own pyproject.toml does not make it ours
        (outside / "pyproject.toml").write_text("[project]\nname = 'other'\n")
        target = outside / "a.md"
        links = [project / "docs" / "a.md"]
        pairs = [(links[0], target)]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(BROKEN)
    target.chmod(0o640)
    for link, to in pairs:
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(to, link.parent))
    return "docs/a.md", target, links


@pytest.mark.parametrize("kind, inside", [
    ("file-link", True), ("chain", True), ("folder-link", True),
    ("file-link-outside", False), ("folder-link-outside", False),
    ("link-into-another-project", False),
])
@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
def test_a_page_behind_symlinks(project: Path, tmp_path_factory: pytest.TempPathFactory,
                                kind: str, inside: bool, dry_run: bool):
    outside = tmp_path_factory.mktemp("outside")  # a sibling of the project's folder
    page, target, links = _layout(kind, project, outside)
    before = target.stat()
    result = invoke("fix", "--format", "json", *(["--dry-run"] if dry_run else []), page)
    report = json.loads(result.stdout)
    assert all(link.is_symlink() for link in links)
    (entry,) = report["files_written"]
    if inside:
        assert result.exit_code == 0, result.output
        assert entry == {"path": page, "status": "dry-run" if dry_run else "written",
                         "message": None}
        assert target.read_text() == (BROKEN if dry_run else REPAIRED)
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        if dry_run:
            assert target.stat().st_mtime_ns == before.st_mtime_ns
        else:
            assert target.stat().st_ino != before.st_ino  # replaced by a rename
        leftovers = [p.name for p in target.parent.iterdir() if p.name.endswith(".docvalidate")]
        assert leftovers == []
    else:
        assert result.exit_code == 1, result.output
        how = "is a symlink to" if kind.startswith(("file", "link")) else \
            "is reached through a symlinked folder: it is"
        assert entry["status"] == "refused"
        assert entry["message"] == (f"{page} {how} {target}, outside the project root "
                                    f"{project}; not written")
        assert target.read_text() == BROKEN
        assert target.stat().st_mtime_ns == before.st_mtime_ns
        (example,) = report["examples"]
        assert example["repair"]["status"] == "conflict"
        assert example["final"]["status"] == "failed"
        assert report["final"]["failed"] == 1


def test_refused_page_in_the_text_report(project: Path,
                                         tmp_path_factory: pytest.TempPathFactory):
    outside = tmp_path_factory.mktemp("outside")
    page, target, _ = _layout("file-link-outside", project, outside)
    result = invoke("fix", page)
    assert result.exit_code == 1
    assert (f"{page}: refused: {page} is a symlink to {target}, outside the project root "
            f"{project}; not written") in result.output


def test_a_page_behind_a_symlink_changed_on_disk_is_a_conflict(project: Path,
                                                               tmp_path_factory):
    page, target, (link,) = _layout("file-link", project, tmp_path_factory.mktemp("outside"))
    config = Config()
    collected = collect(config, (page,))
    target.write_text(BROKEN + "\nEdited meanwhile.\n")
    report = fix(config, (page,), collected=collected)
    assert report.files[0].status == "conflict" and not report.ok
    assert target.read_text().endswith("Edited meanwhile.\n") and link.is_symlink()


# --- one file's failure costs that file only ----------------------------------------------------


def _fails_for_a(real: Callable[..., Any], name_of: Callable[..., str],
                 error: Exception) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if Path(name_of(*args)).name == "a.md":
            raise error
        return real(*args, **kwargs)
    return wrapper


@pytest.mark.parametrize("where, name_of, a_written, a_status, message", [
    ("write_atomically", lambda target, *_: target, False, "error",
     "cannot write {a}: Input/output error; the file was not changed"),
    ("rewrite_document", lambda source, *_: source.path, False, "error",
     "internal error: RuntimeError('boom'); the file was not changed"),
    ("run_session", lambda work, *_: work.source.path, True, "written", None),
    # Collecting reads a.md as it was; only reading it again after the rewrite fails.
    ("read", lambda path, *_: path if "json" in Path(path).read_text() and
     "import json" in Path(path).read_text() else "not-a", True, "written", None),
], ids=["write", "rewrite", "final-run", "final-read"])
def test_a_failure_with_one_file_leaves_the_others_alone(
        project: Path, write, monkeypatch: pytest.MonkeyPatch, where: str,
        name_of: Callable[..., str], a_written: bool, a_status: str, message: str | None):
    import docvalidate.fixing as fixing
    from docvalidate.sources.markdown_edit import MARKDOWN

    error = OSError(errno.EIO, os.strerror(errno.EIO)) if where == "write_atomically" \
        else RuntimeError("boom")
    # The final check reads a page again through its source kind.
    owner: Any = MARKDOWN if where == "read" else fixing
    monkeypatch.setattr(owner, where, _fails_for_a(getattr(owner, where), name_of, error))
    a, b = write("a.md", BROKEN), write("b.md", BROKEN)
    result = invoke("fix", "--format", "json", "a.md", "b.md")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["files_written"] == [
        {"path": "a.md", "status": a_status,
         "message": message.format(a=a) if message else None},
        {"path": "b.md", "status": "written", "message": None},
    ]
    assert a.read_text() == (REPAIRED if a_written else BROKEN)
    assert b.read_text() == REPAIRED
    assert [p.name for p in project.iterdir() if p.name.endswith(".docvalidate")] == []
    final_a, final_b = (e["final"] for e in report["examples"])
    assert final_b["status"] == "passed"
    if where == "run_session":
        assert final_a["status"] == "failed"
        assert final_a["error"]["type"] == "FinalCheckError"
    elif where == "read":
        assert final_a is None
        assert report["final"]["errors"] == [
            {"path": "a.md", "error": "could not read the file again after the rewrite: boom"}]
    else:
        assert final_a["status"] == "failed" and final_a["error"]["type"] == "NameError"
    assert report["final"]["passed"] == 1


# --- one document per real file ----------------------------------------------------------------


@pytest.mark.parametrize("second", ["docs/link.md", "./docs/../docs/a.md", "docs/hard.md"])
def test_two_paths_to_one_file_are_one_document(project: Path, write, second: str):
    """A page reached twice (a symlink to it in the same folder, the same page named twice, a
    hard link) is checked once and rewritten once, under the first path that reaches it."""
    page = write("docs/a.md", BROKEN)
    os.symlink("a.md", project / "docs" / "link.md")
    os.link(page, project / "docs" / "hard.md")
    for args in (("docs",), ("docs/a.md", second)):
        report = json.loads(invoke("check", "--format", "json", *args).stdout)
        assert [e["id"] for e in report["examples"]] == ["docs/a.md:3"], args
        assert [f["path"] for f in report["files"]] == ["docs/a.md"], args
    result = invoke("fix", "--format", "json", "docs/a.md", second)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["files_written"] == [{"path": "docs/a.md", "status": "written",
                                        "message": None}]
    assert [e["repair"]["status"] for e in report["examples"]] == ["fixed"]
    assert page.read_text() == REPAIRED and (project / "docs" / "link.md").is_symlink()


# --- the edits in the report -------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [False, True], ids=["written", "dry-run"])
def test_the_edits_of_a_fix_are_in_its_report(project: Path, write, dry_run: bool):
    before = (f"# Page\r\n\r\n> {FENCE}python\r\n> print(json.dumps([1]))\r\n> {FENCE}\r\n\r\n"
              f"{FENCE}python\r\nprint(1)\r\n{FENCE}\r\n\r\n"
              f"{FENCE}python\r\nprint(math.pi > 3)\r\n{FENCE}\r\n").encode()
    page = project / "a.md"
    page.write_bytes(before)
    result = invoke("fix", "--format", "json", *(["--dry-run"] if dry_run else []), "a.md")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    first, untouched, last = (e["repair"] for e in report["examples"])
    assert untouched is None
    assert first["edits"] == [{"path": "a.md", "span": [before.index(b"> print"),
                                                         before.index(b"> ```\r\n\r\n")],
                               "new_text": "> import json\r\n> print(json.dumps([1]))\r\n"}]
    # The edits, applied last to first to the bytes that were read, give the file as written.
    new = before
    for edit in sorted(first["edits"] + last["edits"], key=lambda e: e["span"], reverse=True):
        start, end = edit["span"]
        new = new[:start] + edit["new_text"].encode() + new[end:]
    assert new == before.replace(b"> print(", b"> import json\r\n> print(").replace(
        b"print(math", b"import math\r\nprint(math")
    assert page.read_bytes() == (before if dry_run else new)


def test_the_fix_json_is_the_check_json_with_more_keys(project: Path, write):
    """Built from the same data as the check's report, never by reading that report back."""
    write("a.md", f"# Page\n\n{FENCE}python\nprint(math.pi > 3)\n{FENCE}\n\n"
          f"{FENCE}python\nprint('caf\\u00e9', '\\x1b[31m')\n{FENCE}\n")
    check = json.loads(invoke("check", "--format", "json", "a.md").stdout)
    fixed = json.loads(invoke("fix", "--dry-run", "--format", "json", "a.md").stdout)
    for entry in (*check["examples"], *fixed["examples"]):
        entry.pop("duration")
    assert [{k: v for k, v in e.items() if k not in ("repair", "final")}
            for e in fixed["examples"]] == check["examples"]
    assert {k: v for k, v in fixed["summary"].items() if k in check["summary"]} == \
        check["summary"]
    assert fixed["files"] == check["files"] and fixed["notices"] == check["notices"]
