"""Streamed validation batches: the pure batch decision, and the executor that follows it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from mge.execution import AtomExecutorWithRetry, Budget, ExecutionState, MemoryJournal
from mge.execution.batching import Member, next_batches, slot_order
from mge.llm.base import LLMRequest, LLMResponse
from mge.models.atoms import AtomicUnit, AtomState
from mge.models.execution import CheckResult, ValidationResult
from mge.models.project import ExecutionSpec
from mge.validation.batch import Candidate, Workspace
from mge.validation.codebase import Codebase

# --- the pure decision ---------------------------------------------------------------------


def m(atom: str, attempt: int = 1) -> Member:
    return (atom, attempt)


RULES = {
    # Nothing ready, nothing to form.
    "none": ([], {"a": 1}, {"a": 1}, {}, 2, 4, []),
    # A full batch goes at once, although peers are still being generated.
    "full": (
        [m("a"), m("b"), m("c")],
        {"d": 1},
        {"a": 1, "b": 1, "c": 1, "d": 1},
        {},
        2,
        4,
        [[m("a"), m("b")]],
    ),
    # Two full batches need two free slots; one slot, one batch.
    "one-slot": ([m("a"), m("b"), m("c"), m("d")], {}, {}, {}, 2, 1, [[m("a"), m("b")]]),
    # A partial batch waits for its wave's outstanding generation ...
    "wait-peer": ([m("a")], {"b": 1}, {"a": 1, "b": 1}, {m("a"): 0.2}, 2, 4, []),
    # ... unless it has waited the linger out ...
    "linger": ([m("a")], {"b": 1}, {"a": 1, "b": 1}, {m("a"): 1.0}, 2, 4, [[m("a")]]),
    # ... and never for a later wave (retries started after it).
    "later-wave": ([m("a")], {"b": 2}, {"a": 1, "b": 2}, {}, 2, 4, [[m("a")]]),
    # The tail of a wave takes along every other ready attempt, due or not.
    "not-due": ([m("x", 2)], {"y": 2}, {"x": 2, "y": 2}, {}, 3, 4, []),
    "tail": (
        [m("x", 2), m("a")],
        {"y": 2},
        {"x": 2, "y": 2, "a": 1},
        {},
        3,
        4,
        [[m("x", 2), m("a")]],
    ),
    # No free sandbox slot: everything waits (the next batch will be fuller).
    "no-slot": ([m("a")], {}, {}, {}, 2, 0, []),
}


@pytest.mark.parametrize(
    ("ready", "generating", "waves", "waited", "size", "free_slots", "expected"),
    list(RULES.values()),
    ids=list(RULES),
)
def test_next_batches_rules(
    ready: list[Member],
    generating: dict[str, int],
    waves: dict[str, int],
    waited: dict[Member, float],
    size: int,
    free_slots: int,
    expected: list[list[Member]],
) -> None:
    got = next_batches(ready, generating, [], size, free_slots, waves, waited, linger_s=1.0)
    assert got == expected


def test_free_slots_go_to_the_level_heading_the_longest_chain_then_the_lower_level() -> None:
    # level 0 holds only leaves now, level 3 the head of a chain of 5: the chain goes first
    assert slot_order({0: 1, 3: 5, 2: 5, 1: 2}) == [2, 3, 1, 0]
    assert slot_order({}) == []


def test_a_recorded_batch_is_formed_again_exactly_once_its_members_are_ready() -> None:
    planned = [[m("c"), m("a")]]
    # c is still being generated with the recorded attempt: a waits for it (held), b goes.
    got = next_batches([m("a"), m("b")], {"c": 1}, planned, 5, 4)
    assert got == []  # b's wave is still generating (c), and a is held for the record
    got = next_batches([m("a"), m("b")], {"c": 1}, planned, 5, 4, {"b": 1, "c": 2})
    assert got == [[m("b")]]
    # Both ready: the record, in its own order and size, ahead of anything else.
    got = next_batches([m("a"), m("b"), m("c")], {}, planned, 2, 4)
    assert got == [[m("c"), m("a")], [m("b")]]


@pytest.mark.parametrize(
    ("generating", "expected"),
    [({"c": 2}, [[m("a")]]), ({}, [[m("a")]])],
    ids=["other-attempt", "settled"],
)
def test_a_dead_record_frees_its_members(
    generating: Mapping[str, int], expected: list[list[Member]]
) -> None:
    # c's recorded attempt 1 will never be ready (it is at attempt 2, or settled): a is free.
    got = next_batches([m("a")], generating, [[m("a"), m("c")]], 5, 4, {"a": 1, "c": 2})
    assert got == expected


# --- the streaming executor ------------------------------------------------------------------


def _codebase(ids: Sequence[str]) -> Codebase:
    lines = ['"""m."""', ""]
    atoms = {}
    for a in ids:
        sig = f"def {a}(x: int) -> int:"
        lines += ["", sig, "    ...", ""]
        atoms[a] = AtomicUnit(
            id=a,
            file="m.py",
            language="python",
            kind="function",
            qualname=a,
            signature=sig,
            spec=f"{a}.",
            estimated_loc=2,
            complexity=1,
        )
    return Codebase({"m.py": "\n".join(lines) + "\n"}, atoms)


class SlowModel:
    """Answers after a per-atom delay (seconds), correct code."""

    def __init__(self, delays: Mapping[str, float]) -> None:
        self.delays = delays
        self.started: dict[str, float] = {}

    async def complete(self, request: LLMRequest, project: str | None = None) -> LLMResponse:
        atom = request.key.split("/")[1]
        self.started[request.key] = asyncio.get_running_loop().time()
        await asyncio.sleep(self.delays.get(atom, 0.0))
        text = f"```python\ndef {atom}(x: int) -> int:\n    return x\n```\n"
        return LLMResponse(text=text, model="m", provider="fake")


class Sandbox:
    """Fails the first attempt of the atoms in ``fail_first``; records each batch."""

    def __init__(self, fail_first: set[str]) -> None:
        self.fail_first = fail_first
        self.batches: list[list[tuple[str, int]]] = []

    async def validate(
        self,
        level: int,
        batch_index: int,
        candidates: list[Candidate],
        visible: Mapping[str, str] | None = None,
    ) -> dict[str, ValidationResult]:
        self.batches.append(sorted((c.atom_id, c.attempt) for c in candidates))
        await asyncio.sleep(0.01)
        out = {}
        for c in candidates:
            ok = not (c.attempt == 1 and c.atom_id in self.fail_first)
            check = CheckResult(name="tests", passed=ok, detail="" if ok else "assert 1 == 2")
            out[c.atom_id] = ValidationResult(
                level="L1", subject=c.atom_id, passed=ok, checks=[check]
            )
        return out


def _executor(
    ids: Sequence[str], model: SlowModel, sandbox: Sandbox, journal: MemoryJournal, **spec: int
) -> AtomExecutorWithRetry:
    codebase = _codebase(ids)
    return AtomExecutorWithRetry(
        llm=model,
        validator=sandbox,
        workspace=Workspace(codebase),
        state=ExecutionState.fresh(codebase.atoms),
        journal=journal,
        budget=Budget(max_cost_usd=100.0, max_atoms=100),
        spec=ExecutionSpec(**spec),
        batch_linger_s=0.05,
    )


async def test_a_failed_atom_is_retried_before_the_slowest_atom_of_its_level_is_generated() -> None:
    ids = ["fast", "peer", "slow"]
    model = SlowModel({"fast": 0.0, "peer": 0.0, "slow": 0.5})
    sandbox = Sandbox(fail_first={"fast"})
    journal = MemoryJournal()
    executor = _executor(ids, model, sandbox, journal, batch_size=20)
    outcome = await executor.run_level(0, ids)
    assert sorted(outcome.validated) == ids and outcome.retries == 1
    # fast+peer went after the linger, without waiting for slow; fast's retry (a later wave,
    # which waits for nobody) was generated and validated while slow was still generating.
    assert sandbox.batches == [[("fast", 1), ("peer", 1)], [("fast", 2)], [("slow", 1)]]
    assert model.started["atom/fast/attempt-2"] < model.started["atom/slow/attempt-1"] + 0.5
    # Every batch was recorded before it ran; every attempt is in the journal.
    assert sorted(map(sorted, journal.batches[0])) == sorted(sandbox.batches)
    assert sorted((a.atom_id, a.number) for a in journal.attempts) == [
        ("fast", 1),
        ("fast", 2),
        ("peer", 1),
        ("slow", 1),
    ]


async def test_a_resumed_level_forms_its_recorded_batches_again() -> None:
    ids = ["a", "b", "c", "d"]
    # This time d answers first and a last: left alone, the batches would differ.
    model = SlowModel({"a": 0.03, "b": 0.02, "c": 0.01, "d": 0.0})
    sandbox = Sandbox(fail_first=set())
    journal = MemoryJournal()
    journal.batches[0] = [[("a", 1), ("b", 1)], [("c", 1), ("d", 1)]]
    executor = _executor(ids, model, sandbox, journal, batch_size=2)
    outcome = await executor.run_level(0, ids)
    assert sorted(outcome.validated) == ids
    assert sorted(sandbox.batches) == [[("a", 1), ("b", 1)], [("c", 1), ("d", 1)]]


async def test_the_level_ends_only_when_every_atom_is_settled() -> None:
    ids = [f"a{i}" for i in range(7)]
    model = SlowModel({a: 0.001 * i for i, a in enumerate(ids)})
    sandbox = Sandbox(fail_first={"a1", "a4"})
    journal = MemoryJournal()
    executor = _executor(ids, model, sandbox, journal, batch_size=3, parallelism=1)
    outcome = await executor.run_level(0, ids)
    assert sorted(outcome.validated) == ids
    assert all(p.state is AtomState.VALIDATED for p in executor.state.atoms.values())
    assert all(len(b) <= 3 for b in sandbox.batches)
    assert outcome.batches == len(sandbox.batches) == len(journal.batches[0])
