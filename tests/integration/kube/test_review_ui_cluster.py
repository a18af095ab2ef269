"""The review web interface in cluster mode, on the real API server, acting as each reviewer.

The server (``mge review serve-cluster``, a real process) is given the test control plane's
*admin* kubeconfig — for the API server's address and CA only. It must never use those
credentials: a viewer still gets a 403 from the API server, anonymous requests get nothing,
and the AtomReviews record the ServiceAccount that decided. Tokens come from the TokenRequest
API (as `kubectl create token` does). The AtomReviews are made by the operator's own
``ensure_reviews`` from a real store, which the server also reads (``--store-details``) for the
attempt history.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import kubectl, wait_for
from tests.integration.kube.review_ui_env import (
    CODE,
    Env,
    get_review,
    logged_in,
    serve,
)
from tests.integration.kube.test_review_admission import render_policy

from mge.kube.reviews import review_name

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]


@pytest.fixture
def env(control_plane: ControlPlane, seeded: tuple[str, Path], tmp_path: Path) -> Iterator[Env]:
    namespace, db = seeded
    with serve(control_plane, namespace, db, tmp_path) as running:
        yield running


def test_a_reviewer_approves_and_edits_as_themselves(env: Env, api: client.ApiClient) -> None:
    key = f"{env.namespace}/shop"
    k = quote(key, safe="")
    with logged_in(env, env.reviewer) as c:
        session = c.get("/api/session").json()
        assert session["user"] == env.reviewer_user
        assert session["mode"] == "cluster"
        projects = c.get("/api/projects").json()["projects"]
        assert [p["key"] for p in projects] == [key]
        assert projects[0]["review"] == {"total": 3, "pending": 3, "decided": 0}
        queue = c.get(f"/api/projects/{k}/queue").json()
        assert queue["readOnly"] is None
        assert [i["atom"] for i in queue["items"]] == ["Cart.add_item", "price_of", "tax_of"]

        # the atom page: the AtomReview, then the store's details (attempts, contract)
        page = c.get(f"/api/projects/{k}/atoms/price_of").json()
        assert page["details"] is True
        assert [a["number"] for a in page["attempts"]] == [1, 2]
        assert page["unit"]["spec"] == "spec of price_of"
        assert "return 2" in page["suggestion"]

        r = c.post(
            f"/api/projects/{k}/atoms/Cart.add_item/decision",
            json={"decision": "approve", "version": queue["items"][0]["version"]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["result"]["pending"] is True  # no operator here: it stays submitted
        approved = get_review(api, env.namespace, "Cart.add_item")
        assert approved["spec"]["decision"] == "approve"
        assert approved["metadata"]["annotations"]["mge.dev/decided-by"] == env.reviewer_user

        r = c.post(
            f"/api/projects/{k}/atoms/price_of/decision",
            json={"decision": "edit", "version": page["version"], "code": CODE + "# edited\n"},
        )
        assert r.status_code == 200, r.text
        edited = get_review(api, env.namespace, "price_of")
        assert edited["spec"]["decision"] == "edit"
        assert edited["spec"]["code"].endswith("# edited\n")
        assert edited["metadata"]["annotations"]["mge.dev/decided-by"] == env.reviewer_user
        assert r.json()["atom"]["decidedBy"] == env.reviewer_user

        # a page still showing the old version is told, and nothing changes
        stale = c.post(
            f"/api/projects/{k}/atoms/price_of/decision",
            json={"decision": "approve", "version": page["version"]},
        )
        assert stale.status_code == 409
        assert "already decided elsewhere (edit" in stale.json()["message"]
        assert get_review(api, env.namespace, "price_of")["spec"]["decision"] == "edit"

        # the queue shows what is left; bad input names the field
        left = c.get(f"/api/projects/{k}/queue").json()["items"]
        assert [i["atom"] for i in left] == ["tax_of"]
        bad = c.post(f"/api/projects/{k}/atoms/tax_of/decision", json={"decision": "edit"})
        assert bad.status_code == 400 and "version" in bad.json()["message"]
    assert env.reviewer not in env.log.read_text()  # the token in no log line


def test_a_viewer_sees_the_queue_read_only_and_the_api_server_refuses_them(
    env: Env, api: client.ApiClient
) -> None:
    key = f"{env.namespace}/shop"
    k = quote(key, safe="")
    with logged_in(env, env.viewer) as c:
        queue = c.get(f"/api/projects/{k}/queue").json()
        assert len(queue["items"]) == 3
        assert "Read-only" in queue["readOnly"]
        assert f"system:serviceaccount:{env.namespace}:viewer" in queue["readOnly"]
        page = c.get(f"/api/projects/{k}/atoms/tax_of").json()
        assert page["readOnly"] and page["code"] == CODE
        # the page would not offer it; forced anyway, the real API server says 403
        r = c.post(
            f"/api/projects/{k}/atoms/tax_of/decision",
            json={"decision": "approve", "version": page["version"]},
        )
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "forbidden" and r.json()["readOnly"] is True
        assert "forbidden" in r.json()["message"].lower()
    assert get_review(api, env.namespace, "tax_of")["spec"]["decision"] == "pending"


def test_no_token_no_access_and_the_proxy_header_is_the_person(env: Env) -> None:
    """The server holds admin credentials in its kubeconfig and must use none of them."""
    key = f"{env.namespace}/shop"
    k = quote(key, safe="")
    anonymous = httpx.get(f"{env.url}/api/projects/{k}/queue", timeout=60)
    assert anonymous.status_code == 401 and anonymous.json()["login"] is True
    bad = httpx.post(
        f"{env.url}/api/login",
        json={"token": "not-a-token"},
        headers={"Origin": env.url},
        timeout=60,
    )
    assert bad.status_code == 401
    as_proxy = httpx.get(
        f"{env.url}/api/session",
        headers={"X-Forwarded-Access-Token": env.viewer},
        timeout=60,
    )
    assert as_proxy.status_code == 200
    assert as_proxy.json()["user"] == f"system:serviceaccount:{env.namespace}:viewer"
    bearer = httpx.get(
        f"{env.url}/api/projects/{k}/queue",
        headers={"Authorization": f"Bearer {env.reviewer}"},
        timeout=60,
    )
    assert bearer.status_code == 200 and bearer.json()["readOnly"] is None
    # a form from another site cannot log anyone in, nor decide with a session
    cross = httpx.post(
        f"{env.url}/api/login",
        json={"token": env.viewer},
        headers={"Origin": "https://evil"},
        timeout=60,
    )
    assert cross.status_code == 403
    with logged_in(env, env.reviewer) as c:
        no_csrf = c.post(
            f"/api/projects/{k}/atoms/tax_of/decision",
            json={"decision": "approve", "version": "x"},
            headers={"X-MGE-CSRF": "wrong"},
        )
        assert no_csrf.status_code == 403 and no_csrf.json()["error"] == "csrf"
        c.post("/api/logout")
        assert c.get("/api/session").status_code == 401


@pytest.fixture
def policy(control_plane: ControlPlane, env: Env) -> Iterator[None]:
    docs = render_policy(env.namespace)
    manifest = yaml.safe_dump_all(docs)
    kubectl(control_plane.kubeconfig, "apply", "-f", "-", stdin=manifest)
    try:
        yield
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


def forge(env: Env, atom: str, *, dry_run: bool = False) -> subprocess.CompletedProcess[str]:
    """The reviewer's own kubectl, naming someone else as the decider (``dry_run``: judged by
    admission like the real patch, nothing stored)."""
    return kubectl(
        env.reviewer_kubeconfig,
        "-n",
        env.namespace,
        *(["--dry-run=server"] if dry_run else []),
        "patch",
        "atomreview",
        review_name("shop", atom),
        "--type",
        "merge",
        "-p",
        json.dumps(
            {
                "metadata": {"annotations": {"mge.dev/decided-by": "someone-else"}},
                "spec": {"decision": "approve"},
            }
        ),
        check=False,
    )


@pytest.mark.usefixtures("policy")
def test_with_the_admission_rule_a_forged_decider_is_refused_and_the_ui_is_admitted(
    env: Env, api: client.ApiClient
) -> None:
    def enforced() -> bool:
        # A server-side dry run: admission judges it like the real patch and nothing is stored,
        # so a probe admitted before the policy loaded leaves nothing to reset. (The reset it
        # used to need is itself refused once the policy is live, and forging the same values
        # again is then a no-op the policy admits: the wait could never end under load.)
        out = forge(env, "tax_of", dry_run=True)
        return out.returncode != 0 and "decided-by" in out.stderr

    wait_for("the decided-by policy to be enforced", enforced, timeout=60.0, interval=1.0)
    refused = forge(env, "price_of")
    assert refused.returncode != 0 and 'got "someone-else"' in refused.stderr
    key = f"{env.namespace}/shop"
    k = quote(key, safe="")
    with logged_in(env, env.reviewer) as c:
        page = c.get(f"/api/projects/{k}/atoms/price_of").json()
        r = c.post(
            f"/api/projects/{k}/atoms/price_of/decision",
            json={"decision": "approve", "version": page["version"]},
        )
        assert r.status_code == 200, r.text
    admitted = get_review(api, env.namespace, "price_of")
    assert admitted["spec"]["decision"] == "approve"
    assert admitted["metadata"]["annotations"]["mge.dev/decided-by"] == env.reviewer_user


def test_a_kubectl_patch_reaches_an_open_page_as_a_live_update(
    control_plane: ControlPlane, env: Env
) -> None:
    key = f"{env.namespace}/shop"
    events: list[str] = []
    opened = threading.Event()

    def listen() -> None:
        headers = {"Authorization": f"Bearer {env.viewer}"}
        with httpx.stream(
            "GET", f"{env.url}/api/events", headers=headers, timeout=httpx.Timeout(120.0)
        ) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: hello"):
                    opened.set()
                if line.startswith("data: ") and "projects" in line:
                    events.append(line)
                    return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert opened.wait(60), "the event stream did not open"
    time.sleep(1.5)  # the feed has read its first marks
    kubectl(
        control_plane.kubeconfig,
        "-n",
        env.namespace,
        "patch",
        "atomreview",
        review_name("shop", "tax_of"),
        "--type",
        "merge",
        "-p",
        '{"spec":{"decision":"approve"}}',
    )
    reader.join(60)
    assert events, "no change event after the kubectl patch"
    assert json.loads(events[0][len("data: ") :])["projects"] == [key]


def test_a_revoked_token_ends_the_session_with_a_login_prompt(
    env: Env, api: client.ApiClient
) -> None:
    """The viewer's ServiceAccount is deleted (its token dies with it): the next call is a 401
    from the API server, shown as "log in again", never a 500."""
    key = quote(f"{env.namespace}/shop", safe="")
    with logged_in(env, env.viewer) as c:
        assert c.get(f"/api/projects/{key}/queue").status_code == 200
        client.CoreV1Api(api).delete_namespaced_service_account("viewer", env.namespace)

        def refused() -> bool:
            return c.get(f"/api/projects/{key}/queue").status_code == 401

        wait_for("the API server to refuse the dead token", refused, timeout=60.0, interval=1.0)
        after = c.get("/api/session")
        assert after.status_code == 401 and after.json()["login"] is True  # session ended
