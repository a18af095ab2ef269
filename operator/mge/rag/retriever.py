"""Semantic search over the pattern library and over code learned from validated atoms.

Two Chroma collections per embedder (see naming.py):

* ``patterns`` mirrors the pattern library. :meth:`Retriever.index` syncs it incrementally:
  each entry stores its pattern's content hash, so unchanged patterns are not embedded again and
  patterns removed from the library are deleted.
* ``learned`` grows with :meth:`Retriever.learn`: code of atoms that passed every validation
  level, kept across projects so later projects can reuse it.

Chroma's client is synchronous and embedding is CPU-bound, so every call runs in a worker thread
(``asyncio.to_thread``) and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, Embeddable, EmbeddingFunction
from pydantic import BaseModel, ConfigDict

from mge.config import Settings
from mge.errors import CollectionUnusable, InputError
from mge.rag.client import make_client
from mge.rag.embedding import EmbedderName, make_embedding_function
from mge.rag.naming import DEFAULT_PREFIX, CollectionKind, collection_name
from mge.rag.patterns import Pattern
from mge.rag.query import (
    Hit,
    and_where,
    build_where,
    hits_from_result,
    merge_hits,
    namespace_clause,
)
from mge.rag.sync import plan_sync

__all__ = [
    "DEFAULT_K",
    "IndexStats",
    "LearnStats",
    "LearnedLanguage",
    "MetadataValue",
    "Retriever",
]

#: Hits returned by :meth:`Retriever.search` unless asked otherwise.
DEFAULT_K = 5
#: Longest code kept as a hit's snippet, characters (Chroma metadata, and prompt space, are finite).
SNIPPET_MAX_CHARS = 6000
#: Entries read per page when listing what an index holds.
_PAGE = 1000
#: Metadata keys :meth:`Retriever.learn` sets itself; callers cannot override them.
_RESERVED_LEARNED_KEYS = frozenset({"atom_id", "language", "content_hash", "snippet"})

LearnedLanguage = Literal["python", "typescript", "javascript"]
MetadataValue = str | int | float | bool


class IndexStats(BaseModel):
    """What one :meth:`Retriever.index` run did, and how long it took."""

    model_config = ConfigDict(frozen=True)

    added: int
    updated: int
    deleted: int
    unchanged: int
    seconds: float

    @property
    def embedded(self) -> int:
        """Patterns embedded in this run (added + updated)."""
        return self.added + self.updated


def _pattern_metadata(p: Pattern) -> dict[str, MetadataValue]:
    return {
        "title": p.title,
        "language": p.language,
        "framework": p.framework,
        "kind": p.kind,
        "tags": ",".join(p.tags),
        "content_hash": p.content_hash,
        "snippet": p.code[:SNIPPET_MAX_CHARS],
    }


def _learned_id(atom_id: str, code: str, scope: str = "") -> str:
    """Entry id: the scope (``namespace/project``), the atom id and a hash of its code, so
    identical code of one atom of one project is stored once."""
    entry = f"{atom_id}-{hashlib.sha256(code.encode()).hexdigest()[:12]}"
    return f"{scope}:{entry}" if scope else entry


class LearnStats(BaseModel):
    """What one :meth:`Retriever.learn_many` did."""

    model_config = ConfigDict(frozen=True)

    added: list[str]
    """Entry ids embedded and stored now."""
    unchanged: list[str]
    """Entry ids already stored (the same code learned before): not embedded again."""


class Retriever:
    """Index and search the pattern library and the learned collection.

    Build one with :meth:`open` (from Settings) or pass a Chroma client and an embedding function
    directly (tests, or a caller that manages its own client).
    """

    def __init__(
        self,
        client: ClientAPI,
        embedding_function: EmbeddingFunction[Documents],
        *,
        embedder: str,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._client = client
        self._ef = embedding_function
        self.collection_names: dict[CollectionKind, str] = {
            "patterns": collection_name("patterns", embedder, prefix),
            "learned": collection_name("learned", embedder, prefix),
        }
        self._collections: dict[CollectionKind, Collection] = {}
        self._index_lock = asyncio.Lock()

    @classmethod
    async def open(cls, settings: Settings, *, prefix: str = DEFAULT_PREFIX) -> Retriever:
        """A retriever on the Chroma that ``settings`` names, with its embedder."""
        name: EmbedderName = settings.embedder
        client = await asyncio.to_thread(make_client, settings)
        return cls(client, make_embedding_function(name), embedder=name, prefix=prefix)

    # --- collections -------------------------------------------------------------------------

    def _collection(self, kind: CollectionKind) -> Collection:
        """The collection for ``kind``, created on first use with cosine distance. Blocking."""
        found = self._collections.get(kind)
        if found is None:
            name = self.collection_names[kind]
            try:
                found = self._client.get_or_create_collection(
                    name,
                    # Chroma types the parameter for any embeddable input; ours embeds text only.
                    embedding_function=cast(EmbeddingFunction[Embeddable], self._ef),
                    configuration={"hnsw": {"space": "cosine"}},
                )
            except (ValueError, TypeError, KeyError) as e:  # chromadb's config conflicts
                raise CollectionUnusable(
                    f"Chroma collection {name!r} cannot be used by MGE: {e}. It was made by "
                    "another program or another embedder, or is damaged; delete that "
                    "collection (MGE recreates it, re-indexing the patterns) or point "
                    "chroma_url / the workdir at another Chroma"
                ) from e
            self._collections[kind] = found
        return found

    def _indexed_hashes(self, collection: Collection) -> dict[str, str | None]:
        """Id → stored content hash of every entry, read page by page. Blocking."""
        hashes: dict[str, str | None] = {}
        offset = 0
        while True:
            page = collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            metadatas = page["metadatas"] or []
            for entry_id, meta in zip(page["ids"], metadatas, strict=True):
                value = (meta or {}).get("content_hash")
                hashes[entry_id] = value if isinstance(value, str) else None
            if len(page["ids"]) < _PAGE:
                return hashes
            offset += _PAGE

    async def count(self, kind: CollectionKind) -> int:
        """Entries in the ``kind`` collection."""
        return await asyncio.to_thread(lambda: self._collection(kind).count())

    # --- patterns ----------------------------------------------------------------------------

    def _sync(self, patterns: Sequence[Pattern]) -> IndexStats:
        started = time.perf_counter()
        ids = [p.id for p in patterns]
        if len(set(ids)) != len(ids):
            raise InputError("index: pattern ids must be unique")
        collection = self._collection("patterns")
        plan = plan_sync(self._indexed_hashes(collection), patterns)
        if plan.delete:
            collection.delete(ids=list(plan.delete))
        by_id = {p.id: p for p in patterns}
        batch = max(1, self._client.get_max_batch_size())
        todo = [by_id[i] for i in plan.to_embed]
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            collection.upsert(
                ids=[p.id for p in chunk],
                documents=[p.document() for p in chunk],
                metadatas=[_pattern_metadata(p) for p in chunk],
            )
        return IndexStats(
            added=len(plan.add),
            updated=len(plan.update),
            deleted=len(plan.delete),
            unchanged=len(plan.unchanged),
            seconds=time.perf_counter() - started,
        )

    async def index(self, patterns: Sequence[Pattern]) -> IndexStats:
        """Make the patterns collection hold exactly ``patterns``, embedding only what changed."""
        async with self._index_lock:
            return await asyncio.to_thread(self._sync, patterns)

    # --- learned -----------------------------------------------------------------------------

    def _add_learned(
        self,
        atom_id: str,
        code: str,
        language: str,
        metadata: Mapping[str, MetadataValue],
        scope: str = "",
    ) -> str:
        entry_id = _learned_id(atom_id, code, scope)
        meta: dict[str, MetadataValue] = {"title": atom_id, "framework": "none", "kind": "learned"}
        meta.update(metadata)
        meta.update(
            {
                "atom_id": atom_id,
                "language": language,
                "content_hash": hashlib.sha256(code.encode()).hexdigest(),
                "snippet": code[:SNIPPET_MAX_CHARS],
            }
        )
        description = str(metadata.get("description", ""))
        document = "\n".join(part for part in (str(meta["title"]), description, code) if part)
        self._collection("learned").upsert(ids=[entry_id], documents=[document], metadatas=[meta])
        return entry_id

    async def learn(
        self,
        atom_id: str,
        code: str,
        language: LearnedLanguage,
        metadata: Mapping[str, MetadataValue] | None = None,
    ) -> str:
        """Remember the code of an atom that passed every validation level; returns the entry id.

        Call it only for atoms that passed L1–L4: learned entries are served to later projects
        as known-good examples. ``metadata`` may set ``title`` (default: the atom id),
        ``description`` (embedded with the code), ``framework``, ``kind`` and any other scalar
        labels (e.g. ``project``). Learning the same code for the same atom again is a no-op.
        """
        if not atom_id or not code.strip():
            raise InputError("learn: atom_id and code must not be empty")
        extra = dict(metadata or {})
        self._check_metadata(extra)
        return await asyncio.to_thread(self._add_learned, atom_id, code, language, extra)

    @staticmethod
    def _check_metadata(extra: Mapping[str, object]) -> None:
        reserved = sorted(_RESERVED_LEARNED_KEYS & extra.keys())
        if reserved:
            raise InputError(f"learn: metadata keys {reserved} are set by MGE itself")
        bad = sorted(k for k, v in extra.items() if not isinstance(v, str | int | float | bool))
        if bad:
            raise InputError(f"learn: metadata values must be str, int, float or bool: {bad}")

    def _learn_many(
        self, entries: Sequence[tuple[str, str, str, Mapping[str, MetadataValue]]], scope: str
    ) -> LearnStats:
        ids = [_learned_id(a, c, scope) for a, c, _, _ in entries]
        known = set(self._collection("learned").get(ids=ids, include=[])["ids"]) if ids else set()
        added, unchanged = [], []
        for entry_id, (atom_id, code, language, meta) in zip(ids, entries, strict=True):
            if entry_id in known:
                unchanged.append(entry_id)
                continue
            self._add_learned(atom_id, code, language, meta, scope)
            known.add(entry_id)
            added.append(entry_id)
        return LearnStats(added=added, unchanged=unchanged)

    async def learn_many(
        self,
        entries: Sequence[tuple[str, str, LearnedLanguage, Mapping[str, MetadataValue]]],
        *,
        scope: str,
    ) -> LearnStats:
        """Learn several atoms' code at once under ``scope`` (``namespace/project``).

        Each entry is ``(atom_id, code, language, metadata)``. Entries already stored (same
        scope, atom and code) are not embedded again: learning a project twice is a no-op.
        """
        if not scope:
            raise InputError("learn_many: scope must not be empty (namespace/project)")
        for atom_id, code, _, meta in entries:
            if not atom_id or not code.strip():
                raise InputError("learn: atom_id and code must not be empty")
            self._check_metadata(meta)
        return await asyncio.to_thread(self._learn_many, entries, scope)

    def _forget(self, where: dict[str, Any]) -> int:
        collection = self._collection("learned")
        ids = collection.get(where=where, include=[])["ids"]
        if ids:
            collection.delete(ids=ids)
        return len(ids)

    async def forget(self, *, namespace: str | None = None, project: str | None = None) -> int:
        """Delete learned entries of a namespace, of a project (in ``namespace`` when given),
        or both filters at once; returns how many were deleted. The patterns stay."""
        clauses: list[dict[str, Any]] = []
        if namespace:
            clauses.append({"namespace": namespace})
        if project:
            clauses.append({"project": project})
        if not clauses:
            raise InputError("forget: give a namespace, a project or both")
        where = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        return await asyncio.to_thread(self._forget, where)

    # --- search ------------------------------------------------------------------------------

    def _search(
        self,
        query: str,
        k: int,
        where: dict[str, Any] | None,
        include_learned: bool,
        namespaces: Sequence[str] | None,
        include_patterns: bool = True,
    ) -> list[Hit]:
        embedding = self._ef.embed_query([query])[0]
        kinds: list[CollectionKind] = []
        if include_patterns:
            kinds.append("patterns")
        if include_learned:
            kinds.append("learned")
        groups = []
        for kind in kinds:
            kind_where = where
            if kind == "learned" and namespaces is not None:
                kind_where = and_where(where, namespace_clause(namespaces))
            result = self._collection(kind).query(
                query_embeddings=[embedding],
                n_results=k,
                where=kind_where,
                include=["metadatas", "distances"],
            )
            groups.append(hits_from_result(dict(result), kind))
        return merge_hits(groups, k)

    async def search(
        self,
        query: str,
        k: int = DEFAULT_K,
        language: str | None = None,
        framework: str | Sequence[str] | None = None,
        *,
        include_learned: bool = True,
        include_patterns: bool = True,
        namespaces: Sequence[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` entries closest to ``query``, best first, optionally filtered.

        ``language`` and ``framework`` filter on metadata (``framework`` may be a list: any of).
        With ``include_learned`` the learned collection is searched too and the two are merged
        by score; each hit's ``source`` says where it came from. ``namespaces`` limits learned
        hits to code learned in those namespaces (tenancy; None: every namespace; an empty
        list: none). ``include_patterns=False`` searches the learned collection only.
        """
        if not query.strip():
            raise InputError("search: the query is empty")
        if k < 1:
            raise InputError(f"search: k must be at least 1 (got {k})")
        where = build_where(language, framework)
        if namespaces is not None and not namespaces:
            include_learned = False
        return await asyncio.to_thread(
            self._search, query, k, where, include_learned, namespaces, include_patterns
        )
