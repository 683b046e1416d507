"""A small OpenAI-compatible Chat Completions server for tests, scripted per test.

Each request to ``POST /v1/chat/completions`` takes the next behaviour from the script::

    with LLMServer() as server:
        server.script(status(429), answer("x = 2\\n", usage=(30, 7)))
        fixer = LLMFixer(LLMSettings("test-model", base_url=server.base_url, api_key="k"))

``answer`` replies the way a real server would for the request: ``{"code": ...}`` as the
message content when ``response_format`` asked for a JSON schema, a Markdown answer with a
fenced block otherwise. Set ``server.json_schema = False`` to make the server reject every
``json_schema`` request with HTTP 400 (as many local servers do) without using up the script;
set ``server.llama_cpp_python = True`` to refuse them as llama-cpp-python's server does: HTTP
500 (its route handler turns FastAPI's validation error into an internal server error), no
retry headers, and pydantic's message naming ``response_format`` in an OpenAI-style body.

Every request is recorded (``server.requests``) for assertions on the prompt and parameters.
When the script is used up the server answers HTTP 500 with ``x-should-retry: false``, so a
test that asks more than it scripted fails at once instead of retrying. Slow replies wait on
an event that ``close()`` sets, so stopping the server never waits for them.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Kind = Literal["answer", "status", "malformed", "drop", "slow"]

LLAMA_CPP_PYTHON_REFUSAL = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}]")


@dataclass(frozen=True)
class Behaviour:
    """What the server does for one request."""

    kind: Kind
    code: str | None = None  # answer: the corrected block, wrapped as the request wants
    text: str | None = None  # answer: the raw message content, used as given
    usage: tuple[int, int] | None = (0, 0)  # (prompt_tokens, completion_tokens); None: omitted
    status: int = 200
    message: str = ""  # status: the error message in the body
    delay: float = 0.0  # slow: seconds to wait before answering
    finish_reason: str = "stop"
    refusal: str | None = None


def answer(
    code: str | None = None,
    *,
    text: str | None = None,
    usage: tuple[int, int] | None = (0, 0),
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> Behaviour:
    """A 200 answer: ``code`` in the format the request asked for, or ``text`` verbatim."""
    return Behaviour("answer", code=code, text=text, usage=usage, finish_reason=finish_reason,
                     refusal=refusal)


def status(code: int, message: str = "scripted error") -> Behaviour:
    """An error status with an OpenAI-style error body (and a tiny retry-after for 429/5xx)."""
    return Behaviour("status", status=code, message=message)


def malformed() -> Behaviour:
    """A 200 whose JSON body is cut off."""
    return Behaviour("malformed")


def drop() -> Behaviour:
    """Read the request, then close the connection without a byte of answer."""
    return Behaviour("drop")


def slow(delay: float, code: str = "pass\n") -> Behaviour:
    """Answer only after ``delay`` seconds (meant to exceed the client's timeout)."""
    return Behaviour("slow", code=code, delay=delay)


@dataclass
class Request:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    rejected: bool = False  # refused because json_schema is switched off (400, or 500 as
    # llama-cpp-python)

    @property
    def structured(self) -> bool:
        fmt = self.body.get("response_format") or {}
        return isinstance(fmt, dict) and fmt.get("type") == "json_schema"

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def message(self, role: str) -> str:
        """The content of the first message with this role."""
        return next(str(m["content"]) for m in self.messages if m.get("role") == role)


@dataclass
class LLMServer:
    """The server and its script; a context manager that starts and stops it."""

    json_schema: bool = True
    llama_cpp_python: bool = False
    requests: list[Request] = field(default_factory=list)
    max_in_flight: int = 0
    _script: deque[Behaviour] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _in_flight: int = 0
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, in order."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def left(self) -> int:
        """Scripted behaviours not used yet."""
        with self._lock:
            return len(self._script)

    def start(self) -> LLMServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()  # wakes slow replies
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- used by the handler ------------------------------------------------------------

    def _take(self, request: Request) -> Behaviour | None:
        """Record the request and pick its behaviour (None: rejected json_schema request)."""
        with self._lock:
            self.requests.append(request)
            if request.structured and (not self.json_schema or self.llama_cpp_python):
                request.rejected = True
                return None
            if not self._script:
                return Behaviour("status", status=500,
                                 message=f"llm_server: no scripted reply left for request "
                                 f"{len(self.requests)}")
            return self._script.popleft()

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


class _Handler(BaseHTTPRequestHandler):
    owner: LLMServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers after close()
    timeout = 10  # a client that never sends its body cannot hold a thread for ever

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest output clean."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, _error(f"no route {self.path}", "not_found"))
            return
        self.owner._enter()
        try:
            self._behave(request, self.owner._take(request))
        finally:
            self.owner._leave()

    def _behave(self, request: Request, behaviour: Behaviour | None) -> None:
        if behaviour is None and self.owner.llama_cpp_python:
            # llama_cpp/server/errors.py: RouteErrorHandler answers any exception it does not
            # recognise with 500 and str(exc); here FastAPI's RequestValidationError for
            # ChatCompletionRequestResponseFormat, whose type is Literal["text", "json_object"].
            self._json(500, {"error": {"message": LLAMA_CPP_PYTHON_REFUSAL,
                                       "type": "internal_server_error", "param": None,
                                       "code": None}})
        elif behaviour is None:
            self._json(400, _error("response_format json_schema is not supported",
                                   "invalid_request_error", param="response_format"))
        elif behaviour.kind == "status":
            headers = {}
            if behaviour.status == 429 or behaviour.status >= 500:
                # The SDK honours retry-after-ms: retries in tests take a millisecond.
                headers["retry-after-ms"] = "1"
            if "no scripted reply left" in behaviour.message:
                headers["x-should-retry"] = "false"
            self._json(behaviour.status, _error(behaviour.message, "server_error"), headers)
        elif behaviour.kind == "malformed":
            self._raw(200, b'{"id": "chatcmpl-1", "choices": [{"index": 0, "mess')
        elif behaviour.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif behaviour.kind == "slow":
            if self.owner._stop.wait(behaviour.delay):
                return
            self._answer(request, behaviour)
        else:
            self._answer(request, behaviour)

    def _answer(self, request: Request, behaviour: Behaviour) -> None:
        if behaviour.text is not None:
            content = behaviour.text
        elif request.structured:
            content = json.dumps({"code": behaviour.code or ""})
        else:
            content = f"Here is the corrected block:\n\n```python\n{behaviour.code or ''}```\n"
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if behaviour.refusal is not None:
            message = {"role": "assistant", "content": None, "refusal": behaviour.refusal}
        body: dict[str, Any] = {
            "id": f"chatcmpl-{len(self.owner.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": request.body.get("model", "unknown"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": behaviour.finish_reason}],
        }
        if behaviour.usage is not None:
            prompt, completion = behaviour.usage
            body["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion}
        self._json(200, body)

    def _json(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None
              ) -> None:
        self._raw(code, json.dumps(body).encode(), headers)

    def _raw(self, code: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout): nothing to answer to


def _error(message: str, type_: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": None}}
