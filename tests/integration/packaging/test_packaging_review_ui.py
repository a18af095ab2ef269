"""The chart's review-ui component (helm template): off by default, on by a value, no
Kubernetes credentials of its own, the right server arguments, a Service, an optional Ingress,
and values checked by the strict schema. (kubeconform of the production rendering, which turns
it on with an Ingress, is in test_packaging_chart.py.)"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from tests.integration.packaging.conftest import CHART, KUBE_VERSION

from mge.kube.rbac import REVIEWER_RULES, VIEWER_RULES

Render = Callable[..., list[dict[str, Any]]]
UI = "mge-mge-operator-review-ui"


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def ui_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod = named(docs, "Deployment", UI)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return dict(container)


def test_the_review_ui_is_off_by_default(render: Render) -> None:
    docs = render()
    assert not [d for d in docs if "review-ui" in d["metadata"]["name"]]


def test_enabled_it_runs_serve_cluster_with_no_credentials_of_its_own(render: Render) -> None:
    docs = render(None, "reviewUI.enabled=true")
    deploy = named(docs, "Deployment", UI)
    pod = deploy["spec"]["template"]["spec"]
    # its own ServiceAccount, no token mounted, bound to nothing
    assert pod["serviceAccountName"] == UI
    assert pod["automountServiceAccountToken"] is False
    assert named(docs, "ServiceAccount", UI)["automountServiceAccountToken"] is False
    for binding in (d for d in docs if d["kind"].endswith("RoleBinding")):
        assert all(s.get("name") != UI for s in binding["subjects"]), binding["metadata"]
    # only the cluster CA, from the ConfigMap every namespace has
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["kube-ca"]["configMap"]["name"] == "kube-root-ca.crt"
    container = ui_container(docs)
    args = container["args"]
    assert args[:2] == ["review", "serve-cluster"]
    assert "--ca-file=/var/run/mge/kube-ca/ca.crt" in args
    assert "--api-server=https://kubernetes.default.svc" in args
    assert "--proxy-header=Authorization" in args
    assert "--proxy-header=X-Forwarded-Access-Token" in args
    assert "--no-login-form" not in args
    assert "--store-details" not in args  # no shared database: the operator's is pod-local
    assert not [a for a in args if a.startswith("--namespace")]  # watch.allNamespaces
    assert "MGE_DATABASE_URL" not in {e["name"] for e in container["env"]}
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"]["httpGet"]["port"] == "http"
    # its pods never match the operator's selector (nor the other way round)
    operator = named(docs, "Deployment", "mge-mge-operator")
    op_selector = operator["spec"]["selector"]["matchLabels"].items()
    ui_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert not op_selector <= ui_labels.items()
    ui_selector = deploy["spec"]["selector"]["matchLabels"]
    assert not ui_selector.items() <= operator["spec"]["template"]["metadata"]["labels"].items()
    service = named(docs, "Service", UI)
    assert service["spec"]["selector"] == ui_selector
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert not [d for d in docs if d["kind"] == "Ingress"]


def test_the_people_roles_are_the_viewer_and_reviewer_rules(render: Render) -> None:
    docs = render(None, "reviewUI.enabled=true")
    viewer = named(docs, "ClusterRole", "mge-mge-operator-viewer")
    reviewer = named(docs, "ClusterRole", "mge-mge-operator-reviewer")
    assert viewer["rules"] == VIEWER_RULES
    assert reviewer["rules"] == REVIEWER_RULES
    verbs = {v for r in viewer["rules"] for v in r["verbs"]}
    assert "patch" not in verbs


def test_every_replica_mounts_one_session_key_generated_once_or_named(render: Render) -> None:
    docs = render(None, "reviewUI.enabled=true", "reviewUI.replicas=3")
    secret = named(docs, "Secret", f"{UI}-session")
    assert secret["type"] == "Opaque" and list(secret["data"]) == ["session-keys"]
    assert len(base64.b64decode(secret["data"]["session-keys"])) >= 32
    pod = named(docs, "Deployment", UI)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["session-key"]["secret"]["secretName"] == f"{UI}-session"
    container = ui_container(docs)
    mount = {m["name"]: m for m in container["volumeMounts"]}["session-key"]
    assert mount["readOnly"] and mount["mountPath"] == "/var/run/mge/session"
    assert "--session-key-file=/var/run/mge/session/session-keys" in container["args"]
    # never in the environment (an env var shows in more places than a mounted file)
    assert not [e for e in container["env"] if "SESSION" in e["name"]]
    own = render(
        None,
        "reviewUI.enabled=true",
        "reviewUI.sessionKey.existingSecret=review-session-keys",
        "reviewUI.sessionKey.key=keys",
    )
    assert not [d for d in own if d["metadata"]["name"] == f"{UI}-session"]
    pod = named(own, "Deployment", UI)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["session-key"]["secret"]["secretName"] == "review-session-keys"
    assert volumes["session-key"]["secret"]["items"] == [{"key": "keys", "path": "keys"}]
    assert "--session-key-file=/var/run/mge/session/keys" in ui_container(own)["args"]


def test_production_values_use_the_proxy_the_store_and_an_ingress(render: Render) -> None:
    docs = render(CHART / "ci" / "production-values.yaml")
    container = ui_container(docs)
    args = container["args"]
    assert "--no-login-form" in args
    assert [a for a in args if a.startswith("--proxy-header")] == [
        "--proxy-header=X-Forwarded-Access-Token"
    ]
    assert "--store-details" in args
    env = {e["name"]: e for e in container["env"]}
    assert env["MGE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "mge-database",
        "key": "url",
    }
    ingress = named(docs, "Ingress", UI)
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "review-tls", "hosts": ["review.example.com"]}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "review.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": UI, "port": {"name": "http"}}


def test_namespaced_watch_shows_the_watched_namespaces(render: Render) -> None:
    docs = render(
        None,
        "reviewUI.enabled=true",
        "watch.allNamespaces=false",
        "watch.namespaces={team-a,team-b}",
        "postgresql.enabled=true",
    )
    args = ui_container(docs)["args"]
    assert [a for a in args if a.startswith("--namespace")] == [
        "--namespace=team-a",
        "--namespace=team-b",
    ]
    assert "--store-details" in args
    explicit = render(None, "reviewUI.enabled=true", "reviewUI.namespaces={review}")
    assert [a for a in ui_container(explicit)["args"] if a.startswith("--namespace")] == [
        "--namespace=review"
    ]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["reviewUI.enabeld=true"], "additional properties 'enabeld' not allowed"),
        (["reviewUI.enabled=true", "reviewUI.port=80"], "/reviewUI/port"),
        (["reviewUI.service.type=Ingress"], "/reviewUI/service/type"),
        (["reviewUI.auth.proxyHeaders={Bad Header}"], "/reviewUI/auth/proxyHeaders/0"),
        (["reviewUI.sessionKey.existingSecret=Bad_Name"], "/reviewUI/sessionKey/existingSecret"),
        (["reviewUI.sessionKey.secret=x"], "additional properties 'secret' not allowed"),
        (
            [
                "reviewUI.enabled=true",
                "reviewUI.auth.loginForm=false",
                "json:reviewUI.auth.proxyHeaders=[]",
            ],
            "loginForm",
        ),
        (
            ["reviewUI.enabled=true", "reviewUI.ingress.enabled=true"],
            "reviewUI.ingress.host is required",
        ),
    ],
)
def test_bad_review_ui_values_are_refused_by_name(
    helm: Callable[..., Any], sets: list[str], message: str
) -> None:
    args = ["template", "x", str(CHART), "--kube-version", KUBE_VERSION]
    for s in sets:
        args += ["--set-json", s[5:]] if s.startswith("json:") else ["--set", s]
    proc = helm(*args, check=False)
    assert proc.returncode != 0, proc.stdout[-500:]
    assert message in proc.stderr, proc.stderr
