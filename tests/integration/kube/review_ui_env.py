"""The cluster review server for tests: a seeded namespace (a Project, its store, its
AtomReviews made by the operator's own ensure_reviews) and a real `mge review serve-cluster`
process with reviewer and viewer ServiceAccount tokens (TokenRequest)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import project_body, wait_for

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


async def seed(api: client.ApiClient, namespace: str, tmp_path: Path) -> Path:
    """A namespace with Project shop, its store and its AtomReviews (made by the operator's
    ensure_reviews): (namespace, store file)."""
    custom = client.CustomObjectsApi(api)
    body = custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body("shop")
    )
    db = tmp_path / "store.db"
    await make_store(db, f"{namespace}/shop")
    await create_reviews(api, body, f"{namespace}/shop", db)
    return db


def make_accounts(control_plane: ControlPlane, namespace: str) -> tuple[Path, Path]:
    """The reviewer's and the viewer's kubeconfigs (ServiceAccounts with the chart's rules)."""
    return (
        control_plane.kubeconfig_for_service_account(namespace, "reviewer", REVIEWER_RULES),
        control_plane.kubeconfig_for_service_account(namespace, "viewer", VIEWER_RULES),
    )


@contextmanager
def serve(
    control_plane: ControlPlane,
    namespace: str,
    db: Path,
    tmp_path: Path,
    settle_seconds: float = 1.0,
    session_key_file: Path | None = None,
    accounts: tuple[Path, Path] | None = None,
    name: str = "server",
) -> Iterator[Env]:
    """`mge review serve-cluster` on a free port over ``namespace``, given the admin
    kubeconfig (for the address and CA only), with reviewer and viewer ServiceAccounts
    (made here, or the kubeconfigs of ``accounts`` made by :func:`make_accounts`)."""
    reviewer, viewer = accounts or make_accounts(control_plane, namespace)
    port = free_port()
    log = tmp_path / f"{name}.log"
    key_args = [] if session_key_file is None else ["--session-key-file", str(session_key_file)]
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
                str(settle_seconds),
                "--store-details",
                *key_args,
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
