"""Fixtures for store tests: every test runs on SQLite AND PostgreSQL.

PostgreSQL comes from ``MGE_TEST_POSTGRES_URL`` (``bash scripts/start-postgres.sh`` prints one);
each test gets a fresh database, dropped afterwards. Without the variable the PostgreSQL half is
skipped locally, but FAILS under ``CI=true`` (CI always provides it, so a missing one is a bug).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from mge.store import Store, normalize_url

POSTGRES_ENV = "MGE_TEST_POSTGRES_URL"
FIXED_NOW = datetime(2026, 11, 24, 12, 30, 45, 123456, tzinfo=UTC)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def postgres_server_url() -> str:
    """The test server's URL; skip (locally) or fail (CI) when there is none."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        return url
    if _in_ci():
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'state' / 'mge.db'}"
        return
    server = normalize_url(postgres_server_url())
    name = f"mge_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    _run_in_thread(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _run_in_thread(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """An open store (migrated) whose clock always says FIXED_NOW."""
    opened = await Store.open(db_url, clock=lambda: FIXED_NOW)
    try:
        yield opened
    finally:
        await opened.close()
