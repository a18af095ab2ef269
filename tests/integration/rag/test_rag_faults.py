"""Chroma misbehaving at planning time: a server that accepts connections and never answers,
and a collection of MGE's name that another program made. The Project goes on without patterns
and the note (kept in the store for the operator's condition and Warning Event) says why."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from test_rag_operator import DISCOVERY, EXAMPLES, Notes

from mge.config import Settings
from mge.errors import CollectionUnusable
from mge.kube.stages import StageRunner
from mge.models.project import ProjectSpec
from mge.pipeline.memory_stages import retrieval_note
from mge.pipeline.planning_stages import retrieval_stage
from mge.rag import MiniLMInt8EmbeddingFunction, Retriever
from mge.store import Store

SPEC = ProjectSpec.model_validate(
    {
        "requirements": "accounts with safe passwords",
        "llm": {"provider": "scripted", "recordings": "inventory-lib/recordings"},
    }
)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (a hung Chroma)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


async def _plan(store: Store, settings: Settings, key: str) -> tuple[list[str], list[str]]:
    await store.upsert_project(key, SPEC, 1)
    ctx = await StageRunner(store, settings).context(key)
    notes = Notes()
    ctx.reporter = notes
    try:
        refs = await retrieval_stage(ctx, DISCOVERY)
    finally:
        await ctx.aclose()
    return [r.pattern_id for r in refs], notes.lines


async def test_a_hung_chroma_server_means_planning_without_patterns(
    silent_server: str, tmp_path: Path
) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'mge.db'}")
    try:
        settings = Settings(
            workdir=tmp_path / "op",
            chroma_url=silent_server,
            retrieval_timeout_seconds=2,
            operator={"recordings_root": EXAMPLES},
        )
        found, notes = await _plan(store, settings, "team-a/hung")
        assert found == []
        note = await retrieval_note(store, "team-a/hung")
        assert note.startswith("retrieval: unavailable (")
        assert "took longer than 2 s" in note and silent_server in note
        assert note in notes
    finally:
        await store.close()


@pytest.mark.slow
async def test_a_foreign_collection_is_named_and_planning_goes_on(tmp_path: Path) -> None:
    workdir = tmp_path / "op"
    client = chromadb.PersistentClient(
        path=str(workdir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    foreign = client.get_or_create_collection("mge-patterns-minilm-int8")  # Chroma's own embedder
    foreign.add(ids=["x"], embeddings=[[0.1, 0.2, 0.3]], documents=["not ours"])
    del client

    retriever = Retriever(
        chromadb.PersistentClient(
            path=str(workdir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        ),
        MiniLMInt8EmbeddingFunction(),
        embedder="minilm-int8",
    )
    with pytest.raises(CollectionUnusable, match=r"'mge-patterns-minilm-int8'.*delete that"):
        await retriever.search("hash a password", include_learned=False)

    store = await Store.open(f"sqlite:///{tmp_path / 'mge.db'}")
    try:
        settings = Settings(workdir=workdir, operator={"recordings_root": EXAMPLES})
        found, _ = await _plan(store, settings, "team-a/foreign")
        assert found == []
        note = await retrieval_note(store, "team-a/foreign")
        assert "'mge-patterns-minilm-int8' cannot be used by MGE" in note
    finally:
        await store.close()
