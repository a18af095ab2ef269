"""Attempts (atom state + cost in one transaction), validations, the LLM cache and the ledger."""

from __future__ import annotations

import pytest
from store_samples import attempt, response, spec, unit, validation

from mge.errors import StoreError
from mge.llm.base import CostLedger, ResponseCache
from mge.models import AtomState, Usage
from mge.store import Store

KEY = "default/todo"


@pytest.fixture
async def project(store: Store) -> Store:
    await store.upsert_project(KEY, spec(), 1)
    await store.save_atoms(KEY, [unit("a"), unit("b")])
    return store


A, B = unit("a").id, unit("b").id


async def test_attempts_round_trip_and_move_the_atom(project: Store) -> None:
    first, second = attempt(A, 1, passed=False), attempt(A, 2, cost=0.25)
    await project.record_attempt(KEY, first, AtomState.GENERATING)
    await project.record_attempt(KEY, second, AtomState.VALIDATED, second.code)
    await project.record_attempt(KEY, attempt(B, 1), AtomState.FAILED)
    assert await project.list_attempts(KEY, A) == [first, second]
    assert await project.list_attempts(KEY) == [first, second, attempt(B, 1)]
    atom = await project.get_atom(KEY, A)
    assert atom is not None and (atom.state, atom.code) == (AtomState.VALIDATED, second.code)
    failed = await project.get_atom(KEY, B)
    assert failed is not None and (failed.state, failed.code) == (AtomState.FAILED, None)


async def test_attempt_cost_goes_to_the_ledger_once(project: Store) -> None:
    one, two = attempt(A, 1, cost=0.125), attempt(A, 2, cost=0.5)
    await project.record_attempt(KEY, one, AtomState.FAILED, model="m", provider="p")
    await project.record_attempt(KEY, two, AtomState.VALIDATED, two.code)
    await project.record_attempt(KEY, two, AtomState.VALIDATED, two.code)  # replayed after a crash
    totals = await project.usage_totals(KEY)
    assert totals.calls == 2
    assert totals.cost_usd == 0.625
    assert totals.usage == one.usage + two.usage
    assert await project.total_cost(KEY) == 0.625
    assert len(await project.list_attempts(KEY)) == 2


async def test_attempt_without_charge_leaves_the_ledger_alone(project: Store) -> None:
    await project.record_attempt(KEY, attempt(A, 1, cost=3.0), AtomState.VALIDATED, charge=False)
    assert (await project.usage_totals(KEY)).calls == 0
    assert await project.total_cost(KEY) == 0.0


async def test_attempt_for_unknown_atom_writes_nothing(project: Store) -> None:
    with pytest.raises(StoreError, match="atom 'ghost'"):
        await project.record_attempt(KEY, attempt("ghost", 1), AtomState.VALIDATED, "x")
    assert await project.list_attempts(KEY) == []
    assert await project.total_cost(KEY) == 0.0


async def test_a_failure_inside_record_attempt_rolls_back_all_three_writes(
    project: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_ledger(*_: object, **__: object) -> None:
        raise RuntimeError("injected: ledger write failed")

    monkeypatch.setattr(project, "_charge", broken_ledger)
    with pytest.raises(RuntimeError, match="injected"):
        await project.record_attempt(KEY, attempt(A, 1), AtomState.VALIDATED, "def a(): ...")
    atom = await project.get_atom(KEY, A)
    assert atom is not None and (atom.state, atom.code) == (AtomState.PENDING, None)
    assert await project.list_attempts(KEY) == []


async def test_validations_in_order_with_filters(project: Store) -> None:
    results = [validation(A), validation(B, passed=False), validation("todo/core.py", level="L2")]
    for r in results:
        await project.add_validation(KEY, r)
    assert await project.list_validations(KEY) == results
    assert await project.list_validations(KEY, level="L1") == results[:2]
    assert await project.list_validations(KEY, subject=B) == [results[1]]
    assert (await project.list_validations(KEY, subject=B))[0].first_failure().startswith("tests:")


async def test_response_cache_round_trip_first_write_wins(store: Store) -> None:
    cache: ResponseCache = store
    assert await cache.get_response("h1") is None
    await cache.put_response("h1", "plan", response("first"))
    await cache.put_response("h1", "plan", response("second"))
    got = await cache.get_response("h1")
    assert got is not None
    assert got.from_cache is True
    assert got.model_copy(update={"from_cache": False}) == response("first")


async def test_cost_ledger_sums_per_project(store: Store) -> None:
    ledger: CostLedger = store
    await store.upsert_project(KEY, spec(), 1)
    await ledger.record_cost(KEY, "discovery", response(cost=0.25))
    await ledger.record_cost(KEY, "plan", response(cost=0.5))
    await ledger.record_cost(None, "eval", response(cost=8.0))
    await ledger.record_cost("other", "plan", response(cost=16.0))
    totals = await store.usage_totals(KEY)
    assert (totals.calls, totals.cost_usd) == (2, 0.75)
    assert totals.usage == Usage(
        input_tokens=2000, output_tokens=400, cache_read_tokens=100, cache_write_tokens=20
    )
    empty = await store.usage_totals("nobody")
    assert (empty.calls, empty.cost_usd, empty.usage) == (0, 0.0, Usage())
