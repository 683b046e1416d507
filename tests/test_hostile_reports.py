"""Reports of hostile examples: what an example prints or raises, what a model answers and what
a file is named are shown, never obeyed — by a terminal, by rich, or by the GitHub Actions
runner — and never crash the report.

The hostile strings are built with chr() inside the examples, so the escaped forms asserted
on can only come from the examples' output, not from the code listing of the document.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke
from llm_server import LLMServer, answer

REPO = Path(__file__).resolve().parents[1]
FENCE = "```"
ESC, BEL = "\x1b", "\x07"

# Raw characters that must never reach a report: C0 controls but newline and tab, DEL, C1,
# bidi controls, line/paragraph separators, lone surrogates.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                 "\u2066-\u2069\ud800-\udfff]")


def assert_safe(report: str) -> None:
    """No raw control and no line that the Actions runner would take for a command."""
    assert not RAW.search(report), repr(RAW.findall(report))
    for line in report.split("\n"):
        assert not line.lstrip().startswith("::"), repr(line)


HOSTILE = f"""# Hostile output

{FENCE}python
print(chr(27) + "[2J" + chr(27) + "]0;pwned" + chr(7) + "title")
print("1 failed" + chr(13) + "all passed")
print("rtl" + chr(0x202E) + "txt" + chr(0x2066) + "iso" + chr(0x9B) + "csi" + chr(0x7F) + "del")
print("::" + "error file=x.py,line=1::boom")
print("  ::" + "warning::indented")
print(chr(0xA0) + "::" + "notice::nbsp")
print("[bold " + "red]x[/]")
print("caf" + chr(0xE9) + " " + chr(0x20AC))
import sys
print("::" + "add-mask::to-stderr", file=sys.stderr)
x = 1  # raw in the document: {ESC}]0;doc{BEL}{chr(0x202E)}
raise ValueError("msg" + chr(27) + "[31m" + chr(10) + "::" + "error::in-message")
{FENCE}

{FENCE}python
raise ValueError(chr(0xDCFF))
{FENCE}

{FENCE}python
raise type("::" + "error file=t::T", (Exception,), {{}})("type")
{FENCE}

{FENCE}python
print("::" + "warning::same" + chr(10) + chr(27) + "[2K")
#> ::warning::same
#> y
{FENCE}

{FENCE}python
raise KeyError("later")
{FENCE}
"""

# Whole lines of the text report, exactly.
SHOWN_LINES = [
    "\\x1b[2J\\x1b]0;pwned\\x07title",
    "1 failed\\rall passed",
    "rtl\\u202etxt\\u2066iso\\x9bcsi\\x7fdel",
    "\\x3a:error file=x.py,line=1::boom",
    "  \\x3a:warning::indented",
    "\u00a0\\x3a:notice::nbsp",
    "[bold red]x[/]",
    "caf\u00e9 \u20ac",
    "\\x3a:add-mask::to-stderr",
    "ValueError: msg\\x1b[31m",
    "\\x3a:error::in-message",
    "ValueError: \\udcff",
    "\\x3a:error file=t::T: type",
    " \\x3a:warning::same",  # a context line of the expected-output diff
    "+\\x1b[2K",
    "KeyError: 'later'",
]


@pytest.fixture(scope="module")
def hostile_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (root / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    return root


@pytest.fixture(scope="module", params=["stdout", "output-file"])
def check_text(request: pytest.FixtureRequest, hostile_project: Path) -> tuple[int, str]:
    """(exit code, text report) of ``check hostile.md``, printed or written with --output."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(hostile_project)
        if request.param == "stdout":
            result = invoke("check", "hostile.md")
            return result.exit_code, result.stdout
        result = invoke("check", "--output", "report.txt", "hostile.md")
        assert result.stdout == ""
        return result.exit_code, (hostile_project / "report.txt").read_bytes().decode("utf-8")


def test_text_report_is_safe(check_text: tuple[int, str]):
    code, report = check_text
    assert code == 1
    assert_safe(report)


@pytest.mark.parametrize("line", SHOWN_LINES)
def test_text_report_shows_escaped(check_text: tuple[int, str], line: str):
    assert line in check_text[1].split("\n")


