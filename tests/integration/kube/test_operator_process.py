"""`mge operator run` as a subprocess under the least-privilege ServiceAccount (rbac.py):
finalizer, status and kstatus conditions, Events, AtomReview decisions by `kubectl patch`,
deletion through the finalizer. (The whole pipeline: test_operator_pipeline.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import Operators, kubectl, project_body, wait_for

from mge.kube.rbac import REVIEWER_RULES

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]
G, V = "mge.dev", "v1alpha1"


def get(custom: client.CustomObjectsApi, ns: str, plural: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = custom.get_namespaced_custom_object(G, V, ns, plural, name)
    return obj


def test_operator_reconciles_and_records_decisions(
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    operators: Operators,
) -> None:
    namespace, proc = operators.namespace, operators.start()
    custom.create_namespaced_custom_object(G, V, namespace, "projects", project_body("inv"))

    def reconciled() -> dict[str, Any] | None:
        assert proc.poll() is None, "the operator exited"
        p = get(custom, namespace, "projects", "inv")
        st = p.get("status") or {}
        return p if st.get("observedGeneration") == 1 and st.get("conditions") else None

    project = wait_for("the first reconcile", reconciled, timeout=60)
    assert "mge.dev/cleanup" in project["metadata"]["finalizers"]
    conditions = {c["type"]: c for c in project["status"]["conditions"]}
    assert set(conditions) == {"Ready", "Reconciling", "Stalled"}
    assert all(c["observedGeneration"] == 1 for c in conditions.values())
    assert conditions["Ready"]["status"] == "False"
    policy = client.NetworkingV1Api(api).read_namespaced_network_policy(
        "mge-sandbox-deny-all", namespace
    )
    assert policy.spec.policy_types == ["Ingress", "Egress"]
    # No recordings for the scripted provider: discovery cannot run, the Project fails, says why.
    failed = wait_for(
        "Stalled=PipelineFailed",
        lambda: next(
            (
                c
                for c in get(custom, namespace, "projects", "inv")["status"]["conditions"]
                if c["type"] == "Stalled" and c["status"] == "True"
            ),
            None,
        ),
        timeout=30,
    )
    assert failed["reason"] == "PipelineFailed", failed
    assert "record" in failed["message"].lower(), failed["message"]
    assert get(custom, namespace, "projects", "inv")["status"]["phase"] == "Failed"

    def events() -> list[str]:
        ev = client.CoreV1Api(api).list_namespaced_event(
            namespace, field_selector="involvedObject.name=inv"
        )
        return [e.reason for e in ev.items]

    assert wait_for("a Warning Event", lambda: "PipelineFailed" in events() or None, timeout=20)

    # A reviewer approves an AtomReview with kubectl patch; the operator records who and when.
    review = {
        "apiVersion": f"{G}/{V}",
        "kind": "AtomReview",
        "metadata": {"name": "inv-a1", "labels": {"mge.dev/project": "inv"}},
        "spec": {"projectRef": {"name": "inv"}, "atomId": "a1"},
    }
    custom.create_namespaced_custom_object(G, V, namespace, "atomreviews", review)
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "rev"}, "rules": REVIEWER_RULES})
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "rev"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "rev"},
            "subjects": [{"kind": "User", "name": "rev", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    reviewer = control_plane.kubeconfig_for_user("rev")
    kubectl(
        reviewer,
        "-n",
        namespace,
        "patch",
        "atomreview",
        "inv-a1",
        "--type",
        "merge",
        "-p",
        '{"spec":{"decision":"approve"}}',
    )

    def accepted() -> dict[str, Any] | None:
        st = get(custom, namespace, "atomreviews", "inv-a1").get("status") or {}
        return st if st.get("state") == "Accepted" else None

    status = wait_for("the approval to be recorded", accepted, timeout=30)
    (record,) = status["history"]
    assert (record["decision"], record["by"], record["generation"]) == (
        "approve",
        "kubectl-patch",
        2,
    )
    assert record["at"].endswith("Z")
    columns = kubectl(control_plane.kubeconfig, "-n", namespace, "get", "atomreviews").stdout
    assert columns.split("\n")[1].split()[4:6] == ["approve", "Accepted"]

    # Deletion goes through the finalizer (store rows deleted) and the object disappears.
    custom.delete_namespaced_custom_object(G, V, namespace, "projects", "inv")

    def gone() -> bool:
        try:
            get(custom, namespace, "projects", "inv")
        except client.ApiException as e:
            return e.status == 404
        return False

    wait_for("the Project to be deleted", gone, timeout=30)
