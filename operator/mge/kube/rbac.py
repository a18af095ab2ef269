"""The operator's least-privilege RBAC rules, as data (one source for tests and the Helm chart).

``OPERATOR_CLUSTER_RULES`` are what the operator needs cluster-wide when it watches all
namespaces (a ClusterRole); with ``--namespace`` the same rules go into a namespaced Role,
except the CRD and namespace reads that only kopf's start-up scanning uses.
:func:`lease_rules` are the leader election's, in the operator's own namespace.
``REVIEWER_RULES`` are what a person needs to approve reviews.
"""

from __future__ import annotations

from typing import Any

from mge.models.project import API_GROUP

Rule = dict[str, list[str]]

OPERATOR_RULES: list[Rule] = [
    {
        "apiGroups": [API_GROUP],
        "resources": ["projects", "atomreviews"],
        "verbs": ["get", "list", "watch", "patch", "update", "create"],
    },
    {
        "apiGroups": [API_GROUP],
        "resources": ["projects/status", "atomreviews/status"],
        "verbs": ["get", "patch", "update"],
    },
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create"]},
    # spec.llm.secretRef: the operator reads the LLM key; it never passes it to a sandbox pod
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["networkpolicies"],
        "verbs": ["get", "create"],
    },
]
"""Namespaced needs: own CRs (+status), sandbox Jobs, their input ConfigMaps, pod logs, Events."""

CLUSTER_DISCOVERY_RULES: list[Rule] = [
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
]
"""kopf scans CRDs and namespaces at start-up (cluster-scoped, read-only)."""

OPERATOR_CLUSTER_RULES: list[Rule] = OPERATOR_RULES + CLUSTER_DISCOVERY_RULES


def lease_rules(name: str) -> list[Rule]:
    """Leader election on the Lease ``name`` in the operator's own namespace (a Role there):
    get and update only that Lease; create cannot be limited to a name (the API checks
    resourceNames after the object exists), so it is a rule of its own."""
    group = ["coordination.k8s.io"]
    return [
        {"apiGroups": group, "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": group,
            "resources": ["leases"],
            "resourceNames": [name],
            "verbs": ["get", "update"],
        },
    ]


REVIEWER_RULES: list[Rule] = [
    {
        "apiGroups": [API_GROUP],
        "resources": ["atomreviews"],
        "verbs": ["get", "list", "watch", "patch"],
    },
    {"apiGroups": [API_GROUP], "resources": ["projects"], "verbs": ["get", "list", "watch"]},
]

VIEWER_RULES: list[Rule] = [
    {
        "apiGroups": [API_GROUP],
        "resources": ["projects", "atomreviews"],
        "verbs": ["get", "list", "watch"],
    },
]


def cluster_role(name: str, rules: list[Rule]) -> dict[str, Any]:
    """A ClusterRole manifest with ``rules`` (what the chart renders)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }
