"""Helpers for the real-node lane: sandbox-shaped pods and waiting on real pod status."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from kubernetes import client
from tests.integration.controlplane.real_node import NODE_NAME, pod_problem

from mge.kube.children import sandbox_job
from mge.models.project import ExecutionSpec, ResourceSpec

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
POD_TIMEOUT_SECONDS = 180.0
"""Generous: the machine is shared and a first container start reads the image from disk."""


def sandbox_pod(
    name: str, script: str, image: str, memory: str = "256Mi", shell: str = "sh"
) -> dict[str, Any]:
    """A pod with exactly the operator's sandbox pod spec (mge.kube.children.sandbox_job),
    running ``script`` with ``shell -c`` (sh or python3) instead of the sandbox entry point,
    without a ConfigMap."""
    execution = ExecutionSpec(sandbox_image=image, resources=ResourceSpec(memory=memory))
    job = sandbox_job(
        name=name,
        namespace="unused",
        project="probe",
        owner={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "uid": "0"}},
        level=0,
        batch=0,
        atoms=1,
        execution=execution,
    )
    spec = copy.deepcopy(job["spec"]["template"]["spec"])
    spec["containers"][0]["command"] = [shell, "-c", script]
    spec["containers"][0]["args"] = []
    spec["containers"][0]["imagePullPolicy"] = "Never"
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] != "input"]
    spec["containers"][0]["volumeMounts"] = [
        m for m in spec["containers"][0]["volumeMounts"] if m["name"] != "input"
    ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def wait_pod_done(core: client.CoreV1Api, namespace: str, name: str) -> client.V1Pod:
    """The pod once Succeeded or Failed; on timeout, fail with why it is stuck (image missing,
    CNI, ContainerCreating) read from its status and events."""
    deadline = time.monotonic() + POD_TIMEOUT_SECONDS
    while True:
        pod = core.read_namespaced_pod(name, namespace)
        if pod.status and pod.status.phase in ("Succeeded", "Failed"):
            return pod
        if time.monotonic() > deadline:
            events = core.list_namespaced_event(
                namespace, field_selector=f"involvedObject.name={name}"
            ).items
            pytest.fail(pod_problem(pod, events))
        time.sleep(0.3)


def terminated(pod: client.V1Pod) -> client.V1ContainerStateTerminated:
    """The first container's terminated state (real kubelet status)."""
    state = pod.status.container_statuses[0].state
    assert state.terminated is not None, state
    return state.terminated


def assert_on_real_node(pod: client.V1Pod) -> None:
    assert pod.spec.node_name == NODE_NAME, pod.spec.node_name


def wait_waiting_reason(
    core: client.CoreV1Api, namespace: str, name: str, reason: str
) -> client.V1Pod:
    """The pod once its first container waits with ``reason`` (e.g. ErrImageNeverPull)."""
    deadline = time.monotonic() + POD_TIMEOUT_SECONDS
    while True:
        pod = core.read_namespaced_pod(name, namespace)
        statuses = (pod.status.container_statuses if pod.status else None) or []
        waiting = statuses[0].state.waiting if statuses and statuses[0].state else None
        if waiting is not None and waiting.reason == reason:
            return pod
        if time.monotonic() > deadline:
            pytest.fail(f"pod {namespace}/{name} never waited with {reason}: {pod.status}")
        time.sleep(0.3)
