"""Child objects of a Project, built purely: sandbox Jobs (+ their input ConfigMaps) and
AtomReviews. Names are deterministic so a retried reconcile finds what it made before.

A sandbox pod passes Pod Security "restricted": non-root, read-only root filesystem with an
emptyDir for work, all capabilities dropped, no privilege escalation, seccomp RuntimeDefault, no
service-account token, no secrets, CPU/memory limits, a deadline, no retries by the Job itself.
Results come back through the pod's log (see docs/operator.md: one JSON document, size-capped).
"""

from __future__ import annotations

import hashlib
from typing import Any

from mge.models.project import API_GROUP, API_VERSION, ExecutionSpec

LABEL_PROJECT = f"{API_GROUP}/project"
LABEL_SANDBOX = f"{API_GROUP}/sandbox"
LABEL_LEVEL = f"{API_GROUP}/level"
LABEL_BATCH = f"{API_GROUP}/batch"
LABEL_PURPOSE = f"{API_GROUP}/purpose"
ANNOTATION_GENERATION = f"{API_GROUP}/generation"

SUITE_LEVEL = "suite"
"""The level label of module / integration / system runs (they belong to no single level)."""

TTL_AFTER_FINISHED_SECONDS = 3600
"""Finished sandbox Jobs are garbage-collected after an hour (results are in the store by then)."""

JOB_SLACK_SECONDS = 60
"""Extra seconds on a Job's deadline beyond the sum of its atoms' timeouts (pod start, pytest)."""

MAX_NAME = 63


def _short(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def child_name(project: str, *parts: str) -> str:
    """A DNS-1123 label ≤63 chars, deterministic for (project, parts)."""
    base = "-".join([project, *parts]).lower()
    if len(base) <= MAX_NAME:
        return base
    digest = _short(base)
    return f"{base[: MAX_NAME - len(digest) - 1].rstrip('-')}-{digest}"


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """A controller owner reference to the Project ``owner`` (a dict body)."""
    meta = owner["metadata"]
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": owner.get("kind", "Project"),
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def batch_configmap(
    *, name: str, namespace: str, project: str, owner: dict[str, Any], batch_json: str
) -> dict[str, Any]:
    """The ConfigMap carrying a batch's code and tests (the Job's only input)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {LABEL_PROJECT: project, LABEL_PURPOSE: "sandbox-input"},
            "ownerReferences": [owner_reference(owner)],
        },
        "data": {"batch.json": batch_json},
    }


def sandbox_job(
    *,
    name: str,
    namespace: str,
    project: str,
    owner: dict[str, Any],
    level: int,
    batch: int,
    atoms: int,
    execution: ExecutionSpec,
) -> dict[str, Any]:
    """One sandboxed Job for one batch of atoms; its pod passes PSS "restricted"."""
    deadline = execution.atom_timeout_seconds * max(atoms, 1) + JOB_SLACK_SECONDS
    labels = {
        LABEL_PROJECT: project,
        LABEL_SANDBOX: "true",
        LABEL_LEVEL: str(level) if level >= 0 else SUITE_LEVEL,
        LABEL_BATCH: str(batch),
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "sandbox",
                "image": execution.sandbox_image,
                "imagePullPolicy": "IfNotPresent",
                "args": [
                    "sandbox",
                    "run",
                    "/input/batch.json",
                    "--isolation=pod",
                    "--scratch",
                    "/work",
                ],
                "env": [],
                "resources": {
                    "requests": {
                        "cpu": execution.resources.cpu,
                        "memory": execution.resources.memory,
                    },
                    "limits": {
                        "cpu": execution.resources.cpu,
                        "memory": execution.resources.memory,
                    },
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": True,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "volumeMounts": [
                    {"name": "input", "mountPath": "/input", "readOnly": True},
                    {"name": "work", "mountPath": "/work"},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
        ],
        "volumes": [
            {"name": "input", "configMap": {"name": name}},
            {"name": "work", "emptyDir": {"sizeLimit": "256Mi"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
    }
    if execution.runtime_class_name:
        pod_spec["runtimeClassName"] = execution.runtime_class_name
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline,
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_SECONDS,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def sandbox_network_policy(namespace: str) -> dict[str, Any]:
    """Deny all ingress and egress for sandbox pods in ``namespace``."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "mge-sandbox-deny-all", "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": {LABEL_SANDBOX: "true"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [],
        },
    }
