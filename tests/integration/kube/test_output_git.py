"""spec.output.git and Kubernetes API faults, on the real control plane.

`mge operator run` (a subprocess, the least-privilege ServiceAccount) runs `examples/inventory-lib`
to `Completed` while a proxy between it and the real API server injects the faults the server
will not produce on demand — 500s and 503s (some outlasting the client's quick retries, so the
worker re-runs a phase), a 429 with Retry-After, 409 Conflicts on updates, a fake 409 on a
create, a dropped connection — and pushes the codebase to a bare repository served by
`git http-backend` over HTTP with basic auth. The Project's Secret first has a wrong password
(GitPushFailed, retried with backoff), then the right one. A real 403 (a ServiceAccount
without `create` on Jobs) fails a Project with the API's reason.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane, PodHarness
from tests.integration.kube.helpers import Operators, sandbox_entry_point, wait_for
from tests.integration.kube.servers import Fault, FaultProxy, GitHttpServer
from tests.integration.kube.test_operator_pipeline import (
    NAME,
    JobWatch,
    get,
    manifest,
    output_files,
    recordings,  # noqa: F401  (fixture)
)

from mge.config import LEASE_NAME
from mge.kube.rbac import OPERATOR_CLUSTER_RULES, lease_rules

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]
USER, PASSWORD, WRONG = "mge-bot", "s3cret-Pa55word-for-git", "wrong-Pa55word-not-this"
BRANCH = "mge/generated"
NS_PATH = r"^/api(s/[^/]+)?/v1[a-z0-9]*/namespaces/[^/]+"


def faults() -> list[Fault]:
    """What the proxy answers instead of the API server (each a limited number of times)."""
    return [
        # Outlasts the client's 5 quick tries: the worker re-runs Executing after a pause.
        Fault("POST", NS_PATH + r"/jobs$", 500, times=6),
        Fault("POST", NS_PATH + r"/configmaps$", 503, times=2),
        Fault("POST", NS_PATH + r"/configmaps$", 409, times=1),  # a create "AlreadyExists"
        Fault("GET", NS_PATH + r"/jobs/[^/]+$", 503, times=2),
        Fault("GET", NS_PATH + r"/pods/[^/]+/log$", 0, times=1),  # connection dropped
        Fault("GET", NS_PATH + r"/secrets/[^/]+$", 429, times=1, headers={"Retry-After": "1"}),
        Fault("GET", NS_PATH + r"/projects/[^/]+$", 500, times=2),
        Fault("PATCH", NS_PATH + r"/atomreviews/[^/]+/status$", 409, times=2),
        Fault("PATCH", NS_PATH + r"/projects/[^/]+/status$", 500, times=1),  # kopf's own patch
    ]


def git(*args: str, cwd: Path) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def secret(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def events(api: client.ApiClient, ns: str) -> list[Any]:
    return list(client.CoreV1Api(api).list_namespaced_event(ns).items)


@pytest.fixture
def git_server(
    tmp_path: Path, api: client.ApiClient, operators: Operators
) -> Iterator[GitHttpServer]:
    """git over HTTP; accepts the username/password of Secret `git-server-users`."""
    core = client.CoreV1Api(api)
    ns = operators.namespace
    core.create_namespaced_secret(ns, secret("git-server-users", username=USER, password=PASSWORD))

    def accepted() -> tuple[str, str]:
        data = core.read_namespaced_secret("git-server-users", ns).data
        return tuple(base64.b64decode(data[k]).decode() for k in ("username", "password"))  # type: ignore[return-value]

    root = tmp_path / "git-server"
    root.mkdir()
    with GitHttpServer(root, accepted) as server:
        yield server


@pytest.fixture
def proxy(
    control_plane: ControlPlane, operators: Operators, tmp_path: Path
) -> Iterator[FaultProxy]:
    """The operator's API traffic through the fault-injecting proxy."""
    source = Path(operators.env["KUBECONFIG"])
    ca = yaml.safe_load(source.read_text())["clusters"][0]["cluster"]["certificate-authority"]
    with FaultProxy(control_plane.server, ca, faults()) as p:
        operators.env["KUBECONFIG"] = str(p.kubeconfig(source, tmp_path / "proxy.kubeconfig"))
        try:
            yield p
        finally:
            operators.stop_all()  # before their API goes away


