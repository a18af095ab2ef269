"""CRDs on the real API server: install, admission of the invalid corpus, defaults, columns,
and RBAC on AtomReviews."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import kubectl, project_body, wait_for

from mge.kube.rbac import REVIEWER_RULES, VIEWER_RULES

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

CORPUS = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))

NOISE = "some validation rules were not checked"
"""The line the API server adds to a refusal when a CRD has CEL rules and the object breaks a
*blocking* keyword (apiextensions-apiserver strategy.go, hasBlockingErr)."""

UNAVOIDABLE_NOISE = (": Required value",)
"""Refusals that carry NOISE whatever the schema does: a missing field of a ``required`` list is
blocking, and the lists stay because ``kubectl explain`` marks required fields from them."""


def expected_message(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    return first.removeprefix("# expect: ")


def test_corpus_is_not_empty() -> None:
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_invalid_manifest_is_refused_with_its_message(
    control_plane: ControlPlane, namespace: str, path: Path
) -> None:
    """Refused with one line per error, starting with the field, and nothing else."""
    expected = expected_message(path)
    field = expected.split(":", 1)[0]
    assert field == "spec" or field.startswith("spec."), f"{path.name}: expect names no field"
    out = kubectl(control_plane.kubeconfig, "-n", namespace, "apply", "-f", str(path), check=False)
    assert out.returncode != 0, f"{path.name} was admitted"
    assert "is invalid" in out.stderr
    assert expected in out.stderr, out.stderr
    if not any(kind in expected for kind in UNAVOIDABLE_NOISE):
        assert NOISE not in out.stderr, out.stderr
        assert "cost budget" not in out.stderr, out.stderr


def test_explain_marks_required_fields(control_plane: ControlPlane) -> None:
    def explain(path: str) -> str:
        # Words only: kubectl wraps descriptions and separates name and type by a tab.
        return " ".join(kubectl(control_plane.kubeconfig, "explain", path).stdout.split())

    # An Established CRD reaches the API server's published OpenAPI (what explain reads) a few
    # seconds later: run first in a session, explain failed with "couldn't find resource".
    wait_for(
        "the Project schema in the published OpenAPI",
        lambda: (
            kubectl(control_plane.kubeconfig, "explain", "project", check=False).returncode == 0
        ),
        timeout=120,
        interval=1.0,
    )

    assert "spec <Object> -required-" in explain("project")
    spec = explain("project.spec")
    assert "Exactly one of requirements or requirementsFrom is required." in spec
    assert "One of: python, typescript, javascript." in explain("project.spec.hints")
    assert "repository <string> -required-" in explain("project.spec.output.git")
    assert "name <string> -required-" in explain("project.spec.requirementsFrom")
    assert "provider <string> -required-" in explain("project.spec.llm.planner")


def test_valid_repositories_are_admitted(custom: client.CustomObjectsApi, namespace: str) -> None:
    for i, repository in enumerate(
        [
            "https://git.example.com/team/todo.git",
            "http://gitea.gitea.svc:3000/team/todo.git",
            "ssh://git@git.example.com:2222/team/todo.git",
            "git@github.com:team/todo.git",
            "file:///srv/git/todo.git",
            "/srv/git/todo.git",
        ]
    ):
        body = project_body(f"repo-{i}")
        body["spec"]["output"] = {"git": {"repository": repository}}
        made = custom.create_namespaced_custom_object(
            "mge.dev", "v1alpha1", namespace, "projects", body
        )
        assert made["spec"]["output"]["git"]["repository"] == repository


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
