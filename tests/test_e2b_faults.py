"""What each fault of E2B's service looks like through the real ``e2b-code-interpreter`` SDK.

The real server (``e2b_server``) answers every request well; ``tests/e2b_faults.py``
injects what it never does. Each test pins the exception (class and message) or the
truncated ``Execution`` the E2B backend has to handle, so an SDK upgrade that changes one
fails here first. Each test runs in code contexts of its own: the server is shared.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import e2b_code_interpreter as ci
import httpx
import pytest
from e2b import (
    NotFoundException,
    RateLimitException,
    SandboxException,
    ServiceBusyException,
    TimeoutException,
)
from e2b_faults import (
    BAD_GATEWAY,
    CONTEXT_NOT_FOUND,
    RATE_LIMITED,
    RAW_UNEXPECTED_END,
    SERVER_UNEXPECTED_END,
    SERVICE_BUSY,
    Answer,
    Drop,
    EndEarly,
    FaultProxy,
    Slow,
)

# prints "a", then "b" 0.1 s later: the stream is number_of_executions, stdout a, stdout b,
# end_of_execution
TWO_LINES = "print('a', flush=True)\nimport time\ntime.sleep(0.1)\nprint('b')"


@pytest.fixture
def proxy(e2b_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A fault proxy in front of the real server, the SDK pointed at it in debug mode."""
    with FaultProxy(e2b_env.url) as proxy:
        for name, value in proxy.sdk_env().items():
            monkeypatch.setenv(name, value)
        yield proxy


@pytest.fixture(scope="module")
def context(e2b_server: Any) -> Iterator[Any]:
    """One code context for this module's tests (a context costs a kernel start, about 1 s,
    and as long to remove); the cells here keep no state, so they can share it."""
    direct = ci.Sandbox.create(debug=True, sandbox_url=e2b_server.url)
    context = direct.create_code_context()
    yield context
    direct.remove_code_context(context)


@pytest.fixture
def sandbox(proxy: FaultProxy, context: Any) -> Any:
    """A debug-mode sandbox whose requests all go through ``proxy``; ``sandbox.context`` is
    the module's code context."""
    sandbox = ci.Sandbox.create()
    sandbox.context = context
    return sandbox


def raised(call: Any, *args: Any, **kwargs: Any) -> BaseException:
    with pytest.raises(Exception) as caught:
        call(*args, **kwargs)
    return caught.value


def outcome(execution: Any) -> tuple[Any, ...]:
    """What an execution says, without the execution counter (it counts per kernel, and
    tracebacks name the cell by it: ``Cell In[4], line 3``) and without how the kernel cut its
    output into messages (that depends on when it flushed: ``['a\n', 'b', '\n']`` on a busy
    machine is ``['a\n', 'b\n']`` on an idle one)."""
    error = execution.error and (execution.error.name, execution.error.value,
                                 re.sub(r"Cell In\[\d+\]", "Cell In[N]",
                                        execution.error.traceback))
    return ([r.text for r in execution.results], "".join(execution.logs.stdout),
            "".join(execution.logs.stderr), error)


def test_the_sdk_goes_through_the_proxy_and_gets_what_it_gets_without_it(
        sandbox: Any, proxy: FaultProxy, e2b_env: Any) -> None:
    cells = ["x = 40\nprint('out')", TWO_LINES, "import sys\nprint('err', file=sys.stderr)\nx + 2",
             "def f():\n    1/0\nf()"]
    through = [outcome(sandbox.run_code(cell, context=sandbox.context)) for cell in cells]
    assert proxy.kinds() == ["execute"] * len(cells)

    direct = ci.Sandbox.create(sandbox_url=e2b_env.url)
    alone = [outcome(direct.run_code(cell, context=sandbox.context)) for cell in cells]
    assert len(proxy.requests) == len(cells)  # the direct sandbox did not use the proxy
    assert through == alone
    assert through[1][1] == "a\nb\n" and through[3][3][0] == "ZeroDivisionError"


