"""Conditions: lastTransitionTime moves only on a status flip; messages are truncated."""

from __future__ import annotations

from datetime import UTC, datetime

from mge.kube.conditions import health_conditions, set_condition, truncate
from mge.models.project import Condition

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def test_transition_time_only_moves_on_flip() -> None:
    c = Condition(type="Ready", status="False", reason="Executing", message="level 1")
    first = set_condition([], c, now=T0)
    same = set_condition(first, c.model_copy(update={"message": "level 2"}), now=T1)
    assert same[0].lastTransitionTime == "2026-01-01T00:00:00Z"
    assert same[0].message == "level 2"
    flipped = set_condition(same, c.model_copy(update={"status": "True"}), now=T1)
    assert flipped[0].lastTransitionTime == "2026-01-02T00:00:00Z"


def test_truncate_marks_the_cut() -> None:
    assert truncate("x" * 10, 20) == "x" * 10
    out = truncate("x" * 100, 20)
    assert len(out) == 20 and out.endswith("(truncated)")


def test_health_conditions_for_stalled() -> None:
    conds = health_conditions(
        generation=3,
        ready=False,
        reconciling=False,
        stalled=True,
        reason="BudgetExceeded",
        message="cost limit 1 reached",
    )
    by = {c.type: c for c in conds}
    assert by["Stalled"].status == "True" and by["Ready"].status == "False"
    assert all(c.observedGeneration == 3 for c in conds)
