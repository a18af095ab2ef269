"""kopf handlers: one level-triggered reconcile per Project, one per AtomReview.

Shape (notes/style.md): parse → observe → decide (pure) → apply → write status if it changed.
Registered by importing this module (``mge operator run`` does; tests use kopf.testing.KopfRunner
with ``mge operator run`` arguments).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import kopf
from pydantic import ValidationError

from mge import metrics
from mge.errors import ConfigError, InputError, KubeAPIError, KubeUnavailable, MGEError
from mge.execution import manifest
from mge.kube import gitoutput
from mge.kube.apply import Collaborators, apply
from mge.kube.client import KubeClient, load_api_client
from mge.kube.decide import decide, decide_deletion, record_push
from mge.kube.decisions import carry_out
from mge.kube.leader import LeaderElector, lease_namespace
from mge.kube.nudge import annotate_soon, nudge_soon, review_patch
from mge.kube.observe import observe, project_key
from mge.kube.reviews import decide_review, decided_by, settle
from mge.kube.settings import configure_kopf, startup_settings
from mge.kube.stages import StageRunner
from mge.kube.worker import WorkerRegistry
from mge.logs import log_context
from mge.models.project import API_GROUP, API_VERSION, ProjectSpec, ProjectStatus
from mge.models.review import AtomReviewSpec, AtomReviewStatus
from mge.store import Store

log = logging.getLogger("mge.operator")

_PHASES: dict[str, str] = {}
"""Project key → last phase this process saw, for the projects-by-phase gauge."""

SETTINGS = startup_settings()
"""Read once at import (= start-up): ``mge operator run`` hands its settings over, then kopf
imports this module to start."""
PROJECTS = (API_GROUP, API_VERSION, "projects")
REQUIREMENTS_RETRY_SECONDS = 10.0
"""Retry delay (seconds) while a requirements ConfigMap is missing."""
API_RETRY_SECONDS = 5.0
"""Retry delay (seconds) of a reconcile after a transient Kubernetes API failure."""
API_REFUSED_RETRY_SECONDS = 60.0
"""Retry delay (seconds) after the API refused a reconcile's request (403, 422: needs a fix)."""
ATOMREVIEWS = (API_GROUP, API_VERSION, "atomreviews")


def _now() -> datetime:
    return datetime.now(UTC)


def _ctx(memo: Any) -> Collaborators:
    ctx: Collaborators = memo.mge
    return ctx


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    """The one settings hook: kopf settings, the API client, the Lease (a standby waits here
    until it leads), the store, the worker registry."""
    configure_kopf(settings)
    op = SETTINGS.operator
    if metrics.serve(op.metrics_port):  # /metrics (and the chart's probes), MGE_METRICS_PORT
        log.info("serving /metrics on port %d", op.metrics_port)
    kube = KubeClient(load_api_client(str(op.kubeconfig) if op.kubeconfig else None))
    # Seconds of CPU that would otherwise land in the first reconcile's event loop, where they
    # held up the Lease renewal of a freshly started leader on a busy machine: done here, in a
    # thread, while a standby still waits.
    await asyncio.to_thread(manifest.warm_up)
    leader: LeaderElector | None = None
    if op.leader_election:  # a standby waits here: kopf watches nothing until we lead
        leader = LeaderElector(
            kube,
            name=op.lease_name,
            namespace=lease_namespace(op),
            duration=op.lease_duration_seconds,
            renew=op.lease_renew_seconds,
        )
        try:
            await leader.acquire()
        except ConfigError as e:  # e.g. RBAC refuses the Lease: stop, do not wait forever
            raise kopf.PermanentError(str(e)) from e

        async def stop_workers() -> None:
            ctx = getattr(memo, "mge", None)
            if ctx is not None:
                await ctx.workers.stop_all()

        memo.leader = leader
        leader.keep(on_lost=stop_workers)  # renewing from now on, also while the store opens
    store = await Store.open(SETTINGS.resolved_database_url())
    stages = StageRunner(store, SETTINGS, kube=kube)
    workers = WorkerRegistry(runner=stages, on_change=lambda uid: nudge_soon(kube, workers, uid))
    memo.mge = Collaborators(store=store, kube=kube, workers=workers, stages=stages)


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    """Stop workers, then release the Lease (a standby takes over at once), close connections."""
    ctx = getattr(memo, "mge", None)
    if ctx is not None:
        await ctx.workers.stop_all()
    leader = getattr(memo, "leader", None)
    if leader is not None:  # also when the start-up stopped before the store was open
        await leader.release()
    if ctx is not None:
        await ctx.kube.close()
        await ctx.store.close()


