"""KubeJobRunner watches its Jobs on the real API server: a Job whose pod succeeded is noticed by
the pod's watch event, not by a poll and not a second later when the Job controller marks the Job;
a failed pod hands the wait to a watch on the Job, whose condition says how it ended; a dropped
watch, a 410 Gone and a lost event are recovered by reading the Job again. The faults are
injected by a KubeClient whose first watch misbehaves and then defers to the real watch (the API
server, the Job controller and the harness are all real).

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
from tests.integration.kube.helpers import RESTRICTED, job_runner, oom_killed, sandbox_entry_point

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
    """A real KubeClient whose first watch calls (on the Job's pod or the Job) go wrong in one
    chosen way."""

    def __init__(self, api: client.ApiClient, fault: str, times: int = 1) -> None:
        super().__init__(api)
        self.fault = fault
        self.left = times
        self.versions: list[str] = []
        """The resourceVersion of every Job watch asked for ("" for a pod watch)."""

    def injected(self) -> WatchEnd | None:
        """The fault's end of a watch, or None once the faults are spent (or for ``lose``)."""
        if self.left <= 0:
            return None
        if self.fault == "drop":  # the connection breaks before any event
            self.left -= 1
            return WatchEnd(dropped="ProtocolError: injected")
        if self.fault == "gone":  # the server's answer to a version it no longer keeps
            self.left -= 1
            return watch_failure(client.ApiException(status=410, reason="Gone"))
        return None

    def losing(self) -> bool:
        """Whether this watch loses its events (``lose``: the watch runs 1 s and sees none)."""
        if self.fault == "lose" and self.left > 0:
            self.left -= 1
            return True
        return False

    async def watch_job(
        self,
        namespace: str,
        name: str,
        resource_version: str,
        timeout_seconds: float,
        until: Callable[[str, dict[str, Any]], bool],
    ) -> WatchEnd:
        self.versions.append(resource_version)
        fault = self.injected()
        if fault is not None:
            return fault
        if self.losing():
            return await super().watch_job(namespace, name, resource_version, 1, never)
        return await super().watch_job(namespace, name, resource_version, timeout_seconds, until)

    async def watch_pods(
        self,
        namespace: str,
        selector: str,
        timeout_seconds: float,
        until: Callable[[str, dict[str, Any]], bool],
    ) -> WatchEnd:
        self.versions.append("")
        fault = self.injected()
        if fault is not None:
            return fault
        if self.losing():
            return await super().watch_pods(namespace, selector, 1, never)
        return await super().watch_pods(namespace, selector, timeout_seconds, until)


def never(_event: str, _object: dict[str, Any]) -> bool:
    return False


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
    # the pod's success ended the wait: the Job itself was never watched
    assert runner.kube.counter.get("watch", "Pod") == 1
    assert runner.kube.counter.get("watch", "Job") == 0
    timings = [r for r in map(parse_line, caplog.messages) if r is not None]
    assert [t["watch_ends"] for t in timings] == [{"event": 1}]
    assert timings[0]["job_done"] <= timings[0]["noticed"] <= timings[0]["result_read"]


def test_a_failed_pod_hands_the_wait_to_the_jobs_own_condition(
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
    start_harness: Callable[..., PodHarness],
) -> None:
    namespace = make_namespace(RESTRICTED)
    start_harness(oom_killed, namespace)
    runner = job_runner(
        api,
        custom,
        namespace,
        "pod-fails",
        ExecutionSpec(atom_timeout_seconds=60),
        poll_first=NO_POLL,
        poll_max=NO_POLL,
    )
    out = asyncio.run(runner.test_runner(Slot(0, 0, 1)).run([calc_job("a")]))
    assert not out["a"].passed and out["a"].error.startswith("OOMKilled")
    # the pod's end was seen on the pod watch; the Job's failure on a watch of the Job, or,
    # when the Job controller was quicker than the read after the pod's event, on that read
    jobs = runner.kube.counter.get("watch", "Job")
    assert runner.kube.counter.get("watch", "Pod") == 1 and jobs <= 1
    assert runner.watch_ends == {"event": 1 + jobs}


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
    if fault == "lose":
        # the lost watch timed out; the read after it found the pod done, or (the pod still
        # running) a later watch saw it end - which, depends on how long the pod ran
        assert runner.watch_ends["timeout"] >= 1
    else:  # one fault, then the real watch saw the Job finish (no 120 s fallback read)
        assert runner.watch_ends[ended_by] == 1
        assert set(runner.watch_ends) <= {ended_by, "event"}
        assert len(kube.versions) >= 2, "the Job was read again and watched again"
