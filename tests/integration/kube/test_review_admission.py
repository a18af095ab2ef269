"""The chart's decided-by admission rule (review.decidedByPolicy) on the real API server.

A ValidatingAdmissionPolicy (CEL, no webhook) admits a decision on an AtomReview only when its
``mge.dev/decided-by`` annotation names the requesting user, so ``status.history[].by`` can
be trusted. The policy is rendered from the chart by helm; for this test only its binding is
narrowed to the test's namespace, so the other tests sharing the control plane are untouched.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import kubectl, wait_for

from mge.kube.rbac import REVIEWER_RULES

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "mge-operator"
POLICY_WAIT_S = 60.0


def render_policy(namespace: str) -> list[dict[str, Any]]:
    built = subprocess.run(
        ["bash", str(REPO / "hack/helm/build.sh")], capture_output=True, text=True, timeout=1800
    )
    assert built.returncode == 0, built.stderr[-2000:]
    helm = Path(built.stdout.strip().splitlines()[-1]) / "helm"
    out = subprocess.run(
        [
            str(helm),
            "template",
            "mge",
            str(CHART),
            "-n",
            "mge-system",
            "--kube-version",
            "1.34.4",
            "--set",
            "review.decidedByPolicy=true",
            "--show-only",
            "templates/review-admission.yaml",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert [d["kind"] for d in docs] == [
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ]
    suffix = f"-{namespace}"
    for d in docs:
        d["metadata"]["name"] += suffix
    docs[1]["spec"]["policyName"] += suffix
    docs[1]["spec"]["matchResources"] = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    }
    return docs


def review(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "mge.dev/v1alpha1",
        "kind": "AtomReview",
        "metadata": {"name": name},
        "spec": {"projectRef": {"name": "p"}, "atomId": name},
    }


def patch(kubeconfig: Path, namespace: str, name: str, body: dict[str, Any]) -> Any:
    return kubectl(
        kubeconfig,
        "-n",
        namespace,
        "patch",
        "atomreview",
        name,
        "--type",
        "merge",
        "-p",
        json.dumps(body),
        check=False,
    )


@pytest.fixture
def policy_namespace(
    control_plane: ControlPlane, api: client.ApiClient, make_namespace: Callable[..., str]
) -> Iterator[str]:
    namespace = make_namespace()
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role(
        namespace, {"metadata": {"name": "reviewer"}, "rules": REVIEWER_RULES}
    )
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "reviewers"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "reviewer",
            },
            "subjects": [
                {"kind": "User", "name": u, "apiGroup": "rbac.authorization.k8s.io"}
                for u in ("alice", "bob")
            ],
        },
    )
    docs = render_policy(namespace)
    manifest = yaml.safe_dump_all(docs)
    kubectl(control_plane.kubeconfig, "apply", "-f", "-", stdin=manifest)
    custom = client.CustomObjectsApi(api)
    alice = control_plane.kubeconfig_for_user("alice")
    probes = iter(range(1_000))

    def enforced() -> bool:  # the policy is live once a forged decision is refused
        # A fresh probe each time: resetting one that was admitted before the policy loaded
        # can itself be refused once it has loaded, and forging the same values again is then
        # a no-op the policy admits - the wait never ended (seen under load).
        name = f"probe-{next(probes)}"
        custom.create_namespaced_custom_object(
            "mge.dev", "v1alpha1", namespace, "atomreviews", review(name)
        )
        out = patch(
            alice,
            namespace,
            name,
            {
                "metadata": {"annotations": {"mge.dev/decided-by": "bob"}},
                "spec": {"decision": "approve"},
            },
        )
        return out.returncode != 0 and "decided-by" in out.stderr

    wait_for("the decided-by policy to be enforced", enforced, timeout=POLICY_WAIT_S, interval=1.0)
    try:
        yield namespace
    finally:
        kubectl(
            control_plane.kubeconfig,
            "delete",
            "-f",
            "-",
            "--wait=false",
            stdin=manifest,
            check=False,
        )


def test_a_decision_is_admitted_only_as_the_requesting_user(
    control_plane: ControlPlane, api: client.ApiClient, policy_namespace: str
) -> None:
    ns = policy_namespace
    custom = client.CustomObjectsApi(api)
    for name in ("r1", "r2", "r3"):
        custom.create_namespaced_custom_object(
            "mge.dev", "v1alpha1", ns, "atomreviews", review(name)
        )
    alice = control_plane.kubeconfig_for_user("alice")
    bob = control_plane.kubeconfig_for_user("bob")

    bare = patch(alice, ns, "r1", {"spec": {"decision": "approve"}})
    assert bare.returncode != 0
    assert "set to the requesting user (alice)" in bare.stderr

    forged = patch(
        alice,
        ns,
        "r1",
        {
            "metadata": {"annotations": {"mge.dev/decided-by": "bob"}},
            "spec": {"decision": "approve"},
        },
    )
    assert forged.returncode != 0
    assert 'got "bob"' in forged.stderr

    own = patch(
        alice,
        ns,
        "r1",
        {
            "metadata": {"annotations": {"mge.dev/decided-by": "alice"}},
            "spec": {"decision": "edit", "code": "def f() -> int:\n    return 1\n"},
        },
    )
    assert own.returncode == 0, own.stderr

    # bob cannot re-word alice's decision as his, nor re-decide it under her name
    relabel = patch(
        bob,
        ns,
        "r1",
        {
            "metadata": {"annotations": {"mge.dev/decided-by": "alice"}},
            "spec": {"code": "def f() -> int:\n    return 2\n"},
        },
    )
    assert relabel.returncode != 0
    steal = patch(bob, ns, "r1", {"metadata": {"annotations": {"mge.dev/decided-by": "carol"}}})
    assert steal.returncode != 0
    assert "may only be set to the requesting user (bob)" in steal.stderr
    mine = patch(
        bob,
        ns,
        "r2",
        {
            "metadata": {"annotations": {"mge.dev/decided-by": "bob"}},
            "spec": {"decision": "regenerate", "feedback": "use a set"},
        },
    )
    assert mine.returncode == 0, mine.stderr

    # a change that is not a decision (labels; pending) needs no annotation
    assert patch(alice, ns, "r3", {"metadata": {"labels": {"team": "a"}}}).returncode == 0
    after = custom.get_namespaced_custom_object("mge.dev", "v1alpha1", ns, "atomreviews", "r1")
    assert after["metadata"]["annotations"]["mge.dev/decided-by"] == "alice"
    assert after["spec"]["decision"] == "edit"


def test_the_operator_may_only_mark_its_auto_approval(
    control_plane: ControlPlane, api: client.ApiClient, policy_namespace: str
) -> None:
    """The chart's operator account may set its autoApprove marker, nothing else; the test
    control plane's admin (not that account) may not use the marker."""
    ns = policy_namespace
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "mge.dev", "v1alpha1", ns, "atomreviews", review("r4")
    )
    marker = {
        "metadata": {"annotations": {"mge.dev/decided-by": "mge-operator (policy autoApprove)"}},
        "spec": {"decision": "approve"},
    }
    refused = patch(control_plane.kubeconfig, ns, "r4", marker)
    assert refused.returncode != 0
    assert "decided-by" in refused.stderr
