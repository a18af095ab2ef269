"""One Project's actions are carried out by one reconcile at a time.

kopf runs a Project's timer beside its event handlers; two reconciles entering Completed at once
pushed the codebase from one while the other was still learning from it (a report.json without
what was learned, then a second commit for the same generation). The stand-in below records
when each reconcile's action runs; the real API and store are in the kube integration tests.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from mge.kube.apply import Collaborators, apply
from mge.kube.client import KubeClient
from mge.kube.decide import EnsureSandboxPolicy
from mge.kube.worker import WorkerRegistry
from mge.store import Store


class _SlowCreate:
    """create_or_get that takes a while and notes who is inside it."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0

    async def create_or_get(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        await asyncio.sleep(0.05)
        self.inside -= 1
        return body, True


def _body(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "uid": name, "generation": 1}}


def _ctx(kube: _SlowCreate) -> Collaborators:
    return Collaborators(
        store=cast(Store, None), kube=cast(KubeClient, kube), workers=cast(WorkerRegistry, None)
    )


async def test_two_reconciles_of_one_project_take_turns() -> None:
    kube = _SlowCreate()
    ctx = _ctx(kube)
    actions = [EnsureSandboxPolicy()]
    await asyncio.gather(*(apply(actions, body=_body("p"), key="ns/p", ctx=ctx) for _ in range(3)))
    assert kube.most_inside == 1


async def test_different_projects_do_not_wait_for_each_other() -> None:
    kube = _SlowCreate()
    ctx = _ctx(kube)
    actions = [EnsureSandboxPolicy()]
    await asyncio.gather(
        *(apply(actions, body=_body(n), key=f"ns/{n}", ctx=ctx) for n in ("a", "b", "c"))
    )
    assert kube.most_inside == 3
