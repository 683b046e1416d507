"""``docvalidate fix`` without an LLM: deterministic fixers, safe write-back, reports."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

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
