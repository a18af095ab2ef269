"""The base of the fake LLM servers used by the wire tests (messages_server, chat_server).

A :class:`ScriptedServer` listens on 127.0.0.1 on a free port (stdlib ``http.server`` in a
thread) and answers each POST with the next scripted :class:`Reply`: a JSON body with status and
headers (``retry-after``), a delay longer than the client's timeout, or raw bytes that are not
JSON at all. Every request is kept (time, headers, JSON body) so a test can assert what the
client really sent and how long it waited between attempts.

The subclasses say only what differs between the APIs: the route, the base URL the SDK wants,
and the error body for an unknown route or an unscripted request. Keeping the socket handling
here means a fix to it (a client that hangs up early, say) reaches both fakes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


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


class ScriptedServer:
    """``with Sub() as s: s.script(...); Client(base_url=s.base_url)``; subclasses fill hooks."""

    base_path = ""
    """Appended to ``http://host:port`` in :attr:`base_url` (``/v1`` for OpenAI-style SDKs)."""

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
        """Where the SDK under test is pointed."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{self.base_path}"

    def script(self, *replies: Reply, then: Reply | None = None) -> None:
        """Answer the next requests with ``replies`` in order, then with ``then`` forever."""
        with self._lock:
            self._replies.extend(replies)
            self._then = then

    # -- what each API spells its own way -----------------------------------------------------

    def serves(self, path: str) -> bool:
        """True for the API's route; any other path gets :meth:`not_found`."""
        raise NotImplementedError

    def not_found(self, path: str) -> Reply:
        """The API's 404 body."""
        raise NotImplementedError

    def unscripted(self, n: int) -> Reply:
        """The answer to request ``n`` when nothing was scripted for it (a 400 the test sees)."""
        raise NotImplementedError

    # -- the server ---------------------------------------------------------------------------

    def _next(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            if self._replies:
                return self._replies.popleft()
            if self._then is not None:
                return self._then
        return self.unscripted(len(self.received))

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
                if not server.serves(got.path):
                    reply = server.not_found(got.path)
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

    def __enter__(self) -> Self:
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