def _spec(body: kopf.Body) -> ProjectSpec:
    try:
        return ProjectSpec.model_validate(dict(body.get("spec") or {}))
    except ValidationError as e:
        raise kopf.PermanentError(f"invalid spec: {e}") from e


async def _resolve_requirements(
    ctx: Collaborators, namespace: str, spec: ProjectSpec
) -> ProjectSpec:
    """``spec.requirementsFrom`` → inline requirements (the pipeline reads only those)."""
    ref = spec.requirements_from
    if ref is None:
        return spec
    cm = await ctx.kube.get("ConfigMap", namespace, ref.name)
    text = ((cm or {}).get("data") or {}).get(ref.key)
    if text is None:
        raise kopf.TemporaryError(
            f"spec.requirementsFrom: ConfigMap {ref.name!r} with key {ref.key!r} not found; "
            "create it (retrying)",
            delay=REQUIREMENTS_RETRY_SECONDS,
        )
    return spec.model_copy(update={"requirements": text, "requirements_from": None})


@kopf.on.resume(*PROJECTS)
@kopf.on.create(*PROJECTS)
@kopf.on.update(*PROJECTS)
@kopf.timer(*PROJECTS, interval=SETTINGS.operator.reconcile_interval_seconds, idle=1.0)
async def reconcile_project(body: kopf.Body, patch: kopf.Patch, memo: Any, **_: Any) -> None:
    """observe → decide → apply → status (only if changed)."""
    meta = body["metadata"]
    key = project_key(meta["namespace"], meta["name"])
    phase = str((body.get("status") or {}).get("phase") or "Pending")
    with metrics.time_reconcile("project"), log_context(project=key, phase=phase):
        try:
            await _reconcile_project(body, patch, memo, key)
        except KubeUnavailable as e:  # the client's quick retries did not do: kopf retries
            raise kopf.TemporaryError(str(e), delay=API_RETRY_SECONDS) from e
        except KubeAPIError as e:  # refused (RBAC, admission): say so, retry slowly
            raise kopf.TemporaryError(f"{e.reason}: {e}", delay=API_REFUSED_RETRY_SECONDS) from e


async def _reconcile_project(body: kopf.Body, patch: kopf.Patch, memo: Any, key: str) -> None:
    ctx = _ctx(memo)
    spec = _spec(body)
    meta = body["metadata"]
    spec = await _resolve_requirements(ctx, meta["namespace"], spec)
    raw_body: dict[str, Any] = dict(body)
    await ctx.store.upsert_project(key, spec, int(meta.get("generation") or 1))
    observed = await observe(body=raw_body, store=ctx.store, kube=ctx.kube, workers=ctx.workers)
    status = ProjectStatus.model_validate(dict(body.get("status") or {}))
    now = _now()
    plan = decide(spec, status, observed, now)
    pushes = await apply(plan.actions, body=raw_body, key=key, ctx=ctx)
    final = plan.status
    for outcome in pushes:
        final = record_push(spec, final, observed.generation, outcome, now)
        if outcome.ok:
            if outcome.pushed:
                kopf.event(body, type="Normal", reason="GitPushed", message=final.message)
        else:
            kopf.event(body, type="Warning", reason="GitPushFailed", message=final.message)
            log.warning("%s: %s", key, final.message)
    new = final.model_dump(mode="json", by_alias=True, exclude_none=True)
    old = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    if new != old:
        patch.status.update(gitoutput.status_patch(new))
        if plan.status.phase != status.phase:
            log.info("%s: phase %s → %s", key, status.phase, plan.status.phase)
    _PHASES[key] = plan.status.phase
    metrics.set_projects_by_phase(Counter(_PHASES.values()))
    p = plan.status.progress
    metrics.set_atoms_by_state(
        key,
        {
            "done": p.atoms_done,
            "failed": p.atoms_failed,
            "in_review": p.atoms_in_review,
            "pending": max(0, p.atoms_total - p.atoms_done - p.atoms_failed),
        },
    )


