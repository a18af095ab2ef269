"""Per-atom progress of an execution, how it is resumed, and where it is written down.

The store is the truth; this is its in-memory picture for one run. :class:`ExecutionState` is
rebuilt from stored attempts and atom states on resume, so a killed run continues where it
stopped. Every attempt and every settled atom goes to a :class:`Journal` the moment it
happens (the store implements it; :class:`MemoryJournal` keeps them in memory).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mge.execution.budget import BudgetLimit
from mge.execution.views import BatchView
from mge.models.atoms import AtomState
from mge.models.execution import Attempt, ValidationResult
from mge.models.performance import PerformanceReport
from mge.models.readiness import ReadinessReport

RunStatus = Literal["completed", "budget_exceeded"]

DONE_STATES = frozenset({AtomState.VALIDATED, AtomState.APPROVED})
FLAGGED_STATES = frozenset({AtomState.FAILED, AtomState.IN_REVIEW})


@dataclass
class AtomProgress:
    """One atom's attempts, state, accepted code and pending outside feedback."""

    atom_id: str
    state: AtomState = AtomState.PENDING
    attempts: list[Attempt] = field(default_factory=list)
    code: str | None = None
    feedback: str | None = None
    """Feedback for the next attempt from outside the retry loop (integration, reviewer)."""
    integration_runs: int = 0
    integration_passes: int = 0

    @property
    def settled(self) -> bool:
        """True once the atom needs no more generation in this run."""
        return self.state in DONE_STATES or self.state in FLAGGED_STATES

    @property
    def first_try_passed(self) -> bool:
        """True when attempt 1 passed validation."""
        first = self.attempts[0] if self.attempts else None
        return first is not None and first.validation is not None and first.validation.passed


@dataclass
class ExecutionState:
    """Progress of every atom of a run, by atom id."""

    atoms: dict[str, AtomProgress]

    @classmethod
    def fresh(cls, atom_ids: Iterable[str]) -> ExecutionState:
        """Nothing generated yet."""
        return cls({a: AtomProgress(a) for a in atom_ids})

    @classmethod
    def resume(
        cls,
        atom_ids: Iterable[str],
        attempts: Iterable[Attempt],
        states: Mapping[str, AtomState] | None = None,
        codes: Mapping[str, str] | None = None,
    ) -> ExecutionState:
        """The state as stored: attempts per atom, plus the stored state and accepted code.

        Stored states are trusted (the store writes an attempt and its atom's state in one
        transaction). Without a stored state, an atom whose last attempt passed counts as
        validated (the attempt is the proof).
        """
        state = cls.fresh(atom_ids)
        for attempt in sorted(attempts, key=lambda a: (a.atom_id, a.number)):
            if attempt.atom_id in state.atoms:
                state.atoms[attempt.atom_id].attempts.append(attempt)
        for atom_id, progress in state.atoms.items():
            stored = (states or {}).get(atom_id)
            code = (codes or {}).get(atom_id)
            last = progress.attempts[-1] if progress.attempts else None
            if stored == AtomState.GENERATING:
                stored = None
            if stored is not None:
                progress.state = stored
                if stored in DONE_STATES:
                    progress.code = code if code is not None else (last.code if last else None)
                elif stored == AtomState.IN_REVIEW:
                    progress.code = code  # validated code awaiting review; None if it failed
            elif last is not None and last.validation is not None and last.validation.passed:
                progress.state = AtomState.VALIDATED
                progress.code = last.code
        return state

    def validated_codes(self) -> dict[str, str]:
        """Accepted code of every validated or approved atom, and of atoms in review whose
        code passed validation (a failed atom in review has no accepted code)."""
        keep = DONE_STATES | {AtomState.IN_REVIEW}
        return {a: p.code for a, p in self.atoms.items() if p.state in keep and p.code is not None}

    def count(self, *states: AtomState) -> int:
        """How many atoms are in any of ``states``."""
        return sum(1 for p in self.atoms.values() if p.state in states)


