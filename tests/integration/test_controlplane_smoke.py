"""Smoke tests of the test control plane: each behaviour checked against the real API server.

Real: kube-apiserver (admission incl. Pod Security, RBAC, CRD validation with CEL), the Job and
garbage-collector controllers, the scheduler. Stand-in: kwok moves pods through their phases on
its fake node; the pod harness produces the sandbox pods' logs and exit codes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from tests.integration.controlplane import (
    NODE_NAME,
    SANDBOX_LABEL,
    ControlPlane,
    PodHarness,
    PodRunner,
    RunOutcome,
)
from tests.integration.controlplane.processes import wait_until

pytestmark = pytest.mark.kube

WAIT_SECONDS = 60.0
"""Upper bound for any controller to react; typical reactions take well under a second."""

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}

StartHarness = Callable[[PodRunner, str], PodHarness]


def _api_error(call: Callable[[], Any]) -> client.ApiException:
    with pytest.raises(client.ApiException) as caught:
        call()
    return caught.value


def _message(error: client.ApiException) -> str:
    body = json.loads(error.body or "{}")
    return str(body.get("message", ""))


def _container(
    name: str = "main", security_context: dict[str, Any] | None = None
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": name, "image": "registry.invalid/mge/sandbox:test"}
    if security_context is not None:
        container["securityContext"] = security_context
    return container


RESTRICTED_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 65534,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _pod(name: str, security_context: dict[str, Any]) -> client.V1Pod:
    return client.V1Pod.model_validate(
        {
            "metadata": {"name": name},
            "spec": {"containers": [_container(security_context=security_context)]},
        }
    )


def _job(
    name: str, sandbox: bool = False, annotations: dict[str, str] | None = None
) -> client.V1Job:
    labels = {SANDBOX_LABEL: "true"} if sandbox else {}
    return client.V1Job.model_validate(
        {
            "metadata": {"name": name},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": labels, "annotations": annotations or {}},
                    "spec": {"restartPolicy": "Never", "containers": [_container()]},
                },
            },
        }
    )


def _job_condition(batch: client.BatchV1Api, namespace: str, name: str) -> str | None:
    """The type of the Job's first terminal condition that is True, if any."""
    status = batch.read_namespaced_job_status(name, namespace).status
    for condition in (status.conditions if status else None) or []:
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return str(condition.type)
    return None


def _wait_for_job(batch: client.BatchV1Api, namespace: str, name: str) -> str:
    outcome: list[str] = []

    def finished() -> bool:
        condition = _job_condition(batch, namespace, name)
        if condition:
            outcome.append(condition)
        return condition is not None

    wait_until(f"Job {namespace}/{name} to finish", finished, WAIT_SECONDS)
    return outcome[-1]


def _job_pods(core: client.CoreV1Api, namespace: str, job: str) -> list[client.V1Pod]:
    pods: list[client.V1Pod] = core.list_namespaced_pod(
        namespace, label_selector=f"batch.kubernetes.io/job-name={job}"
    ).items
    return pods


# --------------------------------------------------------------------------- Pod Security


def test_restricted_namespace_refuses_privileged_pod_and_admits_compliant_one(
    api: client.ApiClient, make_namespace: Callable[..., str]
) -> None:
    namespace = make_namespace(labels=RESTRICTED)
    core = client.CoreV1Api(api)

    privileged = _pod("privileged", {"privileged": True})
    error = _api_error(lambda: core.create_namespaced_pod(namespace, privileged))
    assert error.status == 403
    message = _message(error)
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "privileged" in message

    compliant = core.create_namespaced_pod(
        namespace, _pod("compliant", RESTRICTED_SECURITY_CONTEXT)
    )
    assert compliant.metadata is not None and compliant.metadata.uid

    def running_on_kwok_node() -> bool:
        pod = core.read_namespaced_pod("compliant", namespace)
        return bool(
            pod.spec
            and pod.spec.node_name == NODE_NAME
            and pod.status
            and pod.status.phase == "Running"
        )

    wait_until("compliant pod Running on the kwok node", running_on_kwok_node, WAIT_SECONDS)


