"""The same retriever against a real Chroma server (HttpClient), as the operator runs it."""

from __future__ import annotations

import chromadb

from mge.config import Settings
from mge.rag import MiniLMInt8EmbeddingFunction, Pattern, Retriever


async def test_index_search_and_learn_over_http(
    chroma_server: str, small_library: list[Pattern]
) -> None:
    settings = Settings(chroma_url=chroma_server)
    retriever = await Retriever.open(settings)
    cold = await retriever.index(small_library)
    assert cold.added == 5
    warm = await (await Retriever.open(settings)).index(small_library)
    assert (warm.unchanged, warm.embedded) == (5, 0)

    (hit,) = await retriever.search("store passwords safely", k=1)
    assert hit.pattern_id == "py-hashing"
    await retriever.learn(
        "atom-x",
        "def area(r: float) -> float:\n    return 3.14159 * r * r\n",
        "python",
        {"title": "circle area"},
    )
    (learned,) = await retriever.search("area of a circle", k=1)
    assert (learned.source, learned.pattern_id) == ("learned", "atom-x")


async def test_server_keeps_the_embedder_config(
    chroma_server: str, small_library: list[Pattern]
) -> None:
    retriever = await Retriever.open(Settings(chroma_url=chroma_server))
    await retriever.index(small_library)
    host, port = chroma_server.removeprefix("http://").split(":")
    client = chromadb.HttpClient(host=host, port=int(port))
    collection = client.get_collection(retriever.collection_names["patterns"])
    # Chroma rebuilt our embedding function from the stored config, without being given one,
    # and embeds query text with it (Chroma's default would try to download a model here).
    assert isinstance(
        collection.configuration.get("embedding_function"), MiniLMInt8EmbeddingFunction
    )
    found = collection.query(query_texts=["store passwords safely"], n_results=1)
    assert found["ids"] == [["py-hashing"]]