def test_the_proxy_streams_each_line_as_the_server_sends_it(sandbox: Any, tmp_path: Any) -> None:
    # the cell waits for a file that only the SDK's on_stdout callback for "a" creates: a
    # proxy that held the stream back until the cell ended would make it print "late"
    flag = tmp_path / "seen-a"
    cell = (f"import os, time\nprint('a', flush=True)\ndeadline = time.time() + 20\n"
            f"while not os.path.exists({str(flag)!r}) and time.time() < deadline:\n"
            f"    time.sleep(0.01)\n"
            f"print('b' if os.path.exists({str(flag)!r}) else 'late')")

    def seen(message: Any) -> None:
        if message.line == "a\n":
            flag.touch()

    execution = sandbox.run_code(cell, context=sandbox.context, on_stdout=seen)
    assert execution.logs.stdout == ["a\n", "b\n"]


def test_429_is_a_plain_sandbox_exception_not_rate_limit(sandbox: Any, proxy: FaultProxy) -> None:
    proxy.inject("execute", RATE_LIMITED)
    error = raised(sandbox.run_code, "1", context=sandbox.context)
    # RateLimitException is the control plane's (sandbox creation); the code interpreter's
    # own requests map every status but 404 and 502 to SandboxException
    assert type(error) is SandboxException
    assert str(error) == '429 Too Many Requests: {"code": 429, "message": "Rate limit exceeded"}'
    assert proxy.kinds().count("execute") == 1  # run_code does not retry


def test_502_is_a_timeout_exception_blaming_the_sandbox_timeout(sandbox: Any,
                                                                proxy: FaultProxy) -> None:
    proxy.inject("execute", BAD_GATEWAY)
    error = raised(sandbox.run_code, "1", context=sandbox.context)
    assert type(error) is TimeoutException
    assert str(error).startswith(BAD_GATEWAY.body + ": This error is likely due to sandbox "
                                 "timeout.")
    assert proxy.kinds().count("execute") == 1


def test_503_is_a_plain_sandbox_exception_not_service_busy(sandbox: Any,
                                                           proxy: FaultProxy) -> None:
    proxy.inject("execute", SERVICE_BUSY)
    error = raised(sandbox.run_code, "1", context=sandbox.context)
    assert type(error) is SandboxException
    assert str(error) == ('503 Service Unavailable: '
                          '{"code": 503, "message": "Service temporarily unavailable"}')


def test_a_context_the_server_does_not_know_is_not_found(sandbox: Any, proxy: FaultProxy) -> None:
    gone = ci.models.Context(context_id="no-such-context", language="python", cwd="/")
    real = raised(sandbox.run_code, "1", context=gone)  # the real server's own 404
    assert type(real) is NotFoundException
    assert str(real) == "Context no-such-context not found"

    proxy.inject("execute", CONTEXT_NOT_FOUND)  # the same, injected for a live context
    injected = raised(sandbox.run_code, "1", context=sandbox.context)
    assert type(injected) is NotFoundException and str(injected) == "Context 0 not found"
    assert sandbox.run_code("1", context=sandbox.context).text == "1"  # the context lives


def test_a_stream_dropped_mid_answer_is_httpx_remote_protocol_error(sandbox: Any,
                                                                     proxy: FaultProxy) -> None:
    proxy.inject("execute", Drop(after_lines=2))
    error = raised(sandbox.run_code, TWO_LINES, context=sandbox.context)
    # not an e2b exception: the SDK asks GET /health whether the sandbox still runs and,
    # since it does, re-raises the transport's error
    assert type(error) is httpx.RemoteProtocolError
    assert "unexpected EOF" in str(error)
    assert proxy.kinds()[-2:] == ["execute", "health"]


def test_a_dropped_stream_from_a_sandbox_that_is_gone_is_a_timeout_exception(
        sandbox: Any, proxy: FaultProxy) -> None:
    proxy.inject("execute", Drop(after_lines=1))
    proxy.inject("health", BAD_GATEWAY)  # what E2B's edge answers for a killed sandbox
    error = raised(sandbox.run_code, TWO_LINES, context=sandbox.context)
    assert type(error) is TimeoutException
    assert str(error).startswith("The sandbox was killed while the request was in progress.")


def test_a_stream_ended_without_end_of_execution_is_a_silently_short_execution(
        sandbox: Any, proxy: FaultProxy) -> None:
    proxy.inject("execute", EndEarly(after_lines=2))
    execution = sandbox.run_code(TWO_LINES, context=sandbox.context)
    # no exception and no error: the SDK never checks for end_of_execution, so only the
    # backend's own end marker can tell that "b" is missing
    assert outcome(execution) == ([], "a\n", "", None)


def test_an_unexpected_end_of_execution_line_is_ignored_by_the_sdk(sandbox: Any,
                                                                   proxy: FaultProxy) -> None:
    proxy.inject("execute", EndEarly(after_lines=2, tail=RAW_UNEXPECTED_END))
    assert outcome(sandbox.run_code(TWO_LINES, context=sandbox.context)) == (
        [], "a\n", "", None)


def test_the_servers_unexpected_end_is_an_execution_error(sandbox: Any,
                                                          proxy: FaultProxy) -> None:
    proxy.inject("execute", EndEarly(after_lines=2, tail=SERVER_UNEXPECTED_END))
    execution = sandbox.run_code(TWO_LINES, context=sandbox.context)
    assert execution.logs.stdout == ["a\n"]
    assert (execution.error.name, execution.error.value) == (
        "UnexpectedEndOfExecution",
        "Connection to the execution was closed before the execution was finished")


def test_a_slow_answer_to_run_code_is_an_execution_timeout(sandbox: Any,
                                                           proxy: FaultProxy) -> None:
    proxy.inject("execute", Slow(5))
    error = raised(sandbox.run_code, "1", context=sandbox.context, timeout=0.5)
    assert type(error) is TimeoutException
    assert str(error) == ("Execution timed out — the 'timeout' option can be used to "
                          "increase this timeout")


def test_a_slow_answer_to_another_request_is_a_request_timeout(proxy: FaultProxy) -> None:
    sandbox = ci.Sandbox.create(request_timeout=0.5)
    proxy.inject("context", Slow(5))
    error = raised(sandbox.list_code_contexts)
    assert type(error) is TimeoutException
    assert str(error) == ("Request timed out — the 'request_timeout' option can be used to "
                          "increase this timeout")


def test_latency_delays_every_request(sandbox: Any, proxy: FaultProxy) -> None:
    proxy.latency = 0.2
    started = time.monotonic()
    assert sandbox.run_code("6 * 7", context=sandbox.context).text == "42"
    assert time.monotonic() - started >= 0.2


# Sandbox creation: debug mode makes no request, so these use the proxy's stand-in API.

@pytest.fixture
def api(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> FaultProxy:
    """The SDK out of debug mode, its API (and every sandbox) at the proxy, a dummy key."""
    for name, value in proxy.sdk_env(debug=False).items():
        monkeypatch.setenv(name, value)
    return proxy


def test_a_sandbox_from_the_stand_in_api_runs_code_on_the_real_server(api: FaultProxy,
                                                                      context: Any) -> None:
    sandbox = ci.Sandbox.create()
    assert sandbox.sandbox_id == "standin1"
    assert sandbox.run_code("print(6 * 7)", context=context).logs.stdout == ["42\n"]
    assert sandbox.kill() is True
    assert api.kinds() == ["create_sandbox", "execute", "kill_sandbox"]


def test_creation_rate_limited_is_retried_then_rate_limit_exception(api: FaultProxy) -> None:
    api.inject("create_sandbox", *[RATE_LIMITED] * 4)
    error = raised(ci.Sandbox.create)
    assert type(error) is RateLimitException
    assert str(error) == "429: Rate limit exceeded, please try again later. - Rate limit exceeded"
    assert api.kinds() == ["create_sandbox"] * 4  # one try and the SDK's 3 retries


def test_creation_busy_is_service_busy_exception(api: FaultProxy) -> None:
    api.inject("create_sandbox", Answer(503, SERVICE_BUSY.body,
                                        headers=(("Should-Retry", "false"),)))
    error = raised(ci.Sandbox.create)
    assert type(error) is ServiceBusyException and not isinstance(error, SandboxException)
    assert str(error) == ("503: Service temporarily unavailable, please retry. - "
                          "Service temporarily unavailable")
    assert api.kinds() == ["create_sandbox"]


def test_creation_retried_after_one_rate_limit_succeeds(api: FaultProxy) -> None:
    api.inject("create_sandbox", RATE_LIMITED)
    assert ci.Sandbox.create().sandbox_id == "standin1"
    assert api.kinds() == ["create_sandbox", "create_sandbox"]


def test_creation_failing_otherwise_is_a_sandbox_exception(api: FaultProxy) -> None:
    api.inject("create_sandbox", Answer(500, '{"code": 500, "message": "no capacity"}'))
    error = raised(ci.Sandbox.create)
    assert type(error) is SandboxException and str(error) == "500: no capacity"
    assert error.status_code == 500
