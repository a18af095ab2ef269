"""Which atoms may start now, and how far the levels are done (pure).

Dependency-ready dispatch: an atom's generation starts as soon as every atom it depends on is
settled (validated, or flagged for review — a flagged dependency is shown to the model as its
signature only, as it was when execution went level by level), not when its whole graph level
is. Its graph level stays its label: batches hold atoms of one level, are recorded per level and
named after it, and the checks that run after a level (the integration checkpoint, the module
checks) still run level by level — beside the atoms of later levels, not in front of them.

:func:`ready_atoms` is the dispatch decision; :func:`levels_settled` says how many leading
levels have every atom settled (the next level whose end-of-level checks may run).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence


def ready_atoms(
    order: Sequence[str],
    dependencies: Mapping[str, Collection[str]],
    settled: Collection[str],
    active: Collection[str],
) -> list[str]:
    """The atoms of ``order`` to start now, in ``order``.

    An atom starts when it is neither settled nor ``active`` (a generation or validation of it
    is in flight) and every dependency it has *within* ``order`` is settled; dependencies
    outside ``order`` (atoms of no level of this run) do not hold it back. An atom sent back
    after it had passed is unsettled again, so it is started again, and so are atoms that
    failed an attempt and have attempts left: retries need no separate rule.
    """
    known = set(order)
    return [
        atom
        for atom in order
        if atom not in settled
        and atom not in active
        and all(dep in settled for dep in dependencies.get(atom, ()) if dep in known)
    ]


def levels_settled(levels: Sequence[Sequence[str]], settled: Collection[str]) -> int:
    """How many leading levels have every atom settled (an empty level counts as settled)."""
    done = 0
    for level in levels:
        if any(atom not in settled for atom in level):
            break
        done += 1
    return done
