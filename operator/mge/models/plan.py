"""The masterplan: phases → milestones → tasks with dependencies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mge.models.base import WireModel

Role = Literal["backend", "frontend", "data", "test", "devops"]


class Task(WireModel):
    """A unit of planned work that owns files and covers domain elements."""

    id: str = Field(pattern=r"^T-[0-9]+$")
    title: str = Field(min_length=1)
    role: Role
    description: str = ""
    files: list[str] = Field(min_length=1, description="Files this task owns (relative paths).")
    covers: list[str] = Field(default_factory=list, description="DDD element names covered.")
    acceptance: list[str] = Field(default_factory=list, description="AC ids this task checks.")
    depends_on: list[str] = Field(default_factory=list, description="Task ids that come first.")


class Milestone(WireModel):
    """A group of tasks with a visible result."""

    id: str = Field(pattern=r"^M-[0-9]+$")
    title: str
    tasks: list[Task] = Field(min_length=1)


class PlanPhase(WireModel):
    """A group of milestones: a stage of the masterplan, not a Project's ``status.phase``.

    Named apart from :class:`mge.models.project.Phase` so a reader never mistakes one for the
    other; the JSON shape (``phases: [{id, title, milestones}]``) is unchanged.
    """

    id: str = Field(pattern=r"^P-[0-9]+$")
    title: str
    milestones: list[Milestone] = Field(min_length=1)


class Masterplan(WireModel):
    """The whole plan, plus which retrieved patterns informed it."""

    phases: list[PlanPhase] = Field(min_length=1)
    patterns_used: list[str] = Field(default_factory=list, description="Pattern ids.")

    def tasks(self) -> list[Task]:
        """All tasks in plan order."""
        return [t for p in self.phases for m in p.milestones for t in m.tasks]
