"""Apply a reviewer's decision: approve, edit (validated first) or regenerate (with feedback).

The same functions serve ``mge review`` and the operator's AtomReview patches; the caller
passes the collaborators (validator, LLM, journal) and persists the returned item.

- **approve** — the atom's code is accepted as it is (state ``approved``).
- **edit** — the reviewer's code is validated through the BatchValidator like any attempt;
  it is accepted only if it passes. Either way it is stored as an attempt.
- **regenerate** — a new attempt with the reviewer's feedback (key
  ``atom/<id>/regenerate-<n>``, n = the attempt number it becomes); accepted if it passes
  validation, otherwise the item stays open with the new code and failure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from mge.errors import InputError
from mge.execution.executor import AtomExecutorWithRetry
from mge.execution.retry import plan_regeneration
from mge.execution.state import Journal
from mge.models.atoms import AtomState
from mge.models.execution import Attempt, ValidationResult
from mge.models.review import Decision, ReviewItem
from mge.validation.batch import BatchValidator, Candidate, Workspace

EDIT_TEMPERATURE = 0.0
"""Recorded as the temperature of a human edit (no model involved)."""

REVIEW_BATCH_INDEX = 0


@dataclass(frozen=True)
class DecisionResult:
    """What applying a decision did."""

    item: ReviewItem
    accepted: bool
    state: AtomState
    code: str | None
    attempt: Attempt | None = None
    message: str = ""


def edit_prompt_hash(code: str, by: str | None) -> str:
    """A stand-in prompt hash for a human edit: sha256 over who and what."""
    return hashlib.sha256(f"edit\x00{by or ''}\x00{code}".encode()).hexdigest()


def _decided(
    item: ReviewItem,
    decision: Decision,
    by: str | None,
    now: datetime,
    **changes: object,
) -> ReviewItem:
    return item.model_copy(
        update={"decision": decision, "decided_by": by, "decided_at": now, **changes}
    )


async def approve(
    item: ReviewItem,
    journal: Journal,
    *,
    workspace: Workspace | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> DecisionResult:
    """Accept the item's code as it stands."""
    when = now or datetime.now(UTC)
    if workspace is not None:
        workspace.validated[item.atom_id] = item.code
    await journal.settle(item.atom_id, AtomState.APPROVED, item.code)
    note = (
        " (it had not passed validation: approved on the reviewer's word)"
        if (item.reason == "failed")
        else ""
    )
    return DecisionResult(
        _decided(item, "approve", by, when),
        True,
        AtomState.APPROVED,
        item.code,
        message=f"approved {item.atom_id}{note}",
    )


async def edit(
    item: ReviewItem,
    code: str,
    history: list[Attempt],
    workspace: Workspace,
    validator: BatchValidator,
    journal: Journal,
    *,
    level: int = 0,
    by: str | None = None,
    now: datetime | None = None,
) -> DecisionResult:
    """Validate the reviewer's ``code``; accept it (approved) only if it passes."""
    if not code.strip():
        raise InputError("an edit needs code: the edited function is empty")
    when = now or datetime.now(UTC)
    number = len(history) + 1
    results = await validator.validate(
        level, REVIEW_BATCH_INDEX, [Candidate(item.atom_id, number, code)]
    )
    result = results.get(item.atom_id)
    attempt = Attempt(
        atom_id=item.atom_id,
        number=number,
        temperature=EDIT_TEMPERATURE,
        prompt_hash=edit_prompt_hash(code, by),
        code=code,
        validation=result,
        error="" if result is not None else "the validator returned no result",
    )
    passed = result is not None and result.passed
    if passed:
        workspace.validated[item.atom_id] = code
        await journal.attempt(attempt, AtomState.APPROVED, code)
        decided = _decided(item, "edit", by, when, edited_code=code)
        return DecisionResult(
            decided,
            True,
            AtomState.APPROVED,
            code,
            attempt,
            f"edit of {item.atom_id} passed validation and was accepted",
        )
    await journal.attempt(attempt, AtomState.IN_REVIEW, None)
    failure = _failure(result)
    pending = item.model_copy(update={"edited_code": code, "decision": "pending"})
    return DecisionResult(
        pending,
        False,
        AtomState.IN_REVIEW,
        None,
        attempt,
        f"edit of {item.atom_id} was NOT accepted: {failure}",
    )


