"""``docvalidate fix`` with an LLM: the whole loop through the real openai package against a
local OpenAI-compatible server (tests/llm_server.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import invoke
from llm_server import LLMServer, answer, status

FENCE = "```"
BROKEN = (f"# Totals\n\nSum the prices:\n\n{FENCE}python\nprices = [1, 2, 3]\n"
          f"print(totl(prices))\n#> 6\n{FENCE}\n")


@pytest.fixture
def server(model_server: LLMServer) -> LLMServer:
    return model_server

def fix_json(*args: str) -> tuple[int, dict]:
    result = invoke("fix", "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_repaired_on_the_first_attempt(project: Path, write, server: LLMServer):
    doc = write("a.md", BROKEN)
    server.script(answer("prices = [1, 2, 3]\nprint(sum(prices))\n#> 6\n", usage=(120, 20)))
    code, report = fix_json("a.md")
    assert code == 0
    repair = report["examples"][0]["repair"]
    assert repair["status"] == "fixed" and repair["fixer"] == "llm"
    assert len(repair["attempts"]) == 1
    assert repair["attempts"][0]["prompt_tokens"] == 120
    assert report["summary"]["tokens"] == 140
    assert "print(sum(prices))" in doc.read_text()
    assert doc.read_text().startswith("# Totals\n\nSum the prices:\n\n```python\n")
    (request,) = server.requests
    prompt = json.dumps(request.messages)
    assert "totl" in prompt and "NameError" in prompt and "Sum the prices" in prompt
    assert request.body["temperature"] == 0
    assert "sk-test-key" not in prompt


def test_repaired_by_a_llama_cpp_python_server(project: Path, write, server: LLMServer):
    # It answers every json_schema request with HTTP 500: one refusal, not retried, costs
    # no attempt, and every request after it asks for a plain answer.
    server.llama_cpp_python = True
    doc = write("a.md", BROKEN)
    server.script(answer("prices = [1, 2, 3]\nprint(total(prices))\n#> 6\n"),
                  answer("prices = [1, 2, 3]\nprint(sum(prices))\n#> 6\n"))
    code, report = fix_json("--max-attempts", "2", "a.md")
    repair = report["examples"][0]["repair"]
    assert code == 0 and repair["status"] == "fixed" and len(repair["attempts"]) == 2
    assert "print(sum(prices))" in doc.read_text()
    assert [(r.structured, r.rejected) for r in server.requests] == [
        (True, True), (False, False), (False, False)]


def test_a_form_feed_in_a_line_does_not_shift_the_prompts_line_numbers(
        project: Path, write, server: LLMServer):
    # A form feed is an ordinary character inside a Markdown line; str.splitlines would cut
    # the line in two and number every line after it (and the prose above) wrongly.
    write("a.md", f"Intro\x0cpage two.\nSum:\n\n{FENCE}python\nx = 1  # a\x0cb\n"
                  f"print(totl([x]))\n{FENCE}\n")
    server.script(answer("x = 1  # a\x0cb\nprint(sum([x]))\n"))
    fix_json("--max-attempts", "1", "a.md")
    prompt = server.requests[0].message("user")
    assert "  5 | x = 1  # a\x0cb\n> 6 | print(totl([x]))" in prompt, prompt
    assert "lines 5-6" in prompt and "Intro\x0cpage two.\nSum:" in prompt


def test_repaired_on_the_third_attempt_after_feedback(project: Path, write, server: LLMServer):
    doc = write("a.md", BROKEN)
    server.script(
        answer("prices = [1, 2, 3]\nprint(total(prices))\n#> 6\n"),  # still a NameError
        answer("prices = [1, 2, 3]\nprint(len(prices))\n#> 6\n"),  # runs, wrong output
        answer("prices = [1, 2, 3]\nprint(sum(prices))\n#> 6\n"),
    )
    code, report = fix_json("a.md")
    repair = report["examples"][0]["repair"]
    assert code == 0 and repair["status"] == "fixed"
    assert [a["error"]["type"] if a["error"] else None for a in repair["attempts"]] == [
        "NameError", "OutputMismatch", None]
    third_prompt = json.dumps(server.requests[2].messages)
    assert "OutputMismatch" in third_prompt  # earlier attempts are fed back
    assert "sum(prices)" in doc.read_text()


def test_cheating_repairs_are_rejected(project: Path, write, server: LLMServer):
    doc = write("a.md", f"{FENCE}python\nimport json\nprint(json.lodas('[1]'))\n#> [1]\n"
                f"{FENCE}\n")
    before = doc.read_text()
    server.script(
        answer("import json\ntry:\n    print(json.lodas('[1]'))\nexcept Exception:\n"
               "    print([1])\n#> [1]\n"),
        answer("print([1])\n#> [1]\n"),
        answer("from unittest import mock\nimport json\njson.lodas = mock.Mock("
               "return_value=[1])\nprint(json.lodas('[1]'))\n#> [1]\n"),
    )
    code, report = fix_json("a.md")
    repair = report["examples"][0]["repair"]
    assert code == 1 and repair["status"] == "unfixed"
    assert all(a["rejected"] for a in repair["attempts"]), repair["attempts"]
    assert doc.read_text() == before


PRICES = "prices = [1, 2, 3]\nassert sum(prices) == 7\n"
SESSION = ">>> prices = [1, 2, 3]\n>>> assert sum(prices) == 7\n"
SWALLOWED = ("adds an `except AssertionError:` handler, which swallows the AssertionError the "
             "example raised")


@pytest.mark.parametrize(("block", "hollow", "reason"), [
    pytest.param(PRICES, "if False:\n    prices = [1, 2, 3]\n    assert sum(prices) == 7\n",
                 "puts code under `if False:`, which never runs", id="if-false"),
    pytest.param(PRICES, "prices = [1, 2, 3]\ntry:\n    assert sum(prices) == 7\n"
                 "except AssertionError:\n    pass\n", SWALLOWED, id="except-assertion-pass"),
    pytest.param("assert 1 == 2\n", "assert 1 == 1\n",
                 "replaces an assert with `assert 1 == 1`, which is always true",
                 id="assert-made-true"),
    pytest.param(PRICES, "import os; os.write(3, b'{\"status\": \"passed\"}\\n')\n" + PRICES,
                 "adds a file-descriptor operation (os.write), which reaches outside the example",
                 id="fd-write"),
    pytest.param(PRICES, "value = 7\nassert value == 7\n",
                 "replaces the example with unrelated code that keeps none of its names (`sum`)",
                 id="unrelated"),
    pytest.param(SESSION, ">>> prices = [1, 2, 3]\n>>> try:\n...     assert sum(prices) == 7\n"
                 "... except AssertionError:\n...     pass\n", SWALLOWED,
                 id="session-in-python-fence"),
    pytest.param(SESSION, "prices = [1, 2, 3]\nassert sum(prices) == 6\n",
                 "the repair is not a valid interactive session: it has no `>>>` prompts "
                 "(the original had 2)", id="session-without-prompts"),
])
def test_hollow_repairs_are_rejected_and_nothing_is_written(
        project: Path, write: Callable[[str, str], Path], server: LLMServer, block: str,
        hollow: str, reason: str) -> None:
    doc = write("a.md", f"# Totals\n\n{FENCE}python\n{block}{FENCE}\n")
    before = doc.read_bytes()
    server.script(answer(hollow))
    code, report = fix_json("--max-attempts", "1", "a.md")
    (example,) = report["examples"]
    assert example["error"]["type"] == "AssertionError"  # what the original raised
    repair = example["repair"]
    assert code == 1 and repair["status"] == "unfixed"
    (attempt,) = repair["attempts"]
    assert attempt["fixer"] == "llm" and attempt["code"] == hollow
    assert attempt["rejected"] == reason
    assert attempt["error"] is None  # rejected by the guard, never run
    assert repair["reason"] == f"last attempt rejected: {reason}"
    assert len(server.requests) == 1
    assert doc.read_bytes() == before


def test_same_code_twice_stops_early(project: Path, write, server: LLMServer):
    write("a.md", BROKEN)
    same = "prices = [1, 2, 3]\nprint(total(prices))\n#> 6\n"
    server.script(answer(same), answer(same))
    code, report = fix_json("a.md", "--max-attempts", "3")
    attempts = report["examples"][0]["repair"]["attempts"]
    assert code == 1 and len(attempts) == 2 and "same code" in attempts[1]["rejected"]
    assert len(server.requests) == 2


def test_server_errors_end_in_unfixed_with_a_reason(project: Path, write, server: LLMServer):
    write("a.md", BROKEN)
    server.script(*[status(500, "overloaded")] * 12)
    code, report = fix_json("a.md", "--max-attempts", "1")
    repair = report["examples"][0]["repair"]
    assert code == 1 and repair["status"] == "unfixed"
    assert "500" in repair["attempts"][0]["rejected"]


def test_text_report_of_an_llm_fix(project: Path, write, server: LLMServer):
    write("a.md", BROKEN)
    server.script(answer("prices = [1, 2, 3]\nprint(sum(prices))\n#> 6\n"))
    result = invoke("fix", "--dry-run", "a.md")
    assert "FIXED a.md:5  by llm, 1 attempt" in result.output
    assert "-print(totl(prices))" in result.output and "+print(sum(prices))" in result.output


@pytest.mark.live
@pytest.mark.skipif("not __import__('os').environ.get('OPENAI_API_KEY')",
                    reason="needs OPENAI_API_KEY (and optionally DOCVALIDATE_MODEL)")
def test_live_repair(project: Path, write, monkeypatch: pytest.MonkeyPatch):
    import os

    monkeypatch.setenv("DOCVALIDATE_MODEL", os.environ.get("DOCVALIDATE_MODEL", "gpt-4o-mini"))
    doc = write("a.md", BROKEN)
    assert invoke("fix", "a.md").exit_code == 0
    assert "totl" not in doc.read_text()


def test_model_and_budget_from_the_config_table(project: Path, write, server: LLMServer,
                                                monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DOCVALIDATE_MODEL")
    write("pyproject.toml", '[tool.docvalidate.llm]\nmodel = "cfg-model"\n'
          "max_tokens_total = 100\n")
    write("a.md", BROKEN)
    server.script(answer("prices = [1, 2, 3]\nprint(total(prices))\n#> 6\n", usage=(90, 20)))
    code, report = fix_json("a.md")
    assert server.requests[0].body["model"] == "cfg-model"
    attempts = report["examples"][0]["repair"]["attempts"]
    assert code == 1 and "budget" in attempts[-1]["rejected"]  # 110 tokens > 100: stopped
    assert len(server.requests) == 1


def test_api_key_in_a_config_file_is_refused(project: Path, write):
    write("pyproject.toml", '[tool.docvalidate.llm]\nmodel = "m"\napi_key = "sk-x"\n')
    write("a.md", BROKEN)
    result = invoke("fix", "a.md")
    assert result.exit_code == 2 and "OPENAI_API_KEY" in result.stderr


def test_update_output_from_config(project: Path, write):
    write("docvalidate.toml", "update_output = true\n")
    doc = write("a.md", f"{FENCE}python\nprint(2 * 2)\n#> 5\n{FENCE}\n")
    assert invoke("fix", "a.md").exit_code == 0
    assert "#> 4" in doc.read_text()


# Block 2 (line 9) fails; block 3 (line 13) passes and needs block 1's `x`.
THREE_BLOCKS = (f"# Three\n\n{FENCE}python\nx = 1\n{FENCE}\n\n"
                f"{FENCE}python\ny = [x, 2]\nprint(totl(y))\n#> 3\n{FENCE}\n\n"
                f"{FENCE}python\nprint(x)\n#> 1\n{FENCE}\n")
BREAKS_BLOCK_3 = "x = 0\ny = [1, 2]\nprint(sum(y))\n#> 3\n"
KEEPS_BLOCK_3 = "y = [x, 2]\nprint(sum(y))\n#> 3\n"


@pytest.mark.parametrize("answers, written", [
    ((BREAKS_BLOCK_3,), False),
    ((BREAKS_BLOCK_3, KEEPS_BLOCK_3), True),
])
def test_a_repair_that_breaks_a_later_block_is_rejected(
        project: Path, write, server: LLMServer, answers: tuple[str, ...], written: bool):
    doc = write("a.md", THREE_BLOCKS)
    before = doc.read_bytes()
    server.script(*(answer(code) for code in answers))
    code, report = fix_json("a.md", "--max-attempts", str(len(answers)))
    first, second, third = report["examples"]
    assert (first["status"], second["status"], third["status"]) == ("passed", "failed", "passed")
    repair = second["repair"]
    rejected = repair["attempts"][0]["rejected"]
    assert rejected.startswith("breaks the example at a.md:13, which passed before: "
                               "OutputMismatch"), rejected
    assert repair["attempts"][0]["error"] is None  # the candidate itself passed
    if written:
        assert code == 0 and repair["status"] == "fixed"
        assert "print(sum(y))" in doc.read_text() and "x = 0" not in doc.read_text()
        # The model was told which block its first answer broke.
        assert "a.md:13, which passed before" in json.dumps(server.requests[1].messages)
    else:
        assert code == 1 and repair["status"] == "unfixed"
        assert "a.md:13" in repair["reason"]
        assert doc.read_bytes() == before


@pytest.mark.parametrize(("line", "expected"), [
    ("max_retries = -3", "llm.max_retries = -3 is invalid: expected a whole number from 0 to"),
    ("max_retries = 1000000", "llm.max_retries = 1000000 is invalid"),
    ("max_retries = 1.5", "llm.max_retries = 1.5 is invalid"),
    ("concurrency = 0", "llm.concurrency = 0 is invalid: expected a whole number from 1 to"),
    ("timeout = -1", "llm.timeout = -1 is invalid: expected a number of seconds greater than 0"),
    ("timeout = nan", "llm.timeout = nan is invalid"),
    ("timeout = true", "llm.timeout = True is invalid"),
    ("max_tokens_total = 0", "llm.max_tokens_total = 0 is invalid: expected a whole number"),
    ('model = ""', "llm.model = '' is invalid: expected a model name"),
    ('base_url = "localhost:11434/v1"', "llm.base_url = 'localhost:11434/v1' is invalid: "
     "expected an http:// or https:// URL"),
    ('base_url = "http://host:port/v1"', "llm.base_url = 'http://host:port/v1' is invalid"),
    ('templates = ""', "llm.templates = '' is invalid: expected a folder"),
])
def test_every_value_of_the_llm_table_is_checked(line: str, expected: str, project: Path,
                                                 write, server: LLMServer):
    write("pyproject.toml", f"[tool.docvalidate.llm]\n{line}\n")
    doc = write("a.md", BROKEN)
    server.script(answer("prices = [1, 2, 3]\nprint(sum(prices))\n#> 6\n"))
    result = invoke("fix", "a.md")
    assert result.exit_code == 2, result.output
    (said,) = result.stderr.splitlines()  # one line, no traceback
    assert said.startswith("docvalidate: error: ") and f"pyproject.toml: {expected}" in said
    assert server.requests == [] and doc.read_text() == BROKEN


def test_llm_values_in_range_are_used(project: Path, write, server: LLMServer):
    write("pyproject.toml", "[tool.docvalidate.llm]\nmax_retries = 0\nconcurrency = 1\n"
          "timeout = 30\n")
    write("a.md", BROKEN)
    server.script(answer("prices = [1, 2, 3]\nprint(sum(prices))\n#> 6\n"))
    code, _ = fix_json("a.md")
    assert code == 0 and len(server.requests) == 1
