"""Who is asking, in the cluster: the reviewer's bearer token, and what is remembered of it.

Two ways in, both ending in "this request carries person P's token":

- an auth proxy in front (oauth2-proxy, kauthproxy, …) puts the token of the person it logged
  in into a header on every request (``Authorization: Bearer …`` or
  ``X-Forwarded-Access-Token``); nothing is stored, the CSRF token is derived from the token
  under the servers' shared key;
- the person pastes a token (``kubectl create token``, an OIDC id-token) on the login form; it
  travels back in a **sealed** ``HttpOnly; SameSite=Strict`` session cookie that only servers
  holding the key can open (:mod:`mge.web.session_cookie`), so any replica serves the person
  and a restart logs nobody out. Never in a URL, a log line or storage a script can read.

Either way the API server learns who it is (SelfSubjectReview) and decides what they may do;
each server remembers that, and the client acting as that person, for a few minutes
(:class:`TokenCache`). The functions here are pure but for the clock passed in.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from mge.web.security import SESSION_COOKIE

__all__ = [
    "CACHE_SECONDS",
    "PROXY_HEADERS",
    "SESSION_SECONDS",
    "KnownToken",
    "TokenCache",
    "bearer_token",
    "cluster_cookie_header",
    "derived_csrf",
    "origin_matches",
    "token_fingerprint",
]

B = TypeVar("B")

PROXY_HEADERS = ("Authorization", "X-Forwarded-Access-Token")
"""Headers an auth proxy may carry the person's token in (read in this order)."""
SESSION_SECONDS = 8 * 3600
"""Longest life of a login-form session (seconds): the sealed cookie's ``Max-Age`` and the
oldest seal any server opens. A token that expires sooner ends it sooner (the API server
answers 401 and the page asks to log in again)."""
CACHE_SECONDS = 300.0
"""How long a server remembers who a token belongs to (seconds) before it asks the API server
again; every call is still checked by the API server with the token itself."""
MAX_TOKEN_CHARS = 16_384
"""Longest token accepted (JWTs with many groups are a few KB)."""


def bearer_token(headers: Mapping[str, str], names: tuple[str, ...] = PROXY_HEADERS) -> str | None:
    """The bearer token an auth proxy put in ``headers``, or None."""
    for name in names:
        value = (headers.get(name) or "").strip()
        if not value:
            continue
        if name.lower() == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() != "bearer":
                continue
            value = token.strip()
        if value and len(value) <= MAX_TOKEN_CHARS:
            return value
    return None


def token_fingerprint(token: str) -> str:
    """A non-reversible name of a token, for caches (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


def derived_csrf(key: bytes, token: str) -> str:
    """The CSRF token of a proxy-authenticated person: an HMAC of their token under the
    servers' shared key, so it needs no state, every replica derives the same, and another
    person's page cannot know it."""
    return hmac.new(key, token_fingerprint(token).encode(), "sha256").hexdigest()


def origin_matches(origin: str | None, host: str | None) -> bool:
    """Whether a state-changing request comes from a page of this host. The scheme is not
    compared: TLS usually ends at the Ingress, so the server sees http for an https page. A
    missing Origin (a non-browser client holding the token and the CSRF token) is accepted."""
    if origin is None:
        return True
    return bool(host) and urlsplit(origin).netloc == host


def cluster_cookie_header(value: str, secure: bool, max_age: float = SESSION_SECONDS) -> str:
    """The session cookie (the sealed session, or empty to end it): not readable by scripts,
    never sent cross-site, https-only when ``secure`` (served behind TLS)."""
    flags = "; Secure" if secure else ""
    return (
        f"{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; "
        f"Max-Age={int(max_age)}{flags}"
    )


@dataclass
class KnownToken(Generic[B]):
    """Who a token belongs to, and the backend acting with it, as this server learnt it."""

    user: str
    backend: B
    expires: float


@dataclass
class TokenCache(Generic[B]):
    """Token fingerprint → who it is and its backend, in this server's memory. Only a cache:
    a replica that never saw the token (or a restarted one) asks the API server once."""

    lifetime: float = CACHE_SECONDS
    _known: dict[str, KnownToken[B]] = field(default_factory=dict)

    def get(self, token: str, now: float) -> KnownToken[B] | None:
        """What is remembered of ``token``, or None (never seen, or too long ago)."""
        known = self._known.get(token_fingerprint(token))
        if known is None or known.expires <= now:
            return None
        return known

    def remember(self, token: str, user: str, backend: B, now: float) -> KnownToken[B]:
        """Remember who ``token`` is; a backend it replaces is the caller's to close (see
        :meth:`expire`)."""
        known = KnownToken(user, backend, now + self.lifetime)
        self._known[token_fingerprint(token)] = known
        return known

    def forget(self, token: str) -> KnownToken[B] | None:
        """Drop a token (the API server refused it, or its holder logged out)."""
        return self._known.pop(token_fingerprint(token), None)

    def expire(self, now: float) -> list[KnownToken[B]]:
        """Drop every expired entry; returns them (their backends are to be closed)."""
        gone = [k for k in self._known.values() if k.expires <= now]
        self._known = {f: k for f, k in self._known.items() if k.expires > now}
        return gone
