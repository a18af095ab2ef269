"""Retrieval (RAG): semantic search over the pattern library and over code learned from atoms.

Typical use by a stage::

    retriever = await Retriever.open(settings)
    await retriever.index(PatternLibrary.load(patterns_dir))      # incremental
    hits = await retriever.search("paginate orders", language="python", framework="fastapi")
    await retriever.learn(atom.id, code, atom.language, {"title": atom.qualname})
"""

from mge.rag.embedding import (
    EMBEDDING_DIM,
    EmbedderName,
    MiniLMInt8EmbeddingFunction,
    make_embedding_function,
)
from mge.rag.naming import collection_name, validate_collection_name
from mge.rag.patterns import Pattern, PatternLibrary, default_patterns_dir
from mge.rag.query import Hit, HitSource, build_where
from mge.rag.retriever import DEFAULT_K, IndexStats, Retriever
from mge.rag.sync import SyncPlan, plan_sync

__all__ = [
    "DEFAULT_K",
    "EMBEDDING_DIM",
    "EmbedderName",
    "Hit",
    "HitSource",
    "IndexStats",
    "MiniLMInt8EmbeddingFunction",
    "Pattern",
    "PatternLibrary",
    "Retriever",
    "SyncPlan",
    "build_where",
    "collection_name",
    "default_patterns_dir",
    "make_embedding_function",
    "plan_sync",
    "validate_collection_name",
]
