"""Nudging the reconcile when a Project's worker moves on or one of its AtomReviews changes.

The reconcile runs on create/update/resume and on a timer (``MGE_RECONCILE_INTERVAL``, 30 s by
default). A worker that moves to the next phase, or stops, would otherwise wait for the timer
before status shows it. :func:`nudge_soon` (the :class:`~mge.kube.worker.WorkerRegistry`'s
``on_change``) sets an annotation on the Project; kopf sees the change and runs the update
handler at once. AtomReviews do the same through :func:`annotate_soon` with
:func:`review_patch`: a reviewer's decision (once its AtomReview's status is written) and the
creation of a Project's AtomReviews show in the Project's status (message, REVIEW column, phase
``Completed``) at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mge.errors import MGEError
from mge.kube.client import KubeClient
from mge.kube.worker import WorkerInfo, WorkerRegistry
from mge.models.project import API_GROUP

log = logging.getLogger("mge.operator")

WORKER_ANNOTATION = f"worker.{API_GROUP}/state"
"""Annotation the operator sets on a Project when its worker moves on (phase, state): the
change wakes the update handler, so status follows the worker at once instead of at the next
timer tick (``MGE_RECONCILE_INTERVAL``). Not under ``mge.dev/``: kopf keeps its own marks there
and leaves every ``mge.dev/`` annotation out of the diff that triggers update handlers."""

REVIEW_ANNOTATION = f"review.{API_GROUP}/last"
"""Annotation the operator sets on a Project when one of its AtomReviews changed in a way its
status counts (created; decided and settled): ``<review> g<generation> <state>`` or
``g<generation> <n> created``. Outside ``mge.dev/`` for the same reason as
:data:`WORKER_ANNOTATION`."""

_NUDGES: set[asyncio.Task[None]] = set()


def nudge_patch(info: WorkerInfo) -> dict[str, Any]:
    """The metadata patch that tells the Project's reconcile the worker moved on (pure)."""
    value = f"g{info.generation} {info.phase.value} {info.state}"
    return {"metadata": {"annotations": {WORKER_ANNOTATION: value}}}


def review_patch(value: str) -> dict[str, Any]:
    """The metadata patch that tells a Project's reconcile one of its AtomReviews changed
    (pure); ``value`` must differ from the last one for kopf to see a change."""
    return {"metadata": {"annotations": {REVIEW_ANNOTATION: value}}}


def nudge_soon(kube: KubeClient, workers: WorkerRegistry, uid: str) -> None:
    """Annotate the Project of worker ``uid`` in the background (the registry's on_change)."""
    info = workers.workers.get(uid)
    if info is None or not info.key:
        return
    annotate_soon(kube, info.key, nudge_patch(info))


def annotate_soon(kube: KubeClient, key: str, patch: dict[str, Any]) -> None:
    """Patch the Project ``key`` (``namespace/name``) in the background; a failure is logged."""
    task = asyncio.get_running_loop().create_task(_nudge(kube, key, patch))
    _NUDGES.add(task)
    task.add_done_callback(_NUDGES.discard)


async def _nudge(kube: KubeClient, key: str, patch: dict[str, Any]) -> None:
    namespace, _, name = key.partition("/")
    try:
        await kube.patch("Project", namespace, name, patch)
    except MGEError as e:  # a lost nudge only delays status until the next timer tick
        log.info("%s: could not annotate the Project to wake its reconcile (%s)", key, e)
