"""Build the collaborators every driver hands to the stages: LLM clients and the pattern source.

`mge run`, `mge plan`, `mge review` and the operator each need the project's LLM client (plus the
planner's when ``spec.llm.planner`` names another model) and, for planning, a retriever over the
pattern library. They differ only in where recordings and API keys come from — beside the
manifest, from ``--recordings``, from the operator's recordings folder, from a Secret — so those
two are passed in as small functions and the wiring lives here once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from mge.config import Settings
from mge.errors import MGEError, RetrievalUnavailable
from mge.execution.prompting import EXAMPLES_PER_ATOM, Example, ExampleSource, example_query
from mge.llm import LLMClient, make_provider
from mge.models.atoms import AtomicUnit
from mge.models.project import LLMSpec, ProjectSpec
from mge.pipeline.context import Memory, Reporter, RunContext
from mge.pipeline.learning import LOCAL_NAMESPACE, LearnEntry
from mge.planning import PatternLike, PatternSource
from mge.store import Store

__all__ = [
    "PATTERNS_PER_QUERY",
    "KeyFor",
    "PatternIndex",
    "RecordingsFor",
    "local_memory",
    "open_context",
    "open_llm",
    "open_llms",
    "open_pattern_source",
    "recordings_beside",
]

log = logging.getLogger(__name__)

EXAMPLES_BACKOFF_SECONDS = 60.0
"""After retrieval failed for one atom's examples, atoms are written without examples this long
(seconds) instead of each waiting for a Chroma that is down or hung."""
PATTERNS_PER_QUERY = 3
"""Hits asked of the retriever per query; the planner keeps the best few across queries."""

RecordingsFor = Callable[[LLMSpec], Path | None]
"""The scripted provider's recordings folder for an ``llm`` spec, resolved by the driver
(relative to the manifest, ``--recordings``, the operator's folder); None: as the spec says."""
KeyFor = Callable[[LLMSpec, str], Awaitable[SecretStr | None]]
"""The API key for an ``llm`` spec, given the field that names its Secret (for the message of
a missing one); None: the provider's default (settings or environment)."""


def recordings_beside(folder: Path) -> RecordingsFor:
    """Recordings folders named in a manifest, resolved relative to the manifest's ``folder``."""

    def resolve(llm: LLMSpec) -> Path | None:
        return folder / llm.recordings if llm.recordings else None

    return resolve


async def open_llm(
    llm: LLMSpec,
    settings: Settings,
    store: Store | None,
    *,
    field: str = "spec.llm",
    recordings: RecordingsFor | None = None,
    api_key: KeyFor | None = None,
) -> LLMClient:
    """One client for ``llm`` with the process-wide limits of ``settings``.

    With a ``store`` its responses are cached and its costs booked there (a repeated request is
    free); without one nothing is kept (``mge plan``). The caller closes the client.
    """
    key = await api_key(llm, f"{field}.secretRef") if api_key is not None else None
    folder = recordings(llm) if recordings is not None else None
    provider = make_provider(llm, settings, folder, api_key=key)
    return LLMClient.from_settings(provider, settings, cache=store, ledger=store)


async def open_llms(
    llm: LLMSpec,
    settings: Settings,
    store: Store | None,
    *,
    recordings: RecordingsFor | None = None,
    api_key: KeyFor | None = None,
) -> tuple[LLMClient, LLMClient | None]:
    """The project's client and the planner's (None when ``llm.planner`` is not set: the
    project's client plans too). The caller closes both (``RunContext.aclose``)."""
    client = await open_llm(llm, settings, store, recordings=recordings, api_key=api_key)
    if llm.planner is None:
        return client, None
    try:
        planner = await open_llm(
            llm.for_planning(),
            settings,
            store,
            field="spec.llm.planner",
            recordings=recordings,
            api_key=api_key,
        )
    except BaseException:
        await client.aclose()
        raise
    return client, planner


async def open_context(
    key: str,
    spec: ProjectSpec,
    settings: Settings,
    store: Store,
    reporter: Reporter,
    *,
    answers: dict[str, str],
    patterns: PatternSource | None = None,
    memory: Memory | None = None,
    recordings: RecordingsFor | None = None,
    api_key: KeyFor | None = None,
) -> RunContext:
    """The RunContext of one project run with its LLM clients open (``ctx.aclose`` closes
    them; the store stays the caller's)."""
    llm, planner = await open_llms(
        spec.llm, settings, store, recordings=recordings, api_key=api_key
    )
    return RunContext(
        key=key,
        spec=spec,
        store=store,
        llm=llm,
        planner=planner,
        patterns=patterns,
        memory=memory,
        reporter=reporter,
        answers=answers,
        workdir=settings.workdir,
        settings=settings,
    )


class PatternIndex:
    """The pattern library's index and the learned collection, opened at the first query and
    kept (one per process: the operator's, or one `mge run`'s).

    A long-lived process serves many Projects: Chroma and the embedder load once, and a phase
    that plans nothing never loads them. Chroma failing (a server that does not answer, a broken
    collection) is :class:`~mge.errors.RetrievalUnavailable`, which the retrieval stage turns into
    planning without patterns, said plainly; a bad setting stays a ConfigError.

    Tenancy: every search names the namespaces whose learned code it may see
    (:func:`~mge.pipeline.learning.visible_namespaces`); the pattern library is everyone's.
    """

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._retriever: Any = None
        self._opening: asyncio.Task[Any] | None = None
        self._examples_off_until = 0.0

    def _build(self) -> tuple[Any, Any]:
        """The retriever and the library, in a worker thread: importing chromadb, loading the
        embedder and reading the library take seconds, and the operator's event loop must keep
        renewing its Lease meanwhile."""
        from mge.rag import PatternLibrary, Retriever, default_patterns_dir, make_embedding_function
        from mge.rag.client import make_client

        name = self.settings.embedder
        retriever = Retriever(
            make_client(self.settings), make_embedding_function(name), embedder=name
        )
        return retriever, PatternLibrary.load(default_patterns_dir())

    async def _open(self) -> Any:
        try:
            retriever, library = await asyncio.to_thread(self._build)
            await retriever.index(library)
        except MGEError:
            raise
        except Exception as e:  # chromadb raises many plain types
            raise RetrievalUnavailable(f"opening {self._where()} failed: {e}") from e
        self._retriever = retriever
        return retriever

    def _opening_task(self) -> asyncio.Task[Any]:
        """The one task that opens the index (a failed one is replaced at the next call).

        It is shared and never cancelled by a caller's time limit: a slow first index (the
        library embedded cold) goes on in the background instead of starting again per call.
        """
        failed = self._opening is not None and self._opening.done()
        if failed and self._opening is not None:
            failed = self._opening.cancelled() or self._opening.exception() is not None
        if self._opening is None or failed:
            self._opening = asyncio.ensure_future(self._open())
        return self._opening

    async def _opened(self) -> Any:
        if self._retriever is not None:
            return self._retriever
        return await asyncio.shield(self._opening_task())

    def _where(self) -> str:
        return self.settings.chroma_url or "the embedded index"

    async def open(self) -> None:
        """Open the index now (within the time limit); RetrievalUnavailable if it cannot be."""

        async def nothing(_: Any) -> None:
            return None

        await self._call("opening", nothing)

    async def _call(self, what: str, call: Callable[[Any], Awaitable[Any]]) -> Any:
        limit = self.settings.retrieval_timeout_seconds

        async def go() -> Any:
            return await call(await self._opened())

        try:
            return await asyncio.wait_for(go(), limit)
        except TimeoutError as e:
            raise RetrievalUnavailable(
                f"{what} {self._where()} took longer than {limit:g} s "
                "(retrieval_timeout_seconds, MGE_RETRIEVAL_TIMEOUT_SECONDS)"
            ) from e
        except MGEError:
            raise
        except Exception as e:  # chromadb and its HTTP client raise many plain types
            raise RetrievalUnavailable(f"{what} {self._where()} failed: {e}") from e

    def source(self, language: str, namespaces: Sequence[str] | None = None) -> PatternSource:
        """The planner's pattern source over this index, limited to ``language``; learned code
        only from ``namespaces`` (None: every namespace)."""

        async def search(query: str) -> Sequence[PatternLike]:
            found: Sequence[PatternLike] = await self._call(
                "searching",
                lambda r: r.search(query, PATTERNS_PER_QUERY, language, namespaces=namespaces),
            )
            return found

        return search

    def examples(self, namespaces: Sequence[str] | None) -> ExampleSource:
        """Learned examples for one atom (same language, from ``namespaces``), best first.

        Retrieval failing here never fails generation: the atom is written without examples.
        """

        async def for_atom(atom: AtomicUnit) -> Sequence[Example]:
            # Examples are optional: an atom never waits for the index to open (it opens in
            # the background) nor, for a while, for a Chroma that just failed.
            if self._clock() < self._examples_off_until:
                return []
            if self._retriever is None:
                opening = self._opening_task()
                if not opening.done():
                    return []
            try:
                hits = await self._call(
                    "searching",
                    lambda r: r.search(
                        example_query(atom),
                        EXAMPLES_PER_ATOM,
                        atom.language,
                        include_patterns=False,
                        namespaces=namespaces,
                    ),
                )
            except RetrievalUnavailable as e:
                self._examples_off_until = self._clock() + EXAMPLES_BACKOFF_SECONDS
                log.warning(
                    "examples for %s: %s; generating without examples for %g s",
                    atom.id,
                    e,
                    EXAMPLES_BACKOFF_SECONDS,
                )
                return []
            return [
                Example(
                    entry_id=h.entry_id,
                    title=h.title,
                    code=h.snippet,
                    language=h.language,
                    score=h.score,
                    project=h.project,
                )
                for h in hits
            ]

        return for_atom

    async def learn(self, entries: Sequence[LearnEntry], scope: str) -> Any:
        """Store ``entries`` in the learned collection under ``scope``; returns LearnStats."""
        rows = [(e.atom_id, e.code, e.language, dict(e.metadata)) for e in entries]
        return await self._call("learning into", lambda r: r.learn_many(rows, scope=scope))


def local_memory(index: PatternIndex, key: str) -> Memory:
    """The memory of an `mge run` project: the fixed local namespace, for examples and
    learning alike (local runs share what they learn with each other, with nobody else)."""
    local = [LOCAL_NAMESPACE]
    return Memory(LOCAL_NAMESPACE, key, index.examples(local), index.learn)


async def open_pattern_source(settings: Settings, language: str) -> PatternSource:
    """Retrieval over the shipped pattern library (indexed incrementally first), as the
    planner's :class:`~mge.planning.PatternSource`, limited to ``language``."""
    from mge.rag import PatternLibrary, Retriever, default_patterns_dir  # chromadb loads slowly

    retriever = await Retriever.open(settings)
    await retriever.index(PatternLibrary.load(default_patterns_dir()))

    async def source(query: str) -> Sequence[PatternLike]:
        return await retriever.search(
            query, PATTERNS_PER_QUERY, language, namespaces=[LOCAL_NAMESPACE]
        )

    return source
