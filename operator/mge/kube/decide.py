"""The pure heart of the Project reconcile: ``decide(spec, status, observed, now) -> Plan``.

No I/O here. :mod:`mge.kube.observe` gathers the world into :class:`Observed`, this module turns
it into the actions to take and the status to write, :mod:`mge.kube.apply` does the actions.
Every rule is a small function of its inputs and is tested with tables (tests/unit/kube).

Rules, in order of precedence (each a function below, table-tested on its own):

1. being deleted → stop the pipeline worker and delete the store rows, the finalizer's job
   (:func:`decide_deletion`, called by the delete handler directly);
2. where the pass starts (:func:`start`): the store's phase; a new generation (spec change)
   starts again from ``Pending`` (in the store too); stage inputs are content-hashed in the
   store, so unchanged work is reused, not paid for twice;
3. then the first matching worker policy of :data:`POLICIES` decides:
   :func:`worker_failed` → ``Failed`` (Stalled, reason from the error); :func:`worker_blocked`
   → Stalled ``PipelineBlocked``; :func:`budget_spent` → the phase stays, ``Stalled`` with
   reason ``BudgetExceeded``, and raising the limit that stopped the worker
   (``spec.budget.maxCostUSD`` / ``maxAtoms``, carried as data in ``Observed.budget_limit``)
   starts it again; :func:`reviewing` → ``Completed`` once every AtomReview is decided (the
   final codebase is then kept in the store, ``status.output.storeKey``), with policy
   ``autoApprove`` the pending ones are approved once the deadline passed;
   :func:`start_worker` → a non-terminal phase with no worker running for this generation
   starts one; :func:`worker_retrying` → a running worker's transient error is the message;
4. :func:`delivery`: ``Completed`` with ``spec.output.git`` not yet pushed for this generation
   → ``PushOutput`` (gitoutput.py: backoff after a failure, which shows as ``Stalled`` with
   reason ``GitPushFailed``; ``Ready`` only once pushed).

An Event is planned for every phase transition and for every new failure reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from mge.execution.budget import BudgetLimit
from mge.kube import gitoutput
from mge.kube.conditions import health_conditions, set_condition
from mge.models.project import (
    Condition,
    Cost,
    OutputStatus,
    PerformanceStatus,
    Phase,
    Progress,
    ProjectSpec,
    ProjectStatus,
    ReadinessStatus,
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
REASON_RETRIEVAL_UNAVAILABLE = "RetrievalUnavailable"
RETRIEVAL_NOTE = "retrieval: "
"""How a retrieval note starts (pipeline/memory_stages.py writes them)."""


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
    budget_limit: tuple[BudgetLimit, float] | None = None
    """Which budget limit stopped the worker and its value in the spec then."""
    spent_usd: float = 0.0
    progress: Progress = field(default_factory=Progress)
    cost: Cost = field(default_factory=Cost)
    readiness: ReadinessStatus | None = None
    """L4 readiness counts from the store (None before the checks ran)."""
    performance: PerformanceStatus | None = None
    """L3 performance counts from the store (None when nothing was benchmarked)."""
    review_items: int = 0
    """Atoms the store queued for review (each should have an AtomReview)."""
    reviews_total: int = 0
    reviews_pending: int = 0
    reviewing_since: datetime | None = None
    retrieval_note: str = ""
    """Why retrieval did less for this Project (``retrieval: unavailable (…); planning without
    patterns``), from the store; empty when it worked or did not run yet."""


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
    current = spec.budget.max_atoms if what == BudgetLimit.ATOMS else spec.budget.max_cost_usd
    return current > limit


def decide_deletion(status: ProjectStatus) -> Plan:
    """Rule 1, the finalizer's plan: stop the worker and delete the store rows (children go by
    owner references). Needs no spec: a Project being deleted may carry one that no longer
    parses, and nothing in it changes what deletion does."""
    return Plan([StopWorker(), DeleteStoreRows()], status)


@dataclass(frozen=True)
class Start:
    """Rule 2, where a pass starts: the phase, the actions a new generation needs first, and
    the message carried over (none for a new generation: its old text is about the old spec)."""

    phase: Phase
    new_generation: bool
    actions: tuple[Action, ...] = ()
    message: str = ""


def start(status: ProjectStatus, observed: Observed) -> Start:
    """The store's phase (it is ahead of status while a worker runs); a spec change re-runs
    from ``Pending`` — stage input hashes and the response cache make unchanged steps free — and
    resets the store's phase with it. A new generation first gets its sandbox NetworkPolicy,
    before any sandbox Job of it."""
    new_generation = status.observed_generation != observed.generation
    if not new_generation:
        return Start(observed.stored_phase or _phase(status.phase), False, (), status.message)
    if status.observed_generation:
        reset: tuple[Action, ...] = (ResetStoredPhase(observed.generation), EnsureSandboxPolicy())
        return Start(Phase.PENDING, True, reset)
    return Start(observed.stored_phase or _phase(status.phase), True, (EnsureSandboxPolicy(),))


@dataclass(frozen=True)
class Verdict:
    """What the first matching worker policy decided."""

    phase: Phase
    actions: tuple[Action, ...] = ()
    stalled_reason: str = ""
    """CamelCase reason for ``Stalled=True``; empty when the Project is not stuck."""
    message: str | None = None
    """The new ``status.message``; None keeps the one carried so far."""


Policy = Callable[[ProjectSpec, Observed, Phase, datetime], Verdict | None]
"""A rule of the chain: a verdict when it applies to (spec, observed, phase, now), else None."""


def worker_failed(
    spec: ProjectSpec, observed: Observed, phase: Phase, now: datetime
) -> Verdict | None:
    """Rule 3: a worker that failed permanently fails the Project (reason from its error)."""
    if observed.worker != "failed" or phase in TERMINAL:
        return None
    return Verdict(
        Phase.FAILED,
        stalled_reason=observed.worker_reason or REASON_FAILED,
        message=observed.worker_error or "the pipeline failed",
    )


def worker_blocked(
    spec: ProjectSpec, observed: Observed, phase: Phase, now: datetime
) -> Verdict | None:
    """Rule 3b: a worker that cannot go on (a stage is not available) stalls, phase kept."""
    if observed.worker != "blocked" or phase in TERMINAL:
        return None
    return Verdict(
        phase,
        stalled_reason=REASON_BLOCKED,
        message=observed.worker_error or "the pipeline cannot go on",
    )


def budget_spent(
    spec: ProjectSpec, observed: Observed, phase: Phase, now: datetime
) -> Verdict | None:
    """Rule 4: budget spent → stalled with the fix in the message, phase kept; once the spec
    raises the limit that stopped the worker above its value then, the worker starts again."""
    if phase in TERMINAL:
        return None
    if observed.worker != "budget" and not (observed.spent_usd >= spec.budget.max_cost_usd > 0):
        return None
    if _budget_raised(spec, observed):
        return Verdict(phase, (StartWorker(observed.generation, phase),))
    return Verdict(
        phase,
        stalled_reason=REASON_BUDGET,
        message=(
            f"{observed.worker_error or 'budget exceeded'} "
            f"(spent ${observed.spent_usd:.2f} of ${spec.budget.max_cost_usd:.2f}); "
            "raise spec.budget.maxCostUSD or spec.budget.maxAtoms to resume"
        ),
    )


def _decided(observed: Observed) -> str:
    return f"{observed.reviews_total} review(s) decided"


def reviewing(spec: ProjectSpec, observed: Observed, phase: Phase, now: datetime) -> Verdict | None:
    """Rule 5: in ``Reviewing``, create missing AtomReviews; complete (and keep the output)
    once every review is decided; with ``autoApprove``, approve the pending ones after the
    deadline."""
    if phase != Phase.REVIEWING:
        return None
    missing: tuple[Action, ...] = ()
    if observed.reviews_total < observed.review_items:
        missing = (EnsureReviews(),)
    done, auto = _review_done(spec, observed, now)
    if done:
        return Verdict(Phase.COMPLETED, (*missing, SaveOutput()), message=_decided(observed))
    if auto:
        message = f"auto-approving {observed.reviews_pending} pending review(s)"
        return Verdict(phase, (*missing, AutoApprovePending()), message=message)
    message = f"{observed.reviews_pending} of {observed.reviews_total} review(s) pending"
    return Verdict(phase, missing, message=message)


def start_worker(
    spec: ProjectSpec, observed: Observed, phase: Phase, now: datetime
) -> Verdict | None:
    """Rule 6: a non-terminal phase with no worker running for this generation starts one
    (a killed operator resumes from the store's phase this way)."""
    if phase in TERMINAL or observed.worker not in ("absent", "finished"):
        return None
    return Verdict(phase, (StartWorker(observed.generation, phase),))


def worker_retrying(
    spec: ProjectSpec, observed: Observed, phase: Phase, now: datetime
) -> Verdict | None:
    """Rule 7: a running worker that reports an error is retrying after a transient
    Kubernetes API failure; say so in the message."""
    if observed.worker != "running" or not observed.worker_error:
        return None
    return Verdict(phase, message=observed.worker_error)


POLICIES: tuple[Policy, ...] = (
    worker_failed,
    worker_blocked,
    budget_spent,
    reviewing,
    start_worker,
    worker_retrying,
)
"""Rules 3–7 in order of precedence: the first that applies decides."""


def first_match(
    policies: tuple[Policy, ...], spec: ProjectSpec, observed: Observed, phase: Phase, now: datetime
) -> Verdict:
    """The verdict of the first policy that applies; none applies: phase and message kept."""
    for policy in policies:
        verdict = policy(spec, observed, phase, now)
        if verdict is not None:
            return verdict
    return Verdict(phase)


@dataclass(frozen=True)
class Delivery:
    """Rule 8, what pushing the codebase to ``spec.output.git`` adds."""

    output: OutputStatus | None
    actions: tuple[Action, ...] = ()
    delivering: bool = False
    """Completed but not pushed yet for this generation (so not ``Ready``)."""
    stalled_reason: str = ""
    message: str | None = None


def delivery(
    spec: ProjectSpec, observed: Observed, phase: Phase, output: OutputStatus | None, now: datetime
) -> Delivery:
    """``Completed`` with ``spec.output.git`` not yet pushed for this generation →
    ``PushOutput`` when due (gitoutput.py backs off after a failure, which shows as ``Stalled``
    with reason ``GitPushFailed``); ``Ready`` only once pushed."""
    git = spec.output.git
    if phase != Phase.COMPLETED or git is None:
        return Delivery(output)
    delivering = not gitoutput.is_pushed(git, output, observed.generation)
    actions: tuple[Action, ...] = ()
    if gitoutput.push_due(git, output, observed.generation, now):
        actions = (PushOutput(observed.generation),)
    if delivering and output is not None and output.push_failures:
        failed = output.push_error or "git push failed"
        return Delivery(output, actions, True, gitoutput.REASON_PUSH_FAILED, failed)
    if delivering:
        pushing = f"pushing the codebase to {git.repository} branch {git.branch}"
        return Delivery(output, actions, True, message=pushing)
    return Delivery(output, actions)


def _events(
    old: ProjectStatus, old_phase: Phase, phase: Phase, stalled_reason: str, message: str
) -> list[Action]:
    """An Event for a phase transition (Warning when it fails) and one for a new stall reason."""
    events: list[Action] = []
    if phase != old_phase:
        kind: Literal["Normal", "Warning"] = "Warning" if phase == Phase.FAILED else "Normal"
        events.append(Event(kind, phase.value, f"phase {old_phase.value} → {phase.value}"))
    old_stalled = next(
        (c.reason for c in old.conditions if c.type == "Stalled" and c.status == "True"), ""
    )
    if stalled_reason and stalled_reason != old_stalled:
        events.append(Event("Warning", stalled_reason, message))
    return events


def _with_retrieval_note(
    status: ProjectStatus, observed: Observed, message: str
) -> tuple[str, list[Action]]:
    """The message with the retrieval note appended (the Project went on without patterns:
    the condition says so), and a Warning Event the first time a status carries it."""
    note = observed.retrieval_note
    # A message carried over from the last status may hold an earlier note: drop it first.
    message = "" if message.startswith(RETRIEVAL_NOTE) else message.split(f"; {RETRIEVAL_NOTE}")[0]
    if not note:
        return message, []
    with_note = f"{message}; {note}" if message else note
    events: list[Action] = []
    if note not in (status.message or ""):
        events.append(Event("Warning", REASON_RETRIEVAL_UNAVAILABLE, note))
    return with_note, events


def decide(spec: ProjectSpec, status: ProjectStatus, observed: Observed, now: datetime) -> Plan:
    """The actions and the new status for one Project (pure): the chain of the module
    docstring — deletion, the start of the pass, the first matching worker policy, delivery —
    then Events and the status."""
    if observed.deleting:
        return decide_deletion(status)
    begin = start(status, observed)
    verdict = first_match(POLICIES, spec, observed, begin.phase, now)
    phase = verdict.phase
    output = gitoutput.reset(status.output) if begin.new_generation else status.output
    deliver = delivery(spec, observed, phase, output, now)
    stalled_reason = deliver.stalled_reason or verdict.stalled_reason
    if phase == Phase.FAILED:
        stalled_reason = stalled_reason or REASON_FAILED  # Failed stays Stalled until a new spec
    message = begin.message
    entering_completed = phase == Phase.COMPLETED and _phase(status.phase) != Phase.COMPLETED
    if entering_completed and observed.reviews_total:
        # The last decision completed the Project in the store (review_decision.py) before
        # this pass saw Reviewing: the carried "1 of 2 review(s) pending" is over.
        message = _decided(observed)
    for said in (verdict.message, deliver.message):
        message = said if said is not None else message
    if phase == Phase.COMPLETED and not message:
        message = "the codebase is complete"
    message, retrieval_events = _with_retrieval_note(status, observed, message)
    old_phase = _phase(status.phase)
    actions: list[Action] = [
        *begin.actions,
        *verdict.actions,
        *deliver.actions,
        *_events(status, old_phase, phase, stalled_reason, message),
        *retrieval_events,
    ]
    output = deliver.output
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
            "readiness": observed.readiness or status.readiness,
            "performance": observed.performance or status.performance,
            "message": message,
            "output": output,
            "conditions": _conditions(
                status.conditions,
                generation=observed.generation,
                phase=phase,
                stalled_reason=stalled_reason,
                message=message,
                now=now,
                delivering=deliver.delivering,
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
