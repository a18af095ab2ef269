"""Fixtures for retrieval tests against a real Chroma (embedded, or a local server) and the real
offline embedder. The shipped pattern library is indexed once per session; tests that change an
index build their own in tmp_path."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from rag_support import TOPICS, CountingEmbedder, make_pattern

from mge.config import Settings
from mge.rag import MiniLMInt8EmbeddingFunction, Pattern, PatternLibrary, Retriever
from mge.rag.patterns import DEFAULT_PATTERNS_DIR

SERVER_START_TIMEOUT = 120.0  # seconds: at load 15 its first start printed nothing in 30 s


@pytest.fixture
def counting_embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def open_retriever(
    tmp_path: Path,
) -> Callable[[MiniLMInt8EmbeddingFunction | None], Retriever]:
    """Open a retriever on tmp_path's Chroma; call again for a fresh client on the same files."""

    def make(embedder: MiniLMInt8EmbeddingFunction | None = None) -> Retriever:
        client = chromadb.PersistentClient(
            path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        )
        return Retriever(client, embedder or MiniLMInt8EmbeddingFunction(), embedder="minilm-int8")

    return make


@pytest.fixture
def small_library() -> list[Pattern]:
    return [make_pattern(t) for t in TOPICS]


@pytest.fixture(scope="session")
def library_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose workdir holds an index of the shipped pattern library (built once)."""
    settings = Settings(workdir=tmp_path_factory.mktemp("rag-library"))

    async def build() -> None:
        retriever = await Retriever.open(settings)
        stats = await retriever.index(PatternLibrary.load(DEFAULT_PATTERNS_DIR))
        print(f"\nindexed the pattern library cold: {stats}")

    asyncio.run(build())
    return settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (the `chroma` CLI from the chromadb wheel) on a loopback port."""
    binary = shutil.which("chroma", path=os.path.dirname(sys.executable))
    if binary is None:
        pytest.fail("the chroma CLI of the chromadb package is missing from the venv")
    port = _free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [binary, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"chroma server did not start: {(folder / 'server.log').read_text()}"
                    )
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
