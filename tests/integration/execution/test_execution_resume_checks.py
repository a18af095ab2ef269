"""A run killed mid-way and resumed makes the same sandbox runs as one that was never stopped.

In the cluster every sandbox run is a Job named by its content, so "the same runs" is "the same
Jobs": a restarted operator once created two extra suite Jobs checking an intermediate codebase
that the uninterrupted run never checked (a replayed early level re-checked a module with code
of later levels), and skipped the integration checkpoint that was due when it was killed.

Real parts: the shop project through the executor, the local process sandbox, mypy and a SQLite
store; the runner is wrapped only to record each run's content and to stop the run (the kill).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from execution_rig import PROJECT, make_rig, plan, with_dispatch
from shop_project import ADD, ATOMS, CHECKOUT, DISCOUNT, RECORDINGS, SUBTOTAL, TOTAL, spec

from mge.execution.journal import load_state
from mge.llm.base import LLMRequest, LLMResponse, Provider
from mge.llm.scripted import ScriptedProvider
from mge.models.project import ProjectSpec
from mge.store import Store
from mge.validation.batch import Workspace
from mge.validation.runner import TestJob, TestOutcome
from mge.validation.runner import TestRunner as Runner  # not collected by pytest

LEVELS = [[SUBTOTAL.id, DISCOUNT.id], [TOTAL.id], [ADD.id], [CHECKOUT.id]]
"""A valid order of the shop's atoms in which a module (pricing) is done at level 1 and a later
level validates more code (Cart.add) before the kill (while Cart.checkout is validated)."""


class Killed(BaseException):
    """Stands in for SIGKILL: nothing below catches it."""


class RecordingRunner:
    """Records the content of every run (what a Job name is made from), then runs it."""

    def __init__(
        self,
        inner: Runner,
        seen: list[str],
        kill: Callable[[TestJob], bool],
        *,
        started: bool = True,
    ):
        self.inner = inner
        self.seen = seen
        self.kill = kill
        self.started = started
        """Whether the run the kill lands on was started (its Job created) before the kill."""

    async def run(self, jobs: Sequence[TestJob]) -> dict[str, TestOutcome]:
        for job in jobs:
            killed = self.kill(job)
            if not killed or self.started:
                self.seen.append(_content(job))
            if killed:
                raise Killed(job.id)
        return await self.inner.run(jobs)


def _content(job: TestJob) -> str:
    doc = {"files": dict(job.files), "tests": job.tests, "imports": job.imports}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def _spec(dispatch: str) -> ProjectSpec:
    return with_dispatch(spec(), dispatch)


async def _runs(
    store: Store,
    tmp_path: Path,
    dispatch: str,
    kill: Callable[[TestJob], bool] = lambda _job: False,
) -> list[str]:
    seen: list[str] = []
    rig = await make_rig(
        store,
        tmp_path,
        _spec(dispatch),
        wrap_runner=lambda inner: RecordingRunner(inner, seen, kill),
    )
    try:
        result = await rig.generator.run(LEVELS)
        assert result.status == "completed"
    except Killed:
        pass
    return seen


async def _store(path: Path) -> Store:
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    await plan(store, spec())
    return store


def _first_integration_after_add(workspace: list[Workspace]) -> Callable[[TestJob], bool]:
    """Kills at the first integration run once Cart.add is validated (``workspace`` is filled
    in once the run's workspace exists)."""
    return lambda job: job.id.startswith("integration") and ADD.id in workspace[0].validated


@pytest.mark.slow
@pytest.mark.parametrize("dispatch", ["level", "ready"])
@pytest.mark.parametrize(
    ("where", "started"),
    [
        ("checkout's L1 run", True),  # a module done at level 1, more code validated since
        ("the checkpoint due for Cart.add", False),  # validated, its checkpoint not yet begun
    ],
)
async def test_a_killed_run_resumes_with_the_same_runs(
    tmp_path: Path, where: str, started: bool, dispatch: str
) -> None:
    reference = await _store(tmp_path / "uninterrupted.db")
    try:
        uninterrupted = await _runs(reference, tmp_path / "a", dispatch)
    finally:
        await reference.close()

    store = await _store(tmp_path / "killed.db")
    try:
        seen: list[str] = []
        workspace: list[Workspace] = []
        kill = (
            (lambda job: job.id == CHECKOUT.id)
            if where.startswith("checkout")
            else _first_integration_after_add(workspace)
        )
        rig = await make_rig(
            store,
            tmp_path / "b",
            _spec(dispatch),
            wrap_runner=lambda inner: RecordingRunner(inner, seen, kill, started=started),
        )
        workspace.append(rig.workspace)
        with pytest.raises(Killed):
            await rig.generator.run(LEVELS)
        resumed = await _runs(store, tmp_path / "c", dispatch)
    finally:
        await store.close()

    assert set(seen) | set(resumed) == set(uninterrupted), (
        f"uninterrupted: {len(set(uninterrupted))} distinct runs; killed + resumed: "
        f"{len(set(seen) | set(resumed))} ({len(set(resumed) - set(uninterrupted))} new)"
    )


@pytest.mark.slow
async def test_a_killed_ready_dispatch_run_resumes_with_nothing_lost_or_paid_twice(
    tmp_path: Path,
) -> None:
    """Dispatch ``ready`` (opt-in): every atom ends with the same code, and no LLM call is made
    or paid again."""
    reference = await _store(tmp_path / "uninterrupted.db")
    try:
        await _runs(reference, tmp_path / "a", "ready")
        expected = await _outcome(reference)
        paid = await reference.usage_totals(PROJECT)
    finally:
        await reference.close()

    store = await _store(tmp_path / "killed.db")
    try:
        rig = await make_rig(
            store,
            tmp_path / "b",
            _spec("ready"),
            wrap_runner=lambda inner: RecordingRunner(inner, [], lambda job: job.id == CHECKOUT.id),
        )
        assert rig.generator.dispatch == "ready"
        with pytest.raises(Killed):
            await rig.generator.run(LEVELS)
        await _runs(store, tmp_path / "c", "ready")
        resumed = await _outcome(store)
        paid_twice = await store.usage_totals(PROJECT)
    finally:
        await store.close()

    assert set(expected) == set(ATOMS)
    assert resumed == expected, "an atom ended differently after the kill and resume"
    assert paid_twice == paid, "the resumed run paid for LLM calls the killed one had made"


async def _outcome(store: Store) -> dict[str, tuple[str, str | None]]:
    state = await load_state(store, PROJECT, ATOMS)
    return {a: (str(p.state), p.code) for a, p in state.atoms.items()}


class HeldProvider:
    """The scripted recordings, with the answer for ``held`` given only once ``release`` is
    set (a slow model call)."""

    def __init__(self, inner: Provider, held: str) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.held = held
        self.release = asyncio.Event()

    async def complete(self, request: LLMRequest) -> LLMResponse:
        if f"/{self.held}/" in request.key:
            await self.release.wait()
        return await self.inner.complete(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class KilledWhileRunning:
    """Records each run's content; checkout's run lets Cart.add's answer through, then is
    killed only once Cart.add is validated and stored, while checkout's run is still going."""

    def __init__(
        self, inner: Runner, seen: list[tuple[str, str]], store: Store, held: HeldProvider
    ) -> None:
        self.inner = inner
        self.seen = seen
        self.store = store
        self.held = held

    async def run(self, jobs: Sequence[TestJob]) -> dict[str, TestOutcome]:
        self.seen.extend((job.id, _content(job)) for job in jobs)
        if any(job.id == CHECKOUT.id for job in jobs):
            self.held.release.set()
            for _ in range(2400):  # the store is polled: nothing signals its writes
                if (await _outcome(self.store))[ADD.id][0] == "validated":
                    raise Killed(CHECKOUT.id)
                await asyncio.sleep(0.05)
            raise AssertionError("Cart.add was not validated within 120 s")
        return await self.inner.run(jobs)


class Recorded:
    """Records each run's atom and content, then runs it."""

    def __init__(self, inner: Runner, seen: list[tuple[str, str]]) -> None:
        self.inner = inner
        self.seen = seen

    async def run(self, jobs: Sequence[TestJob]) -> dict[str, TestOutcome]:
        self.seen.extend((job.id, _content(job)) for job in jobs)
        return await self.inner.run(jobs)


@pytest.mark.slow
async def test_a_batch_formed_before_a_kill_is_checked_against_the_same_code_after_it(
    tmp_path: Path,
) -> None:
    """Dispatch ``ready``: checkout (level 2) is checked before Cart.add (level 0, not one of
    its dependencies) is validated; Cart.add is validated while checkout's run is going; then
    the kill. The resumed run forms checkout's recorded batch again, and by then Cart.add is
    validated: the batch must still be checked against what it was checked against before —
    the same content, so in the cluster the same Job name, found instead of made again."""
    store = await _store(tmp_path / "killed.db")
    try:
        seen: list[tuple[str, str]] = []
        held: list[HeldProvider] = []

        def provider() -> HeldProvider:
            held.append(HeldProvider(ScriptedProvider(RECORDINGS), ADD.id))
            return held[0]

        rig = await make_rig(
            store,
            tmp_path / "b",
            _spec("ready"),
            provider=provider(),
            wrap_runner=lambda inner: KilledWhileRunning(inner, seen, store, held[0]),
        )
        with pytest.raises(Killed):
            await rig.generator.run(LEVELS)
        before = [content for atom, content in seen if atom == CHECKOUT.id]
        assert ADD.id in rig.workspace.validated and len(before) == 1

        after: list[tuple[str, str]] = []
        resumed = await make_rig(
            store,
            tmp_path / "c",
            _spec("ready"),
            wrap_runner=lambda inner: Recorded(inner, after),
        )
        assert (await resumed.generator.run(LEVELS)).status == "completed"
    finally:
        await store.close()

    again = [content for atom, content in after if atom == CHECKOUT.id]
    assert again, "the resumed run did not check checkout"
    assert again[0] == before[0], (
        "checkout's recorded batch was checked against other code after the resume: its Job "
        "would have another name and run a second time"
    )