# --------------------------------------------------------------------------- Jobs and GC


def test_job_runs_to_completion_and_its_pod_is_garbage_collected(
    api: client.ApiClient, namespace: str
) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(namespace, _job("plain"))

    assert _wait_for_job(batch, namespace, "plain") == "Complete"
    pods = _job_pods(core, namespace, "plain")
    assert len(pods) == 1
    pod = pods[0]
    assert pod.spec is not None and pod.spec.node_name == NODE_NAME  # bound by the scheduler
    assert pod.status is not None and pod.status.phase == "Succeeded"
    assert pod.metadata is not None and pod.metadata.owner_references
    assert pod.metadata.owner_references[0].kind == "Job"

    batch.delete_namespaced_job("plain", namespace, propagation_policy="Background")
    wait_until(
        "garbage collector to delete the Job's pod",
        lambda: not _job_pods(core, namespace, "plain"),
        WAIT_SECONDS,
    )


# --------------------------------------------------------------------------- harness


def _runner(pod: client.V1Pod) -> RunOutcome | str:
    """A trivial sandbox: succeeds with a greeting, or fails as asked by an annotation."""
    assert pod.metadata is not None
    annotations = pod.metadata.annotations or {}
    if annotations.get("test.mge.dev/fail") == "oom":
        return RunOutcome(
            log="allocating...\nkilled",
            exit_code=137,
            reason="OOMKilled",
            message="memory limit exceeded",
        )
    return f"hello from {pod.metadata.name}\nsecond line"


async def _async_runner(pod: client.V1Pod) -> str:
    """The same sandbox as an async callable (the harness awaits it)."""
    await asyncio.sleep(0.1)
    result = _runner(pod)
    assert isinstance(result, str)
    return result


def test_pod_log_through_api_server_is_what_the_harness_produced(
    api: client.ApiClient, namespace: str, start_harness: StartHarness
) -> None:
    harness = start_harness(_async_runner, namespace)
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(namespace, _job("sandboxed", sandbox=True))

    assert _wait_for_job(batch, namespace, "sandboxed") == "Complete"
    (pod,) = _job_pods(core, namespace, "sandboxed")
    assert pod.metadata is not None and pod.metadata.name
    log = core.read_namespaced_pod_log(pod.metadata.name, namespace, container="main")
    assert log == f"hello from {pod.metadata.name}\nsecond line\n"
    assert [h.name for h in harness.handled] == [pod.metadata.name]


def test_sandbox_pod_keeps_running_until_the_harness_has_run_it(
    api: client.ApiClient, namespace: str
) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(namespace, _job("unattended", sandbox=True))

    def running() -> bool:
        pods = _job_pods(core, namespace, "unattended")
        return len(pods) == 1 and pods[0].status is not None and pods[0].status.phase == "Running"

    wait_until("sandbox pod Running", running, WAIT_SECONDS)
    time.sleep(3)  # the plain pod-complete Stage would have finished it by now
    assert running()
    assert _job_condition(batch, namespace, "unattended") is None


def test_harness_failure_shows_reason_and_fails_the_job(
    api: client.ApiClient, namespace: str, start_harness: StartHarness
) -> None:
    start_harness(_runner, namespace)
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(
        namespace, _job("oom", sandbox=True, annotations={"test.mge.dev/fail": "oom"})
    )

    assert _wait_for_job(batch, namespace, "oom") == "Failed"
    (pod,) = _job_pods(core, namespace, "oom")
    assert pod.status is not None and pod.status.phase == "Failed"
    (status,) = pod.status.container_statuses or []
    assert status.state is not None and status.state.terminated is not None
    assert status.state.terminated.exit_code == 137
    assert status.state.terminated.reason == "OOMKilled"
    assert status.state.terminated.message == "memory limit exceeded"
    assert pod.metadata is not None and pod.metadata.name
    log = core.read_namespaced_pod_log(pod.metadata.name, namespace)
    assert log == "allocating...\nkilled\n"


