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
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import kubectl, project_body, wait_for
from tests.integration.kube.test_review_admission import render_policy

from mge.kube.apply import Collaborators, ensure_reviews
from mge.kube.client import KubeClient
from mge.kube.rbac import REVIEWER_RULES, VIEWER_RULES
from mge.kube.reviews import review_name
from mge.kube.stages import StageRunner
from mge.kube.worker import WorkerRegistry
from mge.models import AtomState
from mge.models.atoms import AtomicUnit
from mge.models.execution import Attempt
from mge.models.project import ProjectSpec
from mge.models.review import ConfidenceParts, ReviewItem
from mge.store import Store

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

REPO = Path(__file__).resolve().parents[3]
SERVER_START_S = 120.0
ATOMS = {"Cart.add_item": 0.2, "price_of": 0.5, "tax_of": 0.9}
CODE = "def price_of(name: str) -> int:\n    return 1\n"


@dataclass
class Env:
    namespace: str
    url: str
    reviewer: str
    viewer: str
    reviewer_user: str
    viewer_kubeconfig: Path
    reviewer_kubeconfig: Path
    log: Path


def token_of(kubeconfig: Path) -> str:
    doc = yaml.safe_load(kubeconfig.read_text())
    return str(doc["users"][0]["user"]["token"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def make_store(path: Path, key: str) -> None:
    store = await Store.open(f"sqlite:///{path}")
    try:
        await store.upsert_project(key, ProjectSpec(requirements="x"), 1)
        units = [
            AtomicUnit(
                id=atom,
                file="shop.py",
                language="python",
                kind="function",
                qualname=atom,
                signature=f"def {atom.split('.')[-1]}(name: str) -> int",
                spec=f"spec of {atom}",
                estimated_loc=3,
                complexity=1,
            )
            for atom in ATOMS
        ]
        await store.save_atoms(key, units)
        for atom, score in ATOMS.items():
            for number, code in ((1, "def bad(:\n"), (2, CODE)):
                await store.record_attempt(
                    key,
                    Attempt(
                        atom_id=atom, number=number, temperature=0.2, prompt_hash="h", code=code
                    ),
                    AtomState.IN_REVIEW,
                    charge=False,
                )
            parts = ConfidenceParts(
                validation=score, attempts=score, complexity=score, integration=score
            )
            await store.upsert_review_item(
                key,
                ReviewItem(
                    atom_id=atom,
                    reason="low_confidence",
                    code=CODE,
                    confidence=parts,
                    suggestion="```python\ndef price_of(name: str) -> int:\n    return 2\n```",
                ),
            )
    finally:
        await store.close()


async def create_reviews(api: client.ApiClient, body: dict[str, Any], key: str, db: Path) -> None:
    store = await Store.open(f"sqlite:///{db}")
    try:
        ctx = Collaborators(
            store=store, kube=KubeClient(api), workers=WorkerRegistry(runner=StageRunner(store))
        )
        assert await ensure_reviews(body=body, key=key, ctx=ctx) == len(ATOMS)
    finally:
        await store.close()


@pytest.fixture
async def seeded(
    api: client.ApiClient, make_namespace: Callable[..., str], tmp_path: Path
) -> tuple[str, Path]:
    """A namespace with Project shop, its store and its AtomReviews (made by the operator's
    ensure_reviews): (namespace, store file)."""
    namespace = make_namespace()
    custom = client.CustomObjectsApi(api)
    body = custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body("shop")
    )
    db = tmp_path / "store.db"
    await make_store(db, f"{namespace}/shop")
    await create_reviews(api, body, f"{namespace}/shop", db)
    return namespace, db


@pytest.fixture
def env(control_plane: ControlPlane, seeded: tuple[str, Path], tmp_path: Path) -> Iterator[Env]:
    """`mge review serve-cluster` on a free port, over the seeded namespace."""
    namespace, db = seeded
    reviewer = control_plane.kubeconfig_for_service_account(namespace, "reviewer", REVIEWER_RULES)
    viewer = control_plane.kubeconfig_for_service_account(namespace, "viewer", VIEWER_RULES)
    port = free_port()
    log = tmp_path / "server.log"
    server_env = dict(os.environ, PYTHONPATH=str(REPO / "operator"))
    server_env["MGE_DATABASE_URL"] = f"sqlite:///{db}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from mge.cli import main; main()",
                "review",
                "serve-cluster",
                "--kubeconfig",
                str(control_plane.kubeconfig),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--namespace",
                namespace,
                "--settle-seconds",
                "1",
                "--store-details",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=server_env,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/api/session", timeout=5).status_code == 401
        except httpx.HTTPError:
            return proc.poll() is not None  # died: stop waiting, the assert below says so

    wait_for("the review server to listen", up, timeout=SERVER_START_S, interval=0.5)
    assert proc.poll() is None, log.read_text()[-3000:]
    try:
        yield Env(
            namespace,
            url,
            token_of(reviewer),
            token_of(viewer),
            f"system:serviceaccount:{namespace}:reviewer",
            viewer,
            reviewer,
            log,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        text = log.read_text()
        assert "Traceback" not in text, text[-4000:]


@contextmanager
def logged_in(env: Env, token: str) -> Iterator[httpx.Client]:
    """A client that logged in by pasting ``token`` (as the login page does)."""
    with httpx.Client(base_url=env.url, timeout=60, headers={"Origin": env.url}) as c:
        r = c.post("/api/login", json={"token": token})
        assert r.status_code == 200, r.text
        c.headers["X-MGE-CSRF"] = c.get("/api/session").json()["csrf"]
        yield c


def get_review(api: client.ApiClient, namespace: str, atom: str) -> dict[str, Any]:
    out: dict[str, Any] = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "atomreviews", review_name("shop", atom)
    )
    return out


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
        f"{env.url}/api/login", json={"token": "not-a-token"}, headers={"Origin": env.url}
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
        f"{env.url}/api/login", json={"token": env.viewer}, headers={"Origin": "https://evil"}
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


def forge(env: Env, atom: str) -> subprocess.CompletedProcess[str]:
    """The reviewer's own kubectl, naming someone else as the decider."""
    return kubectl(
        env.reviewer_kubeconfig,
        "-n",
        env.namespace,
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
        out = forge(env, "tax_of")
        if out.returncode == 0:  # admitted before the policy was loaded: reset, retry
            client.CustomObjectsApi(api).patch_namespaced_custom_object(
                "mge.dev",
                "v1alpha1",
                env.namespace,
                "atomreviews",
                review_name("shop", "tax_of"),
                {
                    "metadata": {"annotations": {"mge.dev/decided-by": None}},
                    "spec": {"decision": "pending"},
                },
            )
            return False
        return "decided-by" in out.stderr

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
