"""The review web interface in Chromium against the real server and a real run's store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.review_ui.conftest import MANIFEST, PROJECT, REVIEWER, Server

pytestmark = pytest.mark.slow

PRODUCT = "inventory-product-604599c2cd"
CROSSED = "crossed-low-stock-59c791cc4c"
SCREENSHOTS = os.environ.get("MGE_REVIEW_UI_SCREENSHOTS")
"""A folder to save the queue and atom page screenshots into (docs/ uses them)."""


def items(server: Server) -> dict[str, dict[str, Any]]:
    listed = server.mge("review", "list", PROJECT, "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    return {i["atomId"]: i for i in json.loads(listed.stdout)}


def atom_row(server: Server, atom: str) -> tuple[str, str | None]:
    with sqlite3.connect(server.workdir / "mge.db") as db:
        state, code = db.execute(
            "select state, code from atoms where project = ? and id = ?", (PROJECT, atom)
        ).fetchone()
    return state, code


def open_atom(page: Page, server: Server, atom: str) -> None:
    page.goto(server.url)
    page.goto(f"{server.base}/#/p/{PROJECT}/a/{atom}")
    expect(page.get_by_test_id("atom-page")).to_be_visible()


def set_editor(page: Page, code: str) -> None:
    page.locator("[data-testid=editor] .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)


def editor_text(page: Page) -> str:
    lines = page.locator("[data-testid=editor] .cm-line").all_inner_texts()
    return "\n".join(lines)


def test_queue_lowest_confidence_first_then_keyboard_approve(page: Page, server: Server) -> None:
    page.goto(server.url + f"#/p/{PROJECT}")
    rows = page.locator("[data-testid=queue] tbody tr")
    expect(rows).to_have_count(5)
    assert "token=" not in page.url  # the secret is dropped from the address bar
    stored = sorted(
        items(server).values(),
        key=lambda i: (
            i["confidence"]["validation"] * 0.4
            + i["confidence"]["attempts"] * 0.3
            + i["confidence"]["complexity"] * 0.2
            + i["confidence"]["integration"] * 0.1,
            i["atomId"],
        ),
    )
    shown = [rows.nth(i).get_attribute("data-atom") for i in range(5)]
    assert shown == [i["atomId"] for i in stored]
    scores = [float(t) for t in page.locator("[data-testid=queue] td.num").all_inner_texts()]
    assert scores == sorted(scores)
    expect(page.locator("[data-testid=queue] thead")).to_contain_text("validation 40 %")
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "review-ui-queue.png"))

    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class("selected")
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class("selected")
    first = shown[0]
    assert first is not None
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("atom-page")).to_be_visible()
    if SCREENSHOTS:
        page.locator("[data-testid=attempt-2] button").click()
        page.screenshot(path=str(Path(SCREENSHOTS) / "review-ui-atom.png"), full_page=True)
    page.keyboard.press("a")
    expect(page.get_by_test_id("banner")).to_contain_text("approved")
    expect(page.get_by_test_id("decision")).to_contain_text(f"approve · {REVIEWER}")
    decided = items(server)[first]
    assert (decided["decision"], decided["decidedBy"]) == ("approve", REVIEWER)
    assert atom_row(server, first)[0] == "approved"
    page.keyboard.press("j")  # on to the next pending item
    expect(page.get_by_test_id("atom-page")).not_to_have_attribute("data-version", "")
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_whole_queue_in_the_browser_then_the_project_completes(
    page: Page, server: Server
) -> None:
    page.goto(server.url + f"#/p/{PROJECT}")
    expect(page.locator("[data-testid=queue] tbody tr")).to_have_count(5)
    page.keyboard.press("Enter")
    for n in range(5):
        expect(page.get_by_test_id("decision")).to_have_text("pending")
        page.keyboard.press("a")
        expect(page.get_by_test_id("banner")).to_have_class("banner ok")
        if n < 4:
            page.keyboard.press("j")
    assert [i["decision"] for i in items(server).values()] == ["approve"] * 5
    page.goto(f"{server.base}/#/p/{PROJECT}")
    expect(page.get_by_test_id("all-decided")).to_be_visible()
    again = server.mge(
        "run", str(MANIFEST), "--no-patterns", "-o", str(server.workdir.parent / "out")
    )
    assert again.returncode == 0, again.stdout + again.stderr
    page.goto(f"{server.base}/#/")
    expect(page.get_by_test_id("projects")).to_contain_text("Completed")


def test_edit_invalid_code_shows_the_validation_message_then_valid_code_is_accepted(
    page: Page, server: Server
) -> None:
    open_atom(page, server, PRODUCT)
    broken = "def product(self, sku: Sku) -> Product:\n    return self.products.get(sku)\n"
    set_editor(page, broken)
    page.get_by_test_id("submit-edit").click()
    banner = page.get_by_test_id("banner")
    expect(banner).to_have_class("banner bad")
    expect(banner).to_contain_text("types")  # mypy: Optional returned where Product is due
    assert "return self.products.get(sku)" in editor_text(page)  # the text is kept
    assert items(server)[PRODUCT]["decision"] == "pending"

    fixed = (
        "def product(self, sku: Sku) -> Product:\n"
        "    if sku not in self.products:\n"
        "        raise UnknownProduct(sku)\n"
        "    return self.products[sku]\n"
    )
    set_editor(page, fixed)
    page.keyboard.press("Control+Enter")
    expect(banner).to_have_class("banner ok")
    item = items(server)[PRODUCT]
    assert (item["decision"], item["decidedBy"]) == ("edit", REVIEWER)
    state, code = atom_row(server, PRODUCT)
    assert state == "approved" and code is not None and "self.products[sku]" in code


def test_regenerate_with_feedback_shows_the_new_code(page: Page, server: Server) -> None:
    open_atom(page, server, PRODUCT)
    page.get_by_test_id("regenerate").click()
    expect(page.get_by_test_id("banner")).to_contain_text("Write what should change")
    page.get_by_test_id("feedback").fill("Use dict.get and raise when it is None.")
    page.get_by_test_id("regenerate").click()
    expect(page.get_by_test_id("banner")).to_have_class("banner ok")
    expect(page.get_by_test_id("diff-accepted")).to_contain_text("found = self.products.get(sku)")
    item = items(server)[PRODUCT]
    assert (item["decision"], item["feedback"]) == (
        "regenerate",
        "Use dict.get and raise when it is None.",
    )


def test_a_cli_decision_reaches_the_open_page_and_keeps_the_edit_text(
    page: Page, server: Server
) -> None:
    open_atom(page, server, CROSSED)
    expect(page.get_by_test_id("live")).to_have_text("live")
    set_editor(page, "# my unfinished edit\n")
    done = server.mge("review", "approve", PROJECT, CROSSED, "--by", "someone-else")
    assert done.returncode == 0, done.stdout + done.stderr
    expect(page.get_by_test_id("banner")).to_contain_text(
        "Decided elsewhere: approve by someone-else"
    )
    expect(page.get_by_test_id("decision")).to_contain_text("approve · someone-else")
    expect(page.get_by_test_id("approve")).to_be_disabled()
    assert "# my unfinished edit" in editor_text(page)
    page.goto(f"{server.base}/#/p/{PROJECT}")  # the queue follows too
    expect(page.locator(f"[data-testid=queue] tr[data-atom='{CROSSED}']")).to_have_count(0)


def test_a_stale_page_is_told_and_keeps_its_text(page: Page, server: Server) -> None:
    page.route("**/api/events", lambda route: route.abort())  # this page hears of nothing
    open_atom(page, server, CROSSED)
    set_editor(page, "def crossed_low_stock(product, before, after):\n    return None\n")
    done = server.mge("review", "approve", PROJECT, CROSSED, "--by", "someone-else")
    assert done.returncode == 0, done.stdout + done.stderr
    page.get_by_test_id("submit-edit").click()
    banner = page.get_by_test_id("banner")
    expect(banner).to_have_class("banner stale")
    expect(banner).to_contain_text("already decided elsewhere (approve by someone-else)")
    assert "return None" in editor_text(page)
    item = items(server)[CROSSED]
    assert (item["decision"], item["decidedBy"]) == ("approve", "someone-else")


def test_a_network_drop_mid_submit_is_told_and_loses_nothing(page: Page, server: Server) -> None:
    open_atom(page, server, CROSSED)
    set_editor(page, "def crossed_low_stock(product, before, after):\n    return None\n")
    page.route("**/decision", lambda route: route.abort("connectionreset"))
    page.get_by_test_id("submit-edit").click()
    banner = page.get_by_test_id("banner")
    expect(banner).to_have_class("banner bad")
    expect(banner).to_contain_text("the server did not answer")
    assert "return None" in editor_text(page)
    assert items(server)[CROSSED]["decision"] == "pending"
    page.unroute("**/decision")
    page.get_by_test_id("approve").click()  # the same page goes on once the network is back
    expect(banner).to_have_class("banner ok")


HOSTILE = (
    "</script><script>window.__pwned = 1</script>"
    '<img src=x onerror="window.__pwned = 2"><b id=injected>bold</b>'
)


def test_hostile_code_and_suggestion_render_as_inert_text(page: Page, server: Server) -> None:
    long_line = "x = '" + "A" * 120_000 + "'"
    code = f"def product(self, sku):\n    # {HOSTILE}\n    {long_line}\n    return None\n"
    suggestion = f"Risk: {HOSTILE}\n```python\n{code.replace('None', 'sku')}```\n"
    with sqlite3.connect(server.workdir / "mge.db") as db:
        db.execute(
            "update review_items set code = ?, suggestion = ?, context_summary = ? "
            "where project = ? and atom_id = ?",
            (code, suggestion, HOSTILE, PROJECT, PRODUCT),
        )
    open_atom(page, server, PRODUCT)
    expect(page.get_by_test_id("code-current")).to_contain_text("</script><script>")
    expect(page.get_by_test_id("suggestion")).to_contain_text("<img src=x")
    expect(page.get_by_test_id("diff-suggestion")).to_be_visible()
    page.get_by_test_id("take-suggestion").click()
    assert "return sku" in editor_text(page)
    page.goto(f"{server.base}/#/p/{PROJECT}")
    expect(page.locator(f"tr[data-atom='{PRODUCT}'] td.where")).to_contain_text("<b id=injected>")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#injected").count() == 0
    assert page.locator("img").count() == 0
    open_atom(page, server, PRODUCT)
    assert page.evaluate("window.__pwned") is None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1400  # the 120,000-character line scrolls inside its box, not the page


class _Evil(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        body = f"""<!doctype html><body>
<form id=f method=POST action="{self.target}" enctype="text/plain">
<input name='{{"decision":"approve","version":"x","pad":"' value='"}}'></form>
<script>
fetch("{self.target}", {{method: "POST", credentials: "include", mode: "no-cors",
  headers: {{"Content-Type": "text/plain"}}, body: '{{"decision":"approve","version":"x"}}'}})
  .finally(() => document.getElementById("f").submit());
