"""The local review server: an aiohttp application over :class:`~mge.web.service.ReviewService`.

Routes (all need the session cookie, see :mod:`mge.web.security`)::

    GET  /                                       the page (static assets under /assets/)
    GET  /api/session                            {"csrf": …, "user": …}
    GET  /api/projects                           projects with phase, progress, reviews, cost
    GET  /api/projects/{key}/queue?state=…       pending (default) | decided | all
    GET  /api/projects/{key}/atoms/{atom}        the atom page
    POST /api/projects/{key}/atoms/{atom}/decision   approve | edit | regenerate
    GET  /api/events                             Server-Sent Events: {"projects": [changed keys]}

Errors are JSON ``{"error": kind, "message": …}``: 400 bad input, 401 no session, 403 CSRF or
origin, 404 unknown, 409 stale page (with ``current``, the item as it is now).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from mge.errors import InputError, MGEError
from mge.web.backend import Forbidden, LoginRequired, NotFound, ReviewBackend, StaleItem
from mge.web.live import LiveFeed
from mge.web.security import (
    CSRF_HEADER,
    SECRET_PARAM,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    Sessions,
    allowed_host,
    new_secret,
    policy_with_style_nonce,
    same_origin,
    session_cookie_header,
)
from mge.web.service import ReviewService
from mge.web.views import QUEUE_FILTERS, QueueFilter

__all__ = [
    "BACKEND",
    "CSRF",
    "DIST_DIR",
    "FEED",
    "MODE",
    "OPEN_FEED",
    "QuietAccessLog",
    "add_review_routes",
    "error_response",
    "headers_middleware",
    "make_app",
]

DIST_DIR = Path(str(resources.files("mge.web") / "dist"))
"""The built frontend (webui/ → scripts/build-webui.sh), shipped as package data."""
HEARTBEAT_SECONDS = 15.0
"""An SSE comment this often keeps proxies and the browser from closing an idle stream."""
MAX_BODY_BYTES = 256 * 1024
NONCE_PLACEHOLDER = "%MGE_STYLE_NONCE%"
"""Replaced in index.html by each response's style nonce."""

log = logging.getLogger(__name__)

SERVICE = web.AppKey("service", ReviewService)
SESSIONS = web.AppKey("sessions", Sessions)
FEED = web.AppKey("feed", LiveFeed)
PORT = web.AppKey("port", int)
OPEN_FEED: web.AppKey[Callable[[web.Request], LiveFeed]] = web.AppKey("open_feed")
"""Cluster mode: a function (request → a LiveFeed of this person's own) instead of FEED."""
BACKEND = "mge.backend"
"""Request key: the :class:`~mge.web.backend.ReviewBackend` acting for this request's person."""
CSRF = "mge.csrf"
"""Request key: this request's person's CSRF token."""
MODE = web.AppKey("mode", str)


class QuietAccessLog(AbstractAccessLogger):
    """Method, path without the query string (where the start secret travels), status."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.0fms", request.method, request.path, response.status, 1000 * time
        )


def error_response(status: int, kind: str, message: str, **extra: Any) -> web.Response:
    """The JSON error every API answer uses."""
    return web.json_response({"error": kind, "message": message, **extra}, status=status)


def _error(status: int, kind: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": kind, "message": message, **extra}, status=status)


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every response; nothing cached."""
    try:
        response = await handler(request)
    except web.HTTPException as e:
        response = e
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host check, the secret-for-cookie exchange, the session, CSRF on state changes."""
    sessions = request.app[SESSIONS]
    if not allowed_host(request.host, request.app[PORT]):
        return _error(403, "host", "this server answers only on 127.0.0.1 / localhost")
    if SECRET_PARAM in request.query:
        session = sessions.open(request.query.get(SECRET_PARAM))
        if session is None:
            return _forbidden_page(request, "The token in this URL is not the one of this server.")
        location = request.rel_url.without_query_params(SECRET_PARAM)
        return web.Response(
            status=303,
            headers={"Location": str(location), "Set-Cookie": session_cookie_header(session)},
        )
    session = request.cookies.get(SESSION_COOKIE)
    if sessions.csrf(session) is None:
        return _forbidden_page(request, "No session: open the URL that `mge review serve` printed.")
    if request.method not in ("GET", "HEAD"):
        if not same_origin(request.headers.get("Origin"), request.host):
            return _error(403, "origin", "refused: the request comes from another site")
        if not sessions.check_csrf(session, request.headers.get(CSRF_HEADER)):
            return _error(403, "csrf", "refused: missing or wrong CSRF token; reload the page")
    request[BACKEND] = request.app[SERVICE]
    request[CSRF] = sessions.csrf(session)
    return await handler(request)


def _forbidden_page(request: web.Request, message: str) -> web.Response:
    if request.path.startswith("/api/"):
        return _error(401, "session", message)
    body = (
        "<!doctype html><meta charset=utf-8><title>MGE review: no session</title>"
        f"<h1>MGE review</h1><p>{message}</p>"
    )
    return web.Response(status=401, text=body, content_type="text/html")


async def index(request: web.Request) -> web.Response:
    """The single page, with a fresh style nonce for CodeMirror's ``<style>`` elements."""
    nonce = new_secret()
    html = (DIST_DIR / "index.html").read_text(encoding="utf-8")
    return web.Response(
        text=html.replace(NONCE_PLACEHOLDER, nonce),
        content_type="text/html",
        headers={"Content-Security-Policy": policy_with_style_nonce(nonce)},
    )


