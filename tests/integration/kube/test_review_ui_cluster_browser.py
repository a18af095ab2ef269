"""The cluster review UI in Debian's Chromium (Playwright, headless) against the real
`mge review serve-cluster` and the real API server: log in with a pasted ServiceAccount token,
approve and edit as that account, a kubectl patch reaching the open queue, and a viewer's
read-only view. With ``MGE_REVIEW_UI_SCREENSHOTS=DIR`` the viewer's test also writes the
screenshots of docs/review-ui.md (login page, read-only queue and atom page) into DIR.
Own module: Playwright's sync API holds the main thread's event loop while the browser is
open, so no async fixture may run here (the seeding uses asyncio.run)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from kubernetes import client
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.e2e.review_ui.conftest import EXPECT_TIMEOUT_MS, chromium_path
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import kubectl
from tests.integration.kube.review_ui_env import CODE, Env, get_review, seed, serve

from mge.kube.reviews import review_name

pytestmark = [pytest.mark.kube, pytest.mark.slow, pytest.mark.usefixtures("crds_installed")]

SCREENSHOTS = os.environ.get("MGE_REVIEW_UI_SCREENSHOTS")
"""A directory to write the docs' screenshots of the cluster pages into (opt-in)."""


def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=full_page)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True)
        yield b
        b.close()


@pytest.fixture
def env(
    control_plane: ControlPlane,
    api: client.ApiClient,
    make_namespace: Callable[..., str],
    tmp_path: Path,
) -> Iterator[Env]:
    namespace = make_namespace()
    # in a thread of its own: the browser's event loop holds this one
    with ThreadPoolExecutor(1) as pool:
        db = pool.submit(lambda: asyncio.run(seed(api, namespace, tmp_path))).result()
    with serve(control_plane, namespace, db, tmp_path) as running:
        yield running


def new_page(browser: Browser) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def log_in(page: Page, env: Env, token: str, shot: str | None = None) -> None:
    page.goto(f"{env.url}/#/p/{quote(f'{env.namespace}/shop', safe='')}")
    expect(page.get_by_test_id("login")).to_be_visible()
    if shot:  # before the token is pasted: no token in a picture
        screenshot(page, shot)
    page.get_by_test_id("token").fill(token)
    page.get_by_test_id("login-submit").click()
    expect(page.locator("[data-testid=queue] tbody tr")).to_have_count(3)


def test_a_reviewer_logs_in_approves_and_edits_and_sees_a_kubectl_patch(
    browser: Browser, env: Env, control_plane: ControlPlane, api: client.ApiClient
) -> None:
    page = new_page(browser)
    log_in(page, env, env.reviewer)
    expect(page.get_by_test_id("user")).to_have_text(env.reviewer_user)
    rows = page.locator("[data-testid=queue] tbody tr")
    assert [rows.nth(i).get_attribute("data-atom") for i in range(3)] == [
        "Cart.add_item",
        "price_of",
        "tax_of",
    ]
    expect(page.get_by_test_id("read-only")).to_have_count(0)
    assert env.reviewer not in page.url
    # the token is in no browser storage
    stored = page.evaluate("() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
    assert env.reviewer not in stored and env.reviewer not in page.evaluate("document.cookie")
    # the session cookie: HttpOnly, SameSite=Strict, the token sealed in it (not readable)
    (cookie,) = page.context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert env.reviewer not in cookie["value"] and cookie["expires"] > 0

    page.keyboard.press("Enter")  # the first item
    expect(page.get_by_test_id("atom-page")).to_be_visible()
    expect(page.get_by_test_id("attempt-2")).to_be_visible()  # the store's history, allowed
    page.keyboard.press("a")
    expect(page.get_by_test_id("banner")).to_contain_text("Submitted")
    expect(page.get_by_test_id("decision")).to_contain_text(f"approve · {env.reviewer_user}")
    approved = get_review(api, env.namespace, "Cart.add_item")
    assert approved["spec"]["decision"] == "approve"
    assert approved["metadata"]["annotations"]["mge.dev/decided-by"] == env.reviewer_user

    page.keyboard.press("j")
    expect(page.get_by_test_id("atom-page")).to_contain_text("price_of")
    page.locator("[data-testid=editor] .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(CODE.replace("return 1", "return 3"))
    page.get_by_test_id("submit-edit").click()
    expect(page.get_by_test_id("banner")).to_contain_text("Submitted")
    edited = get_review(api, env.namespace, "price_of")
    assert edited["spec"]["decision"] == "edit" and "return 3" in edited["spec"]["code"]

    # someone decides the last one with kubectl: the open queue drops it without a reload
    page.goto(f"{env.url}/#/p/{quote(f'{env.namespace}/shop', safe='')}")
    expect(rows).to_have_count(1)
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
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_viewer_sees_the_queue_read_only(browser: Browser, env: Env) -> None:
    page = new_page(browser)
    log_in(page, env, env.viewer, shot="review-ui-cluster-login.png")
    expect(page.get_by_test_id("read-only")).to_contain_text("Read-only")
    screenshot(page, "review-ui-cluster-read-only.png")
    page.keyboard.press("a")  # the approve key does nothing here
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("atom-page")).to_be_visible()
    expect(page.get_by_test_id("atom-page").get_by_test_id("read-only")).to_contain_text("patch")
    expect(page.get_by_test_id("approve")).to_be_disabled()
    expect(page.get_by_test_id("submit-edit")).to_be_disabled()
    expect(page.get_by_test_id("attempt-2")).to_be_visible()  # the store's history, allowed
    screenshot(page, "review-ui-cluster-read-only-atom.png")
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]
