"""Run the local review server until interrupted: bind 127.0.0.1, print (or open) the URL."""

from __future__ import annotations

import asyncio
import socket
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from mge.pipeline.review_decision import DecisionTools
from mge.store import Store
from mge.web.app import QuietAccessLog, make_app
from mge.web.live import POLL_SECONDS, LiveFeed
from mge.web.security import SECRET_PARAM, Sessions
from mge.web.service import ReviewService

__all__ = ["DEFAULT_PORT", "HOST", "ServeOptions", "serve", "start_url"]

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
"""The default port; 0 picks a free one."""


@dataclass(frozen=True)
class ServeOptions:
    """How to serve: where, for whom, what to open first."""

    port: int = DEFAULT_PORT
    project: str | None = None
    open_browser: bool = True
    by: str | None = None
    poll_seconds: float = POLL_SECONDS


def start_url(port: int, secret: str, project: str | None) -> str:
    """The URL with the start secret; the fragment opens a project's queue."""
    fragment = f"#/p/{quote(project, safe='')}" if project else ""
    return f"http://{HOST}:{port}/?{SECRET_PARAM}={secret}{fragment}"


def bind(port: int) -> socket.socket:
    """A listening socket on the loopback address (port 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(
    store: Store,
    tools: DecisionTools,
    options: ServeOptions,
    announce: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or the task is cancelled); ``announce`` gets the URL."""
    sock = bind(options.port)
    port = int(sock.getsockname()[1])
    sessions = Sessions()
    service = ReviewService(store, tools, options.by)
    feed = LiveFeed(store.review_marks, options.poll_seconds)
    app = make_app(service, sessions, feed, port)
    runner = web.AppRunner(app, access_log_class=QuietAccessLog, handle_signals=False)
    await runner.setup()
    try:
        await web.SockSite(runner, sock, shutdown_timeout=2.0).start()
        url = start_url(port, sessions.secret, options.project)
        announce(url)
        if options.open_browser:
            webbrowser.open(url)
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
