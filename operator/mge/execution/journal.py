"""The store as execution's journal, and an execution state rebuilt from the store.

:class:`StoreJournal` writes each attempt together with its atom's new state in one
transaction (``Store.record_attempt``), so a run killed at any moment resumes from a
consistent picture: :func:`load_state` rebuilds the :class:`ExecutionState` from the stored
attempts and atom states.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mge import metrics
from mge.errors import InputError
from mge.execution.state import ExecutionState
from mge.execution.views import BatchView
from mge.models.atoms import AtomState
from mge.models.execution import Attempt, ValidationResult
from mge.store import Store
from mge.validation.codebase import Codebase


class StoreJournal:
    """Writes attempts, atom states and validation results of one project to the store.

    ``charge``: also write each attempt's cost to the ledger. Leave it False when the LLM
    client was given the store as its CostLedger (the usual wiring), or the cost counts twice.
    """

    def __init__(self, store: Store, project: str, *, charge: bool = False) -> None:
        self.store = store
        self.project = project
        self.charge = charge
        self._batches: dict[int, list[tuple[list[tuple[str, int]], BatchView | None]]] = {}
        self._documents: dict[int, dict[str, list[Any]]] = {}
        """Per level, the recorded batches in their stored form (appended to, not rebuilt)."""

    async def attempt(self, attempt: Attempt, state: AtomState, code: str | None) -> None:
        """One transaction: the attempt row, the atom's state and accepted code."""
        await self.store.record_attempt(self.project, attempt, state, code, charge=self.charge)
        v = attempt.validation
        metrics.record_attempt(
            attempt.number, "error" if v is None else ("passed" if v.passed else "failed")
        )
        if v is not None:
            metrics.record_validation(int(v.level[1:]), v.passed)

    async def settle(self, atom_id: str, state: AtomState, code: str | None) -> None:
        """The atom's new state (and code when given)."""
        await self.store.set_atom_state(self.project, atom_id, state, code)

    async def validation(self, result: ValidationResult) -> None:
        """Append an L2/L3/L4 or integration result."""
        await self.store.add_validation(self.project, result)
        metrics.record_validation(int(result.level[1:]), result.passed)

    async def batch(
        self, level: int, members: Sequence[tuple[str, int]], view: BatchView | None = None
    ) -> None:
        """Append the batch (and its view) to the level's document of recorded batches."""
        records = await self._records(level)
        records.append(([(a, n) for a, n in members], view))
        stored = self._documents[level]
        stored["batches"].append([[a, n] for a, n in members])
        stored["views"].append(None if view is None else view.to_doc())
        doc = {key: list(values) for key, values in stored.items()}  # as it is now
        await self.store.put_document(self.project, batches_document(level), doc)

    async def planned_batches(self, level: int) -> list[list[tuple[str, int]]]:
        """The batches recorded for ``level`` (by this or an earlier process); rechecks are not
        formed again as batches of their own (see mge.execution.views)."""
        return [list(b) for b, v in await self._records(level) if v is None or not v.recheck]

    async def batch_view(
        self, level: int, members: Sequence[tuple[str, int]], *, recheck: bool = False
    ) -> BatchView | None:
        """The view recorded with the level's batch (or recheck) of exactly ``members``."""
        wanted = set(members)
        for record, view in await self._records(level):
            if set(record) == wanted and view is not None and view.recheck == recheck:
                return view
        return None

    async def _records(self, level: int) -> list[tuple[list[tuple[str, int]], BatchView | None]]:
        if level not in self._batches:
            doc = await self.store.get_document(self.project, batches_document(level)) or {}
            batches = [[(str(a), int(n)) for a, n in b] for b in doc.get("batches") or []]
            # a document written before views were recorded has none: its batches have no view
            views = [v if isinstance(v, dict) else None for v in doc.get("views") or []]
            views = (views + [None] * len(batches))[: len(batches)]
            self._documents[level] = {
                "batches": [[[a, n] for a, n in b] for b in batches],
                "views": views,
            }
            parsed = [BatchView.from_doc(v) for v in views]
            self._batches[level] = list(zip(batches, parsed, strict=True))
        return self._batches[level]

    async def progress(self, name: str) -> dict[str, Any] | None:
        """The progress document ``name`` (saved by this or an earlier process)."""
        doc = await self.store.get_document(self.project, progress_document(name))
        return dict(doc) if isinstance(doc, dict) else None

    async def save_progress(self, name: str, doc: dict[str, Any]) -> None:
        """Replace the progress document ``name``."""
        await self.store.put_document(self.project, progress_document(name), doc)


PROGRESS_DOC_PREFIX = "execution-progress/"
"""Document kinds holding the checks' progress (which atoms a check covered), for resuming."""


def progress_document(name: str) -> str:
    """The document kind of progress document ``name``."""
    return f"{PROGRESS_DOC_PREFIX}{name}"


BATCHES_DOC_PREFIX = "execution-batches/"
"""Document kinds holding each level's recorded validation batches (resuming re-forms them)."""


def batches_document(level: int) -> str:
    """The document kind of ``level``'s recorded batches."""
    return f"{BATCHES_DOC_PREFIX}{level}"


async def load_state(store: Store, project: str, atom_ids: Iterable[str]) -> ExecutionState:
    """The execution state as the store has it (attempts, states, accepted code)."""
    ids = list(atom_ids)
    stored = {a.id: a for a in await store.list_atoms(project)}
    attempts = await store.list_attempts(project)
    states = {a: stored[a].state for a in ids if a in stored}
    codes = {a: c for a in ids if a in stored and (c := stored[a].code) is not None}
    return ExecutionState.resume(ids, attempts, states, codes)


SKELETON_DOC = "skeleton"
"""Document kind holding all the skeleton files: ``{path: text}``, or ``{"output": {path: text}}``
as stage checkpoints store it. Both drivers write it after the skeleton stage (the one name for
it); each task's own checkpoint is ``mge.pipeline.atom_stages.TASK_SKELETON_DOC``."""


async def load_codebase(store: Store, project: str) -> Codebase:
    """The project's skeleton files and atoms, as stored."""
    doc = await store.get_document(project, SKELETON_DOC)
    if doc is None:
        raise InputError(
            f"project {project!r} has no skeleton in the store yet (document {SKELETON_DOC!r}); "
            "run `mge run` first"
        )
    files = doc.get("output", doc) if isinstance(doc.get("output"), dict) else doc
    atoms = {a.id: a.unit for a in await store.list_atoms(project)}
    return Codebase({str(k): str(v) for k, v in files.items()}, atoms)


async def accepted_codes(store: Store, project: str) -> dict[str, str]:
    """Code of every atom whose code was accepted (validated, approved, or in review after
    passing)."""
    keep = {AtomState.VALIDATED, AtomState.APPROVED, AtomState.IN_REVIEW}
    return {a.id: a.code for a in await store.list_atoms(project) if a.state in keep and a.code}
