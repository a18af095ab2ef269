"""What a completed Project teaches the learned collection, and who may see it. Pure.

:func:`select_learnable` decides which atoms' code is learned when a Project completes:

* an atom whose code a reviewer accepted (``approve``, ``edit`` or ``regenerate`` decided and
  the atom approved, or validated again after a regeneration) — a person vouched for it,
  whatever the validation said;
* an atom validated at L1 that no review holds back, whose module (L2, the latest result for
  its file), every component (L3, the latest result per component) and the system (L4, the
  latest result) passed. A level that never ran for the project does not block (a project with
  no module tests has no L2); a level whose latest result failed does.

Failed atoms, atoms still in review and atoms without code are never learned.

:func:`visible_namespaces` turns the operator's sharing setting into the namespaces a Project's
search may read learned code from: its own only, unless the operator shares more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mge.models.atoms import AtomicUnit, AtomState
from mge.models.execution import ValidationResult
from mge.models.review import ReviewItem

__all__ = [
    "LOCAL_NAMESPACE",
    "SHARE_ALL",
    "AtomRecord",
    "LearnEntry",
    "ShareSetting",
    "learned_scope",
    "select_learnable",
    "visible_namespaces",
]

LOCAL_NAMESPACE = "local"
"""The namespace of every `mge run` project: local runs share what they learn with each other."""
SHARE_ALL = "all"
"""Sharing setting: every namespace's learned code is visible to every Project."""

ShareSetting = Literal["all"] | Sequence[str]
"""``"all"``, or extra namespaces every Project may read learned code from (besides its own)."""

_ACCEPTING_DECISIONS = frozenset({"approve", "edit", "regenerate"})


@dataclass(frozen=True)
class AtomRecord:
    """An atom as the store has it at completion."""

    unit: AtomicUnit
    state: AtomState
    code: str | None


@dataclass(frozen=True)
class LearnEntry:
    """One piece of code to learn, with the labels stored beside it."""

    atom_id: str
    code: str
    language: Literal["python", "typescript", "javascript"]
    reason: Literal["validated", "reviewed"]
    metadata: Mapping[str, str] = field(default_factory=dict)


def learned_scope(namespace: str, project: str) -> str:
    """The prefix of a learned entry's id: the same atom id in two projects is two entries."""
    return f"{namespace}/{project}"


def _latest(validations: Iterable[ValidationResult]) -> dict[tuple[str, str], bool]:
    """(level, subject) → whether the latest result passed."""
    latest: dict[tuple[str, str], bool] = {}
    for v in validations:
        latest[(v.level, v.subject)] = v.passed
    return latest


def _levels_passed(file: str, latest: Mapping[tuple[str, str], bool]) -> bool:
    if latest.get(("L2", file)) is False:
        return False
    return all(ok for (level, _), ok in latest.items() if level in ("L3", "L4"))


def select_learnable(
    atoms: Sequence[AtomRecord],
    validations: Sequence[ValidationResult],
    reviews: Sequence[ReviewItem],
    *,
    project: str,
    namespace: str,
    framework: str = "none",
) -> list[LearnEntry]:
    """The code a completed project teaches, in atom order (see the module docstring).

    ``validations`` in the order they were recorded (the latest result per subject counts);
    ``reviews`` the project's review items.
    """
    latest = _latest(validations)
    by_atom = {r.atom_id: r for r in reviews}
    entries = []
    for record in atoms:
        unit, code = record.unit, (record.code or "")
        if not code.strip():
            continue
        review = by_atom.get(unit.id)
        reason: Literal["validated", "reviewed"]
        if review is not None:
            accepted = record.state in (AtomState.APPROVED, AtomState.VALIDATED)
            if review.decision not in _ACCEPTING_DECISIONS or not accepted:
                continue
            reason = "reviewed"
        elif record.state in (AtomState.VALIDATED, AtomState.APPROVED):
            if not _levels_passed(unit.file, latest):
                continue
            reason = "validated"
        else:
            continue
        entries.append(
            LearnEntry(
                atom_id=unit.id,
                code=code,
                language=unit.language,
                reason=reason,
                metadata={
                    "title": unit.qualname,
                    "qualname": unit.qualname,
                    "description": unit.spec,
                    "framework": framework or "none",
                    "kind": "learned",
                    "file": unit.file,
                    "project": project,
                    "namespace": namespace,
                    "learned_because": reason,
                },
            )
        )
    return entries


def visible_namespaces(own: str, shared: ShareSetting) -> list[str] | None:
    """The namespaces whose learned code a Project in ``own`` may see; None: every namespace."""
    if isinstance(shared, str):
        if shared == SHARE_ALL:
            return None
        shared = [shared]
    return sorted({own, *shared})
