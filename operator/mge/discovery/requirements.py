"""Checks on the requirements text, done before any LLM call so bad input costs nothing."""

from __future__ import annotations

from mge.errors import InputError
from mge.models.project import MAX_REQUIREMENTS_CHARS

__all__ = ["MIN_REQUIREMENTS_WORDS", "validate_requirements"]

MIN_REQUIREMENTS_WORDS = 3
"""Fewer words than this cannot describe software; refusing them saves a pointless LLM call."""


def validate_requirements(text: str | None) -> str:
    """Return the requirements stripped of surrounding whitespace, or raise InputError.

    Refused: missing, empty or whitespace-only text, fewer than :data:`MIN_REQUIREMENTS_WORDS`
    words, and text longer than ``MAX_REQUIREMENTS_CHARS`` (the message gives both numbers).
    """
    if text is None or not text.strip():
        raise InputError(
            "the requirements are empty: write what the software should do in spec.requirements"
        )
    stripped = text.strip()
    if len(stripped) > MAX_REQUIREMENTS_CHARS:
        raise InputError(
            f"the requirements are too long: {len(stripped):,} characters, the limit is "
            f"{MAX_REQUIREMENTS_CHARS:,}; split the project or summarise the requirements"
        )
    words = len(stripped.split())
    if words < MIN_REQUIREMENTS_WORDS:
        raise InputError(
            f"the requirements are too short to plan from: {words} word(s), at least "
            f"{MIN_REQUIREMENTS_WORDS} are needed"
        )
    return stripped
