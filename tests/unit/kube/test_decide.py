"""decide(): the reconcile rules as tables (pure, no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mge.execution.budget import BudgetLimit
from mge.kube.decide import (
    AutoApprovePending,
    DeleteStoreRows,
    Event,
    Observed,
    StartWorker,
    StopWorker,
    decide,
)
from mge.models.project import Phase, Progress, ProjectSpec, ProjectStatus

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def spec(**over: object) -> ProjectSpec:
    data: dict[str, object] = {"requirements": "a todo list"}
    data.update(over)
    return ProjectSpec.model_validate(data)


def cond(status: ProjectStatus, kind: str) -> tuple[str, str]:
    c = next(c for c in status.conditions if c.type == kind)
    return c.status, c.reason


CASES = [
    # name, status phase, generation, observed, expected phase, starts a worker, stalled reason
    ("new project starts a worker", "Pending", 1, {}, "Pending", True, ""),
    (
        "worker running: nothing to start",
        "Executing",
        1,
        {"worker": "running", "stored_phase": Phase.EXECUTING},
        "Executing",
        False,
        "",
    ),
    (
        "store ahead of status: follow it",
        "Planning",
        1,
        {"worker": "running", "stored_phase": Phase.ATOMIZING},
        "Atomizing",
        False,
        "",
    ),
    (
        "killed operator: worker absent, resume from store",
        "Executing",
        1,
        {"stored_phase": Phase.EXECUTING},
        "Executing",
        True,
        "",
    ),
    (
        "worker failed",
        "Executing",
        1,
        {"worker": "failed", "worker_error": "boom"},
        "Failed",
        False,
        "PipelineFailed",
    ),
    (
        "pipeline unavailable",
        "Pending",
        1,
        {"worker": "blocked", "worker_error": "no stages"},
        "Pending",
        False,
        "PipelineBlocked",
    ),
    (
        "budget spent: phase stays, stalled",
        "Executing",
        1,
        {"worker": "budget", "spent_usd": 60.0},
        "Executing",
        False,
        "BudgetExceeded",
    ),
    (
        "budget raised: resume",
        "Executing",
        1,
        {"worker": "budget", "spent_usd": 10.0},
        "Executing",
        True,
        "",
    ),
    (
        "reviews pending: wait",
        "Reviewing",
        1,
        {"stored_phase": Phase.REVIEWING, "reviews_total": 3, "reviews_pending": 2},
        "Reviewing",
        False,
        "",
    ),
    (
        "reviews all decided: complete",
        "Reviewing",
        1,
        {"stored_phase": Phase.REVIEWING, "reviews_total": 3, "reviews_pending": 0},
        "Completed",
        False,
        "",
    ),
    (
        "completed stays completed",
        "Completed",
        1,
        {"stored_phase": Phase.COMPLETED},
        "Completed",
        False,
        "",
    ),
    ("spec change on completed: rerun", "Completed", 2, {}, "Pending", True, ""),
]


@pytest.mark.parametrize(
    ("phase", "generation", "kw", "want_phase", "starts", "stalled"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide_table(
    phase: str, generation: int, kw: dict[str, object], want_phase: str, starts: bool, stalled: str
) -> None:
    status = ProjectStatus(phase=phase, observed_generation=1)
    plan = decide(spec(), status, Observed(generation=generation, **kw), NOW)  # type: ignore[arg-type]
    assert plan.status.phase == want_phase
    assert plan.status.observed_generation == generation
    started = [a for a in plan.actions if isinstance(a, StartWorker)]
    assert bool(started) == starts
    if started:
        assert started[0].generation == generation
    if stalled:
        assert cond(plan.status, "Stalled") == ("True", stalled)
        assert cond(plan.status, "Reconciling")[0] == "False"
    else:
        assert cond(plan.status, "Stalled")[0] == "False"
    ready = cond(plan.status, "Ready")[0]
    assert ready == ("True" if want_phase == "Completed" else "False")


def test_phase_transition_emits_one_event_and_failure_is_warning() -> None:
    plan = decide(
        spec(),
        ProjectStatus(phase="Executing", observed_generation=1),
        Observed(generation=1, worker="failed", worker_error="x"),
        NOW,
    )
    events = [a for a in plan.actions if isinstance(a, Event)]
    assert [(e.type, e.reason) for e in events] == [
        ("Warning", "Failed"),
        ("Warning", "PipelineFailed"),
    ]
    same = decide(
        spec(), plan.status, Observed(generation=1, worker="failed", worker_error="x"), NOW
    )
    assert not [a for a in same.actions if isinstance(a, Event)]
    assert same.status == plan.status  # nothing changed: no status write


def test_budget_event_once_and_message_names_the_fix() -> None:
    obs = Observed(generation=1, worker="budget", spent_usd=5.0)
    plan = decide(
        spec(budget={"maxCostUSD": 5}),
        ProjectStatus(phase="Executing", observed_generation=1),
        obs,
        NOW,
    )
    assert "maxCostUSD" in plan.status.message
    again = decide(spec(budget={"maxCostUSD": 5}), plan.status, obs, NOW + timedelta(minutes=1))
    assert not [a for a in again.actions if isinstance(a, Event)]
    stalled = next(c for c in again.status.conditions if c.type == "Stalled")
    assert stalled.lastTransitionTime == "2026-11-24T12:00:00Z"  # moves only on a flip


def test_auto_approve_after_deadline_only() -> None:
    s = spec(review={"policy": "autoApprove", "autoApproveAfterSeconds": 60})
    status = ProjectStatus(phase="Reviewing", observed_generation=1)
    obs = Observed(
        generation=1,
        stored_phase=Phase.REVIEWING,
        reviews_total=2,
        reviews_pending=2,
        reviewing_since=NOW,
    )
    early = decide(s, status, obs, NOW + timedelta(seconds=59))
    late = decide(s, status, obs, NOW + timedelta(seconds=60))
    assert not any(isinstance(a, AutoApprovePending) for a in early.actions)
    assert any(isinstance(a, AutoApprovePending) for a in late.actions)
    waiting = decide(spec(), status, obs, NOW + timedelta(days=9))
    assert not any(isinstance(a, AutoApprovePending) for a in waiting.actions)


def test_deletion_stops_worker_and_deletes_rows() -> None:
    plan = decide(
        spec(), ProjectStatus(phase="Executing"), Observed(generation=1, deleting=True), NOW
    )
    assert plan.actions == [StopWorker(), DeleteStoreRows()]


def test_progress_percent_and_review_count() -> None:
    obs = Observed(
        generation=1,
        worker="running",
        stored_phase=Phase.REVIEWING,
        progress=Progress(atoms_total=8, atoms_done=5, atoms_failed=1),
        reviews_total=4,
        reviews_pending=3,
    )
    plan = decide(spec(), ProjectStatus(phase="Reviewing", observed_generation=1), obs, NOW)
    assert plan.status.progress.percent == 75
    assert plan.status.progress.atoms_in_review == 3


def test_spec_change_mid_run_resets_the_store_phase_and_restarts() -> None:
    from mge.kube.decide import EnsureSandboxPolicy, ResetStoredPhase

    status = ProjectStatus(phase="Executing", observed_generation=1)
    obs = Observed(generation=2, worker="absent", stored_phase=Phase.EXECUTING)
    plan = decide(spec(), status, obs, NOW)
    assert plan.status.phase == "Pending"
    assert plan.actions[:3] == [
        ResetStoredPhase(2),
        EnsureSandboxPolicy(),
        StartWorker(2, Phase.PENDING),
    ]
    first = decide(spec(), ProjectStatus(), Observed(generation=1), NOW)
    assert not any(isinstance(a, ResetStoredPhase) for a in first.actions)
    assert EnsureSandboxPolicy() in first.actions
    again = decide(spec(), first.status, Observed(generation=1, worker="running"), NOW)
    assert EnsureSandboxPolicy() not in again.actions


def test_atom_budget_resumes_only_when_raised() -> None:
    status = ProjectStatus(phase="Executing", observed_generation=1)
    obs = Observed(
        generation=1, worker="budget", budget_limit=(BudgetLimit.ATOMS, 100.0), spent_usd=1.0
    )
    same = decide(spec(budget={"maxAtoms": 100}), status, obs, NOW)
    assert not [a for a in same.actions if isinstance(a, StartWorker)]
    assert cond(same.status, "Stalled") == ("True", "BudgetExceeded")
    assert same.status.phase == "Executing"
    raised = decide(spec(budget={"maxAtoms": 150}), same.status, obs, NOW)
    assert [a for a in raised.actions if isinstance(a, StartWorker)] == [
        StartWorker(1, Phase.EXECUTING)
    ]
    assert cond(raised.status, "Stalled")[0] == "False"


def test_reviewing_creates_missing_reviews_before_completing() -> None:
    from mge.kube.decide import EnsureReviews

    status = ProjectStatus(phase="Reviewing", observed_generation=1)
    obs = Observed(generation=1, stored_phase=Phase.REVIEWING, review_items=3, reviews_total=0)
    plan = decide(spec(), status, obs, NOW)
    assert EnsureReviews() in plan.actions and plan.status.phase == "Reviewing"
    made = Observed(generation=1, stored_phase=Phase.REVIEWING, review_items=3, reviews_total=3)
    assert decide(spec(), status, made, NOW).status.phase == "Completed"


def test_completion_keeps_the_output_in_the_store_once() -> None:
    from mge.kube.decide import SaveOutput

    status = ProjectStatus(phase="Reviewing", observed_generation=1)
    decided = Observed(
        generation=1,
        key="team-a/inv",
        stored_phase=Phase.REVIEWING,
        review_items=2,
        reviews_total=2,
        reviews_pending=0,
    )
    plan = decide(spec(), status, decided, NOW)
    assert plan.status.phase == "Completed" and SaveOutput() in plan.actions
    assert plan.status.output is not None and plan.status.output.store_key == "team-a/inv"
    # apply.py records Completed in the store with the output: the next pass does nothing more.
    after = Observed(generation=1, key="team-a/inv", stored_phase=Phase.COMPLETED)
    again = decide(spec(), plan.status, after, NOW)
    assert again.actions == [] and again.status.phase == "Completed"
    assert again.status.output == plan.status.output


def test_pending_reviews_do_not_save_output() -> None:
    from mge.kube.decide import SaveOutput

    status = ProjectStatus(phase="Reviewing", observed_generation=1)
    waiting = Observed(
        generation=1,
        key="team-a/inv",
        stored_phase=Phase.REVIEWING,
        review_items=2,
        reviews_total=2,
        reviews_pending=1,
    )
    plan = decide(spec(), status, waiting, NOW)
    assert plan.status.phase == "Reviewing" and SaveOutput() not in plan.actions


def test_unavailable_retrieval_warns_once_and_stays_in_the_condition_message() -> None:
    note = "retrieval: unavailable (searching http://chroma:8000 failed); planning without patterns"
    obs = Observed(
        generation=1, worker="running", stored_phase=Phase.ATOMIZING, retrieval_note=note
    )
    plan = decide(spec(), ProjectStatus(phase="Planning", observed_generation=1), obs, NOW)
    warnings = [a for a in plan.actions if isinstance(a, Event) and a.type == "Warning"]
    assert [(e.reason, e.message) for e in warnings] == [("RetrievalUnavailable", note)]
    assert note in plan.status.message
    reconciling = next(c for c in plan.status.conditions if c.type == "Reconciling")
    assert reconciling.status == "True" and note in reconciling.message  # it goes on
    again = decide(spec(), plan.status, obs, NOW + timedelta(minutes=1))
    assert not [a for a in again.actions if isinstance(a, Event) and a.type == "Warning"]
    assert note in again.status.message
    fine = decide(spec(), plan.status, Observed(generation=1, worker="running"), NOW)
    assert "retrieval" not in fine.status.message


def test_completed_in_the_store_by_the_last_decision_says_the_reviews_are_decided() -> None:
    # The last approval completes the Project in the store before a reconcile sees Reviewing
    # with nothing pending: the status must not keep saying a review is pending.
    status = ProjectStatus(
        phase="Reviewing", observed_generation=1, message="1 of 2 review(s) pending"
    )
    completed = Observed(
        generation=1, stored_phase=Phase.COMPLETED, reviews_total=2, reviews_pending=0
    )
    plan = decide(spec(), status, completed, NOW)
    assert (plan.status.phase, plan.status.message) == ("Completed", "2 review(s) decided")
    # Once Completed, a later message (a push, say) is kept.
    later = plan.status.model_copy(update={"message": "pushed abc: repo branch b"})
    assert decide(spec(), later, completed, NOW).status.message == "pushed abc: repo branch b"
