"""Carry out a Plan's actions; idempotent, so a repeated reconcile repeats nothing harmful.

``apply`` returns the outcomes of the actions whose result belongs in the status (a git push);
the handler folds them in with the pure :func:`mge.kube.decide.record_push`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mge.errors import GitPushError, InputError, MGEError
from mge.execution.gitpush import push_tree
from mge.kube import gitoutput
from mge.kube.children import LABEL_PROJECT, sandbox_network_policy
from mge.kube.client import KubeClient
from mge.kube.decide import (
    Action,
    AutoApprovePending,
    DeleteStoreRows,
    EnsureReviews,
    EnsureSandboxPolicy,
    Event,
    PushOutput,
    ResetStoredPhase,
    SaveOutput,
    StartWorker,
    StopWorker,
)
from mge.kube.nudge import annotate_soon, review_patch
from mge.kube.reviews import (
    ANNOTATION_DECIDED_BY,
    atom_review_body,
    is_decided,
    status_from_item,
)
from mge.kube.stages import StageRunner
from mge.kube.worker import WorkerRegistry
from mge.models.project import Phase
from mge.pipeline.exec_stages import output_tree, store_output
from mge.store import Store

log = logging.getLogger("mge.operator")

AUTO_APPROVER = "mge-operator (policy autoApprove)"


@dataclass
class Collaborators:
    """What the operator holds for its whole life (built in the startup hook)."""

    store: Store
    kube: KubeClient
    workers: WorkerRegistry
    stages: StageRunner | None = None
    """The PhaseRunner, also used to carry out edit / regenerate decisions."""
    applying: dict[str, asyncio.Lock] = field(default_factory=dict)
    """One lock per Project: its actions are carried out by one reconcile at a time."""


async def apply(
    actions: Sequence[Action], *, body: dict[str, Any], key: str, ctx: Collaborators
) -> list[gitoutput.PushOutcome]:
    """Run ``actions`` in order for the Project ``body`` (store key ``key``); returns the
    outcome of each push.

    One reconcile of a Project at a time: kopf runs a Project's timer beside its event handler,
    and two reconciles entering Completed at once made one push the codebase while the other
    was still learning from it — the pushed report.json lacked what was learned, and the next
    push (a restarted operator) made a second commit for the same generation."""
    async with ctx.applying.setdefault(key, asyncio.Lock()):
        return await _apply(actions, body=body, key=key, ctx=ctx)


async def _apply(
    actions: Sequence[Action], *, body: dict[str, Any], key: str, ctx: Collaborators
) -> list[gitoutput.PushOutcome]:
    import kopf  # the I/O side only; pure modules never import kopf

    meta = body["metadata"]
    target_body: Any = body
    outcomes: list[gitoutput.PushOutcome] = []
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
            started = time.monotonic()
            await store_output(ctx.store, key)
            await ctx.store.set_phase(key, Phase.COMPLETED.value)  # done: not saved again
            log.info("%s: output stored (%.1f s)", key, time.monotonic() - started)
            if ctx.stages is not None:  # complete: what passed is learned (a no-op if known)
                started = time.monotonic()
                line = await ctx.stages.learn(key)
                log.info("%s: %s (%.1f s)", key, line, time.monotonic() - started)
                if "unavailable" in line:
                    kopf.event(
                        target_body, type="Warning", reason="LearningUnavailable", message=line
                    )
        elif isinstance(action, PushOutput):
            outcomes.append(await push_output(body=body, key=key, ctx=ctx))
        elif isinstance(action, EnsureReviews):
            created = await ensure_reviews(body=body, key=key, ctx=ctx)
            if created:  # status counted none of them: reconcile again now, not at the timer
                generation = int(meta.get("generation") or 1)
                annotate_soon(ctx.kube, key, review_patch(f"g{generation} {created} created"))
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
    return outcomes


async def push_output(
    *, body: dict[str, Any], key: str, ctx: Collaborators
) -> gitoutput.PushOutcome:
    """Push the stored codebase to ``spec.output.git`` (the spec as the store has it).

    Every failure becomes an outcome with a reason (never an exception): the reconcile records
    it in the status and retries with backoff. Credentials come from the Secret named by
    ``secretRef`` in the Project's namespace and are handed to git only (gitpush.py).
    """
    meta = body["metadata"]
    try:
        stored = await ctx.store.get_project(key)
        if stored is None or stored.spec.output.git is None:
            raise InputError(f"project {key} has no spec.output.git in the store")
        spec = stored.spec
        git = stored.spec.output.git
        creds = None
        if git.secret_ref is not None:
            data = await ctx.kube.secret_data(meta["namespace"], git.secret_ref.name)
            if data is None:
                raise GitPushError(
                    f"spec.output.git.secretRef: Secret {git.secret_ref.name!r} not found in "
                    f"namespace {meta['namespace']!r}",
                    reason="GitCredentialsMissing",
                )
            creds = gitoutput.credentials(data, git.secret_ref.key)
            if creds is None:
                raise GitPushError(
                    f"spec.output.git.secretRef: Secret {git.secret_ref.name!r} in namespace "
                    f"{meta['namespace']!r} has no key password or token (or "
                    f"{git.secret_ref.key!r}); create it, e.g. kubectl create secret generic "
                    f"{git.secret_ref.name} --from-literal=username=USER "
                    "--from-literal=password=TOKEN",
                    reason="GitCredentialsMissing",
                )
        files = await output_tree(ctx.store, key, spec)
        generation = int(meta.get("generation") or 1)
        result = await push_tree(
            files,
            repository=git.repository,
            branch=git.branch,
            message=gitoutput.commit_message(key, generation, len(files)),
            identity=gitoutput.identity(meta),
            credentials=creds,
        )
    except MGEError as e:
        reason = str(getattr(e, "reason", "") or gitoutput.REASON_PUSH_FAILED)
        return gitoutput.PushOutcome(error=f"{reason}: {e}", reason=reason)
    return gitoutput.PushOutcome(commit=result.commit, pushed=result.pushed)


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
