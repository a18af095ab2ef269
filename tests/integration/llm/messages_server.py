"""A local HTTP server that speaks the Anthropic Messages API wire format, for tests.

It listens on 127.0.0.1 on a free port (stdlib ``http.server`` in a thread) and answers each
``POST /v1/messages`` with the next scripted :class:`Reply`: a message with usage, an error
body with headers (``retry-after``), a delay longer than the client's timeout. Every request is
kept (time, headers, JSON body) so a test can assert what the client really sent and how long it
waited between attempts.

Only the parts of the wire format MGE uses are modelled: a non-streaming ``message`` object with
text content and usage (including ``cache_creation_input_tokens``/``cache_read_input_tokens``),
and the ``{"type": "error", "error": {...}}`` body of a refusal.
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


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, JSON body, headers, and a delay before answering."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def message(
    text: str,
    *,
    input_tokens: int = 10,
    output_tokens: int = 5,
    cache_write: int | None = None,
    cache_read: int | None = None,
    model: str = "claude-sonnet-4-6",
    stop_reason: str = "end_turn",
) -> Reply:
    """A successful Messages API answer."""
    usage: dict[str, Any] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    if cache_write is not None:
        usage["cache_creation_input_tokens"] = cache_write
    if cache_read is not None:
        usage["cache_read_input_tokens"] = cache_read
    return Reply(
        body={
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        },
        headers={"request-id": "req_test_ok"},
    )


def error(status: int, kind: str, text: str, headers: dict[str, str] | None = None) -> Reply:
    """An error answer in the API's format (e.g. 529 ``overloaded_error``)."""
    return Reply(
        status=status,
        body={"type": "error", "error": {"type": kind, "message": text}},
        headers={"request-id": f"req_test_{status}", **(headers or {})},
    )


class MessagesServer:
    """``with MessagesServer() as s: s.script(...); AsyncAnthropic(base_url=s.base_url)``."""

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
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

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
        return error(400, "invalid_request_error", f"messages_server: nothing scripted for #{n}")

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
                if not got.path.startswith("/v1/messages"):
                    reply = error(404, "not_found_error", f"no route {got.path}")
                time.sleep(reply.delay_s)
                payload = json.dumps(reply.body).encode()
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

    def __enter__(self) -> MessagesServer:
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
