"""Creating the async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg).

SQLite needs care to behave like a server database under concurrent writers:

- WAL journal, so readers never block the writer and the writer never blocks readers. The
  mode is stored in the file, so it is switched on once, when the store is created
  (:func:`mge.store.migrate.upgrade`), not on every connect: switching is the one step for which
  SQLite does not wait out the busy timeout (it fails at once with "database is locked" while
  another connection holds the write lock), so it needs a lock and a retry of its own;
- a busy timeout, so a second process (``mge review`` next to ``mge run``) waits instead of
  failing with "database is locked";
- ``BEGIN IMMEDIATE`` for write transactions: the write lock is taken at the start, so two
  transactions that both read then write cannot deadlock (SQLite would fail one of them at
  once, without waiting). Read-only connections (:data:`READ_OPTION`) use a plain ``BEGIN``.

The driver's own transaction handling is switched off (``isolation_level = None``) so that the
BEGIN we emit is the only one; this is SQLAlchemy's documented recipe for aiosqlite.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from mge.store.urls import backend_of, sqlite_path

__all__ = [
    "POSTGRES_MAX_OVERFLOW",
    "POSTGRES_POOL_SIZE",
    "READ_OPTION",
    "SQLITE_BUSY_TIMEOUT_MS",
    "make_engine",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another process's write lock, milliseconds."""
POSTGRES_POOL_SIZE = 5
"""PostgreSQL connections kept open per store."""
POSTGRES_MAX_OVERFLOW = 15
"""Extra PostgreSQL connections opened under load (beyond the pool size), closed when idle."""
READ_OPTION = "mge_read_only"
"""Execution option marking a connection that only reads (SQLite then uses a deferred BEGIN)."""

_SQLITE_PRAGMAS = (
    # busy_timeout first: every later lock this connection takes waits out another's.
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def make_engine(url: URL, *, echo: bool = False) -> AsyncEngine:
    """An async engine for a normalised URL (see :func:`mge.store.urls.normalize_url`).

    For a SQLite file, its folder is created first. In-memory SQLite gets a single pooled
    connection (each new connection would be a new, empty database), so there every reader
    waits for a running transaction to finish; use a file for anything concurrent.
    """
    if backend_of(url) == "postgresql":
        return create_async_engine(
            url,
            echo=echo,
            pool_size=POSTGRES_POOL_SIZE,
            max_overflow=POSTGRES_MAX_OVERFLOW,
            pool_pre_ping=True,
        )
    path = sqlite_path(url)
    kwargs: dict[str, Any] = {}
    if path is None:
        # Not SQLAlchemy's default StaticPool: it hands the one connection to concurrent
        # users at once, so a reader would see a writer's uncommitted rows. Here they queue.
        kwargs = {"poolclass": AsyncAdaptedQueuePool, "pool_size": 1, "max_overflow": 0}
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, **kwargs)
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    """Install the connect and begin hooks described in the module docstring."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(READ_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
