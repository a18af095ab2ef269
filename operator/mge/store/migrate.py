"""Running the store's Alembic migrations from code (no alembic.ini anywhere).

The migration scripts ship inside the package (``mge/store/migrations``). Each function opens
one transaction on the async engine and hands its connection to Alembic, so an upgrade is all
or nothing, also for DDL (PostgreSQL and SQLite both have transactional DDL). On PostgreSQL an
advisory lock makes two processes that upgrade at once take turns; on SQLite the
``BEGIN IMMEDIATE`` write lock does the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from mge.store.engine import READ_OPTION, make_engine
from mge.store.failures import DB_FAILURES, store_error
from mge.store.urls import mask_url, normalize_url, sqlite_path

__all__ = [
    "MIGRATIONS_DIR",
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
MIGRATION_FAILURES: tuple[type[BaseException], ...] = (*DB_FAILURES, CommandError)
"""Database failures, plus Alembic's CommandError (e.g. an unknown target revision)."""


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


async def upgrade(engine: AsyncEngine, target: str = "head") -> Revisions:
    """Upgrade the database behind ``engine`` to ``target`` in one transaction.

    Raises StoreError when the database refuses or ``target`` is not a known revision.
    """
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(_upgrade_sync, target)
    except MIGRATION_FAILURES as e:
        raise store_error(f"migrating to {target}", mask_url(engine.url), e) from e


async def downgrade(engine: AsyncEngine, target: str) -> Revisions:
    """Downgrade to ``target`` (``base`` empties the schema). For development and tests."""
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(_downgrade_sync, target)
    except MIGRATION_FAILURES as e:
        raise store_error(f"downgrading to {target}", mask_url(engine.url), e) from e


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
