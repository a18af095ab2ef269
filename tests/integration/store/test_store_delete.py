"""delete_project removes every row of the project from every table, and nothing else."""

from __future__ import annotations

import sqlalchemy as sa
from store_samples import populate

from mge.store import Store
from mge.store.engine import make_engine
from mge.store.tables import llm_cache, metadata, projects
from mge.store.urls import normalize_url


async def _rows_by_table(store_url: str, key: str) -> dict[str, int]:
    """Rows of project ``key`` in every table that has a project column (plus projects)."""
    engine = make_engine(normalize_url(store_url))
    counts: dict[str, int] = {}
    try:
        async with engine.connect() as conn:
            for table in metadata.sorted_tables:
                column = table.c.get("project") if table is not projects else projects.c.key
                if column is None:
                    continue
                query = sa.select(sa.func.count()).select_from(table).where(column == key)
                counts[table.name] = int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()
    return counts


async def test_delete_project_removes_all_its_rows_and_only_those(
    store: Store, store_url: str
) -> None:
    await populate(store, "default/gone")
    await populate(store, "default/kept")
    before = await _rows_by_table(store_url, "default/kept")
    scoped = {t.name for t in metadata.sorted_tables if "project" in t.c} | {"projects"}
    assert set(before) == scoped
    assert all(n > 0 for n in before.values()), f"populate must fill every table: {before}"

    assert await store.delete_project("default/gone") is True

    assert set((await _rows_by_table(store_url, "default/gone")).values()) == {0}
    assert await _rows_by_table(store_url, "default/kept") == before
    assert await store.delete_project("default/gone") is False
    assert [p.key for p in await store.list_projects()] == ["default/kept"]


async def test_the_shared_response_cache_is_kept(store: Store, store_url: str) -> None:
    await populate(store, "default/gone")
    await store.delete_project("default/gone")
    assert await store.get_response("hash-of-default/gone") is not None
    engine = make_engine(normalize_url(store_url))
    try:
        async with engine.connect() as conn:
            cached = (
                await conn.execute(sa.select(sa.func.count()).select_from(llm_cache))
            ).scalar_one()
    finally:
        await engine.dispose()
    assert cached == 1
