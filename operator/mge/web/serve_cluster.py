"""Run the review server in a cluster (``mge review serve --cluster``; the chart's review-ui).

It listens on all interfaces (behind a Service and maybe an Ingress or an auth proxy) and has
no Kubernetes credentials of its own: it knows only where the API server is and which CA to
trust (:class:`~mge.kube.client.ApiServer`); every call carries the person's own token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from mge.kube.client import ApiServer, KubeClient, RetryPolicy, user_api_client
from mge.store import Store
from mge.web.app import QuietAccessLog
from mge.web.backend import ReviewBackend
from mge.web.cluster_app import ClusterAuth, MakeBackend, make_cluster_app
from mge.web.kube_backend import SETTLE_SECONDS, KubeReviewBackend, as_reviewer
from mge.web.service import ReviewService

__all__ = ["CLUSTER_PORT", "ClusterServeOptions", "serve_cluster"]

CLUSTER_PORT = 8080
"""The default port in a cluster (the chart's containerPort)."""
USER_RETRY = RetryPolicy(attempts=2, base_seconds=0.2, max_seconds=1.0)
"""A person is waiting: one quick retry of a transient API failure, then say so."""


@dataclass(frozen=True)
class ClusterServeOptions:
    """Where to listen, which API server, which namespaces, how people log in."""

    server: ApiServer
    host: str = "0.0.0.0"
    port: int = CLUSTER_PORT
    namespaces: tuple[str, ...] = ()
    """Namespaces to show Projects of; empty: every namespace the person may list."""
    auth: ClusterAuth = field(default_factory=ClusterAuth)
    settle_seconds: float = SETTLE_SECONDS


def backend_maker(options: ClusterServeOptions, store: Store | None) -> MakeBackend:
    """token → a backend acting as its holder (asks the API server who it is)."""

    async def make(token: str) -> ReviewBackend:
        kube = KubeClient(user_api_client(options.server, token), retry=USER_RETRY)
        try:
            user = await as_reviewer(kube.whoami(), "ask who you are")
        except BaseException:
            await kube.close()
            raise
        details = ReviewService(store, None, user) if store is not None else None
        return KubeReviewBackend(kube, user, options.namespaces, details, options.settle_seconds)

    return make


def make_app(options: ClusterServeOptions, store: Store | None) -> web.Application:
    """The cluster application for ``options`` (the store only for attempt history)."""
    make = backend_maker(options, store)
    return make_cluster_app(make, options.auth)


async def serve_cluster(
    options: ClusterServeOptions,
    store: Store | None,
    announce: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or the task is cancelled)."""
    runner = web.AppRunner(
        make_app(options, store), access_log_class=QuietAccessLog, handle_signals=False
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, options.host, options.port, shutdown_timeout=2.0)
        await site.start()
        announce(f"MGE review (cluster mode) listening on {options.host}:{options.port}")
        if options.auth.keys.generated:
            announce(
                "MGE review: no --session-key-file, so login sessions are sealed with a key "
                "made for this start: they end when it stops and do not span replicas"
            )
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