def test_completed_project_is_pushed_to_git_despite_api_faults(
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    operators: Operators,
    start_harness: Callable[..., PodHarness],
    recordings: Path,  # noqa: F811
    git_server: GitHttpServer,
    proxy: FaultProxy,
    operator_env: dict[str, str],
    tmp_path: Path,
) -> None:
    ns = operators.namespace
    core = client.CoreV1Api(api)
    remote = git_server.create_repository("inventory")
    repository = f"{git_server.url}/inventory.git"
    core.create_namespaced_secret(ns, secret("git-creds", username=USER, password=WRONG))
    operators.env["MGE_RECORDINGS_ROOT"] = str(recordings)
    harness = start_harness(sandbox_entry_point(api), ns)
    body = manifest()
    body["spec"]["output"] = {
        "git": {"repository": repository, "branch": BRANCH, "secretRef": {"name": "git-creds"}}
    }
    body["spec"]["review"] = {"policy": "autoApprove", "autoApproveAfterSeconds": 0}

    def status() -> dict[str, Any]:
        st: dict[str, Any] = get(custom, ns, "projects", NAME).get("status") or {}
        return st

    def conditions(st: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """By type, from one read of the status (two reads may straddle a status write)."""
        return {c["type"]: c for c in st.get("conditions", [])}

    with JobWatch(api, ns) as jobs:
        first = operators.start()
        custom.create_namespaced_custom_object("mge.dev", "v1alpha1", ns, "projects", body)

        def push_failed() -> dict[str, Any] | None:
            assert first.poll() is None, "the operator exited"
            st = status()
            if st.get("phase") == "Failed":
                pytest.fail(f"the Project failed: {st.get('message')}")
            stalled = conditions(st).get("Stalled", {})
            return st if stalled.get("reason") == "GitPushFailed" else None

        st = wait_for("Completed, push refused", push_failed, timeout=600, interval=0.5)

    # Completed through every injected fault, no Job created twice.
    assert st["phase"] == "Completed"
    fired = proxy.fired()
    assert not [f for f, n in fired.items() if n == 0], fired
    created = Counter(name for name, _ in jobs.added)
    assert created and max(created.values()) == 1, created
    assert len(harness.handled) == len(created), "a Job's pod ran twice"

    # The wrong password: stalled with a clear reason, nothing on the remote, no secret shown.
    cond = conditions(st)
    assert cond["Ready"]["status"] == "False"
    assert "GitAuthFailed" in cond["Stalled"]["message"], cond["Stalled"]
    assert st["output"]["pushFailures"] >= 1 and "gitCommit" not in st["output"]
    assert git("branch", "--list", cwd=remote) == ""
    assert any(e.reason == "GitPushFailed" and e.type == "Warning" for e in events(api, ns))
    assert WRONG not in json.dumps(st)

    # The right password: the next retry (backoff 10 s, 20 s, …) pushes.
    core.patch_namespaced_secret(
        "git-creds", ns, {"data": {"password": base64.b64encode(PASSWORD.encode()).decode()}}
    )

    def pushed() -> dict[str, Any] | None:
        st = status()
        return st if conditions(st).get("Ready", {}).get("status") == "True" else None

    st = wait_for("the push after the password fix", pushed, timeout=300, interval=0.5)
    out = st["output"]
    head = git("rev-parse", f"refs/heads/{BRANCH}", cwd=remote)
    assert out == {
        "storeKey": f"{ns}/{NAME}",
        "repository": repository,
        "branch": BRANCH,
        "gitCommit": head,
        "pushedGeneration": 1,
        "lastPushAt": out["lastPushAt"],
    }
    assert git("rev-list", "--count", BRANCH, cwd=remote) == "1"
    assert f"{ns}/{NAME} generation 1" in git("log", "-1", "--format=%B", BRANCH, cwd=remote)
    tree = set(git("ls-tree", "-r", "--name-only", BRANCH, cwd=remote).splitlines())
    db = Path(operator_env["MGE_DATABASE_URL"].removeprefix("sqlite:///"))
    stored = output_files(db, f"{ns}/{NAME}")
    assert tree == set(stored) | {"README.md", "report.json", "pyproject.toml", "readiness.md"}
    for path, text in stored.items():
        assert git("show", f"{BRANCH}:{path}", cwd=remote) == text.rstrip("\n"), path
    assert any(e.reason == "GitPushed" for e in events(api, ns))

    # A restarted operator, and one that lost the status write: no new commit.
    first.kill()
    first.wait(timeout=10)
    second = operators.start()
    custom.patch_namespaced_custom_object_status(
        "mge.dev", "v1alpha1", ns, "projects", NAME, {"status": {"output": {"gitCommit": None}}}
    )
    pushes = len([r for r in git_server.requests if r[0] == "GET"])
    # The killed operator's Lease must run out before the new one leads, and the new one
    # starts its Python under whatever load the machine has: minutes, not seconds.
    wait_for(
        "the commit recorded again",
        lambda: status().get("output", {}).get("gitCommit") == head,
        timeout=300,
        interval=0.5,
    )
    assert len([r for r in git_server.requests if r[0] == "GET"]) > pushes  # it did look
    assert git("rev-parse", f"refs/heads/{BRANCH}", cwd=remote) == head
    assert git("rev-list", "--count", BRANCH, cwd=remote) == "1"
    assert second.poll() is None

    # The credentials are nowhere: not in the repository, status, events or the operator's log.
    config = (remote / "config").read_text()
    logs = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("operator-*.log"))
    messages = " ".join(f"{e.message}" for e in events(api, ns))
    for secret_text in (PASSWORD, WRONG):
        assert secret_text not in config + logs + messages + json.dumps(status())


def test_forbidden_job_create_fails_the_project_with_the_api_reason(
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    operators: Operators,
    recordings: Path,  # noqa: F811
) -> None:
    """A real 403: the operator's ServiceAccount may not create Jobs."""
    ns = operators.namespace
    rules = []
    for rule in OPERATOR_CLUSTER_RULES:
        if "jobs" in rule.get("resources", []):
            rule = {**rule, "verbs": [v for v in rule["verbs"] if v != "create"]}
        rules.append(rule)
    rules += lease_rules(LEASE_NAME)  # only Jobs are refused: the operator must get to lead
    kubeconfig = control_plane.kubeconfig_for_service_account(
        ns, "mge-operator-no-jobs", rules, cluster_wide=True
    )
    operators.env["KUBECONFIG"] = str(kubeconfig)
    operators.env["MGE_RECORDINGS_ROOT"] = str(recordings)
    operators.start()
    custom.create_namespaced_custom_object("mge.dev", "v1alpha1", ns, "projects", manifest())

    def failed() -> dict[str, Any] | None:
        st: dict[str, Any] = get(custom, ns, "projects", NAME).get("status") or {}
        return st if st.get("phase") == "Failed" else None

    st = wait_for("the Project to fail", failed, timeout=300, interval=0.5)
    stalled = next(c for c in st["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "KubernetesForbidden")
    assert "create Job" in st["message"] and "HTTP 403" in st["message"], st["message"]
    assert "forbidden" in st["message"]
