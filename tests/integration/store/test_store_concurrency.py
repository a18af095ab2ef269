"""Concurrent writers lose no rows, on one store and across two stores on the same database."""

from __future__ import annotations

import asyncio

from store_samples import attempt, response, spec, unit

from mge.models import AtomState
from mge.store import Store

KEY = "default/todo"
WRITERS = 20
ATTEMPTS_EACH = 3
COST = 0.125  # exact in binary, so sums are exact in any order


async def test_twenty_tasks_recording_attempts_at_once_lose_nothing(store: Store) -> None:
    units = [unit(f"fn_{i}") for i in range(WRITERS)]
    await store.upsert_project(KEY, spec(), 1)
    await store.save_atoms(KEY, units)

    async def writer(atom: str) -> None:
        for n in range(1, ATTEMPTS_EACH + 1):
            done = n == ATTEMPTS_EACH
            state = AtomState.VALIDATED if done else AtomState.GENERATING
            await store.record_attempt(
                KEY, attempt(atom, n, cost=COST), state, f"# {atom}" if done else None
            )

    await asyncio.gather(*(writer(u.id) for u in units))

    assert len(await store.list_attempts(KEY)) == WRITERS * ATTEMPTS_EACH
    totals = await store.usage_totals(KEY)
    assert totals.calls == WRITERS * ATTEMPTS_EACH
    assert totals.cost_usd == WRITERS * ATTEMPTS_EACH * COST
    atoms = await store.list_atoms(KEY)
    assert {(a.state, a.code) for a in atoms} == {(AtomState.VALIDATED, f"# {a.id}") for a in atoms}


async def test_twenty_attempts_on_one_atom_at_once(store: Store) -> None:
    a = unit("hot")
    await store.upsert_project(KEY, spec(), 1)
    await store.save_atoms(KEY, [a])
    await asyncio.gather(
        *(
            store.record_attempt(KEY, attempt(a.id, n, cost=COST), AtomState.FAILED)
            for n in range(1, WRITERS + 1)
        )
    )
    assert [x.number for x in await store.list_attempts(KEY, a.id)] == list(range(1, WRITERS + 1))
    assert await store.total_cost(KEY) == WRITERS * COST


async def test_mixed_writers_and_readers_at_once(store: Store) -> None:
    await store.upsert_project(KEY, spec(), 1)
    await store.save_atoms(KEY, [unit("a")])

    async def docs(i: int) -> None:
        await store.put_document(KEY, f"skeleton/T-{i}", {"i": i})

    async def costs(i: int) -> None:
        await store.record_cost(KEY, f"call-{i}", response(cost=COST))

    async def reads(_: int) -> None:
        await store.list_atoms(KEY)
        await store.get_project(KEY)

    await asyncio.gather(*(f(i) for i in range(WRITERS) for f in (docs, costs, reads)))
    assert len(await store.list_document_kinds(KEY, "skeleton/")) == WRITERS
    assert (await store.usage_totals(KEY)).calls == WRITERS


async def test_two_stores_on_one_database_write_at_once(store_url: str) -> None:
    """Like `mge run` and `mge review` in two processes: separate pools, one database."""
    first, second = await Store.open(store_url), await Store.open(store_url)
    try:
        await first.upsert_project(KEY, spec(), 1)
        await asyncio.gather(
            *(
                s.record_cost(KEY, f"call-{i}", response(cost=COST))
                for i in range(WRITERS)
                for s in (first, second)
            )
        )
        assert (await first.usage_totals(KEY)).calls == 2 * WRITERS
        assert await second.total_cost(KEY) == 2 * WRITERS * COST
    finally:
        await first.close()
        await second.close()
