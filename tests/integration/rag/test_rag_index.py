"""Incremental indexing into a real embedded Chroma: counts, what gets embedded, persistence."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from rag_support import CountingEmbedder, make_pattern

from mge.errors import InputError
from mge.rag import MiniLMInt8EmbeddingFunction, Pattern, Retriever

OpenRetriever = Callable[[MiniLMInt8EmbeddingFunction | None], Retriever]


async def test_cold_then_warm_index_embeds_only_once(
    open_retriever: OpenRetriever, small_library: list[Pattern], counting_embedder: CountingEmbedder
) -> None:
    retriever = open_retriever(counting_embedder)
    cold = await retriever.index(small_library)
    assert (cold.added, cold.updated, cold.deleted, cold.unchanged) == (5, 0, 0, 0)
    assert counting_embedder.texts == 5
    warm = await retriever.index(small_library)
    assert (warm.added, warm.updated, warm.deleted, warm.unchanged) == (0, 0, 0, 5)
    assert counting_embedder.texts == 5  # nothing embedded on the warm run
    print(f"\nsmall library: cold {cold.seconds:.3f} s, warm {warm.seconds:.4f} s")
    assert warm.seconds < cold.seconds
    assert await retriever.count("patterns") == 5


async def test_changed_removed_and_new_patterns(
    open_retriever: OpenRetriever, small_library: list[Pattern], counting_embedder: CountingEmbedder
) -> None:
    retriever = open_retriever(counting_embedder)
    await retriever.index(small_library)
    edited = small_library[0].model_copy(update={"code": "y = 2\n"})
    new = make_pattern("retry", language="typescript", code="const x = 1;\n")
    library = [edited, *small_library[2:], new]  # small_library[1] removed
    counting_embedder.texts = 0
    stats = await retriever.index(library)
    assert (stats.added, stats.updated, stats.deleted, stats.unchanged) == (1, 1, 1, 3)
    assert counting_embedder.texts == 2
    assert await retriever.count("patterns") == 5
    hits = await retriever.search(small_library[1].summary, k=5)
    assert small_library[1].id not in {h.pattern_id for h in hits}
    (top,) = await retriever.search("retry", k=1, language="python")
    assert top.pattern_id == edited.id and top.snippet == "y = 2\n"


async def test_index_survives_a_new_client(
    open_retriever: OpenRetriever, small_library: list[Pattern], counting_embedder: CountingEmbedder
) -> None:
    await open_retriever(None).index(small_library)
    reopened = open_retriever(counting_embedder)
    stats = await reopened.index(small_library)
    assert (stats.unchanged, stats.embedded) == (5, 0)
    assert counting_embedder.texts == 0


async def test_emptying_the_library_deletes_everything(
    open_retriever: OpenRetriever, small_library: list[Pattern]
) -> None:
    retriever = open_retriever(None)
    await retriever.index(small_library)
    stats = await retriever.index([])
    assert stats.deleted == 5
    assert await retriever.count("patterns") == 0
    assert await retriever.search("anything") == []


async def test_duplicate_ids_are_refused(
    open_retriever: OpenRetriever, small_library: list[Pattern]
) -> None:
    with pytest.raises(InputError, match="unique"):
        await open_retriever(None).index([small_library[0], small_library[0]])


async def test_indexing_runs_off_the_event_loop(
    open_retriever: OpenRetriever, small_library: list[Pattern]
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    # Long documents (256 tokens each) so embedding takes a noticeable time.
    library = [p.model_copy(update={"summary": p.summary * 30}) for p in small_library]
    task = asyncio.create_task(ticker())
    stats = await open_retriever(None).index(library)
    task.cancel()
    print(f"\nloop ticked {ticks} times during a {stats.seconds:.2f} s index")
    # Had the index blocked the loop, the ticker could not have run until it finished.
    assert ticks >= 3


async def test_collections_are_separate_per_embedder(
    tmp_path: Path, small_library: list[Pattern]
) -> None:
    client = chromadb.PersistentClient(
        path=str(tmp_path / "c"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    first = Retriever(client, MiniLMInt8EmbeddingFunction(), embedder="minilm-int8")
    await first.index(small_library)
    other = Retriever(client, MiniLMInt8EmbeddingFunction(), embedder="other-model")
    assert other.collection_names["patterns"] == "mge-patterns-other-model"
    assert await other.count("patterns") == 0
