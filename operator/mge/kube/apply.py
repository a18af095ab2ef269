"""Carry out a Plan's actions; idempotent, so a repeated reconcile repeats nothing harmful."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mge.kube.children import LABEL_PROJECT, sandbox_network_policy
from mge.kube.client import KubeClient
from mge.kube.decide import (
    Action,
    AutoApprovePending,
    DeleteStoreRows,
    EnsureReviews,
    EnsureSandboxPolicy,
    Event,
    ResetStoredPhase,
    SaveOutput,
    StartWorker,
    StopWorker,
)
from mge.kube.reviews import (
    ANNOTATION_DECIDED_BY,
    atom_review_body,
    is_decided,
    status_from_item,
)
from mge.kube.stages import StageRunner
from mge.kube.worker import WorkerRegistry
from mge.pipeline.cluster import store_output
from mge.pipeline.phases import Phase
from mge.store import Store

AUTO_APPROVER = "mge-operator (policy autoApprove)"


@dataclass
class Collaborators:
    """What the operator holds for its whole life (built in the startup hook)."""

    store: Store
    kube: KubeClient
    workers: WorkerRegistry
    stages: StageRunner | None = None
    """The PhaseRunner, also used to carry out edit / regenerate decisions."""


async def apply(
    actions: Sequence[Action], *, body: dict[str, Any], key: str, ctx: Collaborators
) -> None:
    """Run ``actions`` in order for the Project ``body`` (store key ``key``)."""
    import kopf  # the I/O side only; pure modules never import kopf

    meta = body["metadata"]
    for action in actions:
        if isinstance(action, StartWorker):
            ctx.workers.start(meta["uid"], key, action.generation, action.phase)
        elif isinstance(action, StopWorker):
            ctx.workers.stop(meta["uid"])
        elif isinstance(action, ResetStoredPhase):
            ctx.workers.stop(meta["uid"])
            await ctx.store.set_phase(key, Phase.PENDING.value)
        elif isinstance(action, DeleteStoreRows):
            await ctx.store.delete_project(key)
        elif isinstance(action, EnsureSandboxPolicy):
            await ctx.kube.create_or_get(sandbox_network_policy(meta["namespace"]))
        elif isinstance(action, SaveOutput):
            await store_output(ctx.store, key)
            await ctx.store.set_phase(key, Phase.COMPLETED.value)  # done: not saved again
        elif isinstance(action, EnsureReviews):
            await ensure_reviews(body=body, key=key, ctx=ctx)
        elif isinstance(action, AutoApprovePending):
            reviews = await ctx.kube.list(
                "AtomReview", meta["namespace"], f"{LABEL_PROJECT}={meta['name']}"
            )
            for r in reviews:
                if is_decided(r.get("status")) or r["spec"].get("decision") != "pending":
                    continue
                await ctx.kube.patch(
                    "AtomReview",
                    meta["namespace"],
                    r["metadata"]["name"],
                    {
                        "metadata": {"annotations": {ANNOTATION_DECIDED_BY: AUTO_APPROVER}},
                        "spec": {"decision": "approve"},
                    },
                )
        elif isinstance(action, Event):
            target: Any = body
            kopf.event(target, type=action.type, reason=action.reason, message=action.message)


async def ensure_reviews(*, body: dict[str, Any], key: str, ctx: Collaborators) -> int:
    """Create an AtomReview for every item of the store's review queue; returns how many were
    created. Existing ones are left as they are (AlreadyExists = carry on)."""
    meta = body["metadata"]
    created_count = 0
    for item in await ctx.store.list_review_items(key):
        review = atom_review_body(
            project=meta["name"], namespace=meta["namespace"], owner=body, atom_id=item.atom_id
        )
        obj, created = await ctx.kube.create_or_get(review)
        if created or not obj.get("status"):
            status = status_from_item(item).model_dump(mode="json", by_alias=True)
            await ctx.kube.patch_status(
                "AtomReview", meta["namespace"], obj["metadata"]["name"], status
            )
        created_count += int(created)
    return created_count
