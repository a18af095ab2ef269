"""The review server in a cluster: the same pages and API, each person acting with their token.

Routes beyond :func:`mge.web.app.add_review_routes`::

    POST /api/login     {"token": …}  a pasted bearer token → a server-side session (cookie)
    POST /api/logout    ends the session

Who a request is: a proxy header's bearer token (:data:`~mge.web.cluster_auth.PROXY_HEADERS`),
else the session cookie; neither → 401 with ``"login": true`` (the page shows the login form
when it is enabled). A 401 from the API server (an expired token) ends the session the same
way. The page and its static assets hold no data and are served to anyone.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from mge.errors import KubeAPIError
from mge.web.app import (
    BACKEND,
    CSRF,
    MAX_BODY_BYTES,
    MODE,
    OPEN_FEED,
    add_review_routes,
    error_response,
    headers_middleware,
)
from mge.web.backend import LoginRequired, ReviewBackend
from mge.web.cluster_auth import (
    MAX_TOKEN_CHARS,
    PROXY_HEADERS,
    TokenSessions,
    UserSession,
    bearer_token,
    cluster_cookie_header,
    origin_matches,
)
from mge.web.live import POLL_SECONDS, LiveFeed
from mge.web.security import CSRF_HEADER, SESSION_COOKIE, equal

__all__ = ["ClusterAuth", "make_cluster_app"]

log = logging.getLogger(__name__)

MakeBackend = Callable[[str], Awaitable[ReviewBackend]]
"""token → the backend acting as its holder (asks the API server who that is; 401 raises
:class:`~mge.web.backend.LoginRequired`)."""


@dataclass(frozen=True)
class ClusterAuth:
    """How people log in to the cluster server."""

    proxy_headers: tuple[str, ...] = PROXY_HEADERS
    """Headers an auth proxy in front puts the person's token in; empty: none trusted."""
    login_form: bool = True
    """Whether a person may paste a token on the page."""
    poll_seconds: float = POLL_SECONDS
    """How often each open page's feed reads the API (seconds)."""


TOKENS: web.AppKey[TokenSessions[ReviewBackend]] = web.AppKey("tokens")
AUTH = web.AppKey("auth", ClusterAuth)
MAKE: web.AppKey[MakeBackend] = web.AppKey("make_backend")
PUBLIC_PATHS = frozenset({"/", "/favicon.ico", "/api/login"})


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _login_needed(request: web.Request, message: str) -> web.Response:
    return error_response(401, "session", message, login=request.app[AUTH].login_form)


async def _who(request: web.Request) -> tuple[UserSession[ReviewBackend] | None, str | None]:
    """The session of this request and, for a proxy header, its token."""
    sessions, now = request.app[TOKENS], time.monotonic()
    token = bearer_token(request.headers, request.app[AUTH].proxy_headers)
    if token is None:
        return sessions.get(request.cookies.get(SESSION_COOKIE), now), None
    known = sessions.proxied(token, now)
    if known is not None:
        return known, token
    backend = await request.app[MAKE](token)  # LoginRequired when the API server refuses it
    return sessions.remember_proxied(token, backend.user or "", backend, now), token


@web.middleware
async def cluster_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The person behind the request; CSRF and Origin on state changes; a 401 from the API
    server ends their session."""
    if request.path in PUBLIC_PATHS or request.path.startswith("/assets/"):
        return await handler(request)
    try:
        session, token = await _who(request)
    except LoginRequired as e:
        return _login_needed(request, str(e))
    except KubeAPIError as e:
        return error_response(502, "kubernetes", f"cannot ask the API server who you are: {e}")
    if session is None:
        return _login_needed(request, "Not logged in: paste a token or log in through the proxy.")
    if request.method not in ("GET", "HEAD"):
        if not origin_matches(request.headers.get("Origin"), request.host):
            return error_response(403, "origin", "refused: the request comes from another site")
        if not equal(request.headers.get(CSRF_HEADER), session.csrf):
            return error_response(
                403, "csrf", "refused: missing or wrong CSRF token; reload the page"
            )
    request[BACKEND], request[CSRF] = session.backend, session.csrf
    response = await handler(request)
    if response.status == 401:  # the API server refused the token: forget it
        sessions = request.app[TOKENS]
        if token is not None:
            gone = sessions.forget_proxied(token)
        else:
            gone = sessions.close(request.cookies.get(SESSION_COOKIE))
        if gone is not None:
            await gone.backend.close()
    return response


async def login(request: web.Request) -> web.Response:
    """Exchange a pasted token for a session; the token stays on the server."""
    if not request.app[AUTH].login_form:
        return error_response(404, "not_found", "the login form is off: log in through the proxy")
    if not origin_matches(request.headers.get("Origin"), request.host):
        return error_response(403, "origin", "refused: the request comes from another site")
    if request.content_type != "application/json":  # a cross-site form cannot send JSON
        return error_response(400, "input", 'send the token as JSON: {"token": …}')
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN_CHARS:
        return error_response(
            400, "input", "field 'token' must be a bearer token, e.g. from `kubectl create token`"
        )
    try:
        backend = await request.app[MAKE](token.strip())
    except LoginRequired:
        return _login_needed(request, "The API server did not accept this token.")
    except KubeAPIError as e:
        return error_response(502, "kubernetes", f"cannot ask the API server who you are: {e}")
    session_id, session = request.app[TOKENS].open(
        token.strip(), backend.user or "", backend, time.monotonic()
    )
    log.info("review login: %s", session.user)
    return web.json_response(
        {"user": session.user},
        headers={"Set-Cookie": cluster_cookie_header(session_id, _secure(request))},
    )


async def logout(request: web.Request) -> web.Response:
    """End the session (a proxy login ends at the proxy)."""
    gone = request.app[TOKENS].close(request.cookies.get(SESSION_COOKIE))
    if gone is not None:
        await gone.backend.close()
    return web.json_response(
        {"user": None},
        headers={"Set-Cookie": cluster_cookie_header("", _secure(request), max_age=0)},
    )


def make_cluster_app(make_backend: MakeBackend, auth: ClusterAuth) -> web.Application:
    """The cluster application: every person's requests go out with their own token."""
    app = web.Application(
        middlewares=[headers_middleware, cluster_auth_middleware], client_max_size=MAX_BODY_BYTES
    )
    app[TOKENS] = TokenSessions()
    app[AUTH] = auth
    app[MAKE] = make_backend
    app[MODE] = "cluster"

    def open_feed(request: web.Request) -> LiveFeed:
        backend: ReviewBackend = request[BACKEND]
        return LiveFeed(backend.marks, auth.poll_seconds)

    app[OPEN_FEED] = open_feed
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    add_review_routes(app)
    return app
