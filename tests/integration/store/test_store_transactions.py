"""store.transaction(): all or nothing, visible only when committed, owned by one task."""

from __future__ import annotations

import asyncio

import pytest
from store_samples import attempt, discovery, masterplan, spec, task, unit

from mge.errors import StoreError
from mge.models import AtomState
from mge.store import Store

KEY = "default/todo"


class Boom(Exception):
    """The failure a test throws halfway through a transaction."""


async def test_a_transaction_failing_halfway_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(Boom):
        async with store.transaction():
            await store.upsert_project(KEY, spec(), 1)
            await store.put_document(KEY, "discovery", discovery())
            await store.save_tasks(KEY, masterplan().tasks())
            await store.save_atoms(KEY, [unit("a")])
            await store.record_attempt(KEY, attempt(unit("a").id), AtomState.VALIDATED, "x")
            assert await store.get_document(KEY, "discovery") is not None  # own writes visible
            raise Boom

    assert await store.get_project(KEY) is None
    assert await store.get_document(KEY, "discovery") is None
    assert await store.list_tasks(KEY) == []
    assert await store.list_atoms(KEY) == []
    assert await store.list_attempts(KEY) == []
    assert await store.total_cost(KEY) == 0.0


async def test_a_database_error_halfway_rolls_back_earlier_writes(store: Store) -> None:
    await store.upsert_project(KEY, spec(), 1)
    with pytest.raises(StoreError, match="atom 'ghost'"):
        async with store.transaction():
            await store.put_document(KEY, "plan", masterplan())
            await store.set_phase(KEY, "Planning", {"tasks": 3})
            await store.set_atom_state(KEY, "ghost", AtomState.FAILED)
    assert await store.get_document(KEY, "plan") is None
    project = await store.get_project(KEY)
    assert project is not None and project.phase == "Pending"


async def test_a_committed_transaction_is_seen_by_another_store(
    store: Store, store_url: str
) -> None:
    async with store.transaction() as tx:
        await tx.upsert_project(KEY, spec(), 1)
        async with tx.transaction():  # nested blocks join the outer one
            await tx.save_tasks(KEY, [task(1)])
    other = await Store.open(store_url)
    try:
        assert await other.list_tasks(KEY) == [task(1)]
    finally:
        await other.close()


async def test_uncommitted_writes_are_invisible_to_other_tasks(store: Store) -> None:
    await store.upsert_project(KEY, spec(), 1)
    written, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with store.transaction():
            await store.put_document(KEY, "plan", masterplan())
            written.set()
            await release.wait()

    job = asyncio.create_task(writer())
    await written.wait()
    assert await asyncio.wait_for(store.get_document(KEY, "plan"), timeout=10) is None
    release.set()
    await job
    assert await store.get_document(KEY, "plan") is not None


async def test_a_task_started_inside_a_transaction_cannot_use_it(store: Store) -> None:
    await store.upsert_project(KEY, spec(), 1)
    with pytest.raises(StoreError, match="belongs to the task that opened it"):
        async with store.transaction():
            await store.put_document(KEY, "a", {"x": 1})
            await asyncio.create_task(store.put_document(KEY, "b", {"x": 2}))
    assert await store.list_document_kinds(KEY) == []
