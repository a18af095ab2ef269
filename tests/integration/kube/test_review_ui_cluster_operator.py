"""The whole loop in the test cluster: the operator runs examples/inventory-lib to Reviewing,
a reviewer goes through the whole queue in the cluster review UI's HTTP API (as a
ServiceAccount, with its own token), the operator acts on each decision, and the Project
becomes Completed with every decision recorded as that ServiceAccount."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane, PodHarness
from tests.integration.kube.helpers import Operators, wait_for
from tests.integration.kube.review_ui_env import logged_in, serve
from tests.integration.kube.test_operator_pipeline import (  # noqa: F401 - fixtures
    NAME,
    JobWatch,
    get,
    manifest,
    pipeline,
    recordings,
)

pytestmark = [pytest.mark.kube, pytest.mark.slow, pytest.mark.usefixtures("crds_installed")]

SETTLE_S = 120.0
"""How long the UI's answer waits for the operator (generous: a busy machine)."""


def test_the_whole_queue_through_the_cluster_ui_completes_the_project(
    control_plane: ControlPlane,
    custom: client.CustomObjectsApi,
    pipeline: tuple[Operators, PodHarness, JobWatch],  # noqa: F811
    operator_env: dict[str, str],
    tmp_path: Path,
) -> None:
    operators, _, _ = pipeline
    ns = operators.namespace
    db = Path(operator_env["MGE_DATABASE_URL"].removeprefix("sqlite:///"))
    operators.start()
    custom.create_namespaced_custom_object("mge.dev", "v1alpha1", ns, "projects", manifest())

    def phase() -> str:
        return str((get(custom, ns, "projects", NAME).get("status") or {}).get("phase", ""))

    wait_for("Reviewing", lambda: phase() in ("Reviewing", "Failed"), timeout=900, interval=1.0)
    assert phase() == "Reviewing"
    key = quote(f"{ns}/{NAME}", safe="")
    with (
        serve(control_plane, ns, db, tmp_path, settle_seconds=SETTLE_S) as env,
        logged_in(env, env.reviewer) as c,
    ):
        reviews: list[dict[str, Any]] = wait_for(
            "the AtomReviews",
            lambda: c.get(f"/api/projects/{key}/queue").json()["items"],
            timeout=120,
        )
        assert [r["confidence"]["score"] for r in reviews] == sorted(
            r["confidence"]["score"] for r in reviews
        )
        # one item: an edit that fails validation (the operator rejects it, the item stays
        # open), then the current code as the edit (accepted)
        first = reviews[0]["atom"]
        where = f"/api/projects/{key}/atoms/{quote(first, safe='')}"
        page = c.get(where).json()
        bad = c.post(
            f"{where}/decision",
            json={"decision": "edit", "version": page["version"], "code": "def broken(:\n"},
            timeout=SETTLE_S + 60,
        )
        assert bad.status_code == 200, bad.text
        rejected = bad.json()["result"]
        assert rejected["accepted"] is False and rejected["pending"] is False, rejected
        assert bad.json()["atom"]["state"] == "Rejected" and bad.json()["atom"]["open"]
        good = c.post(
            f"{where}/decision",
            json={
                "decision": "edit",
                "version": bad.json()["atom"]["version"],
                "code": page["code"],
            },
            timeout=SETTLE_S + 60,
        )
        assert good.status_code == 200, good.text
        assert good.json()["result"]["accepted"] is True, good.json()["result"]
        edited_by = good.json()["atom"]["decidedBy"]
        assert edited_by == env.reviewer_user

        for row in reviews[1:]:
            page = c.get(f"/api/projects/{key}/atoms/{quote(row['atom'], safe='')}").json()
            assert page["details"] is True and page["attempts"], row["atom"]
            r = c.post(
                f"/api/projects/{key}/atoms/{quote(row['atom'], safe='')}/decision",
                json={"decision": "approve", "version": page["version"]},
                timeout=SETTLE_S + 60,
            )
            assert r.status_code == 200, r.text
            result = r.json()["result"]
            assert result["accepted"] is True, result  # the operator's outcome
            assert r.json()["atom"]["state"] == "Accepted"
        assert c.get(f"/api/projects/{key}/queue").json()["items"] == []

    wait_for("Completed", lambda: phase() == "Completed", timeout=300, interval=1.0)
    listed = custom.list_namespaced_custom_object(
        "mge.dev", "v1alpha1", ns, "atomreviews", label_selector=f"mge.dev/project={NAME}"
    )["items"]
    assert len(listed) == len(reviews)
    for review in listed:
        records = review["status"]["history"]
        assert all(r["by"] == env.reviewer_user for r in records), records
        expected = ["edit", "edit"] if review["spec"]["atomId"] == first else ["approve"]
        assert [r["decision"] for r in records] == expected
