"""Lease calls do not queue behind other API calls.

Seen in CI on a loaded machine: a leader's renewal waited in the event loop's shared thread pool
behind other blocking calls, missed its window and the leader stepped down mid-run. Here the
shared pool is full of calls that do not return, and the Lease is still read, created and
renewed on the real API server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from kubernetes import client

from mge.kube.client import KubeClient
from mge.kube.lease import LeaseRecord, lease_body

pytestmark = [pytest.mark.kube]


async def test_lease_calls_go_through_while_the_shared_pool_is_full(
    api: client.ApiClient, make_namespace: Callable[..., str]
) -> None:
    namespace = make_namespace()
    kube = KubeClient(api)
    loop = asyncio.get_running_loop()
    shared = ThreadPoolExecutor(max_workers=2)
    loop.set_default_executor(shared)
    release = threading.Event()
    blockers = [asyncio.to_thread(release.wait) for _ in range(4)]  # 2 running, 2 queued
    tasks = [asyncio.ensure_future(b) for b in blockers]
    try:
        await asyncio.sleep(0.1)
        async with asyncio.timeout(60):
            assert await kube.get_lease(namespace, "mge-operator", request_seconds=10) is None
            body = lease_body(
                "mge-operator",
                namespace,
                "me-1-abcdef",
                duration_seconds=15,
                now=datetime.now(UTC),
                record=None,
            )
            created = await kube.write_lease(body, request_seconds=10)
            assert created is not None
            record = LeaseRecord.from_object(created)
            renewed = await kube.write_lease(
                lease_body(
                    "mge-operator",
                    namespace,
                    "me-1-abcdef",
                    duration_seconds=15,
                    now=datetime.now(UTC),
                    record=record,
                ),
                request_seconds=10,
            )
        assert renewed is not None and LeaseRecord.from_object(renewed).holder == "me-1-abcdef"
        assert not any(t.done() for t in tasks), "the shared pool was not full during the calls"
    finally:
        release.set()
        await asyncio.gather(*tasks)
        shared.shutdown()
