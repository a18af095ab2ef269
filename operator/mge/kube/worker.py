"""Long work off the reconcile handler: one asyncio task per Project uid and generation.

The reconcile handler never waits for an LLM call or a Job. ``decide`` plans ``StartWorker``;
apply.py asks this registry to start the task, which advances the pipeline phase by phase through
a :class:`PhaseRunner` (the pipeline's stage functions, checkpointed in the store) and records
what it is doing here for the next reconcile to observe. A killed operator loses only this
in-memory registry: the next reconcile starts a worker again, which resumes from the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from mge.errors import BudgetExceeded, MGEError, NotAvailableYet
from mge.kube.decide import WorkerState
from mge.pipeline.phases import TERMINAL, Phase


class PhaseRunner(Protocol):
    """Runs one phase for a Project from its store checkpoint; returns the phase reached."""

    async def __call__(self, key: str, generation: int, phase: Phase) -> Phase:
        """Advance from ``phase``; idempotent (a finished phase is read back, not redone)."""
        ...


@dataclass
class WorkerInfo:
    """What one worker is doing."""

    generation: int
    state: WorkerState = "running"
    phase: Phase = Phase.PENDING
    error: str = ""
    budget_limit: tuple[str, float] | None = None
    """With state ``budget``: which limit stopped the run and its value then."""
    task: asyncio.Task[None] | None = None


@dataclass
class WorkerRegistry:
    """Workers by Project uid (one per uid; a newer generation replaces an older one)."""

    runner: PhaseRunner
    on_change: Callable[[str], None] | None = None
    """Called with the uid whenever a worker's state or phase changes (to nudge a reconcile)."""
    workers: dict[str, WorkerInfo] = field(default_factory=dict)

    def state(self, uid: str, generation: int) -> WorkerInfo | None:
        """The worker for ``uid`` at ``generation``; None if there is none for it."""
        info = self.workers.get(uid)
        return info if info is not None and info.generation == generation else None

    def start(self, uid: str, key: str, generation: int, phase: Phase) -> None:
        """Start a worker unless one is running for this generation."""
        info = self.workers.get(uid)
        if info is not None and info.generation == generation and info.state == "running":
            return
        self.stop(uid)
        info = WorkerInfo(generation=generation, phase=phase)
        self.workers[uid] = info
        info.task = asyncio.create_task(self._run(uid, key, info), name=f"mge-worker-{key}")

    def stop(self, uid: str) -> None:
        """Cancel the worker for ``uid`` (if any)."""
        info = self.workers.pop(uid, None)
        if info is not None and info.task is not None and not info.task.done():
            info.task.cancel()

    async def stop_all(self) -> None:
        """Cancel every worker and wait for them (operator shutdown)."""
        tasks = [i.task for i in self.workers.values() if i.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.workers.clear()

    def _changed(self, uid: str) -> None:
        if self.on_change is not None:
            self.on_change(uid)

    async def _run(self, uid: str, key: str, info: WorkerInfo) -> None:
        try:
            while info.phase not in TERMINAL and info.phase != Phase.REVIEWING:
                reached = await self.runner(key, info.generation, info.phase)
                if reached == info.phase:
                    break
                info.phase = reached
                self._changed(uid)
            info.state = "finished"
        except BudgetExceeded as e:
            info.state, info.error = "budget", str(e)
            info.budget_limit = (e.what, e.limit)
        except NotAvailableYet as e:
            info.state, info.error = "blocked", str(e)
        except MGEError as e:
            info.state, info.error = "failed", f"{type(e).__name__}: {e}"
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug: report it on the Project rather than die silently
            info.state, info.error = "failed", f"internal error: {type(e).__name__}: {e}"
        self._changed(uid)
