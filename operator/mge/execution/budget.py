"""The project budget: stop new LLM calls when ``maxCostUSD`` or ``maxAtoms`` is reached.

The check runs before every generation call, so the stop is clean: calls already in flight
finish and are validated and stored (nothing paid for is lost), no new one starts, and the run
ends with status ``budget_exceeded``. Resuming with a higher budget continues from the store:
the budget is rebuilt from what was already spent and which atoms were already started.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from mge.errors import BudgetExceeded
from mge.models.project import BudgetSpec


class BudgetLimit(StrEnum):
    """Which limit of ``spec.budget`` stopped a run. The value is the spec field a person raises
    to resume, so messages can name it and the reconcile can compare the new spec against it."""

    COST = "maxCostUSD"
    ATOMS = "maxAtoms"


COST = BudgetLimit.COST
ATOMS = BudgetLimit.ATOMS


def exceeded(
    max_cost_usd: float, max_atoms: int, spent_usd: float, atoms_started: int, new_atom: bool
) -> BudgetLimit | None:
    """Which limit a call would break (``maxCostUSD`` / ``maxAtoms``), or None (pure).

    Cost: no new call once the spend has reached the limit. Atoms: a first call for an atom
    not started yet is refused once ``max_atoms`` atoms were started; retries of started atoms
    are still allowed (they count against cost only).
    """
    if spent_usd >= max_cost_usd:
        return COST
    if new_atom and atoms_started >= max_atoms:
        return ATOMS
    return None


@dataclass
class Budget:
    """Running spend and started atoms of one project, checked before each LLM call."""

    max_cost_usd: float
    max_atoms: int
    spent_usd: float = 0.0
    started: set[str] = field(default_factory=set)

    @classmethod
    def from_spec(
        cls, spec: BudgetSpec, spent_usd: float = 0.0, started: Iterable[str] = ()
    ) -> Budget:
        """A budget from ``spec.budget`` and what earlier runs already spent and started."""
        return cls(spec.max_cost_usd, spec.max_atoms, spent_usd, set(started))

    def check(self, atom_id: str) -> None:
        """Raise BudgetExceeded if a call for ``atom_id`` may not start; else reserve the atom."""
        new = atom_id not in self.started
        what = exceeded(self.max_cost_usd, self.max_atoms, self.spent_usd, len(self.started), new)
        if what == COST:
            raise BudgetExceeded(COST, self.max_cost_usd, self.spent_usd)
        if what == ATOMS:
            raise BudgetExceeded(ATOMS, self.max_atoms, len(self.started))
        self.started.add(atom_id)

    def charge(self, cost_usd: float) -> None:
        """Add the cost of a finished call."""
        self.spent_usd += cost_usd

    def check_cost(self) -> None:
        """Raise BudgetExceeded if the cost limit is reached (for calls that start no atom,
        such as review suggestions)."""
        if exceeded(self.max_cost_usd, self.max_atoms, self.spent_usd, 0, new_atom=False):
            raise BudgetExceeded(COST, self.max_cost_usd, self.spent_usd)
