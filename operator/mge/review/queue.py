"""ReviewQueue: the least certain atoms and every failed one, each with what a reviewer needs.

Selection (pure, :func:`select`): every atom that failed all its attempts, plus the lowest
``fraction`` (ceil of fraction × atoms scored, default 15%) of the others by confidence score,
ties broken by atom id so the queue is the same on every run. Each item carries the code, a
context summary (contract, dependencies, tests, last failure), the confidence parts and a
suggestion: an LLM-written explanation of the risk and a proposed fix (key
``review/<atom_id>``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, Protocol

from mge import prompts
from mge.atomization.contracts import parse_contract
from mge.errors import BudgetExceeded, LLMAuthError, LLMError
from mge.execution.budget import Budget
from mge.execution.executor import Completer
from mge.execution.state import AtomProgress, ExecutionState
from mge.llm.base import LLMRequest
from mge.models.atoms import AtomicUnit, AtomState
from mge.models.review import ConfidenceParts, ReviewItem
from mge.review.confidence import ConfidenceScorer
from mge.validation.codebase import Codebase

Reason = Literal["low_confidence", "failed"]

DEFAULT_FRACTION = 0.15
"""Share of (non-failed) atoms sent to review by default: the design's 15–20%."""

SUGGESTION_TEMPLATE = "review_suggestion"
SUGGESTION_KEY = "review/{atom_id}"
SUGGESTION_TEMPERATURE = 0.2
SUGGESTION_MAX_TOKENS = 1500
SCORED_STATES = frozenset({AtomState.VALIDATED, AtomState.FAILED, AtomState.IN_REVIEW})


def select(
    scores: Mapping[str, float],
    failed: Iterable[str],
    fraction: float = DEFAULT_FRACTION,
    exclude: Iterable[str] = (),
) -> list[tuple[str, Reason]]:
    """Which atoms go to review and why (pure).

    Failed atoms first (least confident first), then ``ceil(fraction × len(scores))`` of the
    lowest-scoring other atoms. Atoms in ``exclude`` (already decided) are skipped.
    """
    skip = set(exclude)
    failed_set = {a for a in failed if a not in skip}
    order = sorted(scores, key=lambda a: (scores[a], a))
    picked: list[tuple[str, Reason]] = [(a, "failed") for a in order if a in failed_set]
    picked += [(a, "failed") for a in sorted(failed_set - set(scores))]
    quota = math.ceil(max(0.0, min(1.0, fraction)) * len(scores) - 1e-9)
    rest = [a for a in order if a not in failed_set and a not in skip]
    picked += [(a, "low_confidence") for a in rest[:quota]]
    return picked


def context_summary(atom: AtomicUnit, progress: AtomProgress, codebase: Codebase) -> str:
    """What a reviewer reads before the code: contract, dependencies, tests, last failure."""
    lines = [
        f"{atom.file} · {atom.qualname} ({atom.kind}, est. {atom.estimated_loc} LOC, "
        f"complexity {atom.complexity})",
        atom.signature,
    ]
    # The spec is the whole docstring; its contract lines are listed below, once.
    description = parse_contract(atom.spec).description if atom.spec else ""
    if description:
        lines.append(description)
    if atom.preconditions:
        lines.append("Pre: " + "; ".join(atom.preconditions))
    if atom.postconditions:
        lines.append("Post: " + "; ".join(atom.postconditions))
    deps = [codebase.atoms[d].qualname for d in atom.dependencies if d in codebase.atoms]
    if deps:
        lines.append("Depends on: " + ", ".join(deps))
    tests = codebase.tests_by_atom.get(atom.id, [])
    lines.append("Tests: " + (", ".join(tests) if tests else "none resolved"))
    lines.append(f"Attempts: {len(progress.attempts)}")
    last = progress.attempts[-1] if progress.attempts else None
    if last is not None and last.validation is not None and not last.validation.passed:
        lines.append("Last failure: " + last.validation.first_failure()[:500])
    elif last is not None and last.error:
        lines.append("Last failure: " + last.error[:500])
    return "\n".join(lines)


class ReviewStore(Protocol):
    """The store methods the queue writes through (mge.store.Store has them)."""

    async def upsert_review_item(self, key: str, item: ReviewItem) -> None:
        """Save or replace an item."""
        ...

    async def set_confidence(self, key: str, atom_id: str, confidence: float) -> None:
        """Save an atom's score."""
        ...

    async def set_atom_state(
        self, key: str, atom_id: str, state: AtomState, code: str | None = None
    ) -> None:
        """Move an atom to a state."""
        ...


