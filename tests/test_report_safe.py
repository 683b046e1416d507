"""``printable``: untrusted text shown, never obeyed (controls escaped, no workflow commands)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docvalidate.report.safe import printable

# Written out here rather than imported, so that a mistake in the module's own list shows.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                 "\u2066-\u2069\ud800-\udfff]")
BIDI = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
        "\u2066", "\u2067", "\u2068", "\u2069"]


def assert_printable(shown: str) -> None:
    assert not RAW.search(shown), repr(shown)
    shown.encode("utf-8")  # no lone surrogate left
    for line in shown.split("\n"):
        assert not line.lstrip().startswith("::"), repr(shown)


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[2J", "\\x1b[2J"),
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
    ("1 failed\r0 failed", "1 failed\\r0 failed"),
    ("a\r\nb", "a\\r\nb"),
    ("back\x08\x08space", "back\\x08\\x08space"),
    ("\x00\x0b\x0c\x1c\x1f", "\\x00\\x0b\\x0c\\x1c\\x1f"),
    ("del\x7f", "del\\x7f"),
    ("nel\x85csi\x9b[2J\x80", "nel\\x85csi\\x9b[2J\\x80"),
    ("\u2028\u2029", "\\u2028\\u2029"),
    ("lone \udcff and \ud800", "lone \\udcff and \\ud800"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    *[(f"x{char}y", f"x\\u{ord(char):04x}y") for char in BIDI],
])
def test_controls_are_escaped(text: str, shown: str):
    assert printable(text) == shown
    assert_printable(printable(text))


@pytest.mark.parametrize(("text", "shown"), [
    ("tab\tand\nnewline\r", "tab\\tand\\nnewline\\r"),
    ("a\n::error::x", "a\\n::error::x"),  # one line: the command is no longer at a line start
    ("\x1b[2J", "\\x1b[2J"),
])
def test_one_line(text: str, shown: str):
    assert printable(text, multiline=False) == shown
    assert "\n" not in printable(text, multiline=False)


@pytest.mark.parametrize("text", [
    "",
    "plain text",
    "café ✓ 日本語 🎉 \u00a0nbsp",
    "[bold red]x[/] and [link=https://example.com]y[/link]",
    "C:\\path\\x1b and \\u202e written out",  # backslashes are not doubled
    "a::b and a line\nwith::colons",
    ":one colon",
    "ends with a colon:",
])
def test_harmless_text_is_unchanged(text: str):
    assert printable(text) == text


@pytest.mark.parametrize(("text", "shown"), [
    ("::error file=a.py,line=1::boom", "\\x3a:error file=a.py,line=1::boom"),
    ("::add-mask::secret", "\\x3a:add-mask::secret"),
    ("  ::warning::x", "  \\x3a:warning::x"),
    ("\t::notice::x", "\t\\x3a:notice::x"),
    ("\u00a0::notice::x", "\u00a0\\x3a:notice::x"),
    ("\u2003\u3000::notice::x", "\u2003\u3000\\x3a:notice::x"),
    # Invisible characters are shown escaped, and the escape then starts the line.
    ("\ufeff\u200b::notice::x", "\\ufeff\\u200b::notice::x"),
    ("ok\n::stop-commands::tok\n  ::error::y\nfine", "ok\n\\x3a:stop-commands::tok\n"
     "  \\x3a:error::y\nfine"),
    # A control before the colons is escaped, and the escape then starts the line.
    ("\x0b::error::x", "\\x0b::error::x"),
    ("\r::error::x", "\\r::error::x"),
    # A caller may append ":..." (as in "path:line"): a lone colon at the start is escaped too.
    (":", "\\x3a"),
    ("x\n  :", "x\n  \\x3a"),
])
def test_workflow_commands_are_neutralised(text: str, shown: str):
    assert printable(text) == shown
    assert_printable(printable(text))


def test_workflow_command_in_one_line_text():
    assert printable("::error::x", multiline=False) == "\\x3a:error::x"
    assert printable(":", multiline=False) + ":12" == "\\x3a:12"


# Any character (surrogates included), mixed with the pieces an attack is made of so that
# they meet at line starts more often than random text would make them.
HOSTILE = st.lists(st.one_of(
    st.sampled_from(["::", ":", "\n", " ", "\t", "\u00a0", "\ufeff", "\r", "\x1b", "\x85",
                     "\udcff", "\u202e", "\u2028", "error"]),
    st.text(st.characters(exclude_categories=())),
)).map("".join)


@given(HOSTILE)
def test_any_text_is_printable(text: str):
    shown = printable(text)
    assert_printable(shown)
    assert printable(shown) == shown  # escaping twice changes nothing more
    one_line = printable(text, multiline=False)
    assert_printable(one_line)
    assert "\n" not in one_line and "\t" not in one_line


@given(st.text(st.characters(exclude_categories=("Cc", "Cs", "Cf"),
                             exclude_characters="\u2028\u2029:#")))
def test_text_without_controls_or_colons_is_unchanged(text: str):
    assert printable(text) == text


@pytest.mark.parametrize("char", ["\u200b", "\u200d", "\ufeff", "\u00ad", "\u2060", "\u206a",
                                  "\ufff9", "\U000e0041"])
def test_invisible_characters_are_shown(char: str):
    shown = printable(f"a{char}b")
    assert char not in shown and shown.startswith("a\\") and shown.endswith("b")


@pytest.mark.parametrize("text", ["x ##[add-mask]y", "##[error]z", "a ###[b"])
def test_legacy_workflow_commands_anywhere_in_a_line(text: str):
    from docvalidate.report.json_report import dump_json

    shown = printable(text)
    assert "##[" not in shown and "\\x23[" in shown
    assert "##[" not in printable(text, multiline=False)
    dumped = dump_json({"stdout": text})
    assert "##[" not in dumped and json.loads(dumped) == {"stdout": text}
