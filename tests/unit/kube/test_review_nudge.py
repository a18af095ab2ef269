"""Creating a Project's AtomReviews wakes its reconcile (the status has not counted them)."""

from __future__ import annotations

import asyncio
from typing import Any

from mge.kube.apply import Collaborators, apply
from mge.kube.decide import EnsureReviews
from mge.kube.nudge import REVIEW_ANNOTATION
from mge.models.review import ConfidenceParts, ReviewItem

BODY = {"metadata": {"namespace": "ns", "name": "p", "uid": "u1", "generation": 2}}


class Queue:
    """The store's review queue: two items."""

    async def list_review_items(self, key: str) -> list[ReviewItem]:
        parts = ConfidenceParts(validation=0.1, attempts=0.1, complexity=0.1, integration=0.1)
        return [
            ReviewItem(atom_id=a, reason="low_confidence", code="x = 1", confidence=parts)
            for a in ("a1", "a2")
        ]


class Kube:
    """Records what the operator writes; every AtomReview is new the first time."""

    def __init__(self) -> None:
        self.made: set[str] = set()
        self.patches: list[tuple[str, str, dict[str, Any]]] = []

    async def create_or_get(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        name = body["metadata"]["name"]
        created = name not in self.made
        self.made.add(name)
        return {**body, "status": {} if created else {"state": "Pending"}}, created

    async def patch_status(self, kind: str, ns: str, name: str, status: Any) -> dict[str, Any]:
        return {}

    async def patch(self, kind: str, ns: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.patches.append((kind, name, patch))
        return {}


async def test_new_atom_reviews_annotate_the_project_once() -> None:
    kube = Kube()
    ctx = Collaborators(store=Queue(), kube=kube, workers=None)  # type: ignore[arg-type]
    await apply([EnsureReviews()], body=BODY, key="ns/p", ctx=ctx)
    await apply([EnsureReviews()], body=BODY, key="ns/p", ctx=ctx)  # nothing new: no nudge
    await asyncio.sleep(0.05)  # the nudge runs in the background
    assert kube.patches == [
        ("Project", "p", {"metadata": {"annotations": {REVIEW_ANNOTATION: "g2 2 created"}}})
    ]
    assert not REVIEW_ANNOTATION.startswith("mge.dev/")  # kopf's prefix wakes no handler
