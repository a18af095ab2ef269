"""CRDs on the real API server: install, admission of the invalid corpus, defaults, columns,
and RBAC on AtomReviews."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import kubectl, project_body

from mge.kube.rbac import REVIEWER_RULES, VIEWER_RULES

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

CORPUS = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))


def expected_message(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    return first.removeprefix("# expect: ")


def test_corpus_is_not_empty() -> None:
    assert len(CORPUS) >= 10


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_invalid_manifest_is_refused_with_its_message(
    control_plane: ControlPlane, namespace: str, path: Path
) -> None:
    out = kubectl(control_plane.kubeconfig, "-n", namespace, "apply", "-f", str(path), check=False)
    assert out.returncode != 0, f"{path.name} was admitted"
    assert "is invalid" in out.stderr
    assert expected_message(path) in out.stderr, out.stderr


def test_defaults_are_applied(custom: client.CustomObjectsApi, namespace: str) -> None:
    made = custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body("defaults")
    )
    spec = made["spec"]
    assert spec["execution"]["batchSize"] == 20
    assert spec["execution"]["resources"] == {"cpu": "500m", "memory": "512Mi"}
    assert spec["llm"]["provider"] == "scripted"
    assert spec["review"] == {"fraction": 0.15, "policy": "wait"}
    assert spec["budget"]["maxCostUSD"] == 50.0


def test_printer_columns(
    control_plane: ControlPlane, custom: client.CustomObjectsApi, namespace: str
) -> None:
    custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body("cols")
    )
    review = {
        "apiVersion": "mge.dev/v1alpha1",
        "kind": "AtomReview",
        "metadata": {"name": "cols-a1"},
        "spec": {"projectRef": {"name": "cols"}, "atomId": "a1"},
    }
    custom.create_namespaced_custom_object("mge.dev", "v1alpha1", namespace, "atomreviews", review)
    projects = kubectl(control_plane.kubeconfig, "-n", namespace, "get", "projects").stdout
    assert projects.split("\n")[0].split() == [
        "NAME",
        "PHASE",
        "READY",
        "PROGRESS",
        "ATOMS",
        "REVIEW",
        "COST",
        "AGE",
    ]
    assert projects.split("\n")[1].split()[0] == "cols"
    reviews = kubectl(control_plane.kubeconfig, "-n", namespace, "get", "atomreviews").stdout
    header, row = reviews.split("\n")[:2]
    assert header.split() == ["NAME", "PROJECT", "ATOM", "CONFIDENCE", "DECISION", "STATE", "AGE"]
    assert row.split()[:3] == ["cols-a1", "cols", "a1"]
    assert "pending" in row.split()


def _bind(
    api: client.ApiClient, namespace: str, user: str, rules: list[dict[str, list[str]]]
) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role(namespace, {"metadata": {"name": user}, "rules": rules})
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": user},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": user},
            "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )


def test_rbac_viewer_cannot_patch_reviewer_can(
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
) -> None:
    namespace = make_namespace()
    review = {
        "apiVersion": "mge.dev/v1alpha1",
        "kind": "AtomReview",
        "metadata": {"name": "p-a1"},
        "spec": {"projectRef": {"name": "p"}, "atomId": "a1"},
    }
    custom.create_namespaced_custom_object("mge.dev", "v1alpha1", namespace, "atomreviews", review)
    _bind(api, namespace, "viewer", VIEWER_RULES)
    _bind(api, namespace, "reviewer", REVIEWER_RULES)
    patch = '{"spec":{"decision":"approve"}}'
    viewer = control_plane.kubeconfig_for_user("viewer")
    seen = kubectl(viewer, "-n", namespace, "get", "atomreview", "p-a1", "-o", "yaml")
    assert yaml.safe_load(seen.stdout)["spec"]["decision"] == "pending"
    refused = kubectl(
        viewer,
        "-n",
        namespace,
        "patch",
        "atomreview",
        "p-a1",
        "--type",
        "merge",
        "-p",
        patch,
        check=False,
    )
    assert refused.returncode != 0
    assert 'cannot patch resource "atomreviews"' in refused.stderr
    reviewer = control_plane.kubeconfig_for_user("reviewer")
    kubectl(
        reviewer, "-n", namespace, "patch", "atomreview", "p-a1", "--type", "merge", "-p", patch
    )
    after = custom.get_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "atomreviews", "p-a1"
    )
    assert after["spec"]["decision"] == "approve"
