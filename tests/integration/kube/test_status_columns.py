"""`kubectl get projects` tells why a Project failed without `-o yaml` (real API server)."""

from __future__ import annotations

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import kubectl, project_body

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

WHY = "discovery: the requirements name no language"


def _condition(kind: str, status: str, reason: str, message: str) -> dict[str, object]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": 1,
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }


def test_ready_and_its_message_are_columns(
    control_plane: ControlPlane, custom: client.CustomObjectsApi, namespace: str
) -> None:
    custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body("broken")
    )
    status = {
        "phase": "Failed",
        "observedGeneration": 1,
        "message": WHY,
        "conditions": [
            _condition("Reconciling", "False", "PipelineFailed", WHY),
            _condition("Ready", "False", "PipelineFailed", WHY),
            _condition("Stalled", "True", "PipelineFailed", WHY),
        ],
    }
    custom.patch_namespaced_custom_object_status(
        "mge.dev", "v1alpha1", namespace, "projects", "broken", {"status": status}
    )
    get = ("-n", namespace, "get", "projects")

    plain = kubectl(control_plane.kubeconfig, *get).stdout.splitlines()
    header = plain[0].split()
    assert header[:3] == ["NAME", "PHASE", "READY"] and "MESSAGE" not in header
    assert plain[1].split()[:3] == ["broken", "Failed", "False"]

    wide = kubectl(control_plane.kubeconfig, *get, "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-1] == "MESSAGE"
    assert wide[1].rstrip().endswith(WHY), wide[1]