class Journal(Protocol):
    """Where execution writes down what happened, as it happens."""

    async def attempt(self, attempt: Attempt, state: AtomState, code: str | None) -> None:
        """Store one attempt and the atom's resulting state (and accepted code) together, in
        one transaction; idempotent on atom id + number."""
        ...

    async def settle(self, atom_id: str, state: AtomState, code: str | None) -> None:
        """Store an atom's new state and accepted code."""
        ...

    async def validation(self, result: ValidationResult) -> None:
        """Store an L2/L3/L4 or integration result."""
        ...

    async def batch(
        self, level: int, members: Sequence[tuple[str, int]], view: BatchView | None = None
    ) -> None:
        """Record a validation batch of ``level`` (atom id, attempt) before it is validated,
        with what it is checked against (``view``)."""
        ...

    async def planned_batches(self, level: int) -> list[list[tuple[str, int]]]:
        """The batches recorded for ``level``, oldest first."""
        ...

    async def batch_view(
        self, level: int, members: Sequence[tuple[str, int]], *, recheck: bool = False
    ) -> BatchView | None:
        """The view recorded with the batch of ``level`` made of exactly ``members`` (by this
        or an earlier process), if there is one; ``recheck``: of the recheck of them."""
        ...

    async def progress(self, name: str) -> dict[str, Any] | None:
        """The progress document ``name`` saved by this or an earlier process, if any."""
        ...

    async def save_progress(self, name: str, doc: dict[str, Any]) -> None:
        """Replace the progress document ``name`` (what a resumed run needs to repeat the
        checks an uninterrupted run would make)."""
        ...


class MemoryJournal:
    """A journal that keeps everything in memory (runs without a store, and tests)."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self.states: dict[str, tuple[AtomState, str | None]] = {}
        self.validations: list[ValidationResult] = []
        self.batches: dict[int, list[list[tuple[str, int]]]] = {}
        self.views: dict[tuple[int, frozenset[tuple[str, int]], bool], BatchView] = {}
        """Each batch's view by (level, members, recheck); rechecks are not in ``batches``."""
        self.progress_docs: dict[str, dict[str, Any]] = {}

    async def attempt(self, attempt: Attempt, state: AtomState, code: str | None) -> None:
        """Keep the attempt (replacing one with the same atom id and number) and the state."""
        same = (attempt.atom_id, attempt.number)
        self.attempts = [a for a in self.attempts if (a.atom_id, a.number) != same]
        self.attempts.append(attempt)
        self.states[attempt.atom_id] = (state, code)

    async def settle(self, atom_id: str, state: AtomState, code: str | None) -> None:
        """Keep the atom's latest state."""
        self.states[atom_id] = (state, code)

    async def validation(self, result: ValidationResult) -> None:
        """Keep the result."""
        self.validations.append(result)

    async def batch(
        self, level: int, members: Sequence[tuple[str, int]], view: BatchView | None = None
    ) -> None:
        """Keep the batch (and its view)."""
        if view is None or not view.recheck:
            self.batches.setdefault(level, []).append(list(members))
        if view is not None:
            self.views[(level, frozenset(members), view.recheck)] = view

    async def planned_batches(self, level: int) -> list[list[tuple[str, int]]]:
        """The batches kept for ``level``."""
        return [list(b) for b in self.batches.get(level, [])]

    async def batch_view(
        self, level: int, members: Sequence[tuple[str, int]], *, recheck: bool = False
    ) -> BatchView | None:
        """The view kept with that batch (or recheck)."""
        return self.views.get((level, frozenset(members), recheck))

    async def progress(self, name: str) -> dict[str, Any] | None:
        """The document kept under ``name``."""
        return self.progress_docs.get(name)

    async def save_progress(self, name: str, doc: dict[str, Any]) -> None:
        """Keep ``doc`` under ``name``."""
        self.progress_docs[name] = doc


@dataclass
class ExecutionResult:
    """How a run of execute_levels ended, with the figures the report needs."""

    status: RunStatus
    state: ExecutionState
    message: str = ""
    levels: int = 0
    levels_done: int = 0
    cache_hits: int = 0
    llm_calls: int = 0
    wall_s: float = 0.0
    integration: list[ValidationResult] = field(default_factory=list)
    modules: list[ValidationResult] = field(default_factory=list)
    readiness: ReadinessReport | None = None
    """The L4 production-readiness checks after their retries (None when none ran)."""
    performance: PerformanceReport | None = None
    """The L3 benchmarks after their retries (None when there was nothing to measure)."""
    budget_limit: BudgetLimit | None = None
    """With status ``budget_exceeded``: which limit stopped the run (data, so a driver need not
    read it back out of ``message``)."""