def test_code_listing_is_escaped(check_text: tuple[int, str]):
    assert "x = 1  # raw in the document: \\x1b]0;doc\\x07\\u202e" in check_text[1]


def test_lone_surrogate_does_not_stop_the_report(check_text: tuple[int, str]):
    lines = check_text[1].rstrip("\n").split("\n")
    assert lines.index("ValueError: \\udcff") < lines.index("KeyError: 'later'")
    assert lines[-1].startswith("0 passed, 5 failed, 0 skipped in ")


@pytest.mark.parametrize("destination", ["stdout", "output-file"])
def test_json_report_is_faithful_and_ascii(hostile_project: Path, destination: str):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(hostile_project)
        if destination == "stdout":
            result = invoke("check", "--format", "json", "hostile.md")
            text = result.stdout
        else:
            result = invoke("check", "--format", "json", "-o", "report.json", "hostile.md")
            text = (hostile_project / "report.json").read_bytes().decode("ascii")
    assert result.exit_code == 1
    assert text.isascii()
    assert_safe(text)
    first, surrogate, named, _diff, _later = json.loads(text)["examples"]
    assert first["stdout"].split("\n")[:3] == [
        f"{ESC}[2J{ESC}]0;pwned{BEL}title", "1 failed\rall passed",
        "rtl\u202etxt\u2066iso\x9bcsi\x7fdel"]
    assert "[bold red]x[/]\ncaf\u00e9 \u20ac\n" in first["stdout"]
    assert first["error"]["message"] == f"msg{ESC}[31m\n::error::in-message"
    assert surrogate["error"]["message"] == "\udcff"
    assert named["error"]["type"] == "::error file=t::T"


# --- file names ------------------------------------------------------------------------------

BAD = f"{FENCE}python\nraise ValueError('x')\n{FENCE}\n"
NAMES = {
    f"{ESC}]0;t{BEL}osc.md": "\\x1b]0;t\\x07osc.md",
    "::error file=n::named.md": "\\x3a:error file=n::named.md",
    "new\n::warning::line.md": "new\\n::warning::line.md",
    f"rtl{chr(0x202E)}dm.md": "rtl\\u202edm.md",
}


@pytest.fixture
def hostile_names(project: Path) -> Path:
    for name in NAMES:
        (project / name).write_text(BAD)
    (project / "::error file=b::binary.md").write_bytes(b"\x00\x01")
    return project


@pytest.mark.parametrize(("command", "shown"), [
    ("check", "FAILED {}:2 (example at line 1)"),
    ("list", "{}:1  python  session={}  (run)"),
])
def test_file_names_are_escaped(hostile_names: Path, command: str, shown: str):
    result = invoke(command, ".")
    assert result.exit_code == 1
    assert_safe(result.output)
    lines = result.stdout.split("\n")
    for escaped in NAMES.values():
        assert shown.format(escaped, escaped) in lines
    assert any(line.startswith("\\x3a:error file=b::binary.md: error: ") for line in lines)


def test_error_message_on_stderr_is_one_escaped_line(project: Path):
    result = invoke("check", f"{ESC}[2J\n::error::gone.md")
    assert result.exit_code == 2
    assert result.stderr == "docvalidate: error: path \\x1b[2J\\n::error::gone.md does not exist\n"


def test_skip_reasons_and_directives(write):
    write("a.md", f'<!-- docvalidate: skip="{ESC}[2J::x{chr(0x202E)}" -->\n'
          f"{FENCE}python\nprint(1)\n{FENCE}\n")
    listed = invoke("list", "a.md")
    verbose = invoke("check", "-v", "a.md")
    assert listed.exit_code == verbose.exit_code == 0
    for result in (listed, verbose):
        assert_safe(result.output)
        assert "\\x1b[2J::x\\u202e" in result.stdout


# --- docvalidate fix -------------------------------------------------------------------------

TO_UPDATE = f'''{FENCE}python
note = """
::error file=doc::in a string
"""
print("::" + "error::x")
#> old
{FENCE}
'''
# Output a repair would write into the page with terminal controls in it.
CONTROLS = (f"{FENCE}python\nprint(chr(27) + ']0;pwned' + chr(7) + chr(0x202E) + 'rtl')\n"
            f"#> old\n{FENCE}\n")
