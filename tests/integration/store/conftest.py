"""Fixtures for store tests: every test runs on SQLite AND PostgreSQL.

PostgreSQL comes from ``MGE_TEST_POSTGRES_URL`` (``bash scripts/start-postgres.sh`` prints one).
Without the variable the PostgreSQL half is skipped locally, but FAILS under ``CI=true`` (CI
always provides it, so a missing one is a bug, not a reason to skip).

- ``db_url``: an EMPTY database (a new SQLite file, or a new PostgreSQL database dropped
  afterwards) — for migration and CLI tests.
- ``store_url``: a database at the newest schema with no rows. On PostgreSQL it is one database
  per session, migrated once and truncated before each test (creating and migrating a database
  per test cost ~0.4 s each on the shared CI machine).
- ``store``: a Store open on ``store_url`` whose clock always says ``FIXED_NOW``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import URL
from store_samples import FIXED_NOW
from tests.integration.parts import in_ci

from mge.store import Store, normalize_url, upgrade_database
from mge.store.tables import metadata

POSTGRES_ENV = "MGE_TEST_POSTGRES_URL"


def postgres_server_url() -> str:
    """The test server's URL; skip (locally) or fail (CI) when there is none."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        return url
    if in_ci():
        pytest.fail(
            f"{POSTGRES_ENV} is not set although CI=true: scripts/test.sh starts PostgreSQL and "
            "exports it; the PostgreSQL half of the store tests must not be skipped in CI",
            pytrace=False,
        )
    pytest.skip(
        f"{POSTGRES_ENV} is not set: run `export {POSTGRES_ENV}=$(bash scripts/start-postgres.sh "
        "| tail -n 1)` to run the store tests on PostgreSQL too"
    )


def _run_in_thread(coro: Coroutine[Any, Any, None]) -> None:
    """Run admin SQL on its own loop in a worker thread (never disturbs pytest-asyncio's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _fresh_postgres_database(server: URL) -> tuple[str, str]:
    """Create an empty database; returns (its URL, the admin DSN to drop it with)."""
    name = f"mge_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    _run_in_thread(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    return server.set(database=name).render_as_string(hide_password=False), admin_dsn


def _drop(admin_dsn: str, url: str) -> None:
    name = normalize_url(url).database
    _run_in_thread(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'state' / 'mge.db'}"
        return
    url, admin_dsn = _fresh_postgres_database(normalize_url(postgres_server_url()))
    try:
        yield url
    finally:
        _drop(admin_dsn, url)


@pytest.fixture(params=BACKENDS)
def new_db_urls(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[int], list[str]]]:
    """A factory of URLs to databases that do not exist yet (SQLite) or are empty (PostgreSQL),
    dropped afterwards: ``new_db_urls(n)`` makes ``n`` of them."""
    made: list[tuple[str, str]] = []

    def make(n: int) -> list[str]:
        if request.param == "sqlite":
            start = len(made)
            urls = [f"sqlite:///{tmp_path / f'db-{start + i}' / 'mge.db'}" for i in range(n)]
            made.extend((url, "") for url in urls)
            return urls
        server = normalize_url(postgres_server_url())
        fresh = [_fresh_postgres_database(server) for _ in range(n)]
        made.extend(fresh)
        return [url for url, _ in fresh]

    try:
        yield make
    finally:
        for url, admin_dsn in made:
            if admin_dsn:
                _drop(admin_dsn, url)


@pytest.fixture(scope="session")
def _postgres_store_database() -> Iterator[str]:
    """One PostgreSQL database at the newest schema, shared by the session's store tests."""
    url, admin_dsn = _fresh_postgres_database(normalize_url(postgres_server_url()))
    try:
        _run_in_thread(_migrate(url))
        yield url
    finally:
        _drop(admin_dsn, url)


async def _migrate(url: str) -> None:
    await upgrade_database(url)


async def _truncate(url: str) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    dsn = normalize_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET lock_timeout = '10s'")
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to a database at the newest schema with no rows in any table."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'state' / 'mge.db'}"
    url: str = request.getfixturevalue("_postgres_store_database")
    _run_in_thread(_truncate(url))
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An open store whose clock always says FIXED_NOW."""
    opened = await Store.open(store_url, clock=lambda: FIXED_NOW)
    try:
        yield opened
    finally:
        await opened.close()
