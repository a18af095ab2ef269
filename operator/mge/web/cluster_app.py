"""The review server in a cluster: the same pages and API, each person acting with their token.

Routes beyond :func:`mge.web.app.add_review_routes`::

    POST /api/login     {"token": …}  a pasted bearer token → a sealed session cookie
    POST /api/logout    ends the session in this browser (clears the cookie)

Who a request is: a proxy header's bearer token (:data:`~mge.web.cluster_auth.PROXY_HEADERS`),
else the sealed session cookie (:mod:`mge.web.session_cookie`), opened with the key every
replica shares; neither → 401 with ``"login": true`` (the page shows the login form when it is
enabled). A cookie that does not open (another key, changed, too old) is the same 401 and is
cleared; so is a 401 from the API server (an expired token). The page and its static assets
hold no data and are served to anyone.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import SecretStr

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
    SESSION_SECONDS,
    KnownToken,
    TokenCache,
    bearer_token,
    cluster_cookie_header,
    derived_csrf,
    origin_matches,
)
from mge.web.live import POLL_SECONDS, LiveFeed
from mge.web.security import CSRF_HEADER, SESSION_COOKIE, equal, new_secret
from mge.web.session_cookie import (
    MAX_COOKIE_CHARS,
    SessionClaims,
    SessionKeys,
    open_session,
    seal_session,
)

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
    keys: SessionKeys = field(default_factory=SessionKeys.generate)
    """Seal the session cookies and derive proxy CSRF tokens; the same on every replica."""
    session_seconds: int = SESSION_SECONDS
    """Life of a login-form session (the cookie's Max-Age; older seals do not open)."""


TOKENS: web.AppKey[TokenCache[ReviewBackend]] = web.AppKey("tokens")
AUTH = web.AppKey("auth", ClusterAuth)
MAKE: web.AppKey[MakeBackend] = web.AppKey("make_backend")
PUBLIC_PATHS = frozenset({"/", "/favicon.ico", "/api/login"})


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _login_needed(request: web.Request, message: str, clear: bool = False) -> web.Response:
    """401 with the login prompt; ``clear`` also removes a session cookie that is no use."""
    response = error_response(401, "session", message, login=request.app[AUTH].login_form)
    if clear:
        response.headers["Set-Cookie"] = cluster_cookie_header("", _secure(request), max_age=0)
    return response


async def _known(request: web.Request, token: str) -> KnownToken[ReviewBackend]:
    """Who ``token`` is and its backend: remembered, or asked of the API server (raises
    LoginRequired when it refuses the token)."""
    cache, now = request.app[TOKENS], time.monotonic()
    known = cache.get(token, now)
    if known is not None:
        return known
    backend = await request.app[MAKE](token)
    for gone in cache.expire(now):
        await gone.backend.close()
    known = cache.get(token, now)  # another request of the same person got there first
    if known is not None:
        await backend.close()
        return known
    return cache.remember(token, backend.user or "", backend, now)


class _Refused(Exception):
    """The request names no usable login; the response says why."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


def _cookie_claims(request: web.Request) -> SessionClaims:
    """The claims of the request's session cookie; raises _Refused with the login prompt."""
    auth = request.app[AUTH]
    value = request.cookies.get(SESSION_COOKIE)
    claims = open_session(auth.keys, value, int(time.time()), auth.session_seconds)
    if claims is not None:
        return claims
    if value:  # sealed under another key, changed, or too old: say so and clear it
        raise _Refused(_login_needed(request, "Your session has ended: log in again.", clear=True))
    raise _Refused(
        _login_needed(request, "Not logged in: paste a token or log in through the proxy.")
    )


@web.middleware
async def cluster_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The person behind the request; CSRF and Origin on state changes; a 401 from the API
    server ends their session."""
    if request.path in PUBLIC_PATHS or request.path.startswith("/assets/"):
        return await handler(request)
    auth = request.app[AUTH]
    token = bearer_token(request.headers, auth.proxy_headers)
    from_cookie = token is None
    try:
        if token is None:
            claims = _cookie_claims(request)
            token, csrf = claims.token.get_secret_value(), claims.csrf
        else:
            csrf = derived_csrf(auth.keys.csrf_key, token)
        known = await _known(request, token)
    except _Refused as e:
        return e.response
    except LoginRequired as e:
        return _login_needed(request, str(e), clear=from_cookie)
    except KubeAPIError as e:
        return error_response(502, "kubernetes", f"cannot ask the API server who you are: {e}")
    if request.method not in ("GET", "HEAD"):
        if not origin_matches(request.headers.get("Origin"), request.host):
            return error_response(403, "origin", "refused: the request comes from another site")
        if not equal(request.headers.get(CSRF_HEADER), csrf):
            return error_response(
                403, "csrf", "refused: missing or wrong CSRF token; reload the page"
            )
    request[BACKEND], request[CSRF] = known.backend, csrf
    response = await handler(request)
    if response.status == 401:  # the API server refused the token: forget it
        gone = request.app[TOKENS].forget(token)
        if gone is not None:
            await gone.backend.close()
        if from_cookie and not response.prepared:
            response.headers["Set-Cookie"] = cluster_cookie_header("", _secure(request), max_age=0)
    return response


async def login(request: web.Request) -> web.Response:
    """Exchange a pasted token for a sealed session cookie."""
    auth = request.app[AUTH]
    if not auth.login_form:
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
    token = token.strip()
    try:
        known = await _known(request, token)
    except LoginRequired:
        return _login_needed(request, "The API server did not accept this token.")
    except KubeAPIError as e:
        return error_response(502, "kubernetes", f"cannot ask the API server who you are: {e}")
    claims = SessionClaims(SecretStr(token), known.user, new_secret())
    sealed = seal_session(auth.keys, claims, int(time.time()))
    if len(sealed) > MAX_COOKIE_CHARS:
        return error_response(
            400,
            "input",
            f"field 'token': this token ({len(token)} characters) is too long to keep in a "
            f"session cookie (sealed it needs {len(sealed)} of at most {MAX_COOKIE_CHARS}); "
            "log in through the auth proxy instead (reviewUI.auth.proxyHeaders)",
        )
    log.info("review login: %s", known.user)
    return web.json_response(
        {"user": known.user},
        headers={
            "Set-Cookie": cluster_cookie_header(sealed, _secure(request), auth.session_seconds)
        },
    )


async def logout(request: web.Request) -> web.Response:
    """End the session in this browser: the cookie is cleared and this server forgets the
    token (a proxy login ends at the proxy)."""
    auth = request.app[AUTH]
    claims = open_session(
        auth.keys, request.cookies.get(SESSION_COOKIE), int(time.time()), auth.session_seconds
    )
    if claims is not None:
        gone = request.app[TOKENS].forget(claims.token.get_secret_value())
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
    app[TOKENS] = TokenCache()
    app[AUTH] = auth
    app[MAKE] = make_backend
    app[MODE] = "cluster"

    async def close_all(_: web.Application) -> None:
        for known in app[TOKENS].expire(float("inf")):
            await known.backend.close()

    app.on_cleanup.append(close_all)

    def open_feed(request: web.Request) -> LiveFeed:
        backend: ReviewBackend = request[BACKEND]
        return LiveFeed(backend.marks, auth.poll_seconds)

    app[OPEN_FEED] = open_feed
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    add_review_routes(app)
    return app
