"""The phases a project goes through, in order, and the pure rules for moving between them."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """`status.phase` of a Project (cluster) and the stage a local run is in."""

    PENDING = "Pending"
    DISCOVERING = "Discovering"
    PLANNING = "Planning"
    ATOMIZING = "Atomizing"
    ANALYZING = "Analyzing"
    EXECUTING = "Executing"
    INTEGRATING = "Integrating"
    REVIEWING = "Reviewing"
    COMPLETED = "Completed"
    FAILED = "Failed"


ORDER: tuple[Phase, ...] = (
    Phase.PENDING,
    Phase.DISCOVERING,
    Phase.PLANNING,
    Phase.ATOMIZING,
    Phase.ANALYZING,
    Phase.EXECUTING,
    Phase.INTEGRATING,
    Phase.REVIEWING,
    Phase.COMPLETED,
)
TERMINAL = frozenset({Phase.COMPLETED, Phase.FAILED})


def next_phase(phase: Phase) -> Phase:
    """The phase after ``phase``; terminal phases stay where they are."""
    if phase in TERMINAL:
        return phase
    return ORDER[ORDER.index(phase) + 1]


def is_after(a: Phase, b: Phase) -> bool:
    """True when ``a`` comes strictly after ``b`` in the normal order."""
    if a == Phase.FAILED or b == Phase.FAILED:
        return False
    return ORDER.index(a) > ORDER.index(b)
