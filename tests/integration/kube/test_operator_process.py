"""`mge operator run` as a subprocess under the least-privilege ServiceAccount (rbac.py):
finalizer, status and kstatus conditions, Events, AtomReview decisions by `kubectl patch`,
deletion through the finalizer."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import RESTRICTED, kubectl, project_body, wait_for

from mge.kube.rbac import OPERATOR_CLUSTER_RULES, REVIEWER_RULES

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]
G, V = "mge.dev", "v1alpha1"


REPO = Path(__file__).resolve().parents[3]


class Operators:
    """Starts `mge operator run` processes for one namespace under the operator ServiceAccount."""

    def __init__(
        self, control_plane: ControlPlane, namespace: str, env: dict[str, str], logs: Path
    ):
        kubeconfig = control_plane.kubeconfig_for_service_account(
            namespace, "mge-operator", OPERATOR_CLUSTER_RULES, cluster_wide=True
        )
        self.namespace = namespace
        self.env = {
            **env,
            "KUBECONFIG": str(kubeconfig),
            "MGE_RECORDINGS_ROOT": str(REPO / "examples"),
        }
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"operator-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "mge"),
                "operator",
                "run",
                "--namespace",
                self.namespace,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def stop_all(self) -> str:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.logs.glob("operator-*.log"))
        )


@pytest.fixture
def operators(
    control_plane: ControlPlane,
    make_namespace: Callable[..., str],
    operator_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[Operators]:
    ops = Operators(control_plane, make_namespace(RESTRICTED), operator_env, tmp_path)
    try:
        yield ops
    finally:
        text = ops.stop_all()
        assert "Traceback" not in text, text[-4000:]


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


def ledger_keys(db: str, key: str) -> list[str]:
    """Request keys of the paid (non-cached) LLM calls of project ``key``, from the store."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        return [
            r[0]
            for r in conn.execute("SELECT request_key FROM cost_ledger WHERE project = ?", (key,))
        ]


def test_example_project_advances_and_a_killed_operator_repeats_no_llm_call(
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    operators: Operators,
    operator_env: dict[str, str],
) -> None:
    namespace = operators.namespace
    manifest = yaml.safe_load((REPO / "examples/inventory-lib/project.yaml").read_text())
    manifest["spec"]["llm"]["recordings"] = "inventory-lib/recordings"
    manifest["metadata"] = {"name": "inventory-lib"}
    # Requirements from a ConfigMap (spec.requirementsFrom), created after the Project: the
    # operator retries until it exists.
    requirements = manifest["spec"].pop("requirements")
    manifest["spec"]["requirementsFrom"] = {"name": "inv-reqs", "key": "requirements.md"}
    first = operators.start()
    custom.create_namespaced_custom_object(G, V, namespace, "projects", manifest)
    client.CoreV1Api(api).create_namespaced_config_map(
        namespace,
        {"metadata": {"name": "inv-reqs"}, "data": {"requirements.md": requirements}},
    )

    def phase() -> str:
        return str(
            (get(custom, namespace, "projects", "inventory-lib").get("status") or {}).get(
                "phase", ""
            )
        )

    wait_for("the pipeline to start", lambda: phase() not in ("", "Pending") or None, timeout=60)
    first.kill()  # SIGKILL: no cleanup, whatever it was doing
    first.wait(timeout=10)
    killed_at = phase()
    second = operators.start()

    def blocked() -> dict[str, Any] | None:
        assert second.poll() is None, "the restarted operator exited"
        st = get(custom, namespace, "projects", "inventory-lib").get("status") or {}
        stalled = [
            c for c in st.get("conditions", []) if c["type"] == "Stalled" and c["status"] == "True"
        ]
        return st if st.get("phase") == "Atomizing" and stalled else None

    status = wait_for("discovery and planning to finish", blocked, timeout=120)
    second_log = operators.logs / "operator-1.log"
    wait_for(
        "the restarted operator to resume the Project",
        lambda: "reconcile_project' succeeded" in second_log.read_text(errors="replace"),
        timeout=60,
    )
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["reason"] == "PipelineBlocked", (killed_at, stalled)
    db = operator_env["MGE_DATABASE_URL"].removeprefix("sqlite:///")
    keys = ledger_keys(db, f"{namespace}/inventory-lib")
    assert sorted(keys) == sorted(set(keys)), f"an LLM call was repeated: {keys}"
    assert len(keys) >= 2  # discovery and the masterplan were paid for once each

    # A spec change is a new generation: the pipeline re-runs from Pending and every stage whose
    # inputs did not change is read back from the store — no new LLM call.
    custom.patch_namespaced_custom_object(
        G, V, namespace, "projects", "inventory-lib", {"spec": {"budget": {"maxCostUSD": 3}}}
    )

    def rerun_blocked() -> dict[str, Any] | None:
        st = blocked()
        return st if st and st.get("observedGeneration") == 2 else None

    wait_for("generation 2 to reach the same point", rerun_blocked, timeout=120)
    assert ledger_keys(db, f"{namespace}/inventory-lib") == keys

    # A spec change is a new generation: the pipeline re-runs from Pending and every stage whose
    # inputs did not change is read back from the store — no new LLM call.
    custom.patch_namespaced_custom_object(
        G, V, namespace, "projects", "inventory-lib", {"spec": {"budget": {"maxCostUSD": 3}}}
    )

    def rerun_blocked() -> dict[str, Any] | None:
        st = blocked()
        return st if st and st.get("observedGeneration") == 2 else None

    wait_for("generation 2 to reach the same point", rerun_blocked, timeout=120)
    assert ledger_keys(db, f"{namespace}/inventory-lib") == keys

    ev = client.CoreV1Api(api).list_namespaced_event(
        namespace, field_selector="involvedObject.name=inventory-lib"
    )
    reasons = {e.reason for e in ev.items}
    assert {"Atomizing", "PipelineBlocked"} <= reasons, reasons
