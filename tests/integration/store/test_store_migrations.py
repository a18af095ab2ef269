"""Migrations: an empty database reaches the newest revision, the result matches tables.py, and
upgrading again (or from two processes at once) changes nothing."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from mge.errors import StoreError
from mge.store import Store, head_revision, normalize_url, revision_of, upgrade_database
from mge.store.engine import make_engine
from mge.store.migrate import VERSION_TABLE, downgrade, upgrade
from mge.store.tables import metadata


def _schema_diff(connection: Connection) -> list[object]:
    ctx = MigrationContext.configure(
        connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
    )
    return list(compare_metadata(ctx, metadata))


async def test_empty_database_is_migrated_to_head_on_open(db_url: str) -> None:
    assert await revision_of(db_url) is None
    store = await Store.open(db_url)
    try:
        assert await store.schema_revision() == head_revision()
    finally:
        await store.close()
    assert await revision_of(db_url) == head_revision()


async def test_migrated_schema_matches_the_table_definitions(db_url: str) -> None:
    engine = make_engine(normalize_url(db_url))
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(_schema_diff)
    finally:
        await engine.dispose()
    assert diff == []


async def test_upgrading_twice_is_a_no_op(db_url: str) -> None:
    first = await upgrade_database(db_url)
    second = await upgrade_database(db_url)
    assert (first.before, first.after, first.changed) == (None, head_revision(), True)
    assert (second.before, second.after, second.changed) == (
        head_revision(),
        head_revision(),
        False,
    )


async def test_two_upgrades_at_once_both_succeed(db_url: str) -> None:
    results = await asyncio.gather(upgrade_database(db_url), upgrade_database(db_url))
    assert sorted(r.changed for r in results) == [False, True]
    assert await revision_of(db_url) == head_revision()


async def test_downgrade_to_base_and_back_up(db_url: str) -> None:
    engine = make_engine(normalize_url(db_url))
    try:
        await upgrade(engine)
        down = await downgrade(engine, "base")
        assert down.after is None
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: c.dialect.get_table_names(c))
        assert set(tables) <= {VERSION_TABLE}
        up = await upgrade(engine)
        assert up.after == head_revision()
    finally:
        await engine.dispose()


async def test_open_without_migrating_refuses_an_old_schema(db_url: str) -> None:
    with pytest.raises(StoreError, match=r"mge db upgrade"):
        await Store.open(db_url, migrate=False)
    await upgrade_database(db_url)
    store = await Store.open(db_url, migrate=False)
    await store.close()


async def test_data_survives_reopening(db_url: str) -> None:
    from store_samples import spec

    store = await Store.open(db_url)
    await store.upsert_project("default/todo", spec(), 3)
    await store.close()
    store = await Store.open(db_url)
    try:
        project = await store.get_project("default/todo")
        assert project is not None and project.generation == 3
    finally:
        await store.close()


async def test_in_memory_sqlite_store_works() -> None:
    from store_samples import spec

    store = await Store.open("sqlite://")
    try:
        async with store.transaction():
            await store.upsert_project("mem", spec(), 1)
        assert [p.key for p in await store.list_projects()] == ["mem"]
        assert await store.schema_revision() == head_revision()
    finally:
        await store.close()
