"""Running the store's Alembic migrations from code (no alembic.ini anywhere).

The migration scripts ship inside the package (``mge/store/migrations``). Each function opens
one transaction on the async engine and hands its connection to Alembic, so an upgrade is all
or nothing, also for DDL (PostgreSQL and SQLite both have transactional DDL). On PostgreSQL an
advisory lock makes two processes that upgrade at once take turns.

On SQLite the database's own locks are not enough for a first open. Switching a new file to
WAL is the one step for which SQLite does not wait out the busy timeout: while another
connection holds the write lock of a file that is not in WAL mode yet, ``PRAGMA
journal_mode=WAL`` fails at once with "database is locked" (seen under load when two processes
opened a new store together). So every SQLite upgrade or downgrade first takes an exclusive lock
on a file beside the database (``<name>.migrate.lock``), which makes MGE's own processes take
turns, and then switches to WAL with retries for as long as the busy timeout, which waits out
any other writer (``sqlite3``, an older MGE). The others then find the store at head.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from filelock import AsyncFileLock
from filelock import Timeout as LockTimeout
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from mge.errors import StoreError
from mge.store.engine import READ_OPTION, SQLITE_BUSY_TIMEOUT_MS, make_engine
from mge.store.failures import DB_FAILURES, store_error
from mge.store.urls import mask_url, normalize_url, sqlite_path

__all__ = [
    "MIGRATIONS_DIR",
    "MIGRATION_LOCK_SUFFIX",
    "MIGRATION_LOCK_TIMEOUT_SECONDS",
    "VERSION_TABLE",
    "Revisions",
    "current_revision",
    "head_revision",
    "revision_of",
    "upgrade",
    "upgrade_database",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""The Alembic script folder, shipped as package data."""
VERSION_TABLE = "mge_schema_version"
"""Must match ``VERSION_TABLE`` in migrations/env.py."""
ADVISORY_LOCK_ID = 0x4D4745_0001
"""PostgreSQL advisory lock key held while migrating ("MGE" + 1)."""
MIGRATION_LOCK_SUFFIX = ".migrate.lock"
"""Appended to a SQLite database's file name to name the lock file taken while migrating."""
MIGRATION_LOCK_TIMEOUT_SECONDS = 300.0
"""How long a SQLite migration waits for another process's migration before giving up."""
MIGRATION_FAILURES: tuple[type[BaseException], ...] = (*DB_FAILURES, CommandError, sqlite3.Error)
"""Database failures, plus Alembic's CommandError (e.g. an unknown target revision) and what
the SQLite driver raises unwrapped when :func:`switch_to_wal` talks to it directly."""


@dataclass(frozen=True)
class Revisions:
    """The schema revision before and after an upgrade, and the newest one shipped."""

    before: str | None
    after: str | None
    head: str

    @property
    def changed(self) -> bool:
        """True when the upgrade applied at least one migration."""
        return self.before != self.after


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision the installed package ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for an empty database."""
    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def _upgrade_sync(connection: Connection, target: str) -> Revisions:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_ID})")
    before = current_revision(connection)
    command.upgrade(_config(connection), target)
    return Revisions(before=before, after=current_revision(connection), head=head_revision())


def _downgrade_sync(connection: Connection, target: str) -> Revisions:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_ID})")
    before = current_revision(connection)
    command.downgrade(_config(connection), target)
    return Revisions(before=before, after=current_revision(connection), head=head_revision())


@contextlib.asynccontextmanager
async def migration_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the cross-process migration lock of a SQLite file (nothing for other databases).

    PostgreSQL needs no file: :func:`_upgrade_sync` takes an advisory lock in the migration's
    own transaction. In-memory SQLite is private to one connection, so it needs none either.
    """
    path = sqlite_path(engine.url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_file = path.with_name(path.name + MIGRATION_LOCK_SUFFIX)
    lock = AsyncFileLock(lock_file, timeout=MIGRATION_LOCK_TIMEOUT_SECONDS)
    try:
        await lock.acquire()
    except LockTimeout as e:
        raise StoreError(
            f"store {mask_url(engine.url)}: another process has been migrating it for "
            f"{MIGRATION_LOCK_TIMEOUT_SECONDS:.0f} s (lock {lock_file}); if no `mge` process "
            "is running, delete that file and retry"
        ) from e
    try:
        yield
    finally:
        await lock.release()


def _is_locked(exc: BaseException) -> bool:
    inner = exc.orig if isinstance(exc, OperationalError) else exc
    return isinstance(inner, sqlite3.OperationalError) and "database is locked" in str(inner)


async def switch_to_wal(engine: AsyncEngine) -> None:
    """Put a SQLite file in WAL mode (a no-op when it is), waiting out other writers.

    SQLite answers this pragma with "database is locked" at once instead of calling its busy
    handler, so the waiting is done here: retried with backoff for as long as the busy timeout.
    """
    retrying = AsyncRetrying(
        retry=retry_if_exception(_is_locked),
        stop=stop_after_delay(SQLITE_BUSY_TIMEOUT_MS / 1000),
        wait=wait_exponential(multiplier=0.01, max=0.5),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            async with engine.connect() as conn:
                # On the driver's own connection: SQLAlchemy would open a transaction first,
                # and the journal mode cannot change inside one.
                driver = (await conn.get_raw_connection()).driver_connection
                assert driver is not None, "a pooled connection always has its driver's"
                await driver.execute("PRAGMA journal_mode=WAL")


async def _migrate(
    engine: AsyncEngine, step: Callable[[Connection, str], Revisions], target: str, what: str
) -> Revisions:
    """Run ``step`` to ``target`` in one transaction, holding the migration lock."""
    async with migration_lock(engine):
        try:
            if sqlite_path(engine.url) is not None:
                await switch_to_wal(engine)
            async with engine.begin() as conn:
                return await conn.run_sync(step, target)
        except MIGRATION_FAILURES as e:
            raise store_error(f"{what} {target}", mask_url(engine.url), e) from e


async def upgrade(engine: AsyncEngine, target: str = "head") -> Revisions:
    """Upgrade the database behind ``engine`` to ``target`` in one transaction.

    Raises StoreError when the database refuses or ``target`` is not a known revision.
    """
    return await _migrate(engine, _upgrade_sync, target, "migrating to")


async def downgrade(engine: AsyncEngine, target: str) -> Revisions:
    """Downgrade to ``target`` (``base`` empties the schema). For development and tests."""
    return await _migrate(engine, _downgrade_sync, target, "downgrading to")


async def upgrade_database(url: str, target: str = "head") -> Revisions:
    """Open ``url``, upgrade it to ``target``, close it (``mge db upgrade``)."""
    engine = make_engine(normalize_url(url))
    try:
        return await upgrade(engine, target)
    finally:
        await engine.dispose()


async def revision_of(url: str) -> str | None:
    """The revision of the database at ``url`` without changing it (``mge db current``).

    A SQLite file that does not exist yet is reported as empty and is not created.
    """
    parsed = normalize_url(url)
    path = sqlite_path(parsed)
    if path is not None and not path.exists():
        return None
    engine = make_engine(parsed).execution_options(**{READ_OPTION: True})
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(current_revision)
    except DB_FAILURES as e:
        raise store_error("reading the schema revision", mask_url(parsed), e) from e
    finally:
        await engine.dispose()