# --------------------------------------------------------------------------- RBAC


def _config_map(name: str) -> client.V1ConfigMap:
    return client.V1ConfigMap.model_validate({"metadata": {"name": name}, "data": {"k": "v"}})


def test_user_without_permissions_is_forbidden(control_plane: ControlPlane, namespace: str) -> None:
    kubeconfig = control_plane.kubeconfig_for_user("nobody", groups=("mge-testers",))
    with control_plane.connect(kubeconfig) as as_nobody:
        core = client.CoreV1Api(as_nobody)
        error = _api_error(lambda: core.create_namespaced_config_map(namespace, _config_map("x")))
    assert error.status == 403
    assert 'User "nobody" cannot create resource "configmaps"' in _message(error)


def test_service_account_token_works_for_its_namespaced_role_only(
    control_plane: ControlPlane, make_namespace: Callable[..., str]
) -> None:
    home, elsewhere = make_namespace(), make_namespace()
    kubeconfig = control_plane.kubeconfig_for_service_account(
        home,
        "writer",
        [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "get"]}],
    )
    with control_plane.connect(kubeconfig) as as_writer:
        core = client.CoreV1Api(as_writer)
        created = core.create_namespaced_config_map(home, _config_map("allowed"))
        assert created.metadata is not None and created.metadata.name == "allowed"
        error = _api_error(
            lambda: core.create_namespaced_config_map(elsewhere, _config_map("denied"))
        )
    assert error.status == 403
    assert f"system:serviceaccount:{home}:writer" in _message(error)


# --------------------------------------------------------------------------- CRD + CEL

WIDGET_GROUP = "smoke.test.mge.dev"
CEL_MESSAGE = "replicas must not exceed maxReplicas"


def _widget_crd() -> client.V1CustomResourceDefinition:
    return client.V1CustomResourceDefinition.model_validate(
        {
            "metadata": {"name": f"widgets.{WIDGET_GROUP}"},
            "spec": {
                "group": WIDGET_GROUP,
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {
                                        "type": "object",
                                        "required": ["replicas", "maxReplicas"],
                                        "properties": {
                                            "replicas": {"type": "integer", "minimum": 0},
                                            "maxReplicas": {"type": "integer", "minimum": 1},
                                        },
                                        "x-kubernetes-validations": [
                                            {
                                                "rule": "self.replicas <= self.maxReplicas",
                                                "message": CEL_MESSAGE,
                                            },
                                        ],
                                    }
                                },
                            }
                        },
                    }
                ],
            },
        }
    )


def test_crd_cel_rule_refuses_invalid_object_with_its_message(
    api: client.ApiClient, namespace: str
) -> None:
    extensions = client.ApiextensionsV1Api(api)
    custom = client.CustomObjectsApi(api)
    crd = _widget_crd()
    extensions.create_custom_resource_definition(crd)
    try:

        def established() -> bool:
            status = extensions.read_custom_resource_definition(f"widgets.{WIDGET_GROUP}").status
            return any(
                c.type == "Established" and c.status == "True"
                for c in (status.conditions if status else None) or []
            )

        wait_until("Widget CRD Established", established, WAIT_SECONDS)

        def widget(name: str, replicas: int, max_replicas: int) -> dict[str, Any]:
            return {
                "apiVersion": f"{WIDGET_GROUP}/v1",
                "kind": "Widget",
                "metadata": {"name": name},
                "spec": {"replicas": replicas, "maxReplicas": max_replicas},
            }

        custom.create_namespaced_custom_object(
            WIDGET_GROUP, "v1", namespace, "widgets", widget("ok", 1, 2)
        )
        error = _api_error(
            lambda: custom.create_namespaced_custom_object(
                WIDGET_GROUP, "v1", namespace, "widgets", widget("too-many", 3, 2)
            )
        )
        assert error.status == 422
        assert CEL_MESSAGE in _message(error)
    finally:
        extensions.delete_custom_resource_definition(f"widgets.{WIDGET_GROUP}")
