"""The order of a project's phases and the pure rules for moving between them.

The phase enum itself is part of the Project (:class:`mge.models.project.Phase`); this module
holds only the pipeline's rules about it.
"""

from __future__ import annotations

from mge.models.project import Phase

ORDER: tuple[Phase, ...] = tuple(p for p in Phase if p is not Phase.FAILED)
"""The normal order: the declaration order above without Failed (reachable from any phase).
What each phase computes is its row in :data:`mge.pipeline.phase_table.PIPELINE`."""
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
