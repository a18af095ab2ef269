"""Conversational intake: asking the open questions through an injected ``ask`` callable.

The CLI passes a terminal prompt; tests pass a function. Nothing here touches a terminal, so the
same code serves any front end that can put a question to a person.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mge.discovery.answers import apply_answers, open_questions, parse_answers
from mge.models.domain import DiscoveryResult, Question

__all__ = ["Ask", "ask_questions", "resolve_answers"]

Ask = Callable[[Question], str]
"""Puts one question to a person and returns the reply; a blank reply keeps the default."""


def ask_questions(result: DiscoveryResult, ask: Ask) -> dict[str, str]:
    """Ask each still-open question of ``result`` in order; the non-blank replies by id."""
    replies = {q.id: ask(q) for q in open_questions(result)}
    return parse_answers(replies, source="interactive answers")


def resolve_answers(
    result: DiscoveryResult,
    *sources: Mapping[str, str],
    ask: Ask | None = None,
) -> DiscoveryResult:
    """Apply answers from ``sources`` (later ones win), then ask what is still open.

    With ``ask`` None, every open question takes its default (recorded as an assumption).
    Unknown question ids in any source raise InputError before anyone is asked anything.
    """
    merged: dict[str, str] = {}
    for source in sources:
        merged.update(source)
    answered = apply_answers(result, merged)
    if ask is None:
        return answered
    return apply_answers(answered, {**merged, **ask_questions(answered, ask)})
