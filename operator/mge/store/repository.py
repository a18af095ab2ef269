"""The one repository class, :class:`Store`: every read and write of MGE's durable state.

The same code runs on SQLite (aiosqlite, the local default) and PostgreSQL (asyncpg, in a
cluster). Methods take and return the domain models from :mod:`mge.models` (plus the records in
:mod:`mge.store.records`); SQL stays in here.

Transactions: every method is atomic on its own. Inside ``async with store.transaction():`` all
calls made *by the same asyncio task* join one transaction that commits at the end of the block
or rolls back entirely on any exception. A task started inside the block cannot join it (the
store raises StoreError instead of sharing one connection between tasks).

Concurrency: on PostgreSQL writers run in parallel on pooled connections. On SQLite there is one
writer at a time: writes in this process queue on an asyncio lock, writes from other processes
wait on SQLite's busy timeout, and reads are never blocked (WAL).

Errors: anything the database refuses becomes :class:`~mge.errors.StoreError` with the operation,
the masked URL and the driver's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from mge.store.engine import make_engine
from mge.store.failures import store_error
from mge.store.migrate import upgrade
from mge.store.repo_atoms import AtomsRepo
from mge.store.repo_attempts import AttemptsRepo
from mge.store.repo_core import utcnow
from mge.store.repo_ledger import LedgerRepo
from mge.store.repo_projects import ProjectsRepo
from mge.store.repo_reviews import ReviewsRepo
from mge.store.urls import mask_url, normalize_url

__all__ = ["Store", "utcnow"]


class Store(ProjectsRepo, AtomsRepo, AttemptsRepo, ReviewsRepo, LedgerRepo):
    """MGE's durable state on SQLite or PostgreSQL. Open with ``await Store.open(url)``.

    Implements the :class:`~mge.llm.base.ResponseCache` and :class:`~mge.llm.base.CostLedger`
    protocols, so an LLM client can be given the store for both.
    """

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        clock: Callable[[], datetime] = utcnow,
        echo: bool = False,
    ) -> Store:
        """Connect to ``url`` and bring its schema to the newest revision.

        With ``migrate=False`` the schema is only checked, and a database that is not at the
        newest revision raises StoreError telling to run ``mge db upgrade`` (for clusters where
        migrations are a separate step). ``postgresql://`` and ``sqlite://`` URLs get the async
        driver; other schemes raise ConfigError.
        """
        parsed = normalize_url(url)
        try:
            engine = make_engine(parsed, echo=echo)
        except OSError as e:  # the SQLite folder cannot be created
            raise store_error("opening", mask_url(parsed), e) from e
        store = cls(engine, parsed, clock=clock)
        try:
            if migrate:
                await upgrade(engine)
            else:
                await store._check_schema()
        except BaseException:
            await engine.dispose()
            raise
        return store

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
