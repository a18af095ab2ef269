"""The Helm chart: lint, render every ci/*.yaml, validate the output with kubeconform against
schemas made from the real test apiserver, and keep CRDs and RBAC equal to their sources."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.controlplane import ControlPlane
from tests.integration.packaging.conftest import CHART, CI_VALUES, KUBE_VERSION, NAMESPACE, REPO
from tests.integration.packaging.openapi_schemas import write_schemas

from mge.kube.rbac import (
    CLUSTER_DISCOVERY_RULES,
    OPERATOR_CLUSTER_RULES,
    OPERATOR_RULES,
    lease_rules,
)

Render = Callable[..., list[dict[str, Any]]]
KEEP = "helm.sh/resource-policy"


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def triples(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Rules as (apiGroup, resource, verb) facts: equal sets grant exactly the same."""
    return {
        (g, r, v)
        for rule in rules
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }


def operator_deployments(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The operator's Deployment(s) (not the review UI's)."""
    return [
        d
        for d in by_kind(docs, "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/name"] == "mge-operator"
    ]


def bound_rules(docs: list[dict[str, Any]], service_account: str) -> list[dict[str, Any]]:
    """Every rule of every (Cluster)Role bound to ``service_account`` in ``docs``."""
    roles = {(d["kind"], d["metadata"]["name"]): d for d in docs if d["kind"].endswith("Role")}
    rules: list[dict[str, Any]] = []
    for b in docs:
        if not b["kind"].endswith("RoleBinding"):
            continue
        if any(
            s["kind"] == "ServiceAccount" and s["name"] == service_account for s in b["subjects"]
        ):
            rules += roles[(b["roleRef"]["kind"], b["roleRef"]["name"])]["rules"]
    return rules


def test_helm_lint_passes_for_every_ci_values_file(helm: Callable[..., Any]) -> None:
    for values in CI_VALUES:
        proc = helm(
            "lint",
            str(CHART),
            "--strict",
            "-f",
            str(values),
            "--kube-version",
            KUBE_VERSION,
            check=False,
        )
        assert proc.returncode == 0, f"{values.name}:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_every_ci_values_file_renders_a_restricted_active_standby_operator(
    render: Render, values: Path
) -> None:
    docs = render(values)
    (deploy,) = operator_deployments(docs)
    spec = deploy["spec"]
    # Two replicas, one active (the Lease holder): a rolling update surges a standby first.
    # Without a shared store (SQLite in the pod) one: a standby could not resume from it.
    shared = values.stem in ("production-values", "evaluation-values")
    assert spec["replicas"] == (2 if shared else 1)
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    pdbs = by_kind(docs, "PodDisruptionBudget")
    assert len(pdbs) == (1 if shared else 0), "a budget for one replica blocks every drain"
    for pdb in pdbs:
        assert pdb["spec"]["minAvailable"] == 1
        assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert {"livenessProbe", "readinessProbe"} <= container.keys()
    assert all(d["metadata"]["labels"]["app.kubernetes.io/instance"] == "mge" for d in docs)


def test_secret_references_reach_the_operator_environment(render: Render) -> None:
    docs = render(CHART / "ci" / "production-values.yaml")
    env = {
        e["name"]: e
        for e in operator_deployments(docs)[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["MGE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "mge-database",
        "key": "url",
    }
    assert env["ANTHROPIC_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "mge-anthropic"
    assert by_kind(docs, "ServiceMonitor")[0]["spec"]["endpoints"][0]["port"] == "metrics"
    evaluation = render(CHART / "ci" / "evaluation-values.yaml")
    env = {
        e["name"]: e
        for e in by_kind(evaluation, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0][
            "env"
        ]
    }
    assert (
        "$(MGE_POSTGRES_PASSWORD)@mge-mge-operator-postgresql:5432"
        in env["MGE_DATABASE_URL"]["value"]
    )
    assert env["MGE_CHROMA_URL"]["value"] == "http://mge-mge-operator-chroma:8000"
    assert len(by_kind(evaluation, "StatefulSet")) == 2


def test_the_chart_crds_equal_crds_folder_and_are_kept(render: Render) -> None:
    rendered = {d["metadata"]["name"]: d for d in by_kind(render(), "CustomResourceDefinition")}
    sources = [yaml.safe_load(p.read_text()) for p in sorted((REPO / "crds").glob("*.yaml"))]
    assert sorted(rendered) == sorted(s["metadata"]["name"] for s in sources)
    for source in sources:
        crd = rendered[source["metadata"]["name"]]
        assert crd["metadata"]["annotations"][KEEP] == "keep"
        meta = {k: v for k, v in crd["metadata"].items() if k not in ("labels", "annotations")}
        assert {**crd, "metadata": meta} == source
    assert by_kind(render(None, "crds.enabled=false"), "CustomResourceDefinition") == []
    unkept = by_kind(render(None, "crds.keep=false"), "CustomResourceDefinition")
    assert all(KEEP not in (d["metadata"].get("annotations") or {}) for d in unkept)


def test_cluster_rbac_equals_rbac_py_split_by_function(render: Render) -> None:
    docs = render()
    assert triples(bound_rules(docs, "mge-mge-operator")) == triples(
        OPERATOR_CLUSTER_RULES + lease_rules("mge-operator")
    )
    functions = {
        d["metadata"]["labels"]["mge.dev/rbac-function"]: d for d in by_kind(docs, "ClusterRole")
    }
    assert set(functions) == {
        "resources",
        "status",
        "sandbox",
        "events",
        "discovery",
        "reviewer",
        "viewer",
    }
    status = triples(functions["status"]["rules"])
    assert status and all(r.endswith("/status") for _, r, _ in status)
    assert not any(r.endswith("/status") for _, r, _ in triples(functions["resources"]["rules"]))
    assert triples(functions["events"]["rules"]) == {
        (g, "events", v) for g in ("", "events.k8s.io") for v in ("create", "patch")
    }
    assert not any(v == "delete" for _, _, v in triples(bound_rules(docs, "mge-mge-operator")))


def test_namespaced_rbac_has_only_read_only_discovery_cluster_wide(render: Render) -> None:
    docs = render(CHART / "ci" / "namespaced-values.yaml")
    cluster = [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    operator_cluster = [d for d in cluster if d["kind"] == "ClusterRoleBinding"]
    assert len(operator_cluster) == 1
    assert triples(bound_rules(cluster, "mge-mge-operator")) == triples(CLUSTER_DISCOVERY_RULES)
    assert {v for _, _, v in triples(CLUSTER_DISCOVERY_RULES)} == {"get", "list", "watch"}
    for ns in ("team-a", "team-b"):
        in_ns = [d for d in docs if d["metadata"].get("namespace") == ns]
        assert triples(bound_rules(in_ns, "mge-mge-operator")) == triples(OPERATOR_RULES)
        assert by_kind(in_ns, "NetworkPolicy")[0]["spec"]["podSelector"]["matchLabels"] == {
            "mge.dev/sandbox": "true"
        }
    args = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["operator", "run", "--namespace=team-a", "--namespace=team-b"]


def test_leader_election_is_a_least_privilege_role_in_the_release_namespace(
    render: Render,
) -> None:
    docs = render(None, "leaderElection.leaseName=ops-lease")
    (role,) = [
        d for d in by_kind(docs, "Role") if d["metadata"]["name"].endswith("-leader-election")
    ]
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == lease_rules("ops-lease")
    (binding,) = [
        d for d in by_kind(docs, "RoleBinding") if d["roleRef"]["name"] == role["metadata"]["name"]
    ]
    assert binding["subjects"][0]["name"] == "mge-mge-operator"
    env = {
        e["name"]: e.get("value")
        for e in operator_deployments(docs)[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["MGE_LEADER_ELECTION"] == "true" and env["MGE_LEASE_NAME"] == "ops-lease"
    assert (env["MGE_LEASE_DURATION"], env["MGE_LEASE_RENEW"]) == ("15", "5")


def test_without_leader_election_the_chart_runs_one_replica_recreated(render: Render) -> None:
    docs = render(None, "leaderElection.enabled=false", "replicas=1", "postgresql.enabled=true")
    (deploy,) = by_kind(docs, "Deployment")
    assert deploy["spec"]["strategy"] == {"type": "Recreate"}
    assert not by_kind(docs, "PodDisruptionBudget"), "a budget would block every drain"
    assert not [d for d in docs if d["metadata"]["name"].endswith("-leader-election")]
    env = {
        e["name"]: e.get("value")
        for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["MGE_LEADER_ELECTION"] == "false" and "MGE_LEASE_NAME" not in env


def test_learned_code_sharing_reaches_the_operator_settings(render: Render) -> None:
    from mge.config import OperatorSettings

    def env_of(*sets: str) -> dict[str, str]:
        (deploy,) = by_kind(render(None, *sets), "Deployment")
        return {
            e["name"]: e.get("value")
            for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]
            if "value" in e
        }

    default = env_of()
    assert "MGE_SHARE_LEARNED" not in default  # own namespace only
    assert default["MGE_RETRIEVAL_TIMEOUT_SECONDS"] == "120"
    assert OperatorSettings.from_env(default).share_learned == []
    listed = env_of("retrieval.shareLearned={team-a,team-b}")
    assert OperatorSettings.from_env(listed).share_learned == ["team-a", "team-b"]
    everyone = env_of("retrieval.shareLearned=all")
    assert OperatorSettings.from_env(everyone).share_learned == "all"


def test_the_generated_chart_files_are_up_to_date() -> None:
    proc = subprocess.run(
        [str(REPO / ".venv/bin/python"), str(REPO / "hack/helm/sync_chart.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("imag.tag=x", "additional properties 'imag' not allowed"),
        ("metrics.serviceMonitor.enabeld=true", "additional properties 'enabeld' not allowed"),
        ("leaderElection.enabled=false,replicas=2", "/replicas"),
        ("leaderElection.leasName=x", "additional properties 'leasName' not allowed"),
        ("podDisruptionBudget.minAvailable=0", "/podDisruptionBudget/minAvailable"),
        ("logs.level=LOUD", "/logs/level"),
        ("retrieval.shareLearned=everyone", "/retrieval/shareLearned"),
        ("retrieval.sharelearned=all", "additional properties 'sharelearned' not allowed"),
    ],
)
def test_values_schema_rejects_typos_and_bad_values(
    helm: Callable[..., Any], setting: str, message: str
) -> None:
    proc = helm(
        "template", "x", str(CHART), "--kube-version", KUBE_VERSION, "--set", setting, check=False
    )
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


@pytest.mark.kube
def test_kubeconform_accepts_every_rendering(
    control_plane: ControlPlane, tools: Path, helm: Callable[..., Any], tmp_path: Path
) -> None:
    from tests.integration.packaging.conftest import dump_openapi

    schemas = tmp_path / "schemas"
    assert write_schemas(dump_openapi(control_plane.kubeconfig), schemas) > 50
    for values in CI_VALUES:
        manifest = tmp_path / f"{values.stem}.yaml"
        manifest.write_text(
            helm(
                "template",
                "mge",
                str(CHART),
                "-n",
                NAMESPACE,
                "-f",
                str(values),
                "--kube-version",
                KUBE_VERSION,
            ).stdout
        )
        # ServiceMonitor is prometheus-operator's CRD, not served by this apiserver: the only
        # kind skipped. Everything else (CRDs included) has a schema from the real apiserver.
        proc = subprocess.run(
            [
                str(tools / "kubeconform"),
                "-strict",
                "-summary",
                "-output",
                "text",
                "-kubernetes-version",
                KUBE_VERSION,
                "-skip",
                "ServiceMonitor",
                "-schema-location",
                f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
                str(manifest),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"{values.name}: {proc.stdout}{proc.stderr}"
        assert "Invalid: 0, Errors: 0" in proc.stdout, proc.stdout


@pytest.mark.kube
def test_kubeconform_strict_schemas_catch_a_misspelt_field(
    control_plane: ControlPlane, tools: Path, tmp_path: Path
) -> None:
    from tests.integration.packaging.conftest import dump_openapi

    schemas = tmp_path / "schemas"
    write_schemas(dump_openapi(control_plane.kubeconfig), schemas)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
        "spec: {ports: [{port: 80, targetPrt: 8080}]}\n"
    )
    proc = subprocess.run(
        [
            str(tools / "kubeconform"),
            "-strict",
            "-schema-location",
            f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "targetPrt" in proc.stdout, proc.stdout
