"""A local HTTP server that speaks the OpenAI chat-completions wire format, for tests.

It listens on 127.0.0.1 on a free port (stdlib ``http.server`` in a thread) and answers each
``POST /v1/chat/completions`` with the next scripted :class:`Reply`: a completion with usage,
an error body with headers (``retry-after``), a delay longer than the client's timeout, or raw
bytes that are not JSON at all. Every request is kept (time, headers, JSON body) so a test can
assert what the client really sent and how long it waited between attempts.

Only what MGE uses is modelled: a non-streaming ``chat.completion`` with one choice and usage
(``prompt_tokens_details.cached_tokens`` optional), and the ``{"error": {...}}`` body of a
refusal as OpenAI, vLLM and Ollama send it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

ROUTE = "/v1/chat/completions"


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, JSON body (or raw bytes), headers, delay before answering."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw: bytes | None = None
    """Sent instead of ``body`` when set (a proxy's HTML page, truncated JSON...)."""


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def completion(
    text: str,
    *,
    prompt_tokens: int = 12,
    completion_tokens: int = 7,
    cached_tokens: int | None = None,
    model: str = "qwen2.5-coder:7b",
    finish_reason: str = "stop",
) -> Reply:
    """A successful chat completion."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return Reply(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage,
        },
        headers={"x-request-id": "req_test_ok"},
    )


def error(status: int, kind: str, text: str, headers: dict[str, str] | None = None) -> Reply:
    """An error answer in the OpenAI format."""
    return Reply(
        status=status,
        body={"error": {"message": text, "type": kind, "param": None, "code": None}},
        headers={"x-request-id": f"req_test_{status}", **(headers or {})},
    )


class ChatServer:
    """``with ChatServer() as s: s.script(...); AsyncOpenAI(base_url=s.base_url)``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._replies: deque[Reply] = deque()
        self._then: Reply | None = None
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The ``/v1`` base URL, as Ollama and vLLM publish it."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *replies: Reply, then: Reply | None = None) -> None:
        """Answer the next requests with ``replies`` in order, then with ``then`` forever."""
        with self._lock:
            self._replies.extend(replies)
            self._then = then

    def _next(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            if self._replies:
                return self._replies.popleft()
            if self._then is not None:
                return self._then
        n = len(self.received)
        return error(400, "invalid_request_error", f"chat_server: nothing scripted for #{n}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                got = Received(
                    at=time.monotonic(),
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw or b"{}"),
                )
                reply = server._next(got)
                if got.path != ROUTE:
                    reply = error(404, "not_found", f"no route {got.path}")
                time.sleep(reply.delay_s)
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout) before the answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
