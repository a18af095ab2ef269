"""Measure the retrieval stage: embedding throughput, cold and warm indexing, search latency.

``python -m mge.rag.benchmark`` prints one line per figure. It uses a throw-away Chroma folder,
so "cold" really is an empty index and "warm" is a second run over unchanged patterns (nothing
to embed). Numbers depend on the machine's load; record them with the machine's description.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, ConfigDict

from mge.config import Settings
from mge.rag.embedding import DEFAULT_BATCH_SIZE, MiniLMInt8EmbeddingFunction
from mge.rag.patterns import DEFAULT_PATTERNS_DIR, PatternLibrary
from mge.rag.retriever import Retriever

__all__ = ["BenchmarkResult", "run_benchmark"]

#: Short texts embedded for the throughput figure (a typical search query is this long).
SHORT_TEXTS = 256
#: Searches timed for the latency figure.
SEARCHES = 20


class BenchmarkResult(BaseModel):
    """The measured figures (seconds, texts per second)."""

    model_config = ConfigDict(frozen=True)

    patterns: int
    short_texts_per_second: float
    pattern_texts_per_second: float
    index_cold_seconds: float
    index_warm_seconds: float
    warm_embedded: int
    search_median_ms: float


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


async def run_benchmark(patterns_dir: Path, workdir: Path, batch_size: int) -> BenchmarkResult:
    """Run every measurement against the library in ``patterns_dir``, storing in ``workdir``."""
    patterns = PatternLibrary.load(patterns_dir)
    embedder = MiniLMInt8EmbeddingFunction(batch_size=batch_size)
    await asyncio.to_thread(embedder.load)

    short = [f"paginate the list of orders for customer number {i}" for i in range(SHORT_TEXTS)]
    started = time.perf_counter()
    await asyncio.to_thread(embedder.embed, short)
    short_rate = _rate(len(short), time.perf_counter() - started)

    documents = [p.document() for p in patterns]
    started = time.perf_counter()
    await asyncio.to_thread(embedder.embed, documents)
    document_rate = _rate(len(documents), time.perf_counter() - started)

    retriever = await Retriever.open(Settings(workdir=workdir))
    cold = await retriever.index(patterns)
    warm = await retriever.index(patterns)

    latencies = []
    for i in range(SEARCHES):
        started = time.perf_counter()
        await retriever.search(f"retry a failing HTTP call {i} times with backoff", language=None)
        latencies.append(1000 * (time.perf_counter() - started))
    return BenchmarkResult(
        patterns=len(patterns),
        short_texts_per_second=short_rate,
        pattern_texts_per_second=document_rate,
        index_cold_seconds=cold.seconds,
        index_warm_seconds=warm.seconds,
        warm_embedded=warm.embedded,
        search_median_ms=statistics.median(latencies),
    )


def main(
    patterns: Annotated[Path, typer.Option(help="Pattern library folder.")] = DEFAULT_PATTERNS_DIR,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per model call.")] = (
        DEFAULT_BATCH_SIZE
    ),
) -> None:
    """Print embedding throughput, index time cold/warm and search latency."""
    with tempfile.TemporaryDirectory(prefix="mge-rag-bench-") as tmp:
        r = asyncio.run(run_benchmark(patterns, Path(tmp), batch_size))
    typer.echo(f"patterns:                {r.patterns}")
    typer.echo(f"embed short texts:       {r.short_texts_per_second:.1f} texts/s")
    typer.echo(f"embed pattern documents: {r.pattern_texts_per_second:.1f} texts/s (256 tokens)")
    typer.echo(f"index cold:              {r.index_cold_seconds:.2f} s")
    typer.echo(
        f"index warm:              {r.index_warm_seconds:.3f} s ({r.warm_embedded} embedded)"
    )
    typer.echo(f"search:                  {r.search_median_ms:.1f} ms median")


if __name__ == "__main__":
    typer.run(main)
