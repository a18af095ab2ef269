"""Long work off the reconcile handler: one asyncio task per Project uid and generation.

The reconcile handler never waits for an LLM call or a Job. ``decide`` plans ``StartWorker``;
apply.py asks this registry to start the task, which advances the pipeline phase by phase through
a :class:`PhaseRunner` (the pipeline's stage functions, checkpointed in the store) and records
what it is doing here for the next reconcile to observe. A killed operator loses only this
in-memory registry: the next reconcile starts a worker again, which resumes from the store.

Kubernetes API failures: a transient one that outlasted the client's quick retries
(:class:`~mge.errors.KubeUnavailable`) re-runs the phase after a pause (2 s doubling to 60 s,
without end: phases are idempotent, so a re-run repeats no finished Job and no LLM call); the
worker stays ``running`` and says why in its error. A permanent one
(:class:`~mge.errors.KubeAPIError`: 403, 422, …) fails the worker with the API's reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from mge.errors import BudgetExceeded, KubeAPIError, KubeUnavailable, MGEError, NotAvailableYet
from mge.execution.budget import BudgetLimit
from mge.kube.decide import WorkerState
from mge.models.project import Phase
from mge.pipeline.phases import TERMINAL

log = logging.getLogger("mge.operator.worker")

RETRY_BASE_SECONDS = 2.0
"""Pause before re-running a phase after a transient API failure (seconds); doubles."""
RETRY_MAX_SECONDS = 60.0
"""Longest pause between two re-runs of a phase (seconds)."""


def retry_pause(
    failures: int, base: float = RETRY_BASE_SECONDS, cap: float = RETRY_MAX_SECONDS
) -> float:
    """Seconds to wait after ``failures`` consecutive transient failures (1-based). Pure."""
    return min(base * 2.0 ** max(0, failures - 1), cap)


class PhaseRunner(Protocol):
    """Runs one phase for a Project from its store checkpoint; returns the phase reached."""

    async def __call__(self, key: str, generation: int, phase: Phase) -> Phase:
        """Advance from ``phase``; idempotent (a finished phase is read back, not redone)."""
        ...


@dataclass
class WorkerInfo:
    """What one worker is doing."""

    generation: int
    key: str = ""
    """The Project's store key (``namespace/name``)."""
    state: WorkerState = "running"
    phase: Phase = Phase.PENDING
    error: str = ""
    reason: str = ""
    """CamelCase reason of the error (e.g. ``KubernetesForbidden``); empty for a plain failure."""
    budget_limit: tuple[BudgetLimit, float] | None = None
    """With state ``budget``: which limit stopped the run and its value then."""
    task: asyncio.Task[None] | None = None


@dataclass
class WorkerRegistry:
    """Workers by Project uid (one per uid; a newer generation replaces an older one)."""

    runner: PhaseRunner
    on_change: Callable[[str], None] | None = None
    """Called with the uid whenever a worker's state or phase changes (to nudge a reconcile)."""
    retry_base: float = RETRY_BASE_SECONDS
    """First pause (seconds) before re-running a phase after a transient API failure."""
    retry_max: float = RETRY_MAX_SECONDS
    """Longest such pause (seconds)."""
    workers: dict[str, WorkerInfo] = field(default_factory=dict)
    closed: bool = False
    """Set by :meth:`stop_all`: no worker starts any more (shutdown, or the Lease was lost)."""

    def state(self, uid: str, generation: int) -> WorkerInfo | None:
        """The worker for ``uid`` at ``generation``; None if there is none for it."""
        info = self.workers.get(uid)
        return info if info is not None and info.generation == generation else None

    def start(self, uid: str, key: str, generation: int, phase: Phase) -> None:
        """Start a worker unless one is running for this generation (or the registry closed)."""
        if self.closed:
            return
        info = self.workers.get(uid)
        if info is not None and info.generation == generation and info.state == "running":
            return
        self.stop(uid)
        info = WorkerInfo(generation=generation, key=key, phase=phase)
        self.workers[uid] = info
        info.task = asyncio.create_task(self._run(uid, key, info), name=f"mge-worker-{key}")
        log.info("worker started: %s generation %d from %s", key, generation, phase.value)

    def stop(self, uid: str) -> None:
        """Cancel the worker for ``uid`` (if any)."""
        info = self.workers.pop(uid, None)
        if info is not None and info.task is not None and not info.task.done():
            info.task.cancel()

    async def stop_all(self) -> None:
        """Cancel every worker and wait for them; start no more (shutdown, lost Lease)."""
        self.closed = True
        tasks = [i.task for i in self.workers.values() if i.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.workers.clear()
        log.info("workers stopped: %d", len(tasks))

    def _changed(self, uid: str) -> None:
        if self.on_change is not None:
            self.on_change(uid)

    async def _run(self, uid: str, key: str, info: WorkerInfo) -> None:
        failures = 0
        try:
            while info.phase not in TERMINAL and info.phase != Phase.REVIEWING:
                try:
                    reached = await self.runner(key, info.generation, info.phase)
                except KubeUnavailable as e:
                    failures += 1
                    pause = retry_pause(failures, self.retry_base, self.retry_max)
                    info.error = f"{e} (phase {info.phase.value} again in {pause:g} s)"
                    info.reason = e.reason
                    self._changed(uid)
                    await asyncio.sleep(pause)
                    continue
                if failures:
                    failures, info.error, info.reason = 0, "", ""
                if reached == info.phase:
                    break
                info.phase = reached
                self._changed(uid)
            info.state = "finished"
        except BudgetExceeded as e:
            info.state, info.error = "budget", str(e)
            info.budget_limit = (BudgetLimit(e.what), e.limit)
        except NotAvailableYet as e:
            info.state, info.error = "blocked", str(e)
        except KubeAPIError as e:
            info.state, info.error, info.reason = "failed", f"{type(e).__name__}: {e}", e.reason
        except MGEError as e:
            info.state, info.error = "failed", f"{type(e).__name__}: {e}"
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug: report it on the Project rather than die silently
            info.state, info.error = "failed", f"internal error: {type(e).__name__}: {e}"
        self._changed(uid)
