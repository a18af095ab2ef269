"""Builders for hand-made discovery results and plans, and a recordings writer (real files)."""

from __future__ import annotations

from pathlib import Path

import yaml

from mge.models.domain import (
    AcceptanceCriterion,
    BoundedContext,
    DiscoveryResult,
    DomainEvent,
    DomainModel,
    DomainService,
    Entity,
    TechStack,
    ValueObject,
)
from mge.models.plan import Masterplan, Milestone, PlanPhase, Task

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
NOTE = (
    "Written by the MGE developers as a recording of what a model could answer; not model output."
)


def small_discovery(entities: int = 1, criteria: int = 2) -> DiscoveryResult:
    """A library-sized model: entities E1.., value object Money, service Shop, event Sold."""
    return DiscoveryResult(
        summary="a shop",
        domain=DomainModel(
            contexts=[
                BoundedContext(
                    name="Shop",
                    entities=[Entity(name=f"E{i}") for i in range(1, entities + 1)],
                    value_objects=[ValueObject(name="Money")],
                    services=[DomainService(name="Shop", operations=["sell(item) -> Receipt"])],
                    events=[DomainEvent(name="Sold")],
                )
            ]
        ),
        stack=TechStack(language="python"),
        acceptance=[
            AcceptanceCriterion(id=f"AC-{i}", text=f"criterion {i}") for i in range(1, criteria + 1)
        ],
    )


def task(
    tid: str,
    *,
    files: list[str] | None = None,
    covers: list[str] | None = None,
    acceptance: list[str] | None = None,
    after: list[str] | None = None,
    title: str | None = None,
) -> Task:
    """A task with a file of its own unless told otherwise."""
    n = tid.split("-")[1]
    return Task(
        id=tid,
        title=title or f"task {n}",
        role="backend",
        files=files if files is not None else [f"pkg/mod{n}.py"],
        covers=covers or [],
        acceptance=acceptance or [],
        depends_on=after or [],
    )


def plan_of(*tasks: Task, patterns: list[str] | None = None) -> Masterplan:
    """One phase, one milestone, the given tasks."""
    return Masterplan(
        phases=[
            PlanPhase(
                id="P-1",
                title="all",
                milestones=[Milestone(id="M-1", title="all", tasks=list(tasks))],
            )
        ],
        patterns_used=patterns or [],
    )


def clean_plan() -> Masterplan:
    """A plan that covers small_discovery() completely and validates clean."""
    return plan_of(
        task("T-1", covers=["E1", "Money"], acceptance=["AC-1"]),
        task("T-2", covers=["Shop", "Sold"], acceptance=["AC-2"], after=["T-1"]),
        task("T-3", files=["tests/test_shop.py"], acceptance=["AC-1", "AC-2"], after=["T-2"]),
    )


def write_recordings(
    folder: Path, entries: list[tuple[str, str]], name: str = "script.yaml"
) -> Path:
    """A recording file of (key, response) entries in order; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "recording": True,
        "note": NOTE,
        "responses": [{"key": k, "response": r} for k, r in entries],
    }
    (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return folder
