"""The review queue in the store becomes AtomReview objects (real store, real API server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import kubectl, project_body

from mge.kube.apply import Collaborators, ensure_reviews
from mge.kube.client import KubeClient
from mge.kube.stages import StageRunner
from mge.kube.worker import WorkerRegistry
from mge.models.atoms import AtomicUnit
from mge.models.project import ProjectSpec
from mge.models.review import ConfidenceParts, ReviewItem
from mge.store import Store

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]


async def test_review_queue_becomes_atom_reviews_once(
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
    tmp_path: Path,
) -> None:
    namespace = make_namespace()
    body = custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body("shop")
    )
    key = f"{namespace}/shop"
    store = await Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        await store.upsert_project(key, ProjectSpec(requirements="x"), 1)
        units = [
            AtomicUnit(
                id=atom,
                file="shop.py",
                language="python",
                kind="function",
                qualname=atom,
                signature=f"def {atom}()",
                estimated_loc=3,
                complexity=1,
            )
            for atom in ("Cart.add_item", "price_of")
        ]
        await store.save_atoms(key, units)
        for atom, score in (("Cart.add_item", 0.2), ("price_of", 0.9)):
            parts = ConfidenceParts(
                validation=score, attempts=score, complexity=score, integration=score
            )
            await store.upsert_review_item(
                key,
                ReviewItem(
                    atom_id=atom, reason="low_confidence", code="def f(): ...", confidence=parts
                ),
            )
        ctx = Collaborators(
            store=store,
            kube=KubeClient(api),
            workers=WorkerRegistry(runner=StageRunner(store)),
        )
        assert await ensure_reviews(body=body, key=key, ctx=ctx) == 2
        assert await ensure_reviews(body=body, key=key, ctx=ctx) == 0  # a repeated reconcile
    finally:
        await store.close()

    reviews = custom.list_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "atomreviews", label_selector="mge.dev/project=shop"
    )["items"]
    by_atom = {r["spec"]["atomId"]: r for r in reviews}
    assert set(by_atom) == {"Cart.add_item", "price_of"}
    cart = by_atom["Cart.add_item"]
    assert cart["metadata"]["name"].startswith("shop-cart-add-item")
    assert cart["metadata"]["ownerReferences"][0]["uid"] == body["metadata"]["uid"]
    assert cart["status"]["confidence"]["score"] == "0.20"
    assert cart["status"]["code"] == "def f(): ..."
    assert cart["status"]["state"] == "Pending"
    table = kubectl(
        control_plane.kubeconfig, "-n", namespace, "get", "atomreviews", "-o", "wide"
    ).stdout
    assert "0.20" in table and "0.90" in table
