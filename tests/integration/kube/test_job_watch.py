"""KubeJobRunner watches its Jobs on the real API server: a finished Job is noticed by the watch
event, not by a poll; a dropped watch, a 410 Gone and a lost event are recovered by reading the
Job again. The faults are injected by a KubeClient whose ``watch_job`` misbehaves once and then
defers to the real watch (the API server, the Job controller and the harness are all real).

The 410 is injected too (as the client maps the server's ``ApiException``): a fresh test control
plane answers a watch from an old version (``resourceVersion=1``) by replaying the events
instead of 410, and its etcd is not compacted during a test."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from tests.integration.controlplane import PodHarness
from tests.integration.kube.helpers import RESTRICTED, job_runner, sandbox_entry_point

from mge.kube.client import KubeClient, WatchEnd, watch_failure
from mge.kube.job_timing import parse_line
from mge.kube.jobs import KubeJobRunner, Slot
from mge.models.project import ExecutionSpec
from mge.validation.runner import TestJob

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

GOOD = "def add(a, b):\n    return a + b\n"
TEST = "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
NO_POLL = 120.0
"""Watch timeout for the runners here: far longer than a Job takes, so only the watch event
(or a recovery from an injected fault) can end the wait in time."""


def calc_job(atom: str) -> TestJob:
    return TestJob(
        id=atom,
        files={"calc.py": GOOD, "test_calc.py": TEST},
        tests=("test_calc.py::test_add",),
        imports=("calc",),
    )


class FaultyWatch(KubeClient):
    """A real KubeClient whose first ``watch_job`` calls go wrong in one chosen way."""

    def __init__(self, api: client.ApiClient, fault: str, times: int = 1) -> None:
        super().__init__(api)
        self.fault = fault
        self.left = times
        self.versions: list[str] = []
        """The resourceVersion of every watch asked for."""

    async def watch_job(
        self,
        namespace: str,
        name: str,
        resource_version: str,
        timeout_seconds: float,
        until: Callable[[str, dict[str, Any]], bool],
    ) -> WatchEnd:
        self.versions.append(resource_version)
        if self.left > 0:
            self.left -= 1
            if self.fault == "drop":  # the connection breaks before any event
                return WatchEnd(dropped="ProtocolError: injected")
            if self.fault == "gone":  # the server's answer to a version it no longer keeps
                return watch_failure(client.ApiException(status=410, reason="Gone"))
            if self.fault == "lose":  # the Job's events never reach us (1 s watch)
                return await super().watch_job(
                    namespace, name, resource_version, 1, lambda _e, _j: False
                )
        return await super().watch_job(namespace, name, resource_version, timeout_seconds, until)


def run_one(runner: KubeJobRunner) -> bool:
    out = asyncio.run(runner.test_runner(Slot(0, 0, 1)).run([calc_job("a")]))
    return out["a"].passed


@pytest.fixture
def setup(
    api: client.ApiClient,
    make_namespace: Callable[..., str],
    start_harness: Callable[..., PodHarness],
) -> str:
    namespace = make_namespace(RESTRICTED)
    start_harness(sandbox_entry_point(api), namespace)
    return namespace


def test_a_finished_job_is_noticed_by_its_watch_event(
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    setup: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = job_runner(
        api,
        custom,
        setup,
        "watched",
        ExecutionSpec(atom_timeout_seconds=60),
        poll_first=NO_POLL,
        poll_max=NO_POLL,
    )
    with caplog.at_level(logging.INFO, logger="mge.operator.jobs"):
        assert run_one(runner)
    assert runner.watch_ends == {"event": 1}
    timings = [r for r in map(parse_line, caplog.messages) if r is not None]
    assert [t["watch_ends"] for t in timings] == [{"event": 1}]
    assert timings[0]["job_done"] <= timings[0]["noticed"] <= timings[0]["result_read"]


@pytest.mark.parametrize(
    ("fault", "ended_by"), [("drop", "dropped"), ("gone", "gone"), ("lose", "timeout")]
)
def test_a_broken_watch_is_recovered_by_reading_the_job_again(
    api: client.ApiClient, custom: client.CustomObjectsApi, setup: str, fault: str, ended_by: str
) -> None:
    kube = FaultyWatch(api, fault)
    # the first watch ends at once on the fault (the lost-event one after 1 s); the next
    # one, from the version read again, is the real watch with a long timeout
    poll = 1.0 if fault == "lose" else NO_POLL
    runner = job_runner(
        api,
        custom,
        setup,
        f"faulty-{fault}",
        ExecutionSpec(atom_timeout_seconds=60),
        kube=kube,
        poll_first=poll,
        poll_max=NO_POLL,
    )
    assert run_one(runner)
    if fault == "lose":  # the fallback read found it (after one or more 1–2 s watches)
        assert runner.watch_ends["timeout"] >= 1
    else:  # one fault, then the real watch saw the Job finish (no 120 s fallback read)
        assert runner.watch_ends[ended_by] == 1
        assert set(runner.watch_ends) <= {ended_by, "event"}
    assert len(kube.versions) >= 2, "the Job was read again and watched again"