</script>"""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: object) -> None:
        pass


def test_state_changes_need_the_csrf_token_and_our_origin(page: Page, server: Server) -> None:
    page.goto(server.url)  # logged in: the browser has the session cookie
    decision_url = f"{server.base}/api/projects/{PROJECT}/atoms/{CROSSED}/decision"
    status = page.evaluate(
        """async (url) => (await fetch(url, {method: "POST",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({decision: "approve", version: "x"})})).status""",
        decision_url,
    )
    assert status == 403  # same origin, cookie sent, no CSRF header
    wrong = page.evaluate(
        """async (url) => (await fetch(url, {method: "POST",
            headers: {"Content-Type": "application/json", "X-MGE-CSRF": "guess"},
            body: JSON.stringify({decision: "approve", version: "x"})})).status""",
        decision_url,
    )
    assert wrong == 403

    _Evil.target = decision_url
    evil = ThreadingHTTPServer(("127.0.0.1", 0), _Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        page.wait_for_url(decision_url)  # the form was submitted from another local page
        # Another port of 127.0.0.1 is the same *site*, so SameSite=Strict still sends the
        # cookie: the Origin check (and the CSRF token it could not read) refuse it.
        expect(page.locator("body")).to_contain_text("refused: the request comes from another site")
    finally:
        evil.shutdown()
    assert items(server)[CROSSED]["decision"] == "pending"


def test_without_the_secret_nothing_is_served_and_it_is_never_logged(
    page: Page, server: Server
) -> None:
    page.goto(server.base + "/")
    expect(page.locator("body")).to_contain_text("No session")
    api = page.goto(server.base + "/api/projects")
    assert api is not None and api.status == 401
    wrong = page.goto(server.base + "/?token=" + "x" * 43)
    assert wrong is not None and wrong.status == 401
    expect(page.locator("body")).to_contain_text("not the one of this server")
    page.goto(server.url)
    expect(page.get_by_test_id("projects")).to_contain_text(PROJECT)
    assert "token=" not in page.url
    assert server.log().count(server.secret) == 1  # only in the printed URL, in no request log
    assert "GET / 303" in server.log()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_closes_the_server_with_a_page_open(
    page: Page, server: Server, sig: signal.Signals
) -> None:
    # SIGTERM is how a pod or a service manager stops it; SIGINT is Ctrl-C, and reaches a
    # server a shell started in the background only if it handles the signal itself.
    page.goto(server.url)
    expect(page.get_by_test_id("projects")).to_contain_text(PROJECT)
    server.proc.send_signal(sig)
    assert server.proc.wait(120) == 0, server.log()
    assert "MGE review: stopped" in server.log()
