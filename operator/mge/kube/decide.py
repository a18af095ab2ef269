"""The pure heart of the Project reconcile: ``decide(spec, status, observed, now) -> Plan``.

No I/O here. :mod:`mge.kube.observe` gathers the world into :class:`Observed`, this module turns
it into the actions to take and the status to write, :mod:`mge.kube.apply` does the actions.
Every rule is a small function of its inputs and is tested with tables (tests/unit/kube).

Rules, in order of precedence:

1. being deleted → stop the pipeline worker and delete the store rows (the finalizer's job);
2. a new generation (spec change) → start again from ``Pending`` (in the store too); stage
   inputs are content-hashed in the store, so unchanged work is reused, not paid for twice;
3. the pipeline worker failed permanently → ``Failed`` (Stalled, reason from the error);
4. budget spent → the phase stays, ``Stalled`` with reason ``BudgetExceeded``; raising
   ``spec.budget.maxCostUSD`` above the spend resumes (rule 6 starts the worker again);
5. ``Reviewing`` → ``Completed`` once every AtomReview is decided (the final codebase is then
   kept in the store, ``status.output.storeKey``); with policy ``autoApprove`` the pending
   ones are approved once the deadline passed; ``Completed`` with ``spec.output.git`` not yet
   pushed for this generation → ``PushOutput`` (gitoutput.py: backoff after a failure, which
   shows as ``Stalled`` with reason ``GitPushFailed``; ``Ready`` only once pushed);
6. otherwise, a non-terminal phase with no worker running for this generation → start one.

An Event is planned for every phase transition and for every new failure reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from mge.kube import gitoutput
from mge.kube.conditions import health_conditions, set_condition
from mge.models.project import (
    Condition,
    Cost,
    OutputStatus,
    Phase,
    Progress,
    ProjectSpec,
    ProjectStatus,
)
from mge.pipeline.phases import TERMINAL

WorkerState = Literal["absent", "running", "finished", "failed", "budget", "blocked"]
"""What the pipeline worker for this Project's current generation is doing."""

REASON_BUDGET = "BudgetExceeded"
REASON_FAILED = "PipelineFailed"
REASON_BLOCKED = "PipelineBlocked"
REASON_PROGRESSING = "Progressing"
REASON_COMPLETED = "Completed"
REASON_WAITING_REVIEW = "WaitingForReview"


@dataclass(frozen=True)
class Observed:
    """Everything decide() may look at, gathered by observe.py."""

    generation: int
    deleting: bool = False
    key: str = ""
    """The Project's key in the store (``namespace/name``): where its output is kept."""
    stored_phase: Phase | None = None
    """Phase checkpointed in the store for this generation (None: nothing stored yet)."""
    worker: WorkerState = "absent"
    worker_error: str = ""
    worker_reason: str = ""
    """CamelCase reason of the worker's error (``KubernetesForbidden``, …), if it has one."""
    budget_limit: tuple[str, float] | None = None
    """Which budget limit stopped the worker (``cost`` or ``atoms``) and its value then."""
    spent_usd: float = 0.0
    progress: Progress = field(default_factory=Progress)
    cost: Cost = field(default_factory=Cost)
    review_items: int = 0
    """Atoms the store queued for review (each should have an AtomReview)."""
    reviews_total: int = 0
    reviews_pending: int = 0
    reviewing_since: datetime | None = None


@dataclass(frozen=True)
class StartWorker:
    """Start (or resume) the pipeline worker for ``generation`` from ``phase``."""

    generation: int
    phase: Phase


@dataclass(frozen=True)
class StopWorker:
    """Cancel the pipeline worker, if any."""


@dataclass(frozen=True)
class DeleteStoreRows:
    """Delete the Project's rows from the store (children go by owner references)."""


@dataclass(frozen=True)
class ResetStoredPhase:
    """Set the store's phase back to Pending (a new generation re-runs every phase)."""

    generation: int


@dataclass(frozen=True)
class EnsureSandboxPolicy:
    """Create the deny-all NetworkPolicy for sandbox pods in the Project's namespace."""


@dataclass(frozen=True)
class EnsureReviews:
    """Create the missing AtomReviews for the store's review queue (idempotent)."""


@dataclass(frozen=True)
class SaveOutput:
    """Keep the final codebase (reviewers' decisions included) in the store."""


@dataclass(frozen=True)
class PushOutput:
    """Commit the final codebase to ``spec.output.git`` and push it (see gitoutput.py)."""

    generation: int


