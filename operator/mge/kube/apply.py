"""Carry out a Plan's actions; idempotent, so a repeated reconcile repeats nothing harmful."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mge.kube.children import LABEL_PROJECT
from mge.kube.client import KubeClient
from mge.kube.decide import (
    Action,
    AutoApprovePending,
    DeleteStoreRows,
    Event,
    ResetStoredPhase,
    StartWorker,
    StopWorker,
)
from mge.kube.reviews import ANNOTATION_DECIDED_BY, is_decided
from mge.kube.worker import WorkerRegistry
from mge.pipeline.phases import Phase
from mge.store import Store

AUTO_APPROVER = "mge-operator (policy autoApprove)"


@dataclass
class Collaborators:
    """What the operator holds for its whole life (built in the startup hook)."""

    store: Store
    kube: KubeClient
    workers: WorkerRegistry


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