class ReviewQueue:
    """Scores atoms, selects the review items and writes their suggestions."""

    def __init__(
        self,
        codebase: Codebase,
        *,
        llm: Completer | None = None,
        scorer: ConfidenceScorer | None = None,
        fraction: float = DEFAULT_FRACTION,
        project: str | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.codebase = codebase
        self.llm = llm
        self.scorer = scorer or ConfidenceScorer()
        self.fraction = fraction
        self.project = project
        self.budget = budget

    def scores(self, state: ExecutionState) -> dict[str, ConfidenceParts]:
        """Confidence parts of every atom that has an outcome (validated, failed, in review)."""
        return {
            atom_id: self.scorer.score(self.codebase.atoms[atom_id], progress)
            for atom_id, progress in state.atoms.items()
            if progress.state in SCORED_STATES and atom_id in self.codebase.atoms
        }

    async def build(
        self,
        state: ExecutionState,
        exclude: Iterable[str] = (),
        scores: Mapping[str, ConfidenceParts] | None = None,
    ) -> list[ReviewItem]:
        """The review items for ``state`` (atoms in ``exclude`` already have one)."""
        parts = dict(scores) if scores is not None else self.scores(state)
        failed = [a for a, p in state.atoms.items() if p.state == AtomState.FAILED]
        picks = select({a: p.score for a, p in parts.items()}, failed, self.fraction, exclude)
        return list(
            await asyncio.gather(
                *(self.item(state.atoms[a], parts[a], reason) for a, reason in picks)
            )
        )

    async def item(
        self, progress: AtomProgress, parts: ConfidenceParts, reason: Reason
    ) -> ReviewItem:
        """One review item with its suggestion."""
        atom = self.codebase.atoms[progress.atom_id]
        last = progress.attempts[-1] if progress.attempts else None
        code = progress.code or (last.code if last else "")
        return ReviewItem(
            atom_id=atom.id,
            reason=reason,
            code=code,
            confidence=parts,
            context_summary=context_summary(atom, progress, self.codebase),
            suggestion=await self.suggestion(atom, progress, code, parts, reason),
        )

    async def suggestion(
        self,
        atom: AtomicUnit,
        progress: AtomProgress,
        code: str,
        parts: ConfidenceParts,
        reason: Reason,
    ) -> str:
        """The LLM's risk explanation and proposed fix; a plain note saying why when none can
        be had (no LLM configured, budget reached, provider error, missing recording). Bad
        credentials are raised."""
        if self.llm is None:
            return "(no suggestion: no language model configured)"
        if self.budget is not None:
            try:
                self.budget.check_cost()
            except BudgetExceeded as e:
                return f"(no suggestion: {e})"
        request = suggestion_request(atom, progress, code, parts, reason)
        try:
            response = await self.llm.complete(request, self.project)
        except LLMAuthError:
            raise
        except LLMError as e:
            # A suggestion is help, not a verdict: without one the item still goes to review,
            # and says plainly why it has none (a missing recording is named, never invented).
            return f"(no suggestion: {type(e).__name__}: {e})"
        if self.budget is not None:
            self.budget.charge(response.cost_usd)
        return response.text.strip()


def suggestion_request(
    atom: AtomicUnit,
    progress: AtomProgress,
    code: str,
    parts: ConfidenceParts,
    reason: Reason,
) -> LLMRequest:
    """The ``review/<atom_id>`` request (pure)."""
    last = progress.attempts[-1] if progress.attempts else None
    if last is not None and last.validation is not None:
        summary = "passed" if last.validation.passed else last.validation.first_failure()[:1500]
    else:
        summary = last.error[:1500] if last is not None and last.error else "none"
    why = "it failed every attempt" if reason == "failed" else "its confidence is among the lowest"
    system, prompt = prompts.render(
        SUGGESTION_TEMPLATE,
        qualname=atom.qualname,
        file=atom.file,
        language=atom.language,
        reason=why,
        signature=atom.signature,
        spec=atom.spec or "(none)",
        code=code.strip("\n") or "(no code)",
        score=f"{parts.score:.2f}",
        validation=f"{parts.validation:.2f}",
        attempts=f"{parts.attempts:.2f}",
        complexity=f"{parts.complexity:.2f}",
        integration=f"{parts.integration:.2f}",
        attempt_count=len(progress.attempts),
        validation_summary=summary,
    )
    return LLMRequest(
        key=SUGGESTION_KEY.format(atom_id=atom.id),
        system=(system,),
        prompt=prompt,
        temperature=SUGGESTION_TEMPERATURE,
        max_tokens=SUGGESTION_MAX_TOKENS,
    )


async def save_review(
    store: ReviewStore,
    project: str,
    items: Sequence[ReviewItem],
    scores: Mapping[str, ConfidenceParts],
) -> None:
    """Write every score, every item, and move the items' atoms to ``in_review``."""
    for atom_id, parts in scores.items():
        await store.set_confidence(project, atom_id, parts.score)
    for item in items:
        await store.upsert_review_item(project, item)
        await store.set_atom_state(project, item.atom_id, AtomState.IN_REVIEW)
