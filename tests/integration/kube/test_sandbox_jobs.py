"""KubeJobRunner on the real control plane: one Job per batch in a `restricted` namespace,
results read back from the pod log, failures mapped, no duplicate Job after a restart.

The harness stands in for the kubelet + container: it writes the Job's ConfigMap where the pod's
volume would put it and runs the sandbox image's real entry point (``python -m mge.cli.sandbox``
with the pod's own args) — the real code and tests of the batch, just not inside a container.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane, PodHarness
from tests.integration.kube.helpers import RESTRICTED, oom_killed, project_body, sandbox_entry_point

from mge.kube.client import KubeClient
from mge.kube.jobs import JobTarget, KubeJobRunner, Slot
from mge.models.project import ExecutionSpec
from mge.validation.runner import TestJob

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

GOOD = "def add(a, b):\n    return a + b\n"
BAD = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def job(atom: str, code: str) -> TestJob:
    return TestJob(
        id=atom,
        files={"calc.py": code, "test_calc.py": TEST},
        tests=("test_calc.py::test_add",),
        imports=("calc",),
    )


def owner(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    made: dict[str, Any] = custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body(name)
    )
    return made


def runner(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> KubeJobRunner:
    target = JobTarget(
        namespace=namespace,
        project=body["metadata"]["name"],
        owner=body,
        generation=1,
        execution=ExecutionSpec(atom_timeout_seconds=20),
    )
    return KubeJobRunner(KubeClient(api), target, poll_first=0.2, poll_max=1.0)


def test_batches_run_as_restricted_jobs_and_restart_reuses_them(
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
    start_harness: Callable[..., PodHarness],
) -> None:
    namespace = make_namespace(RESTRICTED)
    harness = start_harness(sandbox_entry_point(api), namespace)
    body = owner(custom, namespace, "calc")
    first = runner(api, namespace, body)

    async def level0(r: KubeJobRunner) -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(
                r.test_runner(Slot(0, 0, 1)).run([job("a-good", GOOD), job("a-bad", BAD)]),
                r.test_runner(Slot(0, 1, 1)).run([job("b-good", GOOD)]),
            )
        )

    b0, b1 = asyncio.run(level0(first))
    assert (b0["a-good"].passed, b0["a-bad"].passed, b1["b-good"].passed) == (True, False, True)
    assert b0["a-bad"].failed_tests == ("test_calc.py::test_add",)
    assert "assert" in b0["a-bad"].details["test_calc.py::test_add"]
    assert first.jobs_created == 2

    jobs = client.BatchV1Api(api).list_namespaced_job(
        namespace, label_selector="mge.dev/project=calc"
    )
    assert sorted(j.metadata.labels["mge.dev/batch"] for j in jobs.items) == ["0", "1"]
    pod_spec = jobs.items[0].spec.template.spec
    container = pod_spec.containers[0]
    assert pod_spec.automount_service_account_token is False
    assert container.security_context.read_only_root_filesystem is True
    assert container.security_context.capabilities.drop == ["ALL"]
    assert jobs.items[0].spec.backoff_limit == 0
    assert jobs.items[0].metadata.owner_references[0].uid == body["metadata"]["uid"]
    handled = len(harness.handled)

    # A restarted operator (new runner, new client) asks for the same batches again.
    again = runner(api, namespace, body)
    c0, c1 = asyncio.run(level0(again))
    assert again.jobs_created == 0, "a finished Job must be read, not re-run"
    assert (c0["a-good"].passed, c0["a-bad"].passed, c1["b-good"].passed) == (True, False, True)
    assert len(harness.handled) == handled
    assert len(client.BatchV1Api(api).list_namespaced_job(namespace).items) == 2


def test_oom_killed_pod_fails_every_atom_of_the_batch_with_the_reason(
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
    start_harness: Callable[..., PodHarness],
) -> None:
    namespace = make_namespace(RESTRICTED)
    start_harness(oom_killed, namespace)
    body = owner(custom, namespace, "oom")
    out = asyncio.run(
        runner(api, namespace, body)
        .test_runner(Slot(0, 0, 1))
        .run([job("x", GOOD), job("y", GOOD)])
    )
    assert {k: (v.passed, v.error.split(":")[0]) for k, v in out.items()} == {
        "x": (False, "OOMKilled"),
        "y": (False, "OOMKilled"),
    }


def test_garbage_log_becomes_no_result(
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
    start_harness: Callable[..., PodHarness],
) -> None:
    namespace = make_namespace(RESTRICTED)
    start_harness(lambda pod: "Traceback: the runner crashed\n" + json.dumps({"x": 1}), namespace)
    body = owner(custom, namespace, "garbage")
    out = asyncio.run(runner(api, namespace, body).test_runner(Slot(2, 0, 1)).run([job("x", GOOD)]))
    assert not out["x"].passed and out["x"].error.startswith("NoResult")
