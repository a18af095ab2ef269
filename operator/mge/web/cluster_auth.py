"""Who is asking, in the cluster: the reviewer's bearer token, and the sessions holding it.

Two ways in, both ending in "this request carries person P's token":

- an auth proxy in front (oauth2-proxy, kauthproxy, …) puts the token of the person it logged
  in into a header on every request (``Authorization: Bearer …`` or
  ``X-Forwarded-Access-Token``); nothing is stored, the CSRF token is derived from the token;
- the person pastes a token (``kubectl create token``, an OIDC id-token) on the login form; it
  is kept **server-side** in the session (memory only), the browser gets an opaque
  ``HttpOnly; SameSite=Strict`` cookie. Never in a URL, a log line or the browser's storage.

Either way the API server learns who it is (SelfSubjectReview) and decides what they may do.
The functions here are pure but for the clock passed in; the registry is a small dict.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import SecretStr

from mge.web.security import SESSION_COOKIE, new_secret

__all__ = [
    "PROXY_HEADERS",
    "SESSION_SECONDS",
    "TokenSessions",
    "UserSession",
    "bearer_token",
    "cluster_cookie_header",
    "derived_csrf",
    "origin_matches",
    "token_fingerprint",
]

B = TypeVar("B")

PROXY_HEADERS = ("Authorization", "X-Forwarded-Access-Token")
"""Headers an auth proxy may carry the person's token in (read in this order)."""
SESSION_SECONDS = 8 * 3600.0
"""Longest life of a login-form session (seconds); a token that expires sooner ends it sooner
(the API server answers 401 and the page asks to log in again)."""
PROXY_SECONDS = 300.0
"""How long who a proxy-header token belongs to is remembered (seconds) before it is asked of
the API server again; every call is still checked by the API server with the token itself."""
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


def derived_csrf(key: str, token: str) -> str:
    """The CSRF token of a proxy-authenticated person: an HMAC of their token under this
    server's key, so it needs no state and another person's page cannot know it."""
    return hmac.new(key.encode(), token_fingerprint(token).encode(), "sha256").hexdigest()


def origin_matches(origin: str | None, host: str | None) -> bool:
    """Whether a state-changing request comes from a page of this host. The scheme is not
    compared: TLS usually ends at the Ingress, so the server sees http for an https page. A
    missing Origin (a non-browser client holding the token and the CSRF token) is accepted."""
    if origin is None:
        return True
    return bool(host) and urlsplit(origin).netloc == host


def cluster_cookie_header(session: str, secure: bool, max_age: float = SESSION_SECONDS) -> str:
    """The session cookie: not readable by scripts, never sent cross-site, https-only when
    ``secure`` (served behind TLS)."""
    flags = "; Secure" if secure else ""
    return (
        f"{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/; "
        f"Max-Age={int(max_age)}{flags}"
    )


@dataclass
class UserSession(Generic[B]):
    """One person's login: their token (server-side only), who they are, their backend."""

    token: SecretStr
    user: str
    csrf: str
    backend: B
    expires: float


@dataclass
class TokenSessions(Generic[B]):
    """Login-form sessions (cookie id → session) and proxy-header people (token fingerprint →
    session), in memory; a restart logs everyone out."""

    lifetime: float = SESSION_SECONDS
    key: str = field(default_factory=new_secret)
    """This server's key for derived CSRF tokens."""
    _by_id: dict[str, UserSession[B]] = field(default_factory=dict)
    _by_token: dict[str, UserSession[B]] = field(default_factory=dict)

    def open(self, token: str, user: str, backend: B, now: float) -> tuple[str, UserSession[B]]:
        """A new login-form session; returns its cookie id."""
        self.expire(now)
        session_id = new_secret()
        made = UserSession(SecretStr(token), user, new_secret(), backend, now + self.lifetime)
        self._by_id[session_id] = made
        return session_id, made

    def get(self, session_id: str | None, now: float) -> UserSession[B] | None:
        """The live session of a cookie id, or None."""
        if session_id is None:
            return None
        made = self._by_id.get(session_id)
        if made is None or made.expires <= now:
            self._by_id.pop(session_id, None)
            return None
        return made

    def close(self, session_id: str | None) -> UserSession[B] | None:
        """End a session (logout, or its token was refused); returns it."""
        return None if session_id is None else self._by_id.pop(session_id, None)

    def proxied(self, token: str, now: float) -> UserSession[B] | None:
        """The remembered session of a proxy-header token, or None."""
        made = self._by_token.get(token_fingerprint(token))
        if made is None or made.expires <= now:
            self._by_token.pop(token_fingerprint(token), None)
            return None
        return made

    def remember_proxied(self, token: str, user: str, backend: B, now: float) -> UserSession[B]:
        """Remember who a proxy-header token is (saves a SelfSubjectReview per request)."""
        self.expire(now)
        made = UserSession(
            SecretStr(token),
            user,
            derived_csrf(self.key, token),
            backend,
            now + min(self.lifetime, PROXY_SECONDS),
        )
        self._by_token[token_fingerprint(token)] = made
        return made

    def forget_proxied(self, token: str) -> UserSession[B] | None:
        """Drop a proxy-header token the API server refused."""
        return self._by_token.pop(token_fingerprint(token), None)

    def expire(self, now: float) -> list[UserSession[B]]:
        """Drop every expired session; returns them (their clients are to be closed)."""
        gone = [s for s in self._by_id.values() if s.expires <= now]
        gone += [s for s in self._by_token.values() if s.expires <= now]
        self._by_id = {k: s for k, s in self._by_id.items() if s.expires > now}
        self._by_token = {k: s for k, s in self._by_token.items() if s.expires > now}
        return gone
