"""decide()'s chain, one rule at a time: each policy is a pure function tested with a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mge.execution.budget import BudgetLimit
from mge.kube.decide import (
    POLICIES,
    AutoApprovePending,
    DeleteStoreRows,
    EnsureReviews,
    EnsureSandboxPolicy,
    Observed,
    Policy,
    PushOutput,
    ResetStoredPhase,
    SaveOutput,
    StartWorker,
    StopWorker,
    Verdict,
    budget_spent,
    decide_deletion,
    delivery,
    first_match,
    reviewing,
    start,
    start_worker,
    worker_blocked,
    worker_failed,
    worker_retrying,
)
from mge.models.project import OutputStatus, Phase, ProjectSpec, ProjectStatus

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EX = Phase.EXECUTING


def spec(**over: object) -> ProjectSpec:
    data: dict[str, object] = {"requirements": "a todo list"}
    data.update(over)
    return ProjectSpec.model_validate(data)


def obs(**kw: object) -> Observed:
    return Observed(generation=1, **kw)  # type: ignore[arg-type]


BUDGET_MSG = (
    "budget exceeded (spent $60.00 of $50.00); "
    "raise spec.budget.maxCostUSD or spec.budget.maxAtoms to resume"
)

POLICY_CASES: list[tuple[str, Policy, ProjectSpec, Observed, Phase, Verdict | None]] = [
    ("failed: fails the project", worker_failed, spec(), obs(worker="failed"), EX,
     Verdict(Phase.FAILED, stalled_reason="PipelineFailed", message="the pipeline failed")),
    ("failed: reason and error carried", worker_failed, spec(),
     obs(worker="failed", worker_error="no", worker_reason="KubernetesForbidden"), EX,
     Verdict(Phase.FAILED, stalled_reason="KubernetesForbidden", message="no")),
    ("failed: terminal phase stays", worker_failed, spec(), obs(worker="failed"),
     Phase.COMPLETED, None),
    ("failed: running worker is not", worker_failed, spec(), obs(worker="running"), EX, None),
    ("blocked: stalls, phase kept", worker_blocked, spec(), obs(worker="blocked"), EX,
     Verdict(EX, stalled_reason="PipelineBlocked", message="the pipeline cannot go on")),
    ("blocked: terminal phase stays", worker_blocked, spec(), obs(worker="blocked"),
     Phase.FAILED, None),
    ("budget: stopped worker stalls", budget_spent, spec(), obs(worker="budget", spent_usd=60.0),
     EX, Verdict(EX, stalled_reason="BudgetExceeded", message=BUDGET_MSG)),
    ("budget: spend over the limit stalls a running worker", budget_spent, spec(),
     obs(worker="running", spent_usd=60.0), EX,
     Verdict(EX, stalled_reason="BudgetExceeded", message=BUDGET_MSG)),
    ("budget: cost raised resumes", budget_spent, spec(budget={"maxCostUSD": 80}),
     obs(worker="budget", spent_usd=60.0, budget_limit=(BudgetLimit.COST, 50.0)), EX,
     Verdict(EX, (StartWorker(1, EX),))),
    ("budget: atoms not raised stays", budget_spent, spec(budget={"maxAtoms": 10}),
     obs(worker="budget", spent_usd=1.0, budget_limit=(BudgetLimit.ATOMS, 10.0)), EX,
     Verdict(EX, stalled_reason="BudgetExceeded", message=(
         "budget exceeded (spent $1.00 of $50.00); "
         "raise spec.budget.maxCostUSD or spec.budget.maxAtoms to resume"))),
    ("budget: atoms raised resumes", budget_spent, spec(budget={"maxAtoms": 11}),
     obs(worker="budget", spent_usd=1.0, budget_limit=(BudgetLimit.ATOMS, 10.0)), EX,
     Verdict(EX, (StartWorker(1, EX),))),
    ("budget: not spent, not stopped", budget_spent, spec(), obs(spent_usd=10.0), EX, None),
    ("budget: terminal phase stays", budget_spent, spec(), obs(worker="budget"),
     Phase.COMPLETED, None),
    ("reviewing: other phase", reviewing, spec(), obs(), EX, None),
    ("reviewing: reviews missing", reviewing, spec(), obs(review_items=2, reviews_total=1,
     reviews_pending=1), Phase.REVIEWING,
     Verdict(Phase.REVIEWING, (EnsureReviews(),), message="1 of 1 review(s) pending")),
    ("reviewing: all decided", reviewing, spec(), obs(review_items=2, reviews_total=2),
     Phase.REVIEWING,
     Verdict(Phase.COMPLETED, (SaveOutput(),), message="2 review(s) decided")),
    ("reviewing: auto-approve after the deadline", reviewing,
     spec(review={"policy": "autoApprove", "autoApproveAfterSeconds": 60}),
     obs(reviews_total=2, reviews_pending=2, reviewing_since=NOW - timedelta(minutes=2)),
     Phase.REVIEWING, Verdict(Phase.REVIEWING, (AutoApprovePending(),),
                              message="auto-approving 2 pending review(s)")),
    ("start: absent worker", start_worker, spec(), obs(), EX, Verdict(EX, (StartWorker(1, EX),))),
    ("start: finished worker goes on", start_worker, spec(), obs(worker="finished"), EX,
     Verdict(EX, (StartWorker(1, EX),))),
    ("start: running worker", start_worker, spec(), obs(worker="running"), EX, None),
    ("start: terminal phase", start_worker, spec(), obs(), Phase.COMPLETED, None),
    ("retrying: running with an error", worker_retrying, spec(),
     obs(worker="running", worker_error="API down"), EX, Verdict(EX, message="API down")),
    ("retrying: running fine", worker_retrying, spec(), obs(worker="running"), EX, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "project", "observed", "phase", "want"),
    [c[1:] for c in POLICY_CASES],
    ids=[c[0] for c in POLICY_CASES],
)
def test_policy_table(
    policy: Policy, project: ProjectSpec, observed: Observed, phase: Phase, want: Verdict | None
) -> None:
    assert policy(project, observed, phase, NOW) == want


def test_first_match_wins_and_none_keeps_the_phase() -> None:
    failed_and_spent = obs(worker="failed", spent_usd=60.0)
    assert first_match(POLICIES, spec(), failed_and_spent, EX, NOW).phase == Phase.FAILED
    assert first_match(POLICIES, spec(), obs(worker="running"), EX, NOW) == Verdict(EX)
    assert first_match((), spec(), obs(), EX, NOW) == Verdict(EX)


START_CASES = [
    # name, status, observed, phase, new generation, actions, message
    ("first pass: policy first", ProjectStatus(), obs(), Phase.PENDING, True,
     (EnsureSandboxPolicy(),), ""),
    ("same generation: store's phase, message kept",
     ProjectStatus(phase="Planning", observed_generation=1, message="m"),
     obs(stored_phase=Phase.ATOMIZING), Phase.ATOMIZING, False, (), "m"),
    ("spec change: back to Pending, store reset",
     ProjectStatus(phase="Completed", observed_generation=1, message="m"),
     Observed(generation=2, stored_phase=Phase.COMPLETED), Phase.PENDING, True,
     (ResetStoredPhase(2), EnsureSandboxPolicy()), ""),
    ("unknown phase text reads as Pending", ProjectStatus(phase="Bogus", observed_generation=1),
     obs(), Phase.PENDING, False, (), ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "observed", "phase", "new", "actions", "message"),
    [c[1:] for c in START_CASES],
    ids=[c[0] for c in START_CASES],
)
def test_start_table(
    status: ProjectStatus,
    observed: Observed,
    phase: Phase,
    new: bool,
    actions: tuple[object, ...],
    message: str,
) -> None:
    begin = start(status, observed)
    assert (begin.phase, begin.new_generation, begin.actions, begin.message) == (
        phase,
        new,
        actions,
        message,
    )


GIT = {"git": {"repository": "https://git.example/r.git", "branch": "mge"}}

DELIVERY_CASES = [
    # name, spec, phase, output, actions, delivering, stalled reason, message
    ("no git output", spec(), Phase.COMPLETED, None, (), False, "", None),
    ("not completed yet", spec(output=GIT), EX, None, (), False, "", None),
    ("completed, not pushed: push", spec(output=GIT), Phase.COMPLETED, None,
     (PushOutput(1),), True, "", "pushing the codebase to https://git.example/r.git branch mge"),
    ("push failed: stalled with its error", spec(output=GIT), Phase.COMPLETED,
     OutputStatus(push_failures=1, push_error="denied", last_push_at=NOW.isoformat()),
     (), True, "GitPushFailed", "denied"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("project", "phase", "output", "actions", "delivering", "stalled", "message"),
    [c[1:] for c in DELIVERY_CASES],
    ids=[c[0] for c in DELIVERY_CASES],
)
def test_delivery_table(
    project: ProjectSpec,
    phase: Phase,
    output: OutputStatus | None,
    actions: tuple[object, ...],
    delivering: bool,
    stalled: str,
    message: str | None,
) -> None:
    d = delivery(project, obs(), phase, output, NOW)
    assert (d.actions, d.delivering, d.stalled_reason, d.message) == (
        actions,
        delivering,
        stalled,
        message,
    )


def test_deletion_needs_no_spec_and_keeps_the_status() -> None:
    status = ProjectStatus(phase="Executing", observed_generation=3)
    plan = decide_deletion(status)
    assert plan.actions == [StopWorker(), DeleteStoreRows()]
    assert plan.status is status
