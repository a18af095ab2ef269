"""Who is asking in the cluster: tokens from proxy headers, the token cache, CSRF, Origin."""

from __future__ import annotations

from mge.web.cluster_auth import (
    TokenCache,
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


def test_the_cache_remembers_who_a_token_is_by_a_fingerprint_for_a_while() -> None:
    cache: TokenCache[str] = TokenCache(lifetime=300.0)
    known = cache.remember("s3cr3t-token", "bob", "backend", now=0.0)
    assert cache.get("s3cr3t-token", now=10.0) is known
    assert "s3cr3t" not in repr(cache)  # keyed by a fingerprint, never the token
    assert cache.get("other", now=10.0) is None
    assert cache.get("s3cr3t-token", now=300.0) is None  # asked of the API server again
    assert cache.expire(now=300.0) == [known]  # its backend is the caller's to close
    cache.remember("s3cr3t-token", "bob", "b", now=0.0)
    assert cache.forget("s3cr3t-token") is not None and cache.get("s3cr3t-token", 1.0) is None
    assert cache.forget("s3cr3t-token") is None


def test_derived_csrf_depends_on_the_key_and_the_token() -> None:
    assert derived_csrf(b"k" * 32, "tok") == derived_csrf(b"k" * 32, "tok")  # every replica
    assert derived_csrf(b"k" * 32, "tok") != derived_csrf(b"k" * 32, "tok2")
    assert derived_csrf(b"k" * 32, "tok") != derived_csrf(b"j" * 32, "tok")


def test_origin_and_cookie() -> None:
    assert origin_matches(None, "review.example.com")
    assert origin_matches("https://review.example.com", "review.example.com")
    assert not origin_matches("https://evil.example", "review.example.com")
    assert not origin_matches("https://review.example.com", None)
    cookie = cluster_cookie_header("sid", secure=True)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert "Secure" not in cluster_cookie_header("sid", secure=False)
