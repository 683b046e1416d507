"""The LLM fixer, through the real openai client, against a scripted local server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer, answer, drop, malformed, slow, status

from docvalidate.errors import ConfigError
from docvalidate.model import ErrorInfo, Example
from docvalidate.repair.context import AttemptSummary, Proposal, RepairContext
from docvalidate.repair.llm import LLMFixer, LLMSettings
from docvalidate.repair.llm.answers import normalise_code

KEY = "sk-test-0123456789abcdef"
FIXED = "import json\ndata = json.loads(text)\nprint(data)\n"


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


def make_fixer(server: LLMServer, **kw: Any) -> LLMFixer:
    settings: dict[str, Any] = {"timeout": 5.0, "max_retries": 0, **kw}
    return LLMFixer(LLMSettings("test-model", base_url=server.base_url, api_key=KEY, **settings))


def make_ctx(traceback: str | None = None, **kw: Any) -> RepairContext:
    code = "import json\ndata = json.load(text)\nprint(data)\n"
    example = Example(path="docs/guide.md", language="python", info="python", code=code,
                      span=(0, len(code)), prefix="", newline="\n", line=20, end_line=24,
                      heading="Reading JSON")
    if traceback is None:
        traceback = ('Traceback (most recent call last):\n  File "docs/guide.md", line 22\n'
                     "AttributeError: 'str' object has no attribute 'read'")
    error = ErrorInfo("AttributeError", "'str' object has no attribute 'read'", 22,
                      traceback=traceback)
    return RepairContext(example=example, error=error, **kw)


def propose(server: LLMServer, *behaviours: Any, ctx: RepairContext | None = None,
            **kw: Any) -> Proposal:
    server.script(*behaviours)
    return make_fixer(server, **kw).propose(ctx or make_ctx())


# -- answers ------------------------------------------------------------------------------


def test_structured_answer_gives_code_and_usage(server: LLMServer):
    fixer = make_fixer(server)
    server.script(answer(FIXED, usage=(120, 30)))
    proposal = fixer.propose(make_ctx())
    assert proposal == Proposal(FIXED, None, prompt_tokens=120, completion_tokens=30)
    assert fixer.tokens_used == 150
    [request] = server.requests
    assert request.body["model"] == "test-model"
    assert request.body["temperature"] == 0
    assert request.structured
    schema = request.body["response_format"]["json_schema"]["schema"]
    assert schema["properties"] == {"code": {"type": "string",
                                             "description": "the complete corrected block"}}
    assert [m["role"] for m in request.messages] == ["system", "user"]
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_server_without_json_schema_gets_plain_requests_for_the_rest_of_the_run(
        server: LLMServer):
    server.json_schema = False
    fixer = make_fixer(server)
    server.script(answer(FIXED), answer("x = 1\n"))
    first, second = fixer.propose(make_ctx()), fixer.propose(make_ctx())
    assert (first.code, second.code) == (FIXED, "x = 1\n")
    assert [(r.structured, r.rejected) for r in server.requests] == [
        (True, True), (False, False), (False, False)]
    assert "fenced code block" in server.requests[1].message("system")


def test_llama_cpp_python_refusing_json_schema_with_500_is_asked_once(server: LLMServer):
    server.llama_cpp_python = True
    fixer = make_fixer(server, max_retries=2)  # the SDK would retry a 500 twice
    server.script(answer(FIXED), answer("x = 1\n"))
    first, second = fixer.propose(make_ctx()), fixer.propose(make_ctx())
    assert (first.code, second.code) == (FIXED, "x = 1\n")
    assert [(r.structured, r.rejected) for r in server.requests] == [
        (True, True), (False, False), (False, False)]


@pytest.mark.parametrize("code", [400, 422, 500])
def test_a_refusal_naming_response_format_settles_it_even_if_the_plain_request_fails(
        server: LLMServer, code: int):
    fixer = make_fixer(server)
    server.script(status(code, "response_format: json_schema is not supported"),
                  status(503, "loading the model"), answer(FIXED))
    proposal = fixer.propose(make_ctx())
    assert proposal.code is None and "HTTP 503" in (proposal.reason or "")
    assert fixer.propose(make_ctx()).code == FIXED
    assert [r.structured for r in server.requests] == [True, False, False]


def test_a_500_for_another_reason_is_retried_with_structured_output(server: LLMServer):
    fixer = make_fixer(server, max_retries=1)
    server.script(status(500, "out of memory"), answer(FIXED))
    assert fixer.propose(make_ctx()).code == FIXED
    assert [r.structured for r in server.requests] == [True, True]


def test_a_400_for_another_reason_does_not_switch_off_structured_output(server: LLMServer):
    fixer = make_fixer(server)
    server.script(status(400, "context length exceeded"), status(400, "context length exceeded"),
                  answer(FIXED))
    proposal = fixer.propose(make_ctx())
    assert proposal.code is None
    assert proposal.reason == ("the model server rejected the request with HTTP 400: "
                               "context length exceeded")
    assert fixer.propose(make_ctx()).code == FIXED
    assert [r.structured for r in server.requests] == [True, False, True]


@pytest.mark.parametrize("text", [
    f"Sure:\n\n```python\n{FIXED}```\n\nThis uses loads.",
    f"```py\n{FIXED}```",
    f"```\n{FIXED}```",
    f"~~~python\n{FIXED}~~~",
    f"Run this first:\n```bash\npip install x\n```\nthen:\n```python\n{FIXED}```",
    '{"code": "```python\\nimport json\\ndata = json.loads(text)\\nprint(data)\\n```"}',
    # The model copied the line numbers of the prompt.
    '{"code": "  21 | import json\\n> 22 | data = json.loads(text)\\n  23 | print(data)"}',
])
def test_fenced_answers_are_read(server: LLMServer, text: str):
    # Some servers accept response_format and ignore it: the answer is Markdown anyway.
    assert propose(server, answer(text=text)).code == FIXED


def test_pycon_block_from_a_fenced_answer(server: LLMServer):
    server.json_schema = False
    session = ">>> import json\n>>> json.loads('[1]')\n[1]\n"
    assert propose(server, answer(text=f"```pycon\n{session}```")).code == session


def test_normalise_code_keeps_indentation_and_real_bitwise_or():
    assert normalise_code("\n\n  \nif x:\r\n    y = 1\r\n\n\n") == "if x:\n    y = 1\n"
    assert normalise_code("5 | x\n6 | y\n", 5) == "x\ny\n"  # the prompt's numbers, copied
    assert normalise_code("5 | x\n6 | y\n") == "5 | x\n6 | y\n"  # no block to compare with
    assert normalise_code("5 | x\n", 9) == "5 | x\n"  # Python that happens to look numbered
    assert normalise_code("9 | a\n11 | b\n", 9) == "9 | a\n11 | b\n"  # not consecutive


@pytest.mark.parametrize(("behaviour", "reason"), [
    (answer(text="I am not sure what the example should do.", usage=(50, 9)),
     "the model's answer held no code block"),
    (answer(text='{"answer": "x = 1"}', usage=(50, 9)),
     'the model\'s answer was JSON without a "code" string'),
    (answer(text='{"code": ""}', usage=(50, 9)), "the model's answer held no code block"),
    (answer(text="", usage=(50, 9)), "the model's answer was empty"),
    (answer(refusal="I can't help with that.", usage=(50, 9)),
     "the model declined to answer: I can't help with that."),
    (answer(text='{"code": "import json\\ndata = js', usage=(50, 9), finish_reason="length"),
     "the model's answer was cut off at its length limit before the code was complete"),
])
def test_answer_without_code_gives_a_reason_and_counts_tokens(server: LLMServer, behaviour: Any,
                                                              reason: str):
    fixer = make_fixer(server)
    server.script(behaviour)
    proposal = fixer.propose(make_ctx())
    assert proposal == Proposal(None, reason, prompt_tokens=50, completion_tokens=9)
    assert fixer.tokens_used == 59


# -- the prompt ---------------------------------------------------------------------------


def test_prompt_holds_the_context(server: LLMServer):
    traceback = "\x1b[31mTraceback (most recent call last):\x1b[0m\n" + "".join(
        f'  File "lib.py", line {i}, in f{i}\n' for i in range(100)) + "AttributeError: read"
    ctx = make_ctx(
        traceback=traceback,
        prose="Parse the string you received with the json module:",
        earlier=("text = '{\"a\": 1}'\n", "import os\n"),
        stdout="\x1b[1mstarting\x1b[0m\n",
        packages={"yaml": "6.0.1"},
        attempts=(
            AttemptSummary("import json\ndata = json.loads(txt)\nprint(data)\n",
                           ErrorInfo("NameError", "name 'txt' is not defined", 22), None),
            AttemptSummary("print({'a': 1})\n", None, "it no longer uses json"),
        ),
    )
    assert propose(server, answer(FIXED), ctx=ctx).code == FIXED
    user = server.requests[0].message("user")
    assert 'Document: docs/guide.md (section "Reading JSON")' in user
    assert "Parse the string you received with the json module:" in user
    assert "Earlier block 1:\n```python\ntext = '{\"a\": 1}'\n```" in user
    assert "Earlier block 2:\n```python\nimport os\n```" in user
    assert "must\nnot be changed" in user
    assert ("  21 | import json\n> 22 | data = json.load(text)\n  23 | print(data)\n```"
            in user)
    assert "lines 21-23 of the document" in user
    assert "Error: AttributeError: 'str' object has no attribute 'read' (line 22)" in user
    assert "\x1b" not in user
    assert "[… 62 earlier lines cut]" in user  # 102 lines, the last 40 kept
    assert 'line 60, in f60' not in user and 'line 61, in f61' in user
    assert "AttributeError: read\n```" in user
    assert "Standard output (last lines):\n```\nstarting\n```" in user
    assert "- yaml 6.0.1" in user
    assert ("- Attempt 1: changed line 22; it failed with NameError: name 'txt' is not defined "
            "(line 22).") in user
    assert "- Attempt 2: changed lines 21-23; rejected: it no longer uses json." in user
    system = server.requests[0].message("system")
    assert "smallest change" in system and '"code" field' in system


def test_long_inputs_are_capped(server: LLMServer):
    ctx = make_ctx(stderr="x" * 50_000, earlier=tuple(f"v{i} = {'1' * 500}\n" for i in range(40)),
                   prose="p" * 10_000)
    propose(server, answer(FIXED), ctx=ctx)
    user = server.requests[0].message("user")
    assert len(user) < 15_000
    assert "v39 = " in user and "v0 = " not in user  # the nearest earlier blocks are kept
    assert "earlier blocks left out" in user


# -- trouble on the wire ------------------------------------------------------------------


def test_429_then_success_through_the_sdk_retry(server: LLMServer):
    proposal = propose(server, status(429, "slow down"), answer(FIXED), max_retries=2)
    assert proposal.code == FIXED
    assert len(server.requests) == 2


def test_429_exhausted(server: LLMServer):
    proposal = propose(server, status(429, "slow down"), status(429, "slow down"), max_retries=1)
    assert proposal.reason == ("the model server kept answering HTTP 429 (rate limited) after "
                               "2 tries: slow down")


def test_500s_exhausted(server: LLMServer):
    proposal = propose(server, *[status(500, "overloaded")] * 3, max_retries=2)
    assert proposal == Proposal(None, "the model server failed with HTTP 500 after 3 tries: "
                                "overloaded")
    assert len(server.requests) == 3 and server.left == 0


def test_malformed_json_body(server: LLMServer):
    proposal = propose(server, malformed(), max_retries=2)
    assert proposal.code is None
    assert proposal.reason is not None
    assert proposal.reason.startswith("the model server's answer was not valid JSON: ")
    assert len(server.requests) == 1  # the SDK does not retry a body it cannot parse


def test_dropped_connection_is_retried_then_given_up(server: LLMServer):
    proposal = propose(server, drop(), drop(), max_retries=1)
    assert proposal.reason == (f"could not reach the model server at {server.base_url} "
                               "(2 tries): Server disconnected without sending a response.")


def test_dropped_connection_then_success(server: LLMServer):
    assert propose(server, drop(), answer(FIXED), max_retries=1).code == FIXED


def test_nothing_listening():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = LLMSettings("m", base_url=f"http://user:pw@127.0.0.1:{port}/v1", api_key=KEY,
                           max_retries=0)
    proposal = LLMFixer(settings).propose(make_ctx())
    assert proposal.reason is not None
    assert proposal.reason.startswith(
        f"could not reach the model server at http://127.0.0.1:{port}/v1 (1 try): ")
    assert "pw" not in proposal.reason


def test_slow_answer_past_the_timeout(server: LLMServer):
    start = time.monotonic()
    proposal = propose(server, slow(10), timeout=0.3, max_retries=0)
    assert proposal.reason == (f"the model server at {server.base_url} did not answer within "
                               "0.3 s (1 try)")
    assert time.monotonic() - start < 3


# -- budget and concurrency ---------------------------------------------------------------


def test_token_budget_stops_requests(server: LLMServer):
    fixer = make_fixer(server, max_tokens_total=100)
    server.script(answer(FIXED, usage=(80, 30)), answer(FIXED))
    assert fixer.propose(make_ctx()).code == FIXED
    assert fixer.propose(make_ctx()) == Proposal(
        None, "token budget of 100 spent (max_tokens_total)")
    assert len(server.requests) == 1
    assert fixer.tokens_used == 110


def test_requests_in_parallel_are_bounded(server: LLMServer):
    fixer = make_fixer(server, concurrency=2)
    server.script(*[slow(0.15, FIXED)] * 6)
    results: list[Proposal] = []

    def run() -> None:
        results.append(fixer.propose(make_ctx()))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [p.code for p in results] == [FIXED] * 6
    assert server.max_in_flight == 2


# -- templates ----------------------------------------------------------------------------


def test_project_templates_override_the_packaged_ones(server: LLMServer, tmp_path: Path):
    (tmp_path / "user.j2").write_text("Fix {{ path }} at line {{ first_line }}:\n"
                                      "{{ numbered_code }}\n")
    propose(server, answer(FIXED), templates=tmp_path)
    request = server.requests[0]
    assert request.message("user") == (
        "Fix docs/guide.md at line 21:\n  21 | import json\n> 22 | data = json.load(text)\n"
        "  23 | print(data)")
    assert request.message("system").startswith("You repair code examples")  # not overridden


def test_template_with_an_unknown_variable_is_a_config_error(server: LLMServer, tmp_path: Path):
    (tmp_path / "system.j2").write_text("Fix {{ no_such_thing }}")
    fixer = make_fixer(server, templates=tmp_path)
    with pytest.raises(ConfigError, match=r"system\.j2: 'no_such_thing' is undefined"):
        fixer.propose(make_ctx())
    assert server.requests == []


def test_broken_or_missing_templates_fail_at_start(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        LLMFixer(LLMSettings("m", base_url="http://127.0.0.1:9", templates=tmp_path / "nope"))
    (tmp_path / "user.j2").write_text("{% if %}")
    with pytest.raises(ConfigError, match=r"prompt template user\.j2"):
        LLMFixer(LLMSettings("m", base_url="http://127.0.0.1:9", templates=tmp_path))


@pytest.mark.parametrize("payload", [
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "{% set x = namespace() %}{{ self._TemplateReference__context.cycler.__init__ }}",
])
def test_project_templates_are_data_not_code(payload: str, server: LLMServer, tmp_path: Path):
    # A pull request may change a project's templates; rendering them runs in docvalidate's
    # process, while the API key is in its environment.
    marker = tmp_path / "pwned"
    (tmp_path / "user.j2").write_text(payload.replace("MARKER", str(marker)))
    fixer = make_fixer(server, templates=tmp_path)
    with pytest.raises(ConfigError, match=r"prompt template user\.j2: .*unsafe"):
        fixer.propose(make_ctx())
    assert not marker.exists()
    assert server.requests == []


def test_text_that_is_not_unicode_still_reaches_the_model(server: LLMServer):
    # What an example printed or raised may hold a lone surrogate; the request must go.
    proposal = propose(server, answer(FIXED), ctx=make_ctx(stdout="caf\udcff\n"))
    assert proposal.code == FIXED
    assert "caf\\udcff" in server.requests[0].message("user")


# -- the key ------------------------------------------------------------------------------


def test_the_key_never_reaches_the_prompt_or_a_reason(server: LLMServer):
    # An example printed its environment; a server echoes the key in its 401 message.
    ctx = make_ctx(stdout=f"OPENAI_API_KEY={KEY}\n")
    fixer = make_fixer(server)
    server.script(status(401, f"Incorrect API key provided: {KEY}."))
    proposal = fixer.propose(ctx)
    assert proposal.reason == ("the model server refused the credentials (HTTP 401): "
                               "Incorrect API key provided: ***.")
    [request] = server.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"  # sent where it belongs only
    assert "OPENAI_API_KEY=***" in request.message("user")
    assert all(KEY not in m["content"] for m in request.messages)
    assert KEY not in repr(fixer.settings) and KEY not in repr(fixer)


# -- settings from the environment --------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("DOCVALIDATE_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_from_env_without_a_model_is_none(clean_env: pytest.MonkeyPatch):
    clean_env.setenv("OPENAI_API_KEY", KEY)
    assert LLMSettings.from_env(None, "http://localhost:8000/v1") is None


def test_from_env_reads_model_url_and_key(clean_env: pytest.MonkeyPatch):
    clean_env.setenv("DOCVALIDATE_MODEL", "env-model")
    clean_env.setenv("OPENAI_BASE_URL", "http://env:1/v1")
    clean_env.setenv("OPENAI_API_KEY", KEY)
    assert LLMSettings.from_env(None, None, timeout=5.0) == LLMSettings(
        "env-model", "http://env:1/v1", KEY, timeout=5.0)
    assert LLMSettings.from_env("arg-model", "http://arg:2/v1") == LLMSettings(
        "arg-model", "http://arg:2/v1", KEY)


def test_from_env_key_placeholder_only_for_a_base_url(clean_env: pytest.MonkeyPatch):
    local = LLMSettings.from_env("m", "http://localhost:8000/v1")
    assert local is not None and local.api_key == "unused"
    remote = LLMSettings.from_env("m", None)
    assert remote is not None and remote.api_key is None
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        LLMFixer(remote)


def test_from_env_refuses_a_key_from_elsewhere(clean_env: pytest.MonkeyPatch):
    with pytest.raises(TypeError, match="OPENAI_API_KEY only"):
        LLMSettings.from_env("m", None, api_key="from-config")


# -- a real model -------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="needs OPENAI_API_KEY")
def test_live_proposal():
    settings = LLMSettings.from_env(os.environ.get("DOCVALIDATE_MODEL") or "gpt-4o-mini", None,
                                    timeout=60.0)
    assert settings is not None
    fixer = LLMFixer(settings)
    proposal = fixer.propose(make_ctx(earlier=("text = '{\"a\": 1}'\n",)))
    assert proposal.code is not None, proposal.reason
    compile(proposal.code, "<proposal>", "exec")
    assert "json.loads(text)" in proposal.code
    assert proposal.prompt_tokens > 0 and fixer.tokens_used > 0


@pytest.mark.parametrize("included", ["host/etc/passwd", "big.txt"])
def test_project_templates_cannot_include_files_outside_or_huge(included: str, server: LLMServer,
                                                                tmp_path: Path):
    (tmp_path / "host").symlink_to("/")
    (tmp_path / "big.txt").write_text("x" * (1024 * 1024))
    (tmp_path / "user.j2").write_text(f'{{% include "{included}" %}}')
    fixer = make_fixer(server, templates=tmp_path)
    with pytest.raises(ConfigError, match=r"prompt template user\.j2: "):
        fixer.propose(make_ctx())
    assert server.requests == []