async def no_favicon(request: web.Request) -> web.Response:
    """No icon (and no 404 in the console)."""
    return web.Response(status=204)


async def session_info(request: web.Request) -> web.Response:
    """The CSRF token for this session (readable only by our own origin's scripts)."""
    backend: ReviewBackend = request[BACKEND]
    return web.json_response(
        {"csrf": request[CSRF], "user": backend.user, "mode": request.app[MODE]}
    )


def _handles_errors(
    fn: Callable[[web.Request], Awaitable[Any]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return web.json_response(await fn(request))
        except StaleItem as e:
            return _error(409, "stale", str(e), current=e.current)
        except NotFound as e:
            return _error(404, "not_found", str(e))
        except InputError as e:
            return _error(400, "input", str(e))
        except Forbidden as e:
            return _error(403, "forbidden", str(e), readOnly=True)
        except LoginRequired as e:
            return _error(401, "session", str(e), login=True)
        except MGEError as e:
            log.warning("review request %s failed: %s", request.path, e)
            return _error(500, type(e).__name__, str(e))

    return wrapped


def _backend(request: web.Request) -> ReviewBackend:
    backend: ReviewBackend = request[BACKEND]
    return backend


@_handles_errors
async def projects(request: web.Request) -> Any:
    """All projects."""
    return {"projects": await _backend(request).projects()}


@_handles_errors
async def queue(request: web.Request) -> Any:
    """One project's queue."""
    which = request.query.get("state", "pending")
    if which not in QUEUE_FILTERS:
        raise InputError(f"query 'state' must be one of {', '.join(QUEUE_FILTERS)}")
    state: QueueFilter = which
    return await _backend(request).queue(request.match_info["key"], state)


@_handles_errors
async def atom(request: web.Request) -> Any:
    """One atom page."""
    return await _backend(request).atom(request.match_info["key"], request.match_info["atom"])


@_handles_errors
async def decision(request: web.Request) -> Any:
    """Carry out a decision, then push the change to every open page."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"the body must be a JSON object: {e}") from e
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object")
    key, atom_id = request.match_info["key"], request.match_info["atom"]
    out = await _backend(request).decide(key, atom_id, body)
    if FEED in request.app:
        await request.app[FEED].check()
    return out


async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: which projects changed; the page re-reads what it shows."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    response.headers.update(SECURITY_HEADERS)
    await response.prepare(request)
    own: LiveFeed | None = None
    if FEED in request.app:
        feed = request.app[FEED]
    else:  # cluster: a feed of this person's own, reading with their token
        feed = own = request.app[OPEN_FEED](request)
        await own.start()
    queue = feed.subscribe()
    try:
        await response.write(b"event: hello\ndata: {}\n\n")
        while True:
            try:
                changed = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if changed is None:
                break
            data = json.dumps({"projects": changed})
            await response.write(f"event: change\ndata: {data}\n\n".encode())
    except ConnectionResetError:  # the page went away
        pass
    finally:
        feed.unsubscribe(queue)
        if own is not None:
            await own.stop()
    return response


def make_app(
    service: ReviewService, sessions: Sessions, feed: LiveFeed, port: int
) -> web.Application:
    """The application; ``port`` is the one it listens on (for the Host check)."""
    app = web.Application(
        middlewares=[headers_middleware, auth_middleware], client_max_size=MAX_BODY_BYTES
    )
    app[SERVICE], app[SESSIONS], app[FEED], app[PORT] = service, sessions, feed, port
    app[MODE] = "local"
    add_review_routes(app)

    async def on_startup(_: web.Application) -> None:
        await feed.start()

    async def on_shutdown(_: web.Application) -> None:
        await feed.stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app


def add_review_routes(app: web.Application) -> None:
    """The page, its assets and the JSON API (both modes)."""
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", no_favicon)
    app.router.add_get("/api/session", session_info)
    app.router.add_get("/api/projects", projects)
    app.router.add_get("/api/projects/{key}/queue", queue)
    app.router.add_get("/api/projects/{key}/atoms/{atom}", atom)
    app.router.add_post("/api/projects/{key}/atoms/{atom}/decision", decision)
    app.router.add_get("/api/events", events)
    app.router.add_static("/assets/", DIST_DIR / "assets", follow_symlinks=False)