async def regenerate(
    item: ReviewItem,
    feedback: str,
    history: list[Attempt],
    executor: AtomExecutorWithRetry,
    *,
    level: int = 0,
    by: str | None = None,
    now: datetime | None = None,
) -> DecisionResult:
    """A new attempt with the reviewer's feedback, validated; accepted if it passes."""
    if not feedback.strip():
        raise InputError("regenerate needs feedback: say what should change")
    when = now or datetime.now(UTC)
    plan = plan_regeneration(
        item.atom_id, history, len(history) + 1, executor.base_temperature, feedback
    )
    generated = await executor.generate(plan)
    candidate = Candidate(item.atom_id, plan.number, generated.code)
    result: ValidationResult | None = None
    if generated.code.strip():
        results = await executor.validator.validate(level, REVIEW_BATCH_INDEX, [candidate])
        result = results.get(item.atom_id)
    attempt = executor.attempt_record(generated, result, 0.0)
    passed = result is not None and result.passed
    if passed:
        executor.workspace.validated[item.atom_id] = generated.code
        await executor.journal.attempt(attempt, AtomState.VALIDATED, generated.code)
        decided = _decided(item, "regenerate", by, when, feedback=feedback, code=generated.code)
        return DecisionResult(
            decided,
            True,
            AtomState.VALIDATED,
            generated.code,
            attempt,
            f"regenerated {item.atom_id}: the new code passed validation",
        )
    await executor.journal.attempt(attempt, AtomState.IN_REVIEW, None)
    pending = item.model_copy(
        update={"code": generated.code, "feedback": feedback, "decision": "pending"}
    )
    return DecisionResult(
        pending,
        False,
        AtomState.IN_REVIEW,
        None,
        attempt,
        f"regenerated {item.atom_id}, but the new code did not pass: "
        f"{_failure(result) if generated.code.strip() else generated.error}",
    )


def _failure(result: ValidationResult | None) -> str:
    if result is None:
        return "no validation result"
    return result.first_failure()[:500] or "validation failed"


@dataclass(frozen=True)
class ReviewDeps:
    """The collaborators a decision may need: approve needs the journal only, edit the
    validator and workspace, regenerate the executor (which holds LLM, validator, budget)."""

    journal: Journal
    workspace: Workspace | None = None
    validator: BatchValidator | None = None
    executor: AtomExecutorWithRetry | None = None


async def apply_decision(
    item: ReviewItem,
    decision: Decision,
    history: list[Attempt],
    deps: ReviewDeps,
    *,
    code: str | None = None,
    feedback: str | None = None,
    level: int = 0,
    by: str | None = None,
    now: datetime | None = None,
) -> DecisionResult:
    """Apply ``decision`` to ``item`` — the one entry point for ``mge review`` and the
    operator's AtomReview patches. Raises InputError when the decision lacks what it needs."""
    if decision == "approve":
        return await approve(item, deps.journal, workspace=deps.workspace, by=by, now=now)
    if decision == "edit":
        if code is None:
            raise InputError("decision edit needs the edited code")
        if deps.validator is None or deps.workspace is None:
            raise InputError("decision edit needs a validator and a workspace")
        return await edit(
            item,
            code,
            history,
            deps.workspace,
            deps.validator,
            deps.journal,
            level=level,
            by=by,
            now=now,
        )
    if decision == "regenerate":
        if feedback is None:
            raise InputError("decision regenerate needs feedback")
        if deps.executor is None:
            raise InputError("decision regenerate needs an executor (LLM and validator)")
        return await regenerate(item, feedback, history, deps.executor, level=level, by=by, now=now)
    raise InputError(f"unknown decision {decision!r}: use approve, edit or regenerate")