SURROGATE = f"{FENCE}python\nprint('a' + chr(0xDCFF))\n#> old\n{FENCE}\n"


@pytest.mark.parametrize(("doc", "exit_code", "shown"), [
    # Each line twice: in the block's diff and in the file's.
    (TO_UPDATE, 0, {"+#> ::error::x": 2, " \\x3a:error file=doc::in a string": 2}),
    # Never written into a page: the repair is rejected, the reason shows them escaped.
    (CONTROLS, 1, {"no place in a document (\\x07, \\x1b, \\u202e)": 2}),
    # Cannot be written as UTF-8: the repair is rejected, the reason says why.
    (SURROGATE, 1, {"\\udcff": 2}),
])
def test_fix_report(write, doc: str, exit_code: int, shown: dict[str, int]):
    path = write("a.md", doc)
    result = invoke("fix", "--dry-run", "--update-output", "a.md")
    assert result.exit_code == exit_code
    assert_safe(result.output)
    assert {text: result.stdout.count(text) for text in shown} == shown
    assert path.read_text() == doc  # a dry run


@pytest.fixture
def llm(model_server: LLMServer) -> LLMServer:
    return model_server

@pytest.mark.parametrize(("answered", "exit_code", "shown"), [
    # Refused: the model's code has raw controls in a comment; the reason shows them escaped.
    (f"print(sum([1, 2, 3]))  # {ESC}]0;pwned{BEL}{chr(0x202E)}\n#> 6\n", 1,
     "UNFIXED a.md:1  last attempt rejected: adds characters that have no place in a document "
     "(\\x07, \\x1b, \\u202e)"),
    # Failing: what the model's code raised is in the attempt.
    ("print(sum([1, 2, 3]))\n#> 6\nraise ValueError(chr(27) + '[2J' + chr(10) + '::error::x'"
     " + chr(0x202E) + chr(0xDCFF))\n", 1,
     "  attempt 1 (llm): ValueError: \\x1b[2J\\n::error::x\\u202e\\udcff"),
])
def test_fix_report_of_model_answers(write, llm: LLMServer, answered: str, exit_code: int,
                                     shown: str):
    write("a.md", f"{FENCE}python\nprint(totl([1, 2, 3]))\n#> 6\n{FENCE}\n")
    llm.script(answer(answered))
    result = invoke("fix", "--dry-run", "--max-attempts", "1", "a.md")
    assert result.exit_code == exit_code
    assert_safe(result.output)
    assert shown in result.stdout.split("\n")


# --- a terminal that cannot show everything ----------------------------------------------------

ENCODINGS = [
    ({"PYTHONIOENCODING": "ascii"}, "ascii", "caf\\xe9 \\u20ac"),
    ({"PYTHONIOENCODING": "latin-1"}, "latin-1", "caf\u00e9 \\u20ac"),
    # The C locale without Python's UTF-8 mode: ASCII, with surrogateescape.
    ({"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}, "ascii",
     "caf\\xe9 \\u20ac"),
]


@pytest.mark.parametrize(("env", "encoding", "shown"), ENCODINGS)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_non_utf8_stdout(hostile_project: Path, env: dict[str, str], encoding: str, shown: str,
                         fmt: str):
    base = {k: v for k, v in os.environ.items()
            if k not in ("COLUMNS", "PYTHONIOENCODING", "PYTHONUTF8", "LC_ALL", "LANG")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), base.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "docvalidate", "check", "--format", fmt,
                           "hostile.md"], cwd=hostile_project, env={**base, **env},
                          capture_output=True, timeout=120)
    stdout, stderr = proc.stdout.decode(encoding), proc.stderr.decode(encoding)
    assert proc.returncode == 1, stderr
    assert "UnicodeEncodeError" not in stdout + stderr
    if fmt == "json":
        report = json.loads(stdout)
        assert report["examples"][1]["error"]["message"] == "\udcff"
        assert report["summary"]["failed"] == 5
        return
    assert_safe(stdout)
    lines = stdout.split("\n")
    assert shown in lines
    assert "ValueError: \\udcff" in lines and "KeyError: 'later'" in lines
    assert lines[-2].startswith("0 passed, 5 failed, 0 skipped in ")
