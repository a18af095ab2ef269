"""examples/inventory-lib through the operator with every sandbox Job run as a real container
on the real node: L1 batches, the module/integration/system suite runs and a review
re-validation, to Completed. The operator reads each result from the real pod log through the
API server (KubeJobRunner); no harness runs in this namespace and the kwok node is cordoned."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.controlplane.real_node import NODE_NAME, RealNode
from tests.integration.kube.helpers import REPO, Operators, approve_with_kubectl, wait_for
from tests.integration.realnode.conftest import SANDBOX_IMAGE
from tests.integration.realnode.pods import PodWatch

pytestmark = [pytest.mark.kube, pytest.mark.realnode, pytest.mark.usefixtures("crds_installed")]
G, V = "mge.dev", "v1alpha1"
NAME = "inventory-lib"


def manifest() -> dict[str, Any]:
    body = yaml.safe_load((REPO / "examples" / NAME / "project.yaml").read_text())
    body["metadata"] = {"name": NAME}
    body["spec"]["llm"]["recordings"] = f"{NAME}/recordings"
    body["spec"]["output"] = {}
    execution = body["spec"].setdefault("execution", {})
    execution.update({"batchSize": 50, "atomTimeoutSeconds": 120, "sandboxImage": SANDBOX_IMAGE})
    return body


def test_inventory_lib_completes_with_every_sandbox_job_on_the_real_node(
    real_node: RealNode,
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    operators: Operators,
) -> None:
    ns = operators.namespace
    started = time.monotonic()
    with PodWatch(api, ns) as pods:
        operators.start()
        custom.create_namespaced_custom_object(G, V, ns, "projects", manifest())

        def status() -> dict[str, Any]:
            project = custom.get_namespaced_custom_object(G, V, ns, "projects", NAME)
            st: dict[str, Any] = project.get("status") or {}
            if st.get("phase") == "Failed":
                pytest.fail(f"the Project failed: {st.get('message')}")
            return st

        wait_for(
            "Reviewing",
            lambda: status().get("phase") in ("Reviewing", "Completed"),
            timeout=900,
            interval=1.0,
        )
        reviewing_at = time.monotonic() - started
        reviews = custom.list_namespaced_custom_object(
            G, V, ns, "atomreviews", label_selector=f"mge.dev/project={NAME}"
        )["items"]
        assert reviews, "no AtomReviews"
        edit, *rest = sorted(reviews, key=lambda r: r["metadata"]["name"])
        jobs_before = len(client.BatchV1Api(api).list_namespaced_job(ns).items)
        # Re-validation: an edit is run in a sandbox Job on the node before it is accepted.
        custom.patch_namespaced_custom_object(
            G,
            V,
            ns,
            "atomreviews",
            edit["metadata"]["name"],
            {"spec": {"decision": "edit", "code": edit["status"]["code"]}},
        )

        def edit_settled() -> dict[str, Any] | None:
            st: dict[str, Any] = (
                custom.get_namespaced_custom_object(
                    G, V, ns, "atomreviews", edit["metadata"]["name"]
                ).get("status")
                or {}
            )
            return st if st.get("state") in ("Accepted", "Rejected") else None

        settled = wait_for("the edit's validation", edit_settled, timeout=300)
        assert settled["state"] == "Accepted", settled
        assert len(client.BatchV1Api(api).list_namespaced_job(ns).items) > jobs_before
        approve_with_kubectl(
            control_plane.kubeconfig, ns, (review["metadata"]["name"] for review in rest)
        )
        done = wait_for(
            "Completed",
            lambda: (lambda s: s if s.get("phase") == "Completed" else None)(status()),
            timeout=300,
        )
        completed_at = time.monotonic() - started

    assert done["progress"]["atomsFailed"] == 0
    assert done["progress"]["atomsDone"] == done["progress"]["atomsTotal"] > 0
    jobs = client.BatchV1Api(api).list_namespaced_job(ns).items
    assert jobs and all(j.status.succeeded == 1 for j in jobs), [
        (j.metadata.name, j.status.conditions) for j in jobs
    ]
    levels = Counter(j.metadata.labels["mge.dev/level"] for j in jobs)
    assert "suite" in levels and len(levels) >= 3, levels
    # Every Job's pod ran as a real container on the real node and exited 0.
    by_job = {p.job: p for p in pods.pods.values()}
    assert set(by_job) == {j.metadata.name for j in jobs}
    for pod in by_job.values():
        assert pod.node == NODE_NAME, pod
        assert pod.container_id and pod.container_id.startswith("containerd://"), pod
        assert (pod.phase, pod.exit_code) == ("Succeeded", 0), pod
    runs = sorted((p.finished or 0) - p.created for p in by_job.values() if p.finished is not None)
    print(
        f"\n{len(jobs)} sandbox Jobs on {NAME} ({dict(levels)}); Reviewing after "
        f"{reviewing_at:.0f} s, Completed after {completed_at:.0f} s; pod created -> "
        f"container finished: min {runs[0]:.1f} s, median {runs[len(runs) // 2]:.1f} s, "
        f"max {runs[-1]:.1f} s"
    )
    Path(operators.logs / "jobs-summary.txt").write_text(repr(by_job))
