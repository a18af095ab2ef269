"""The whole loop in the test cluster, in Chromium: the operator runs examples/inventory-lib to
Reviewing, a reviewer logs in to the cluster review UI with a pasted ServiceAccount token and
goes through the whole queue with the keyboard and the editor (an edit the operator rejects,
then a valid one, a regeneration with feedback, then approvals), the operator acts on each
decision, and the Project becomes
Completed with every decision recorded as that ServiceAccount. Own module: Playwright's sync
API holds the main thread's event loop while the browser is open (every fixture here is sync)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from kubernetes import client
from playwright.sync_api import Page, expect, sync_playwright
from tests.e2e.review_ui.conftest import chromium_path
from tests.integration.controlplane import ControlPlane, PodHarness
from tests.integration.kube.helpers import Operators, wait_for
from tests.integration.kube.review_ui_env import serve
from tests.integration.kube.test_operator_pipeline import (  # noqa: F401 - fixtures
    FEEDBACK,
    NAME,
    JobWatch,
    attempts,
    get,
    ledger_keys,
    manifest,
    pipeline,
    recordings,
)

pytestmark = [pytest.mark.kube, pytest.mark.slow, pytest.mark.usefixtures("crds_installed")]

SETTLE_S = 120.0
"""How long the UI's answer waits for the operator (generous: a busy machine)."""
OUTCOME_MS = (SETTLE_S + 60) * 1000
"""How long the page may take to show the operator's outcome."""


def set_editor(page: Page, code: str) -> None:
    page.locator("[data-testid=editor] .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)


def test_the_whole_queue_in_the_browser_completes_the_project(
    control_plane: ControlPlane,
    custom: client.CustomObjectsApi,
    pipeline: tuple[Operators, PodHarness, JobWatch],  # noqa: F811
    recordings: Path,  # noqa: F811
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

    def reviews() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = custom.list_namespaced_custom_object(
            "mge.dev", "v1alpha1", ns, "atomreviews", label_selector=f"mge.dev/project={NAME}"
        )["items"]
        return items

    wait_for("Reviewing", lambda: phase() in ("Reviewing", "Failed"), timeout=900, interval=1.0)
    assert phase() == "Reviewing"
    count = len(wait_for("the AtomReviews", reviews, timeout=120))
    key = quote(f"{ns}/{NAME}", safe="")
    with (
        serve(control_plane, ns, db, tmp_path, settle_seconds=SETTLE_S) as env,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{env.url}/#/p/{key}")
        page.get_by_test_id("token").fill(env.reviewer)
        page.get_by_test_id("login-submit").click()
        rows = page.locator("[data-testid=queue] tbody tr")
        expect(rows).to_have_count(count)
        scores = [float(t) for t in page.locator("[data-testid=queue] td.num").all_inner_texts()]
        assert scores == sorted(scores)  # least confident first
        first = rows.nth(0).get_attribute("data-atom")
        assert first is not None

        page.keyboard.press("Enter")
        expect(page.get_by_test_id("atom-page")).to_be_visible()
        expect(page.get_by_test_id("attempt-1")).to_be_visible()  # the store's history, allowed
        # an edit that fails validation: the operator rejects it, the item stays open
        set_editor(page, "def broken(:\n")
        page.get_by_test_id("submit-edit").click()
        expect(page.get_by_test_id("banner")).to_have_class("banner bad", timeout=OUTCOME_MS)
        expect(page.get_by_test_id("submit-edit")).to_be_enabled()
        # then the current code as the edit: accepted
        current = page.evaluate(
            "(u) => fetch(u).then((r) => r.json()).then((a) => a.code)",
            f"/api/projects/{key}/atoms/{quote(first, safe='')}",
        )
        set_editor(page, current)
        page.get_by_test_id("submit-edit").click()
        expect(page.get_by_test_id("banner")).to_have_class("banner ok", timeout=OUTCOME_MS)
        expect(page.get_by_test_id("decision")).to_contain_text(env.reviewer_user)

        # the next one: regenerate with feedback (the model's answer is a recording, added
        # here), validated by the operator in a sandbox Job
        page.keyboard.press("j")
        expect(page.get_by_test_id("approve")).to_be_enabled()
        regen = page.evaluate("() => decodeURIComponent(location.hash.split('/a/')[1])")
        review = next(r for r in reviews() if r["spec"]["atomId"] == regen)
        number = attempts(db, f"{ns}/{NAME}", regen) + 1
        (recordings / NAME / "recordings" / "regenerate.yaml").write_text(
            yaml.safe_dump(
                {
                    "recording": True,
                    "responses": [
                        {
                            "key": f"atom/{regen}/regenerate-{number}",
                            "usage": {"input_tokens": 900, "output_tokens": 60},
                            "response": f"```python\n{review['status']['code'].rstrip()}\n```\n",
                        }
                    ],
                }
            )
        )
        page.get_by_test_id("feedback").fill(FEEDBACK)
        page.get_by_test_id("regenerate").click()
        expect(page.get_by_test_id("banner")).to_have_class("banner ok", timeout=OUTCOME_MS)
        assert attempts(db, f"{ns}/{NAME}", regen) == number
        assert f"atom/{regen}/regenerate-{number}" in ledger_keys(db, f"{ns}/{NAME}")

        for _ in range(count - 2):  # on to the next open item, approve it
            page.keyboard.press("j")
            expect(page.get_by_test_id("approve")).to_be_enabled()
            page.keyboard.press("a")
            expect(page.get_by_test_id("banner")).to_have_class("banner ok", timeout=OUTCOME_MS)

        page.goto(f"{env.url}/#/p/{key}")
        expect(page.get_by_test_id("queue-empty")).to_be_visible()
        assert errors == []
        browser.close()

    wait_for("Completed", lambda: phase() == "Completed", timeout=300, interval=1.0)
    listed = reviews()
    assert len(listed) == count
    for review in listed:
        records = review["status"]["history"]
        assert all(r["by"] == env.reviewer_user for r in records), records
        expected = {first: ["edit", "edit"], regen: ["regenerate"]}.get(
            review["spec"]["atomId"], ["approve"]
        )
        assert [r["decision"] for r in records] == expected
