"""What the store hands back besides the domain models: rows with their bookkeeping.

A stored atom is an :class:`~mge.models.AtomicUnit` plus where it is in its life (state, level,
code, confidence); a stored project is its spec plus phase and summary. These are read-only
views (frozen); change them through :class:`~mge.store.Store` methods.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mge.models import AtomicityReport, AtomicUnit, AtomState, ProjectSpec, Usage

__all__ = ["AtomSaveResult", "StoredAtom", "StoredProject", "UsageTotals"]

INITIAL_PHASE = "Pending"
"""The phase a new project row starts in (``mge.models.project.Phase.PENDING``)."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoredProject(_Record):
    """A project row: the spec it was last given and how far the pipeline got."""

    key: str
    spec: ProjectSpec
    spec_hash: str = Field(description="sha256 of the canonical spec JSON.")
    generation: int = Field(description="The spec generation (metadata.generation in a cluster).")
    phase: str = Field(description="A mge.models.project.Phase value.")
    summary: dict[str, Any] = Field(default_factory=dict, description="Counts and pointers.")
    created_at: datetime
    updated_at: datetime


class StoredAtom(_Record):
    """An atom with its state: what was planned (``unit``) and what came of it."""

    unit: AtomicUnit
    state: AtomState
    level: int | None = Field(description="Dependency level (0 first); None before analysis.")
    code: str | None = Field(description="The accepted code; None until an attempt succeeds.")
    atomicity: AtomicityReport | None = None
    confidence: float | None = Field(default=None, description="Review confidence score, [0, 1].")
    unit_hash: str = Field(description="sha256 of the unit; a change resets state and code.")
    updated_at: datetime

    @property
    def id(self) -> str:
        """The atom id."""
        return self.unit.id


class AtomSaveResult(_Record):
    """What :meth:`~mge.store.Store.save_atoms` did, by atom id."""

    inserted: list[str] = Field(default_factory=list, description="New atoms.")
    changed: list[str] = Field(
        default_factory=list, description="Atoms whose unit changed: reset to pending."
    )
    unchanged: list[str] = Field(
        default_factory=list, description="Kept as they were (state, code, attempts)."
    )
    removed: list[str] = Field(default_factory=list, description="Atoms no longer planned.")


class UsageTotals(_Record):
    """Sums over a project's cost ledger."""

    usage: Usage
    cost_usd: float
    calls: int = Field(description="Ledger rows (paid calls and recorded attempts).")
