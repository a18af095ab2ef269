"""A local HTTP server that speaks the OpenAI chat-completions wire format, for tests.

It answers each ``POST /v1/chat/completions`` with the next scripted :class:`Reply`: a
completion with usage, an error body with headers (``retry-after``), a delay longer than the
client's timeout, or raw bytes that are not JSON at all. The server itself (threads, scripting,
the kept requests) is :mod:`scripted_server`'s.

Only what MGE uses is modelled: a non-streaming ``chat.completion`` with one choice and usage
(``prompt_tokens_details.cached_tokens`` optional), and the ``{"error": {...}}`` body of a
refusal as OpenAI, vLLM and Ollama send it.
"""

from __future__ import annotations

from typing import Any

from scripted_server import Received, Reply, ScriptedServer

__all__ = ["ROUTE", "ChatServer", "Received", "Reply", "completion", "error"]

ROUTE = "/v1/chat/completions"


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


class ChatServer(ScriptedServer):
    """``with ChatServer() as s: s.script(...); AsyncOpenAI(base_url=s.base_url)``."""

    base_path = "/v1"
    """The ``/v1`` base URL, as Ollama and vLLM publish it."""

    def serves(self, path: str) -> bool:
        """Exactly ``/v1/chat/completions``."""
        return path == ROUTE

    def not_found(self, path: str) -> Reply:
        """The OpenAI-style 404 body."""
        return error(404, "not_found", f"no route {path}")

    def unscripted(self, n: int) -> Reply:
        """A 400 naming the request that had no script."""
        return error(400, "invalid_request_error", f"chat_server: nothing scripted for #{n}")
