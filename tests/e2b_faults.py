"""A fault-injecting HTTP proxy in front of E2B's code-interpreter server (tests only).

The real server (``tests/e2b_local.py``) never answers 429, 502 or 503, never drops a
stream, and E2B's sandbox-creation API does not exist here at all. ``FaultProxy`` sits
between the real ``e2b-code-interpreter`` SDK and that server on 127.0.0.1: it forwards
every request and streams every answer through (the NDJSON of ``POST /execute`` line by
line, unbuffered), unless a test scripted a fault for the next request of that kind::

    with FaultProxy(server.url) as proxy:
        proxy.inject("execute", RATE_LIMITED)            # the next POST /execute gets a 429
        proxy.inject("execute", Drop(after_lines=1))     # the one after that is cut
        with proxy.sdk_env():                            # E2B_SANDBOX_URL=proxy, debug mode
            sandbox = Sandbox.create()
            ...

It also stands in for E2B's control-plane API (``POST /v2/sandboxes``, ``DELETE
/sandboxes/ID``) so that sandbox creation can fail through the real SDK: in debug mode
``Sandbox.create()`` makes no request, so ``sdk_env(debug=False)`` points the SDK's API URL
at the proxy too, with a dummy key.

Faults are consumed in order, one per request of their kind; a kind with no fault left
passes through. ``latency`` delays every request (the benchmark's network).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Request kinds a fault can be scripted for.
KINDS = ("execute", "create_context", "context", "health", "create_sandbox",
         "kill_sandbox", "other")


@dataclass(frozen=True)
class Answer:
    """Answer at once with this status and body; the server never sees the request."""

    status: int
    body: str = ""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Drop:
    """Forward, pass ``after_lines`` lines of the answer through, then cut the connection
    (no end of the chunked stream: the client sees the peer go away mid-answer)."""

    after_lines: int = 0


@dataclass(frozen=True)
class EndEarly:
    """Forward, pass ``after_lines`` lines through, write ``tail`` (whole NDJSON lines), then
    end the chunked stream properly: the answer is complete at the HTTP level but the
    server's ``end_of_execution`` line never arrives (unless ``tail`` holds one)."""

    after_lines: int = 0
    tail: tuple[str, ...] = ()


@dataclass(frozen=True)
class Slow:
    """Wait ``seconds`` before forwarding (a slow sandbox or network)."""

    seconds: float


Fault = Answer | Drop | EndEarly | Slow

# What E2B's edge and API answer (bodies modelled on E2B's JSON error shape, {code, message}).
RATE_LIMITED = Answer(429, '{"code": 429, "message": "Rate limit exceeded"}')
BAD_GATEWAY = Answer(502, '{"code": 502, "message": "The sandbox was not found", '
                          '"sandboxId": "debug_sandbox_id"}')
SERVICE_BUSY = Answer(503, '{"code": 503, "message": "Service temporarily unavailable"}')
# The server's own 404 for an unknown context (upstream main.py: PlainTextResponse).
CONTEXT_NOT_FOUND = Answer(404, "Context 0 not found", content_type="text/plain; charset=utf-8")
# The two lines the real server writes when its websocket to the kernel closes mid-cell
# (messaging.py turns OutputType.UNEXPECTED_END_OF_EXECUTION into this error).
SERVER_UNEXPECTED_END = (
    json.dumps({"type": "error", "name": "UnexpectedEndOfExecution",
                "value": "Connection to the execution was closed before the execution "
                         "was finished", "traceback": ""}),
    '{"type": "end_of_execution"}',
)
# The raw output type, as a stream that passed it through unconverted would carry it.
RAW_UNEXPECTED_END = ('{"type": "unexpected_end_of_execution"}',)

# Headers that describe one hop's framing, never forwarded as they are.
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer",
        "upgrade", "proxy-connection"}


def kind_of(method: str, path: str) -> str:
    """The kind of a request, for scripting faults."""
    path = urlsplit(path).path.rstrip("/")
    if method == "POST" and path == "/execute":
        return "execute"
    if method == "POST" and path == "/contexts":
        return "create_context"
    if path.startswith("/contexts"):
        return "context"
    if path == "/health":
        return "health"
    if method == "POST" and path == "/v2/sandboxes":
        return "create_sandbox"
    if method == "DELETE" and path.startswith("/sandboxes/"):
        return "kill_sandbox"
    return "other"


