"""A sandbox Job whose whole pod runs out of memory: the kubelet's status says ``OOMKilled``,
and the operator's KubeJobRunner reads that from the real pod status and fails every atom of
the batch as ``oom`` with that reason (no result ever reached the log)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from kubernetes import client
from tests.integration.controlplane.real_node import RealNode
from tests.integration.kube.helpers import project_body
from tests.integration.realnode.conftest import SANDBOX_IMAGE
from tests.integration.realnode.helpers import RESTRICTED, assert_on_real_node, terminated

from mge.kube.client import KubeClient
from mge.kube.jobs import JobTarget, KubeJobRunner, Slot
from mge.models.project import ExecutionSpec, ResourceSpec
from mge.models.sandbox import AtomStatus, SandboxBatch

pytestmark = [pytest.mark.kube, pytest.mark.realnode, pytest.mark.usefixtures("crds_installed")]

POD_MEMORY = "24Mi"
"""Less than the sandbox runner itself needs to start (Python + mge): the pod's own cgroup
OOM-kills its first process, whatever the atoms would have done."""


def test_a_sandbox_pod_killed_for_memory_fails_its_atoms_as_oom(
    real_node: RealNode,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
) -> None:
    namespace = make_namespace(RESTRICTED)
    body = custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body("oom")
    )
    target = JobTarget(
        namespace=namespace,
        project="oom",
        owner=body,
        generation=1,
        execution=ExecutionSpec(
            atom_timeout_seconds=60,
            sandbox_image=SANDBOX_IMAGE,
            resources=ResourceSpec(memory=POD_MEMORY),
        ),
    )
    test = "tests/test_ok.py"
    batch = SandboxBatch.model_validate(
        {
            "batchId": "pod-oom",
            "language": "python",
            "items": [
                {"atomId": atom, "files": {test: "def test_ok():\n    pass\n"}, "testFiles": [test]}
                for atom in ("first", "second")
            ],
        }
    )
    runner = KubeJobRunner(KubeClient(api), target, poll_first=0.2, poll_max=1.0)
    result = asyncio.run(runner.batch_runner(Slot(0, 0, 0))(batch))

    pods = (
        client.CoreV1Api(api)
        .list_namespaced_pod(namespace, label_selector="mge.dev/sandbox=true")
        .items
    )
    assert len(pods) == 1
    assert_on_real_node(pods[0])
    state = terminated(pods[0])
    assert (state.reason, state.exit_code) == ("OOMKilled", 137), state
    assert [o.status for o in result.outcomes] == [AtomStatus.OOM, AtomStatus.OOM], result
    assert all(o.detail.startswith("OOMKilled") for o in result.outcomes), result
