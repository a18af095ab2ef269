"""Helpers for the retrieval integration tests (imported by conftest and tests alike)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from mge.rag import MiniLMInt8EmbeddingFunction, Pattern
from mge.rag.embedding import FloatArray


class CountingEmbedder(MiniLMInt8EmbeddingFunction):
    """The real embedder, counting the texts it embeds (to prove what was not re-embedded)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> FloatArray:
        self.texts += len(texts)
        return super().embed(texts)


TOPICS = {
    "retry": "Retry a failing network call with exponential backoff and jitter.",
    "paging": "Paginate a long list of records with a cursor token.",
    "hashing": "Hash user passwords with a slow salted key derivation function.",
    "csv": "Read rows from a CSV file and validate every field.",
    "events": "Publish domain events after the transaction commits.",
}


def make_pattern(
    topic: str, language: Literal["python", "typescript"] = "python", code: str = "x = 1\n"
) -> Pattern:
    return Pattern(
        id=f"{language[:2]}-{topic}",
        title=f"{topic} example",
        language=language,
        framework="none",
        kind=topic,
        summary=TOPICS[topic],
        code=code,
    )
