"""How many tasks a plan should have, from how much work the domain model describes.

"Sized to the requirements": a small library gets a few tasks, a full service 50–100. The work
is measured as DDD elements (entities, value objects, services, events) plus acceptance
criteria; the bounds below leave the planner room while catching a plan that lumps a service into
two tasks or splits a library into forty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mge.models.domain import DiscoveryResult

__all__ = [
    "MAX_TASKS",
    "MIN_CEILING",
    "TASKS_PER_WORK_ITEM",
    "WORK_ITEMS_PER_TASK",
    "TaskBudget",
    "task_budget",
]

WORK_ITEMS_PER_TASK = 6
"""A task covers at most about this many elements and criteria, so the floor is work / 6."""

TASKS_PER_WORK_ITEM = 1.5
"""Ceiling: about one and a half tasks per element or criterion (tests, wiring, glue)."""

MIN_CEILING = 6
"""Even a tiny model may take this many tasks (package setup, tests, wiring)."""

MAX_TASKS = 150
"""No plan has more tasks than this, however big the model: beyond it, split the project."""


@dataclass(frozen=True)
class TaskBudget:
    """The accepted number of tasks, inclusive at both ends."""

    minimum: int
    maximum: int
    work_items: int

    def admits(self, tasks: int) -> bool:
        """True when ``tasks`` lies within the budget."""
        return self.minimum <= tasks <= self.maximum


def task_budget(discovery: DiscoveryResult) -> TaskBudget:
    """The task budget for ``discovery`` (pure)."""
    work = len(discovery.domain.element_names()) + len(discovery.acceptance)
    minimum = max(1, math.ceil(work / WORK_ITEMS_PER_TASK))
    maximum = min(MAX_TASKS, max(MIN_CEILING, math.ceil(work * TASKS_PER_WORK_ITEM) + 2))
    return TaskBudget(minimum=min(minimum, maximum), maximum=maximum, work_items=work)
