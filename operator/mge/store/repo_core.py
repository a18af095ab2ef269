"""The core every store method builds on: connections, transactions, error mapping.

See :mod:`mge.store.repository` for the transaction and concurrency rules.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mge.errors import StoreError
from mge.store.engine import READ_OPTION
from mge.store.failures import DB_FAILURES, store_error
from mge.store.migrate import current_revision, head_revision
from mge.store.urls import Backend, backend_of, mask_url

__all__ = ["IN_CHUNK", "StoreCore", "chunks", "utcnow"]

IN_CHUNK = 500
"""Ids per ``IN (...)`` list, well under SQLite's and asyncpg's bound-parameter limits."""


def utcnow() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


def chunks(ids: Sequence[str], size: int = IN_CHUNK) -> Iterable[Sequence[str]]:
    """``ids`` in slices of at most ``size`` (for ``IN (...)`` lists)."""
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


@dataclass(frozen=True)
class _Tx:
    """The connection of an open :meth:`Store.transaction` and the task that owns it."""

    conn: AsyncConnection
    owner: asyncio.Task[Any] | None


class StoreCore:
    """Connections, transactions and error mapping shared by every ``repo_*`` part of Store."""

    def __init__(
        self, engine: AsyncEngine, url: URL, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        """Wrap an engine made by :func:`mge.store.engine.make_engine`; prefer :meth:`open`."""
        self._engine = engine
        self._reader = engine.execution_options(**{READ_OPTION: True})
        self._url = url
        self._where = mask_url(url)
        self._backend: Backend = backend_of(url)
        self._clock = clock
        self._write_lock = asyncio.Lock()
        self._tx: ContextVar[_Tx | None] = ContextVar(f"mge_store_tx_{id(self)}", default=None)

    @property
    def url(self) -> str:
        """The database URL with the password masked."""
        return self._where

    @property
    def backend(self) -> Backend:
        """``sqlite`` or ``postgresql``."""
        return self._backend

    async def schema_revision(self) -> str | None:
        """The database's schema revision (None when empty)."""
        async with self._read("reading the schema revision") as conn:
            return await conn.run_sync(current_revision)

    async def _check_schema(self) -> None:
        current, head = await self.schema_revision(), head_revision()
        if current != head:
            raise StoreError(
                f"store {self._where} is at schema revision {current or 'none (empty)'}, "
                f"this MGE needs {head}: run `mge db upgrade`"
            )

    # ---------------------------------------------------------------- transactions

    def _joined(self) -> AsyncConnection | None:
        """The open transaction's connection when this task is inside :meth:`transaction`."""
        tx = self._tx.get()
        if tx is None:
            return None
        if tx.owner is not asyncio.current_task():
            raise StoreError(
                "a task started inside store.transaction() used the store; a transaction "
                "belongs to the task that opened it (await the work inside it instead)"
            )
        return tx.conn

    @contextlib.asynccontextmanager
    async def _guard(self, what: str) -> AsyncIterator[None]:
        try:
            yield
        except StoreError:
            raise
        except DB_FAILURES as e:
            raise store_error(what, self._where, e) from e

    def _writer_slot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """SQLite has one writer: queue here rather than spin on the database lock."""
        if self._backend == "sqlite":
            return self._write_lock
        return contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Self]:
        """All store calls of this task inside the block commit together or not at all.

        Nested blocks join the outer one. Any exception rolls everything back and propagates
        (database failures as StoreError).
        """
        if self._joined() is not None:
            yield self
            return
        async with self._guard("transaction"), self._writer_slot(), self._engine.begin() as conn:
            token = self._tx.set(_Tx(conn, asyncio.current_task()))
            try:
                yield self
            finally:
                self._tx.reset(token)

    @contextlib.asynccontextmanager
    async def _write(self, what: str) -> AsyncIterator[AsyncConnection]:
        joined = self._joined()
        if joined is not None:
            async with self._guard(what):
                yield joined
            return
        async with self._guard(what), self._writer_slot(), self._engine.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _read(self, what: str) -> AsyncIterator[AsyncConnection]:
        joined = self._joined()
        if joined is not None:
            async with self._guard(what):
                yield joined
            return
        async with self._guard(what), self._reader.connect() as conn:
            yield conn

    async def _replace_rows(
        self, table: sa.Table, key: str, values: Sequence[dict[str, Any]], what: str
    ) -> None:
        """Make ``table`` hold exactly ``values`` for project ``key``, in one transaction.

        For the lists a stage writes whole (tasks, edges): a re-run replaces them rather than
        merging, so a row the new run no longer produces cannot linger.
        """
        async with self._write(f"saving {what} of project {key!r}") as conn:
            await conn.execute(sa.delete(table).where(table.c.project == key))
            if values:
                await conn.execute(sa.insert(table), list(values))

    def _insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that can say ON CONFLICT (both dialects spell it the same way)."""
        if self._backend == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _now(self) -> datetime:
        return self._clock()

    @staticmethod
    def _missing(what: str, key: str) -> StoreError:
        return StoreError(f"{what} of project {key!r} is not in the store")
