"""WorkerRegistry: phases advance off the handler; faults become worker states decide() reads.

The phase runners here inject faults (budget, missing stage, bug) — the real one is StageRunner,
exercised against the control plane in tests/integration/kube.
"""

from __future__ import annotations

import asyncio

from mge.errors import BudgetExceeded, NotAvailableYet
from mge.execution.budget import BudgetLimit
from mge.kube.worker import WorkerRegistry
from mge.models.project import Phase
from mge.pipeline.phases import next_phase


async def settle(reg: WorkerRegistry, uid: str) -> None:
    for _ in range(200):
        info = reg.workers[uid]
        if info.task is not None and info.task.done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("worker did not finish")


async def test_worker_runs_until_reviewing_and_reports_changes() -> None:
    seen: list[Phase] = []

    async def runner(key: str, generation: int, phase: Phase) -> Phase:
        seen.append(phase)
        return next_phase(phase)

    changes: list[str] = []
    reg = WorkerRegistry(runner=runner, on_change=changes.append)
    reg.start("u1", "ns/p", 1, Phase.EXECUTING)
    await settle(reg, "u1")
    info = reg.state("u1", 1)
    assert info is not None and (info.state, info.phase) == ("finished", Phase.REVIEWING)
    assert seen == [Phase.EXECUTING, Phase.INTEGRATING]
    assert changes == ["u1", "u1", "u1"]
    assert reg.state("u1", 2) is None


async def test_faults_map_to_states() -> None:
    async def budget(key: str, generation: int, phase: Phase) -> Phase:
        raise BudgetExceeded(BudgetLimit.COST, 2.0, 2.5)

    async def missing(key: str, generation: int, phase: Phase) -> Phase:
        raise NotAvailableYet("atomization")

    async def bug(key: str, generation: int, phase: Phase) -> Phase:
        raise KeyError("oops")

    for runner, state in ((budget, "budget"), (missing, "blocked"), (bug, "failed")):
        reg = WorkerRegistry(runner=runner)
        reg.start("u", "ns/p", 1, Phase.PENDING)
        await settle(reg, "u")
        info = reg.state("u", 1)
        assert info is not None and info.state == state, (runner, info)
        assert info.error
        if state == "budget":  # which limit, as data, for the reconcile to compare
            assert info.budget_limit == (BudgetLimit.COST, 2.0)


async def test_new_generation_replaces_and_start_is_idempotent() -> None:
    gate = asyncio.Event()
    calls: list[int] = []

    async def runner(key: str, generation: int, phase: Phase) -> Phase:
        calls.append(generation)
        await gate.wait()
        return Phase.REVIEWING

    reg = WorkerRegistry(runner=runner)
    reg.start("u", "ns/p", 1, Phase.PENDING)
    await asyncio.sleep(0.01)
    reg.start("u", "ns/p", 1, Phase.PENDING)  # a repeated reconcile: no second worker
    await asyncio.sleep(0.01)
    assert calls == [1]
    old = reg.workers["u"].task
    reg.start("u", "ns/p", 2, Phase.PENDING)
    await asyncio.sleep(0.01)
    assert old is not None and old.cancelled()
    gate.set()
    await settle(reg, "u")
    assert calls == [1, 2]
    await reg.stop_all()


async def test_the_nudge_names_the_worker_phase_outside_kopfs_annotation_prefix() -> None:
    from mge.kube.nudge import WORKER_ANNOTATION, nudge_patch

    async def runner(key: str, generation: int, phase: Phase) -> Phase:
        return next_phase(phase)

    reg = WorkerRegistry(runner=runner)
    reg.start("u1", "ns/p", 3, Phase.EXECUTING)
    await settle(reg, "u1")
    info = reg.state("u1", 3)
    assert info is not None and info.key == "ns/p"
    patch = nudge_patch(info)
    assert patch == {"metadata": {"annotations": {WORKER_ANNOTATION: "g3 Reviewing finished"}}}
    # kopf leaves annotations under its own storage prefix (mge.dev/) out of the diff that
    # wakes update handlers; the nudge must not live there or it would wake nothing.
    assert not WORKER_ANNOTATION.startswith("mge.dev/")


async def test_after_stop_all_no_worker_starts_again() -> None:
    """A leader that lost its Lease stops its workers; a reconcile still in flight must not
    start one again before the process exits."""
    gate = asyncio.Event()
    calls: list[int] = []

    async def runner(key: str, generation: int, phase: Phase) -> Phase:
        calls.append(generation)
        await gate.wait()
        return Phase.REVIEWING

    reg = WorkerRegistry(runner=runner)
    reg.start("u", "ns/p", 1, Phase.PENDING)
    await asyncio.sleep(0.01)
    task = reg.workers["u"].task
    await reg.stop_all()
    assert task is not None and task.cancelled() and reg.closed
    reg.start("u", "ns/p", 1, Phase.PENDING)
    await asyncio.sleep(0.01)
    assert calls == [1] and not reg.workers