@kopf.on.delete(*PROJECTS)
async def delete_project(body: kopf.Body, memo: Any, **_: Any) -> None:
    """The finalizer's work: stop the worker, delete the store rows (children go by owner)."""
    ctx = _ctx(memo)
    meta = body["metadata"]
    key = project_key(meta["namespace"], meta["name"])
    status = ProjectStatus.model_validate(dict(body.get("status") or {}))
    plan = decide_deletion(status)
    await apply(plan.actions, body=dict(body), key=key, ctx=ctx)
    metrics.forget_project(key)
    _PHASES.pop(key, None)
    metrics.set_projects_by_phase(Counter(_PHASES.values()))


async def _write_review_status(
    ctx: Collaborators,
    meta: Any,
    key: str,
    status: AtomReviewStatus,
    patch: kopf.Patch,
) -> None:
    """Write the AtomReview's status now (not after the handler, as kopf's patch would), then
    wake the Project's reconcile: it counts decided AtomReviews from their status, so its
    message, REVIEW column and phase follow the decision at once, not at the next timer tick.
    If the write fails, kopf's patch writes the status and the timer catches up."""
    doc = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    name = meta["name"]
    try:
        await ctx.kube.patch_status("AtomReview", meta["namespace"], name, doc)
    except MGEError as e:
        log.info("%s: AtomReview %s status left to kopf's patch (%s)", key, name, e)
        patch.status.update(doc)
        return
    annotate_soon(
        ctx.kube, key, review_patch(f"{name} g{status.observed_generation} {status.state}")
    )


@kopf.on.resume(*ATOMREVIEWS)
@kopf.on.create(*ATOMREVIEWS)
@kopf.on.update(*ATOMREVIEWS, field="spec")
async def reconcile_review(body: kopf.Body, patch: kopf.Patch, memo: Any, **_: Any) -> None:
    """Act once on a reviewer's decision and record who, when, what (status and store)."""
    ctx = _ctx(memo)
    meta = body["metadata"]
    spec = AtomReviewSpec.model_validate(dict(body["spec"]))
    status = AtomReviewStatus.model_validate(dict(body.get("status") or {}))
    by = decided_by(dict(body))
    plan = decide_review(
        spec, status, generation=int(meta.get("generation") or 1), by=by, now=_now()
    )
    if plan.step == "none":
        return
    key = project_key(meta["namespace"], spec.project_ref.name)
    new = plan.status
    kind = "Normal"
    message = f"{spec.decision} by {by}"
    if plan.step != "accept" or await ctx.store.get_review_item(key, spec.atom_id) is not None:
        try:
            if ctx.stages is None:
                raise InputError("the operator has no stage runner to carry out decisions")
            result = await carry_out(ctx.store, ctx.stages, key, spec, by=by)
        except MGEError as e:
            new = settle(plan.status, accepted=False, code="", message=f"{type(e).__name__}: {e}")
        else:
            new = settle(
                plan.status,
                accepted=result.accepted,
                code=result.code or result.item.code,
                message=result.message,
            )
        message = f"{message}: {new.message}"
        kind = "Normal" if new.state == "Accepted" else "Warning"
    await _write_review_status(ctx, meta, key, new, patch)
    kopf.event(
        body, type=kind, reason=f"Decision{spec.decision.capitalize()}", message=message[:1000]
    )
