"""Who is asking in the cluster: tokens from proxy headers, server-side sessions, CSRF, Origin."""

from __future__ import annotations

from mge.web.cluster_auth import (
    TokenSessions,
    bearer_token,
    cluster_cookie_header,
    derived_csrf,
    origin_matches,
)


def test_the_bearer_token_comes_from_the_proxy_headers_only() -> None:
    assert bearer_token({"Authorization": "Bearer abc"}) == "abc"
    assert bearer_token({"Authorization": "bearer  abc "}) == "abc"
    assert bearer_token({"Authorization": "Basic dXNlcg=="}) is None
    assert bearer_token({"X-Forwarded-Access-Token": "xyz"}) == "xyz"
    assert bearer_token({}) is None
    assert bearer_token({"Authorization": "Bearer abc"}, ()) is None  # none trusted
    assert bearer_token({"X-Forwarded-Access-Token": "x" * 20_000}) is None


def test_sessions_keep_the_token_server_side_and_expire() -> None:
    sessions: TokenSessions[str] = TokenSessions(lifetime=100.0)
    sid, made = sessions.open("s3cr3t-token", "alice", "backend", now=0.0)
    assert "s3cr3t" not in repr(made)  # a SecretStr: never printed
    assert made.token.get_secret_value() == "s3cr3t-token"
    assert sessions.get(sid, now=50.0) is made
    assert sessions.get(sid, now=100.0) is None
    assert sessions.get(sid, now=1.0) is None  # gone for good
    sid2, _ = sessions.open("tok", "alice", "backend", now=0.0)
    assert sid2 != sid
    assert sessions.close(sid2) is not None and sessions.get(sid2, now=1.0) is None
    assert sessions.get(None, now=0.0) is None


def test_proxied_people_are_remembered_briefly_by_a_fingerprint() -> None:
    sessions: TokenSessions[str] = TokenSessions()
    made = sessions.remember_proxied("tok", "bob", "b", now=0.0)
    assert sessions.proxied("tok", now=10.0) is made
    assert sessions.proxied("tok", now=301.0) is None  # asked of the API server again
    assert made.csrf == derived_csrf(sessions.key, "tok") != derived_csrf(sessions.key, "tok2")
    sessions.remember_proxied("tok", "bob", "b", now=0.0)
    assert sessions.forget_proxied("tok") is not None and sessions.proxied("tok", 1.0) is None


def test_origin_and_cookie() -> None:
    assert origin_matches(None, "review.example.com")
    assert origin_matches("https://review.example.com", "review.example.com")
    assert not origin_matches("https://evil.example", "review.example.com")
    assert not origin_matches("https://review.example.com", None)
    cookie = cluster_cookie_header("sid", secure=True)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert "Secure" not in cluster_cookie_header("sid", secure=False)
