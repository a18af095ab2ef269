"""Kubernetes API failures: which are retried, which fail the Project, and how.

The faults here are raised by plain callables standing in for one client call — the control
plane cannot be made to answer 500 or 429 on demand; tests/integration/kube/test_api_faults.py
injects them between the real operator and the real API server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import urllib3
from kubernetes import client

from mge.errors import KubeAPIError, KubeUnavailable
from mge.kube.client import KubeClient, RetryPolicy, classify
from mge.kube.decide import Observed, decide
from mge.kube.worker import WorkerRegistry, retry_pause
from mge.models.project import Phase, ProjectSpec, ProjectStatus
from mge.pipeline.phases import next_phase


@pytest.mark.parametrize(
    ("status", "conflict_transient", "transient", "reason"),
    [
        (500, True, True, "KubernetesUnavailable"),
        (503, True, True, "KubernetesUnavailable"),
        (429, True, True, "KubernetesThrottled"),
        (409, True, True, "KubernetesConflict"),
        (409, False, False, "KubernetesConflict"),
        (0, True, True, "KubernetesUnreachable"),
        (403, True, False, "KubernetesForbidden"),
        (422, True, False, "KubernetesInvalid"),
        (400, True, False, "KubernetesAPIError"),
    ],
)
def test_classify(status: int, conflict_transient: bool, transient: bool, reason: str) -> None:
    assert classify(status, conflict_is_transient=conflict_transient) == (transient, reason)


def test_retry_policy_backs_off_and_honours_retry_after() -> None:
    p = RetryPolicy(attempts=5, base_seconds=0.25, max_seconds=4.0)
    assert [p.delay(n) for n in (1, 2, 3, 6)] == [0.25, 0.5, 1.0, 4.0]
    assert p.delay(1, retry_after=2.0) == 2.0
    assert p.delay(1, retry_after=100.0) == 4.0
    assert [retry_pause(n) for n in (1, 2, 3, 10)] == [2.0, 4.0, 8.0, 60.0]


def api_exception(status: int, message: str = "boom", **headers: str) -> client.ApiException:
    e = client.ApiException(status=status, reason="Reason")
    e.body = f'{{"kind":"Status","message":"{message}"}}'
    e.headers = headers
    return e


class Flaky:
    """Fails with ``faults`` in order, then returns ``result``."""

    def __init__(self, *faults: BaseException, result: Any = "ok") -> None:
        self.faults = list(faults)
        self.calls = 0
        self.result = result

    def __call__(self) -> Any:
        self.calls += 1
        if self.faults:
            raise self.faults.pop(0)
        return self.result


@pytest.fixture
def kube() -> KubeClient:
    return KubeClient(client.ApiClient(), retry=RetryPolicy(attempts=4, base_seconds=0.001))


async def test_transient_failures_are_retried_in_place(kube: KubeClient) -> None:
    fn = Flaky(
        api_exception(500),
        api_exception(429, **{"Retry-After": "0"}),
        api_exception(409),
        urllib3.exceptions.ProtocolError("Connection aborted"),
    )
    kube.retry = RetryPolicy(attempts=5, base_seconds=0.001)
    assert await kube._call(fn, what="get Job ns/j") == "ok"
    assert fn.calls == 5


async def test_outlasting_transient_failure_is_kube_unavailable(kube: KubeClient) -> None:
    fn = Flaky(*[api_exception(503, "etcd leader changed")] * 10)
    with pytest.raises(KubeUnavailable) as err:
        await kube._call(fn, what="create Job ns/j")
    assert fn.calls == 4
    assert err.value.status == 503 and err.value.reason == "KubernetesUnavailable"
    assert "create Job ns/j" in str(err.value) and "etcd leader changed" in str(err.value)


async def test_permanent_failure_is_not_retried(kube: KubeClient) -> None:
    fn = Flaky(api_exception(403, 'jobs.batch is forbidden: User \\"sa\\" cannot create'))
    with pytest.raises(KubeAPIError) as err:
        await kube._call(fn, what="create Job ns/j")
    assert not isinstance(err.value, KubeUnavailable)
    assert fn.calls == 1
    assert err.value.reason == "KubernetesForbidden" and "forbidden" in str(err.value)


async def test_answers_pass_through_unretried(kube: KubeClient) -> None:
    fn = Flaky(api_exception(404))
    with pytest.raises(client.ApiException):
        await kube._call(fn, what="get Job ns/j")
    assert fn.calls == 1


async def settle(reg: WorkerRegistry, uid: str) -> None:
    for _ in range(500):
        info = reg.workers[uid]
        if info.task is not None and info.task.done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("worker did not finish")


async def test_worker_reruns_a_phase_after_a_transient_failure() -> None:
    faults = [KubeUnavailable("create Job: HTTP 500", status=500, reason="KubernetesUnavailable")]
    seen: list[Phase] = []
    errors: list[str] = []

    async def runner(key: str, generation: int, phase: Phase) -> Phase:
        seen.append(phase)
        if phase == Phase.EXECUTING and faults:
            raise faults.pop()
        return next_phase(phase)

    reg = WorkerRegistry(runner=runner, retry_base=0.01, retry_max=0.02)
    reg.on_change = lambda uid: errors.append(reg.workers[uid].error)
    reg.start("u", "ns/p", 1, Phase.EXECUTING)
    await settle(reg, "u")
    info = reg.state("u", 1)
    assert info is not None and (info.state, info.phase) == ("finished", Phase.REVIEWING)
    assert seen == [Phase.EXECUTING, Phase.EXECUTING, Phase.INTEGRATING]
    assert "HTTP 500" in errors[0] and "again in" in errors[0]
    assert info.error == "" and info.reason == ""


async def test_worker_fails_with_the_api_reason_on_a_permanent_failure() -> None:
    async def runner(key: str, generation: int, phase: Phase) -> Phase:
        raise KubeAPIError("create Job ns/j: HTTP 403", status=403, reason="KubernetesForbidden")

    reg = WorkerRegistry(runner=runner)
    reg.start("u", "ns/p", 1, Phase.EXECUTING)
    await settle(reg, "u")
    info = reg.state("u", 1)
    assert info is not None and (info.state, info.reason) == ("failed", "KubernetesForbidden")

    observed = Observed(
        generation=1,
        key="ns/p",
        stored_phase=Phase.EXECUTING,
        worker="failed",
        worker_error=info.error,
        worker_reason=info.reason,
    )
    spec = ProjectSpec.model_validate({"requirements": "x"})
    plan = decide(spec, ProjectStatus(phase="Executing", observed_generation=1), observed, _now())
    stalled = next(c for c in plan.status.conditions if c.type == "Stalled")
    assert plan.status.phase == "Failed"
    assert (stalled.status, stalled.reason) == ("True", "KubernetesForbidden")
    assert "HTTP 403" in plan.status.message


def test_retrying_worker_shows_why_while_still_reconciling() -> None:
    observed = Observed(
        generation=1,
        key="ns/p",
        stored_phase=Phase.EXECUTING,
        worker="running",
        worker_error="create Job: HTTP 500 (phase Executing again in 2 s)",
    )
    spec = ProjectSpec.model_validate({"requirements": "x"})
    plan = decide(spec, ProjectStatus(phase="Executing", observed_generation=1), observed, _now())
    assert plan.status.phase == "Executing" and "HTTP 500" in plan.status.message
    reconciling = next(c for c in plan.status.conditions if c.type == "Reconciling")
    assert reconciling.status == "True"


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 24, tzinfo=UTC)
