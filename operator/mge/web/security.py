"""The local review server's guards, as pure functions and one small session registry.

Threat: any web page the reviewer opens can make their browser send requests to
``127.0.0.1:<port>``. So nothing is served without a session, a session is had only by
presenting the per-start secret (printed by ``mge review serve``, as Jupyter does), and every
state change needs the session's CSRF token in a header a cross-site form cannot set, from the
server's own origin. The secret is exchanged once for an ``HttpOnly; SameSite=Strict`` cookie
and the browser is redirected to the same path without it, so it does not stay in the address
bar, the history or a Referer. The Host header must name the loopback address we listen on,
which defeats DNS rebinding.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_HEADER",
    "SECRET_PARAM",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "Sessions",
    "allowed_host",
    "new_secret",
    "policy_with_style_nonce",
    "same_origin",
    "session_cookie_header",
]

SECRET_PARAM = "token"
"""The query parameter carrying the per-start secret on the first load only."""
SESSION_COOKIE = "mge_review_session"
CSRF_HEADER = "X-MGE-CSRF"
SECRET_BYTES = 32
"""Entropy of the start secret, the session ids and the CSRF tokens (bytes, URL-safe base64)."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
"""No inline script or style, no eval, nothing from another origin, not frameable."""


def policy_with_style_nonce(nonce: str) -> str:
    """The policy of the page itself: CodeMirror adds its styles as ``<style>`` elements
    carrying this per-response nonce (``EditorView.cspNonce``); scripts stay 'self' only."""
    return CONTENT_SECURITY_POLICY.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def new_secret() -> str:
    """A fresh random secret."""
    return secrets.token_urlsafe(SECRET_BYTES)


def equal(a: str | None, b: str) -> bool:
    """Constant-time comparison; None never matches."""
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def allowed_host(host: str | None, port: int) -> bool:
    """Whether a Host header names our loopback listener (not a rebinding DNS name)."""
    return host in {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}


def same_origin(origin: str | None, host: str) -> bool:
    """Whether a state-changing request comes from our own page. Browsers send Origin on
    every POST; a missing one (a non-browser client that has the cookie and the CSRF token)
    is accepted, a different one is refused."""
    return origin is None or origin == f"http://{host}"


def session_cookie_header(session: str) -> str:
    """The Set-Cookie value: not readable by scripts, never sent cross-site, whole site."""
    return f"{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/"


@dataclass
class Sessions:
    """The start secret and the sessions it has opened (session id → CSRF token), in memory:
    a restart of the server asks for the new secret."""

    secret: str = field(default_factory=new_secret)
    _csrf: dict[str, str] = field(default_factory=dict)

    def open(self, presented: str | None) -> str | None:
        """A new session id for the right secret, else None."""
        if not equal(presented, self.secret):
            return None
        session = new_secret()
        self._csrf[session] = new_secret()
        return session

    def csrf(self, session: str | None) -> str | None:
        """The CSRF token of a live session, or None."""
        if session is None:
            return None
        return self._csrf.get(session)

    def check_csrf(self, session: str | None, presented: str | None) -> bool:
        """Whether ``presented`` is this session's CSRF token."""
        token = self.csrf(session)
        return token is not None and equal(presented, token)