@dataclass(frozen=True)
class AutoApprovePending:
    """Approve every pending AtomReview (policy autoApprove, deadline passed)."""


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event on the Project."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


Action = (
    StartWorker
    | StopWorker
    | DeleteStoreRows
    | ResetStoredPhase
    | EnsureSandboxPolicy
    | EnsureReviews
    | AutoApprovePending
    | SaveOutput
    | PushOutput
    | Event
)


@dataclass(frozen=True)
class Plan:
    """What to do, and the status to write (write only if it differs from the current one)."""

    actions: list[Action]
    status: ProjectStatus


def _phase(text: str) -> Phase:
    try:
        return Phase(text)
    except ValueError:
        return Phase.PENDING


def _percent(progress: Progress) -> int:
    if progress.atoms_total <= 0:
        return 0
    settled = progress.atoms_done + progress.atoms_failed
    return max(0, min(100, settled * 100 // progress.atoms_total))


def _conditions(
    old: list[Condition],
    *,
    generation: int,
    phase: Phase,
    stalled_reason: str,
    message: str,
    now: datetime,
    delivering: bool = False,
) -> list[Condition]:
    stalled = bool(stalled_reason)
    ready = phase == Phase.COMPLETED and not stalled and not delivering
    reconciling = not stalled and (phase not in TERMINAL or delivering)
    if stalled:
        reason = stalled_reason
    elif delivering:
        reason = gitoutput.REASON_PUSHING
    elif ready:
        reason = REASON_COMPLETED
    elif phase == Phase.REVIEWING:
        reason = REASON_WAITING_REVIEW
    else:
        reason = REASON_PROGRESSING
    merged = list(old)
    for c in health_conditions(
        generation=generation,
        ready=ready,
        reconciling=reconciling,
        stalled=stalled,
        reason=reason,
        message=message,
    ):
        merged = set_condition(merged, c, now)
    return merged


def _review_done(spec: ProjectSpec, observed: Observed, now: datetime) -> tuple[bool, bool]:
    """(all decided, auto-approve now) for a Project in Reviewing."""
    if observed.reviews_total < observed.review_items:
        return False, False  # not every queued atom has its AtomReview yet
    if observed.reviews_pending == 0:
        return True, False
    if spec.review.policy != "autoApprove" or observed.reviewing_since is None:
        return False, False
    after = timedelta(seconds=spec.review.auto_approve_after_seconds or 0)
    return False, now >= observed.reviewing_since + after


def _budget_raised(spec: ProjectSpec, observed: Observed) -> bool:
    """True when the spec's budget is now above what stopped the worker (so it may resume)."""
    if observed.spent_usd >= spec.budget.max_cost_usd or observed.worker != "budget":
        return False
    if observed.budget_limit is None:
        return True
    what, limit = observed.budget_limit
    current = spec.budget.max_atoms if what == "atoms" else spec.budget.max_cost_usd
    return current > limit


def decide(spec: ProjectSpec, status: ProjectStatus, observed: Observed, now: datetime) -> Plan:
    """The actions and the new status for one Project (pure; see the module docstring)."""
    if observed.deleting:
        return Plan([StopWorker(), DeleteStoreRows()], status)

    actions: list[Action] = []
    old_phase = _phase(status.phase)
    new_generation = status.observed_generation != observed.generation
    phase = observed.stored_phase or old_phase
    if new_generation and status.observed_generation:
        # A spec change re-runs from the start; stage input hashes and the response cache
        # make every unchanged step free. The store's phase is reset with it.
        phase = Phase.PENDING
        actions.append(ResetStoredPhase(observed.generation))
    stalled_reason = ""
    message = status.message if not new_generation else ""
    if new_generation:
        actions.append(EnsureSandboxPolicy())  # before any sandbox Job of this generation

    if observed.worker == "failed" and phase not in TERMINAL:
        phase = Phase.FAILED
        stalled_reason = observed.worker_reason or REASON_FAILED
        message = observed.worker_error or "the pipeline failed"
    elif observed.worker == "blocked" and phase not in TERMINAL:
        stalled_reason = REASON_BLOCKED
        message = observed.worker_error or "the pipeline cannot go on"
    elif phase not in TERMINAL and (
        observed.worker == "budget" or observed.spent_usd >= spec.budget.max_cost_usd > 0
    ):
        if _budget_raised(spec, observed):
            actions.append(StartWorker(observed.generation, phase))
        else:
            stalled_reason = REASON_BUDGET
            message = (
                f"{observed.worker_error or 'budget exceeded'} "
                f"(spent ${observed.spent_usd:.2f} of ${spec.budget.max_cost_usd:.2f}); "
                "raise spec.budget.maxCostUSD or spec.budget.maxAtoms to resume"
            )
    elif phase == Phase.REVIEWING:
        if observed.reviews_total < observed.review_items:
            actions.append(EnsureReviews())
        done, auto = _review_done(spec, observed, now)
        if done:
            phase = Phase.COMPLETED
            message = f"{observed.reviews_total} review(s) decided"
            actions.append(SaveOutput())
        elif auto:
            actions.append(AutoApprovePending())
            message = f"auto-approving {observed.reviews_pending} pending review(s)"
        else:
            message = f"{observed.reviews_pending} of {observed.reviews_total} review(s) pending"
    elif phase not in TERMINAL and observed.worker in ("absent", "finished"):
        actions.append(StartWorker(observed.generation, phase))
    elif observed.worker == "running" and observed.worker_error:
        message = observed.worker_error  # retrying after a transient Kubernetes API failure
    output = gitoutput.reset(status.output) if new_generation else status.output
    delivering = False
    git = spec.output.git
    if phase == Phase.COMPLETED and git is not None:
        delivering = not gitoutput.is_pushed(git, output, observed.generation)
        if gitoutput.push_due(git, output, observed.generation, now):
            actions.append(PushOutput(observed.generation))
        if delivering and output is not None and output.push_failures:
            stalled_reason = gitoutput.REASON_PUSH_FAILED
            message = output.push_error or "git push failed"
        elif delivering:
            message = f"pushing the codebase to {git.repository} branch {git.branch}"
    if phase == Phase.FAILED:
        stalled_reason = stalled_reason or REASON_FAILED  # Failed stays Stalled until a new spec
    if phase == Phase.COMPLETED and not message:
        message = "the codebase is complete"

    if phase != old_phase:
        kind: Literal["Normal", "Warning"] = "Warning" if phase == Phase.FAILED else "Normal"
        actions.append(Event(kind, phase.value, f"phase {old_phase.value} → {phase.value}"))
    old_stalled = next(
        (c.reason for c in status.conditions if c.type == "Stalled" and c.status == "True"), ""
    )
    if stalled_reason and stalled_reason != old_stalled:
        actions.append(Event("Warning", stalled_reason, message))

    if phase in (Phase.REVIEWING, Phase.COMPLETED):
        output = (output or OutputStatus()).model_copy(update={"store_key": observed.key})
    progress = observed.progress.model_copy(update={"percent": _percent(observed.progress)})
    if phase == Phase.REVIEWING or observed.reviews_total:
        progress = progress.model_copy(update={"atoms_in_review": observed.reviews_pending})
    new_status = status.model_copy(
        update={
            "phase": phase.value,
            "observed_generation": observed.generation,
            "progress": progress,
            "cost": observed.cost,
            "message": message,
            "output": output,
            "conditions": _conditions(
                status.conditions,
                generation=observed.generation,
                phase=phase,
                stalled_reason=stalled_reason,
                message=message,
                now=now,
                delivering=delivering,
            ),
        }
    )
    return Plan(actions, new_status)


def record_push(
    spec: ProjectSpec,
    status: ProjectStatus,
    generation: int,
    outcome: gitoutput.PushOutcome,
    now: datetime,
) -> ProjectStatus:
    """The status after a push attempt planned by :func:`decide` (pure): ``status.output``
    says where the codebase is (or counts the failure) and the conditions say so too —
    ``Ready`` once pushed, ``Stalled`` with the failure's reason until a retry succeeds."""
    git = spec.output.git
    if git is None:
        return status
    output = gitoutput.record(status.output, git, generation, outcome, now)
    if outcome.ok:
        verb = "pushed" if outcome.pushed else "already on"
        message = f"{verb} {outcome.commit[:12]}: {git.repository} branch {git.branch}"
        stalled_reason = ""
    else:
        message = output.push_error or "git push failed"
        stalled_reason = gitoutput.REASON_PUSH_FAILED
    return status.model_copy(
        update={
            "output": output,
            "message": message,
            "conditions": _conditions(
                status.conditions,
                generation=generation,
                phase=_phase(status.phase),
                stalled_reason=stalled_reason,
                message=message,
                now=now,
            ),
        }
    )