@dataclass
class FaultProxy:
    """The proxy; a context manager that serves on 127.0.0.1 on a free port."""

    upstream: str
    latency: float = 0.0
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    _faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _sandboxes: int = 0

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def inject(self, kind: str, *faults: Fault) -> None:
        """Script ``faults`` for the next requests of ``kind`` (one each, in order)."""
        if kind not in KINDS:
            raise ValueError(f"unknown request kind {kind!r}; one of {KINDS}")
        with self._lock:
            self._faults[kind].extend(faults)

    def pending(self, kind: str) -> int:
        """How many scripted faults of ``kind`` no request has consumed yet."""
        with self._lock:
            return len(self._faults[kind])

    def kinds(self) -> list[str]:
        """The kinds of the requests seen so far, in order."""
        with self._lock:
            return [kind for kind, _, _ in self.requests]

    def sdk_env(self, debug: bool = True) -> dict[str, str]:
        """The environment that points the real SDK at this proxy.

        ``debug=True``: debug mode (no API, no key), every sandbox request to the proxy.
        ``debug=False``: the control plane too (``Sandbox.create()`` asks the proxy's
        stand-in API with a dummy key), so creation faults reach the SDK.
        """
        env = {"E2B_SANDBOX_URL": self.url}
        if debug:
            env["E2B_DEBUG"] = "true"
        else:
            env.update(E2B_DEBUG="false", E2B_API_URL=self.url, E2B_API_KEY="e2b_" + "0" * 40)
        return env

    @contextlib.contextmanager
    def environment(self, debug: bool = True) -> Iterator[None]:
        """``sdk_env`` applied to ``os.environ`` for the block (the SDK reads it at each call)."""
        env = self.sdk_env(debug)
        keys = {*env, "E2B_API_URL", "E2B_API_KEY", "E2B_DEBUG", "E2B_SANDBOX_URL"}
        saved = {k: os.environ.get(k) for k in keys}
        for k in keys:
            os.environ.pop(k, None)
        os.environ.update(env)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def __enter__(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="e2b-fault-proxy").start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _next(self, kind: str, method: str, path: str) -> Fault | None:
        with self._lock:
            self.requests.append((kind, method, path))
            queue = self._faults[kind]
            return queue.popleft() if queue else None

    def _new_sandbox_id(self) -> str:
        with self._lock:
            self._sandboxes += 1
            return f"standin{self._sandboxes}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (its timeout, a dropped stream) is what the tests do


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the tests assert on proxy.requests instead

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        body = self._body()
        kind = kind_of(self.command, self.path)
        fault = self.owner._next(kind, self.command, self.path)
        if self.owner.latency:
            time.sleep(self.owner.latency)
        if isinstance(fault, Slow):
            time.sleep(fault.seconds)
            fault = None
        if isinstance(fault, Answer):
            self._answer(fault.status, fault.body.encode(), fault.content_type, fault.headers)
        elif kind == "create_sandbox":
            self._create_sandbox(body)
        elif kind == "kill_sandbox":
            self._answer(204, b"", "application/json")
        else:
            self._forward(body, fault)

    def _answer(self, status: int, body: bytes, content_type: str,
                headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _create_sandbox(self, body: bytes) -> None:
        """E2B's POST /v2/sandboxes, answered as the API does (fields of the SDK's model)."""
        template = json.loads(body or b"{}").get("templateID", "code-interpreter-v1")
        answer = {"templateID": template, "sandboxID": self.owner._new_sandbox_id(),
                  "clientID": "standin", "envdVersion": "0.2.0"}
        self._answer(201, json.dumps(answer).encode(), "application/json")

    def _forward(self, body: bytes, fault: Fault | None) -> None:
        target = urlsplit(self.owner.upstream)
        upstream = http.client.HTTPConnection(target.hostname or "127.0.0.1",
                                              target.port or 80, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}}
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
        except OSError as error:
            self._answer(502, f"proxy: upstream unreachable: {error}".encode(), "text/plain")
            return
        try:
            self._relay(response, fault)
        finally:
            upstream.close()

    def _relay(self, response: http.client.HTTPResponse, fault: Fault | None) -> None:
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in _HOP:
                self.send_header(name, value)
        streamed = response.getheader("Content-Length") is None
        if not streamed and fault is None:
            data = response.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        lines = 0
        limit = fault.after_lines if isinstance(fault, Drop | EndEarly) else None
        while limit is None or lines < limit:
            line = response.readline()
            if not line:
                break
            self._chunk(line)
            lines += 1
        if isinstance(fault, Drop):
            # a hard close mid-stream: the terminating chunk never comes
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            self._drain(response)
            return
        if isinstance(fault, EndEarly):
            for extra in fault.tail:
                self._chunk(extra.encode() + b"\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self._drain(response)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    @staticmethod
    def _drain(response: http.client.HTTPResponse) -> None:
        """Read the rest of the server's answer: the cell runs to its end, as it would
        had an edge proxy (not the server) lost the stream, and the kernel stays usable."""
        with contextlib.suppress(OSError, http.client.HTTPException):
            while response.read(65536):
                pass
