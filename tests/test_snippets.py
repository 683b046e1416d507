"""pymdownx.snippets includes in code blocks: recognised as the extension does, never run,
never handed to a fixer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import invoke
from llm_server import LLMServer, answer

from docvalidate.sources.snippets import includes

FENCE = "```"


@pytest.mark.parametrize(("code", "found"), [
    ('--8<-- "examples/hello.py"\n', ('--8<-- "examples/hello.py"',)),
    ("    -8<- 'hello.py'\n", ("-8<- 'hello.py'",)),
    ('import os\n--8<-- "setup.py"\nprint(os.sep)\n', ('--8<-- "setup.py"',)),
    ('--8<-- "hello.py:2:5"\n', ('--8<-- "hello.py:2:5"',)),
    ("--8<--\nexamples/a.py\n\n;examples/skipped.py\nexamples/b.py\n--8<--\n",
     ("--8<-- block of examples/a.py, examples/b.py",)),
    ("--8<--\nexamples/a.py\n", ("--8<-- block of examples/a.py",)),  # never closed
    # Not includes: escaped, trailing blanks, not alone on the line, Python arithmetic.
    (';--8<-- "examples/hello.py"\n', ()),
    (';--8<--\nexamples/a.py\n;--8<--\n', ()),
    ('--8<-- "hello.py" \n', ()),
    ('x = 1  # --8<-- "hello.py"\n', ()),
    ("y = --8 < --x\n", ()),
    ("# --8<-- [start:setup]\nx = 1\n# --8<-- [end:setup]\n", ()),
])
def test_include_lines_are_read_as_pymdownx_snippets_reads_them(code: str, found: tuple):
    assert includes(code) == found


PAGE = (f'# Hello\n\n{FENCE}python\n--8<-- "examples/hello.py"\n{FENCE}\n\n'
        f"{FENCE}python\n--8<--\nexamples/a.py\nexamples/b.py\n--8<--\n{FENCE}\n\n"
        f'{FENCE}python\n;--8<-- "examples/hello.py"\n{FENCE}\n')


def test_blocks_with_includes_are_skipped_naming_the_include(write, check_json):
    write("examples/hello.py", "print('hello')\n")
    write("a.md", PAGE)
    code, report = check_json("a.md")
    first, block, escaped = report["examples"]
    assert (first["status"], first["reason"]) == (
        "skipped", 'includes a file with pymdownx.snippets (--8<-- "examples/hello.py"), '
        "which is not resolved yet")
    assert block["status"] == "skipped"
    assert "--8<-- block of examples/a.py, examples/b.py" in block["reason"]
    # Escaped, the line is shown as written: it is the block's code, and it is not Python.
    assert code == 1 and escaped["status"] == "failed"
    assert escaped["error"]["type"] == "SyntaxError"


def test_fix_never_touches_a_block_with_an_include(write, model_server: LLMServer):
    page = f'{FENCE}python\n--8<-- "examples/hello.py"\n{FENCE}\n'
    doc = write("a.md", page)
    model_server.script(answer("print('hello')\n"))
    result = invoke("fix", "--format", "json", "a.md")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["examples"][0]["status"] == "skipped"
    assert model_server.requests == []
    assert Path(doc).read_text() == page
