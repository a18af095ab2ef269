"""What a validation batch is checked against, recorded with the batch (pure).

A batch's sandbox run (in the cluster: its Job, named by its content) holds the batch's code
*and* the validated code of the other atoms it is checked against — its view. Which atoms are
validated when a batch forms depends on timing: in a resumed run, a batch recorded before the
kill re-forms with the same attempts, but by then more (or fewer) other atoms may be validated.
Its view would differ, so would its content and its Job name, and the restarted operator would
make a second Job for a batch whose first Job may already have run.

So the view is recorded with the batch (:meth:`BatchView.of`), and a re-formed batch is checked
against the recorded view (:meth:`BatchView.pick`): the same atoms, with their stored code. To
keep the journal small, a view is recorded as whichever is shorter: the atoms it sees, or the
atoms of the codebase it does not see.

With dependency-ready dispatch a batch may form before the levels below it are settled. An
atom's last attempt whose tests fail then is checked again, same attempt and code, once they
are, in a batch recorded as a recheck (``recheck``; :func:`held_for_recheck`,
mge.execution.graphrun): no atom is given up for code that was not written yet.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from mge.models.execution import ValidationResult


@dataclass(frozen=True)
class BatchView:
    """The atoms a batch is checked against: ``atoms`` are the ones seen, or, when ``hidden``,
    the atoms of the codebase not seen."""

    atoms: frozenset[str]
    hidden: bool = False
    recheck: bool = False
    """The batch checks again attempts whose tests failed before the levels below were settled."""
    early: bool = False
    """The batch formed before the levels below it were settled: an attempt whose tests fail
    against it is checked again once they are. Recorded, so a resumed run decides the same."""

    @classmethod
    def of(
        cls,
        seen: Collection[str],
        scope: Collection[str],
        *,
        recheck: bool = False,
        early: bool = False,
    ) -> BatchView:
        """The view of a batch that sees ``seen``, among the codebase's atoms ``scope``."""
        unseen = frozenset(a for a in scope if a not in seen)
        shown = frozenset(seen)
        if len(unseen) < len(shown):
            return cls(unseen, hidden=True, recheck=recheck, early=early)
        return cls(shown, recheck=recheck, early=early)

    def sees(self, atom: str) -> bool:
        """True when the batch is checked against ``atom``'s validated code."""
        return (atom in self.atoms) != self.hidden

    def pick(self, validated: Mapping[str, str]) -> dict[str, str]:
        """The code the re-formed batch is checked against: the seen atoms' stored code (an
        atom sent back since is not validated now and so not seen; its new code would make a
        new run anyway)."""
        return {a: code for a, code in validated.items() if self.sees(a)}

    def to_doc(self) -> dict[str, Any]:
        """The journal's form."""
        doc: dict[str, Any] = {"hidden" if self.hidden else "seen": sorted(self.atoms)}
        if self.recheck:
            doc["recheck"] = True
        if self.early:
            doc["early"] = True
        return doc

    @classmethod
    def from_doc(cls, doc: object) -> BatchView | None:
        """The view recorded by :meth:`to_doc`; None for a batch recorded without one."""
        if not isinstance(doc, dict):
            return None
        flags = {"recheck": doc.get("recheck") is True, "early": doc.get("early") is True}
        for key, hidden in (("seen", False), ("hidden", True)):
            atoms = doc.get(key)
            if isinstance(atoms, list):
                return cls(frozenset(str(a) for a in atoms), hidden=hidden, **flags)
        return None


def only_tests_failed(result: ValidationResult | None) -> bool:
    """True when ``result`` failed on its tests alone: the one check that runs other atoms'
    code (parse, signature, compile and types read only the atom and the signatures)."""
    if result is None or result.passed:
        return False
    failed = [c.name for c in result.checks if not c.passed]
    return failed == ["tests"]


def held_for_recheck(result: ValidationResult | None, attempt: int, max_attempts: int) -> bool:
    """Whether a result from a batch formed before the levels below were settled is held and
    checked again once they are, instead of counting now: only the atom's last attempt (its
    failure would give the atom up) that failed on its tests alone (they may reach lower-level
    code not written yet). An earlier attempt's failure counts at once and is retried: holding
    every failure made each wrong attempt on a chain wait for the wide levels below
    (``benchmarks/results/i21_chains.md``)."""
    return attempt >= max_attempts and only_tests_failed(result)
