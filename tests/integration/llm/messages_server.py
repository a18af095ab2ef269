"""A local HTTP server that speaks the Anthropic Messages API wire format, for tests.

It answers each ``POST /v1/messages`` with the next scripted :class:`Reply`: a message with
usage, an error body with headers (``retry-after``), a delay longer than the client's timeout.
The server itself (threads, scripting, the kept requests) is :mod:`scripted_server`'s.

Only the parts of the wire format MGE uses are modelled: a non-streaming ``message`` object with
text content and usage (including ``cache_creation_input_tokens``/``cache_read_input_tokens``),
and the ``{"type": "error", "error": {...}}`` body of a refusal.
"""

from __future__ import annotations

from typing import Any

from scripted_server import Received, Reply, ScriptedServer

__all__ = ["MessagesServer", "Received", "Reply", "error", "message"]


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


class MessagesServer(ScriptedServer):
    """``with MessagesServer() as s: s.script(...); AsyncAnthropic(base_url=s.base_url)``."""

    def serves(self, path: str) -> bool:
        """``/v1/messages`` (with any query string)."""
        return path.startswith("/v1/messages")

    def not_found(self, path: str) -> Reply:
        """Anthropic's 404 body."""
        return error(404, "not_found_error", f"no route {path}")

    def unscripted(self, n: int) -> Reply:
        """A 400 naming the request that had no script."""
        return error(400, "invalid_request_error", f"messages_server: nothing scripted for #{n}")
