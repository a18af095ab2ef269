"""The chat-completions shape shared by the OpenAI-compatible provider and llama.cpp.

Both speak OpenAI's chat format (llama-cpp-python's ``create_chat_completion`` copies it), so
the messages built from an :class:`~mge.llm.base.LLMRequest` and the reading of a finish reason
are the same for both; keeping them here means the two providers cannot drift apart.
"""

from __future__ import annotations

from mge.llm.base import LLMRequest

__all__ = ["FINISH_TO_STOP", "chat_messages", "stop_reason_of"]

FINISH_TO_STOP = {"stop": "end_turn", "length": "max_tokens"}
"""Chat-completions finish reasons in the vocabulary of LLMResponse.stop_reason."""


def chat_messages(request: LLMRequest) -> list[dict[str, str]]:
    """The chat messages of ``request``: the system blocks joined, then the prompt (pure)."""
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": "\n\n".join(request.system)})
    messages.append({"role": "user", "content": request.prompt})
    return messages


def stop_reason_of(finish_reason: str | None) -> str | None:
    """``end_turn`` / ``max_tokens`` for ``stop`` / ``length`` (others unchanged, None stays)."""
    if finish_reason is None:
        return None
    return FINISH_TO_STOP.get(finish_reason, finish_reason)
