"""Login sessions of the cluster review UI span replicas and restarts (sealed cookies).

Two real `mge review serve-cluster` processes, given the same session key file (as the chart
mounts one Secret into every replica), against the real API server: a reviewer logs in on one
and the other — or the first one started again — knows them by the cookie alone, CSRF token
included, and decides as them. A server with another key, or a cookie changed by one character,
gives the login prompt (401) and clears the cookie; never a 500. The token is readable in no
cookie and in no server log.
"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.review_ui_env import (
    Env,
    get_review,
    make_accounts,
    serve,
)

from mge.web.security import SESSION_COOKIE

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]


def key_file(tmp_path: Path, name: str, secret: str) -> Path:
    path = tmp_path / name
    path.write_text(f"# session key for the test\n{secret}\n")
    path.chmod(0o600)
    return path


def log_in(env: Env, token: str) -> tuple[str, str]:
    """Paste ``token`` on ``env``'s login form: (the cookie's value, the CSRF token)."""
    with httpx.Client(base_url=env.url, timeout=60, headers={"Origin": env.url}) as c:
        r = c.post("/api/login", json={"token": token})
        assert r.status_code == 200, r.text
        set_cookie = r.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
        session = c.get("/api/session").json()
        return c.cookies[SESSION_COOKIE], str(session["csrf"])


def with_cookie(env: Env, cookie: str) -> httpx.Client:
    return httpx.Client(
        base_url=env.url,
        timeout=60,
        headers={"Origin": env.url, "Cookie": f"{SESSION_COOKIE}={cookie}"},
    )


def test_a_session_made_on_one_replica_works_on_another_and_after_a_restart(
    control_plane: ControlPlane, seeded: tuple[str, Path], api: client.ApiClient, tmp_path: Path
) -> None:
    namespace, db = seeded
    keys = key_file(tmp_path, "session-keys", base64.b64encode(b"shared-by-replicas" * 3).decode())
    accounts = make_accounts(control_plane, namespace)
    k = quote(f"{namespace}/shop", safe="")
    with (
        serve(control_plane, namespace, db, tmp_path, 1.0, keys, accounts, "a") as one,
        serve(control_plane, namespace, db, tmp_path, 1.0, keys, accounts, "b") as two,
    ):
        cookie, csrf = log_in(one, one.reviewer)
        assert one.reviewer not in cookie  # sealed, not merely encoded
        assert one.reviewer.encode() not in base64.urlsafe_b64decode(cookie)
        with with_cookie(two, cookie) as c:
            session = c.get("/api/session")
            assert session.status_code == 200, session.text
            assert session.json()["user"] == two.reviewer_user
            assert session.json()["csrf"] == csrf  # the page's CSRF token holds on any replica
            page = c.get(f"/api/projects/{k}/atoms/tax_of").json()
            assert page["readOnly"] is None
            r = c.post(
                f"/api/projects/{k}/atoms/tax_of/decision",
                json={"decision": "approve", "version": page["version"]},
                headers={"X-MGE-CSRF": csrf},
            )
            assert r.status_code == 200, r.text
            wrong = c.post(
                f"/api/projects/{k}/atoms/price_of/decision",
                json={"decision": "approve", "version": "x"},
                headers={"X-MGE-CSRF": "not-the-sessions"},
            )
            assert wrong.status_code == 403 and wrong.json()["error"] == "csrf"
        # behind an auth proxy the CSRF token is derived from the shared key: the same on both
        proxied = [
            httpx.get(
                f"{env.url}/api/session",
                headers={"X-Forwarded-Access-Token": env.viewer},
                timeout=60,
            ).json()["csrf"]
            for env in (one, two)
        ]
        assert proxied[0] == proxied[1] != csrf
        decided = get_review(api, namespace, "tax_of")
        assert decided["spec"]["decision"] == "approve"
        assert decided["metadata"]["annotations"]["mge.dev/decided-by"] == two.reviewer_user
        logs = [one.log, two.log]
    # both stopped; the first one starts again with the same key: still logged in
    with serve(control_plane, namespace, db, tmp_path, 1.0, keys, accounts, "a-again") as again:
        with with_cookie(again, cookie) as c:
            session = c.get("/api/session")
            assert session.status_code == 200, session.text
            assert session.json()["user"] == again.reviewer_user
            assert c.get(f"/api/projects/{k}/queue").status_code == 200
        logs.append(again.log)
    for log in logs:
        text = log.read_text()
        assert again.reviewer not in text and cookie not in text


def test_another_key_or_a_changed_cookie_gives_the_login_page_not_an_error(
    control_plane: ControlPlane, seeded: tuple[str, Path], tmp_path: Path
) -> None:
    namespace, db = seeded
    ours = key_file(tmp_path, "ours", "o" * 40)
    theirs = key_file(tmp_path, "theirs", "t" * 40)
    accounts = make_accounts(control_plane, namespace)
    k = quote(f"{namespace}/shop", safe="")
    with (
        serve(control_plane, namespace, db, tmp_path, 1.0, ours, accounts, "ours") as one,
        serve(control_plane, namespace, db, tmp_path, 1.0, theirs, accounts, "theirs") as other,
    ):
        cookie, _ = log_in(one, one.reviewer)
        raw = bytearray(base64.urlsafe_b64decode(cookie))
        raw[len(raw) // 2] ^= 0x01
        tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
        for env, value in ((other, cookie), (one, tampered), (one, cookie[:-8]), (one, "junk")):
            with with_cookie(env, value) as c:
                for path in ("/api/session", f"/api/projects/{k}/queue"):
                    r = c.get(path)
                    assert r.status_code == 401, (path, r.status_code, r.text)
                    assert r.json()["login"] is True
                    assert "log in again" in r.json()["message"]
                    assert f"{SESSION_COOKIE}=;" in r.headers["set-cookie"]  # cleared
                    assert "Max-Age=0" in r.headers["set-cookie"]
                refused = c.post(
                    f"/api/projects/{k}/atoms/tax_of/decision",
                    json={"decision": "approve", "version": "x"},
                    headers={"X-MGE-CSRF": "x"},
                )
                assert refused.status_code == 401
        # the page itself still loads (it shows the login form)
        assert httpx.get(f"{other.url}/", timeout=60).status_code == 200
        with with_cookie(one, cookie) as c:  # the right key: still fine
            assert c.get("/api/session").json()["user"] == one.reviewer_user
