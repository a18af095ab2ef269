"""The local review server's guards (pure)."""

from __future__ import annotations

from mge.web.security import (
    CONTENT_SECURITY_POLICY,
    Sessions,
    allowed_host,
    policy_with_style_nonce,
    same_origin,
    session_cookie_header,
)


def test_the_start_secret_opens_a_session_with_its_own_csrf_token() -> None:
    sessions = Sessions()
    assert sessions.open(None) is None
    assert sessions.open("wrong") is None
    assert sessions.open(sessions.secret[:-1]) is None
    one, two = sessions.open(sessions.secret), sessions.open(sessions.secret)
    assert one and two and one != two
    assert sessions.csrf(one) and sessions.csrf(one) != sessions.csrf(two)
    assert sessions.check_csrf(one, sessions.csrf(one))
    assert not sessions.check_csrf(one, sessions.csrf(two))
    assert not sessions.check_csrf(one, None)
    assert not sessions.check_csrf("made-up", sessions.csrf(one))
    assert sessions.csrf(None) is None


def test_each_start_has_a_new_secret() -> None:
    assert Sessions().secret != Sessions().secret
    assert len(Sessions().secret) >= 40


def test_only_our_loopback_host_is_answered() -> None:
    assert allowed_host("127.0.0.1:8765", 8765)
    assert allowed_host("localhost:8765", 8765)
    assert not allowed_host("127.0.0.1:8766", 8765)
    assert not allowed_host("evil.example:8765", 8765)  # DNS rebinding
    assert not allowed_host(None, 8765)


def test_state_changes_from_another_origin_are_refused() -> None:
    assert same_origin("http://127.0.0.1:8765", "127.0.0.1:8765")
    assert same_origin(None, "127.0.0.1:8765")
    assert not same_origin("http://127.0.0.1:9999", "127.0.0.1:8765")  # another local page
    assert not same_origin("null", "127.0.0.1:8765")


def test_cookie_is_http_only_and_strict() -> None:
    header = session_cookie_header("abc")
    assert header.startswith("mge_review_session=abc;")
    assert "HttpOnly" in header and "SameSite=Strict" in header


def test_the_policy_allows_no_inline_script_and_styles_only_with_the_nonce() -> None:
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    page = policy_with_style_nonce("N0")
    assert "style-src 'self' 'nonce-N0'" in page
    assert "script-src 'self';" in page
    assert "frame-ancestors 'none'" in page
