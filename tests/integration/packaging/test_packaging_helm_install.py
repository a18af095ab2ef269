"""`helm install` of the chart into the real test control plane, then the operator run under the
chart's OWN ServiceAccount and RBAC (namespaced mode: Roles only, no cluster rights).

kwok runs no containers, so the operator's pod never really starts: the test runs the Deployment's
own command line (its args and plain env) as a local process with a token of the chart's
ServiceAccount, and the pod harness plays the sandbox containers (the real entry point on the
Job's batch). The example Project runs through sandbox Jobs to Completed (reviews auto-approved)
without one Forbidden answer from the API server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane, PodHarness
from tests.integration.controlplane.kubeconfig import write_kubeconfig
from tests.integration.kube.helpers import RESTRICTED, kubectl, sandbox_entry_point, wait_for
from tests.integration.packaging.conftest import CHART, REPO

pytestmark = [pytest.mark.kube]
G, V = "mge.dev", "v1alpha1"
RELEASE = "mge"
CRDS = ("projects.mge.dev", "atomreviews.mge.dev")


def adopt_existing_crds(kubeconfig: Path, namespace: str, release_name: str = RELEASE) -> None:
    """CRDs applied earlier in the session (by other tests) are handed to the release, the way
    a user moves from `mge operator crds | kubectl apply` to the chart."""
    for crd in CRDS:
        if kubectl(kubeconfig, "get", "crd", crd, check=False).returncode != 0:
            continue
        kubectl(kubeconfig, "label", "crd", crd, "--overwrite", "app.kubernetes.io/managed-by=Helm")
        kubectl(
            kubeconfig,
            "annotate",
            "crd",
            crd,
            "--overwrite",
            f"meta.helm.sh/release-name={release_name}",
            f"meta.helm.sh/release-namespace={namespace}",
        )


@pytest.fixture
def release(
    control_plane: ControlPlane,
    make_namespace: Callable[..., str],
    helm: Callable[..., Any],
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    namespace = make_namespace(RESTRICTED)
    env = {
        "KUBECONFIG": str(control_plane.kubeconfig),
        "HOME": str(control_plane.work_dir),
        "PATH": "/usr/bin:/bin",
    }
    adopt_existing_crds(control_plane.kubeconfig, namespace)
    helm(
        "install",
        RELEASE,
        str(CHART),
        "-n",
        namespace,
        "--set",
        "watch.allNamespaces=false",
        "--set",
        f"watch.namespaces={{{namespace}}}",
        env=env,
    )
    manifest = helm("get", "manifest", RELEASE, "-n", namespace, env=env).stdout
    try:
        yield namespace, [d for d in yaml.safe_load_all(manifest) if d]
    finally:
        helm("uninstall", RELEASE, "-n", namespace, env=env)


def service_account_kubeconfig(control_plane: ControlPlane, namespace: str, name: str) -> Path:
    with control_plane.connect() as api:
        request = client.AuthenticationV1TokenRequest.model_validate(
            {"spec": {"audiences": [], "expirationSeconds": 3600}}
        )
        status = (
            client.CoreV1Api(api)
            .create_namespaced_service_account_token(name, namespace, request)
            .status
        )
        assert status is not None
    return write_kubeconfig(
        control_plane.work_dir / "kubeconfigs" / f"chart-{namespace}.yaml",
        control_plane.server,
        control_plane.pki.ca.cert,
        f"system:serviceaccount:{namespace}:{name}",
        token=status.token,
    )


def test_chart_installs_and_the_operator_runs_under_its_rbac(
    control_plane: ControlPlane,
    api: client.ApiClient,
    release: tuple[str, list[dict[str, Any]]],
    start_harness: Callable[..., PodHarness],
    tmp_path: Path,
) -> None:
    namespace, docs = release
    harness = start_harness(sandbox_entry_point(api), namespace)
    kinds = sorted({d["kind"] for d in docs})
    assert {
        "Role",
        "RoleBinding",
        "Deployment",
        "ServiceAccount",
        "NetworkPolicy",
        "CustomResourceDefinition",
    } <= set(kinds)
    cluster_bindings = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    assert [b["roleRef"]["name"] for b in cluster_bindings] == ["mge-mge-operator-discovery"]
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    sa = deploy["spec"]["template"]["spec"]["serviceAccountName"]
    # The API server admitted the Deployment; its pod passes Pod Security "restricted".
    apps = client.AppsV1Api(api)
    wait_for(
        "the operator pod",
        lambda: (
            (
                apps.read_namespaced_deployment(
                    deploy["metadata"]["name"], namespace
                ).status.ready_replicas
                or 0
            )
            >= 1
        ),
        timeout=60,
    )

    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),  # the code under test (a worktree)
            "HOME": str(tmp_path),
            "KUBECONFIG": str(service_account_kubeconfig(control_plane, namespace, sa)),
            "MGE_WORKDIR": str(tmp_path / "mge"),
            "MGE_DATABASE_URL": f"sqlite:///{tmp_path / 'operator.db'}",
            "MGE_RECONCILE_INTERVAL": "1",
            "MGE_RECORDINGS_ROOT": str(REPO / "examples"),
            "MGE_METRICS_PORT": "0",
            # the pod's fieldRef: the Lease lives in the release namespace (its Role is there)
            "MGE_OPERATOR_NAMESPACE": namespace,
        }
    )
    log_path = tmp_path / "operator.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "mge"), *container["args"]],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    custom = client.CustomObjectsApi(api)
    try:
        manifest = yaml.safe_load((REPO / "examples/inventory-lib/project.yaml").read_text())
        manifest["metadata"] = {"name": "inventory-lib"}
        manifest["spec"]["llm"]["recordings"] = "inventory-lib/recordings"
        manifest["spec"]["output"] = {}
        manifest["spec"]["review"] = {"policy": "autoApprove", "autoApproveAfterSeconds": 1}
        manifest["spec"].setdefault("execution", {}).update(batchSize=50, atomTimeoutSeconds=60)
        custom.create_namespaced_custom_object(G, V, namespace, "projects", manifest)

        def completed() -> dict[str, Any] | None:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-3000:]
            st: dict[str, Any] = (
                custom.get_namespaced_custom_object(
                    G, V, namespace, "projects", "inventory-lib"
                ).get("status")
                or {}
            )
            if st.get("phase") == "Failed":
                pytest.fail(f"the Project failed: {st}")
            return st if st.get("phase") == "Completed" else None

        st = wait_for("the Project to complete", completed, timeout=600, interval=0.5)
        assert st["progress"]["atomsTotal"] > 0 and st["progress"]["atomsFailed"] == 0
        assert harness.handled, "no sandbox Job ran"
        # it led under the chart's leader-election Role (create; get/update on the named Lease)
        lease = client.CoordinationV1Api(api).read_namespaced_lease("mge-operator", namespace)
        assert lease.spec.holder_identity, lease
        jobs = client.BatchV1Api(api).list_namespaced_job(namespace).items
        assert jobs and all(j.status.succeeded for j in jobs)
        reviews = custom.list_namespaced_custom_object(G, V, namespace, "atomreviews")["items"]
        assert all(r["status"]["state"] == "Accepted" for r in reviews), reviews[:1]
        events = client.CoreV1Api(api).list_namespaced_event(
            namespace, field_selector="involvedObject.name=inventory-lib"
        )
        # Events were created under the chart's events Role, one per phase reached.
        assert {"Executing", "Completed"} <= {e.reason for e in events.items}
        custom.delete_namespaced_custom_object(G, V, namespace, "projects", "inventory-lib")
        wait_for(
            "the finalizer to let the Project go",
            lambda: not custom.list_namespaced_custom_object(G, V, namespace, "projects")["items"],
            timeout=60,
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    text = log_path.read_text(errors="replace")
    # The API server's refusals read "... is forbidden: User ..." / kopf's APIForbiddenError.
    assert "forbidden" not in text.lower(), text[-4000:]
    assert "Traceback" not in text, text[-4000:]


def test_uninstall_keeps_the_crds(
    control_plane: ControlPlane, make_namespace: Callable[..., str], helm: Callable[..., Any]
) -> None:
    namespace = make_namespace()
    env = {
        "KUBECONFIG": str(control_plane.kubeconfig),
        "HOME": str(control_plane.work_dir),
        "PATH": "/usr/bin:/bin",
    }
    adopt_existing_crds(control_plane.kubeconfig, namespace, "keep")
    helm(
        "install",
        "keep",
        str(CHART),
        "-n",
        namespace,
        "--set",
        "watch.allNamespaces=false",
        "--set",
        "fullnameOverride=keep-test",
        "--set",
        "rbac.userRoles=false",
        env=env,
    )
    helm("uninstall", "keep", "-n", namespace, env=env)
    for crd in CRDS:
        assert kubectl(control_plane.kubeconfig, "get", "crd", crd, check=False).returncode == 0
