"""Gather what decide() needs: the store checkpoint, the worker, the AtomReviews.

Reads only (store, worker registry, the API through KubeClient); no decisions here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mge.execution.generator import PERFORMANCE_PROGRESS, READINESS_PROGRESS
from mge.execution.journal import progress_document
from mge.kube.children import LABEL_PROJECT
from mge.kube.client import KubeClient
from mge.kube.decide import Observed
from mge.kube.reviews import is_decided
from mge.kube.worker import WorkerRegistry
from mge.models.atoms import AtomState
from mge.models.performance import PerformanceReport
from mge.models.project import Cost, Phase, Progress, performance_status, readiness_status
from mge.models.readiness import ReadinessReport
from mge.pipeline.memory_stages import retrieval_note
from mge.store import Store, UsageTotals


def project_key(namespace: str, name: str) -> str:
    """The Project's key in the store: ``namespace/name``."""
    return f"{namespace}/{name}"


def cost_of(totals: UsageTotals | None) -> Cost:
    """``status.cost`` from one reading of the project's cost ledger (pure): the USD and the
    token counts are sums over the same rows, so they cannot disagree."""
    if totals is None:
        return Cost()
    usage = totals.usage
    return Cost(
        usd=f"{totals.cost_usd:.2f}",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
    )


def _phase(text: str | None) -> Phase | None:
    try:
        return Phase(text) if text else None
    except ValueError:
        return None


def _count(counts: dict[AtomState, int], *names: str) -> int:
    return sum(n for state, n in counts.items() if str(getattr(state, "value", state)) in names)


async def observe(
    *,
    body: dict[str, Any],
    store: Store,
    kube: KubeClient,
    workers: WorkerRegistry,
) -> Observed:
    """The observed state of one Project (see decide.Observed)."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    generation = int(meta.get("generation") or 1)
    key = project_key(namespace, name)
    stored = await store.get_project(key)
    stored_phase = _phase(stored.phase) if stored and stored.generation == generation else None
    info = workers.state(meta["uid"], generation)
    totals = await store.usage_totals(key) if stored else None  # one ledger read: USD, tokens
    counts = await store.count_atoms(key) if stored else {}
    reviews = await kube.list("AtomReview", namespace, f"{LABEL_PROJECT}={name}")
    pending = sum(1 for r in reviews if not is_decided(r.get("status")))
    summary = stored.summary if stored else {}
    level = int(summary.get("level", 0))
    if stored_phase == Phase.EXECUTING:  # the summary is written when the phase ends
        open_level = await store.open_level(key)
        level = int(summary.get("levels", 0)) if open_level is None else open_level
    progress = Progress(
        atoms_total=sum(counts.values()),
        atoms_done=_count(counts, "validated", "approved"),
        atoms_failed=_count(counts, "failed", "flagged"),
        level=level,
        levels=int(summary.get("levels", 0)),
    )
    since: datetime | None = None
    if stored is not None and stored_phase == Phase.REVIEWING:
        since = stored.updated_at
    readiness = None
    performance = None
    if stored is not None:
        doc = await store.get_document(key, progress_document(READINESS_PROGRESS))
        if doc:
            readiness = readiness_status(ReadinessReport.model_validate(doc))
        doc = await store.get_document(key, progress_document(PERFORMANCE_PROGRESS))
        if doc:
            performance = performance_status(PerformanceReport.model_validate(doc))
    return Observed(
        readiness=readiness,
        performance=performance,
        generation=generation,
        deleting=bool(meta.get("deletionTimestamp")),
        key=key,
        stored_phase=stored_phase,
        worker=info.state if info else "absent",
        worker_error=info.error if info else "",
        worker_reason=info.reason if info else "",
        budget_limit=info.budget_limit if info else None,
        spent_usd=totals.cost_usd if totals else 0.0,
        progress=progress,
        cost=cost_of(totals),
        review_items=len(await store.list_review_items(key)) if stored else 0,
        reviews_total=len(reviews),
        reviews_pending=pending,
        reviewing_since=since,
        retrieval_note=await retrieval_note(store, key) if stored else "",
    )
