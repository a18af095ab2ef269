"""Leader election over a Lease: the pure decisions with tables, then the elector's loop with
an in-memory Lease API (resourceVersions and 409 Conflicts as the API server does them)."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from mge import metrics
from mge.config import OperatorSettings
from mge.errors import ConfigError, KubeAPIError, KubeUnavailable
from mge.kube.client import KubeClient
from mge.kube.leader import LOST_LEASE_EXIT_CODE, LeaderElector, lease_namespace
from mge.kube.lease import (
    LeaseRecord,
    Sighting,
    decide_lease,
    lease_body,
    must_step_down,
    released_body,
    sight,
)

ME, OTHER = "pod-a-1-abc", "pod-b-2-def"


def rec(holder: str, version: str = "7", duration: float = 15, transitions: int = 2) -> LeaseRecord:
    return LeaseRecord(
        holder=holder, duration_seconds=duration, version=version, transitions=transitions
    )


DECISIONS = [
    # (record, sighting, now, action, wait)
    ("no Lease", None, None, 100.0, "create", 0.0),
    ("ours", rec(ME), Sighting("7", 90.0), 100.0, "renew", 0.0),
    ("released", rec(""), Sighting("7", 99.0), 100.0, "acquire", 0.0),
    ("released, never seen", rec(""), None, 100.0, "acquire", 0.0),
    ("other, first sighting", rec(OTHER), None, 100.0, "wait", 5.0),
    ("other, changed since", rec(OTHER, "8"), Sighting("7", 50.0), 100.0, "wait", 5.0),
    ("other, fresh", rec(OTHER), Sighting("7", 99.0), 100.0, "wait", 5.0),
    ("other, 2 s left", rec(OTHER), Sighting("7", 87.0), 100.0, "wait", 2.0),
    ("other, just expired", rec(OTHER), Sighting("7", 85.0), 100.0, "acquire", 0.0),
    ("other, long expired", rec(OTHER), Sighting("7", 0.0), 100.0, "acquire", 0.0),
]


@pytest.mark.parametrize(("case", "record", "seen", "now", "action", "wait"), DECISIONS)
def test_decide_lease(
    case: str,
    record: LeaseRecord | None,
    seen: Sighting | None,
    now: float,
    action: str,
    wait: float,
) -> None:
    decision = decide_lease(record, ME, seen, now, retry_seconds=5.0)
    assert (decision.action, decision.wait_seconds) == (action, pytest.approx(wait)), case
    assert decision.reason


def test_expiry_is_measured_from_our_own_sighting_not_the_writers_clock() -> None:
    """A renewTime far in the past (skewed clock) does not make the Lease expired: only time
    unchanged on our clock does."""
    obj = {
        "metadata": {"resourceVersion": "7"},
        "spec": {
            "holderIdentity": OTHER,
            "leaseDurationSeconds": 15,
            "renewTime": "1999-01-01T00:00:00.000000Z",
        },
    }
    record = LeaseRecord.from_object(obj)
    seen = sight(None, record, now=1000.0)
    assert decide_lease(record, ME, seen, 1000.0, retry_seconds=5).action == "wait"
    assert (
        decide_lease(record, ME, sight(seen, record, 1014.0), 1014.0, retry_seconds=5).action
        == "wait"
    )
    assert (
        decide_lease(record, ME, sight(seen, record, 1015.0), 1015.0, retry_seconds=5).action
        == "acquire"
    )


def test_sighting_restarts_when_the_lease_changes() -> None:
    first = sight(None, rec(OTHER, "7"), 10.0)
    assert sight(first, rec(OTHER, "7"), 20.0) == Sighting("7", 10.0)
    assert sight(first, rec(OTHER, "8"), 20.0) == Sighting("8", 20.0)
    assert sight(first, None, 20.0) is None


@pytest.mark.parametrize(
    ("since", "down"), [(0.0, False), (9.9, False), (10.0, True), (30.0, True)]
)
def test_leader_steps_down_a_renew_period_before_anyone_may_take_over(
    since: float, down: bool
) -> None:
    assert must_step_down(100.0, 100.0 + since, duration=15, renew=5) is down


def test_bodies_carry_the_resource_version_and_count_transitions() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    created = lease_body("l", "ns", ME, duration_seconds=6.5, now=now, record=None)
    assert "resourceVersion" not in created["metadata"]
    assert created["spec"] == {
        "holderIdentity": ME,
        "leaseDurationSeconds": 7,  # rounded up: a standby never waits less than we assume
        "acquireTime": "2026-01-02T03:04:05.678901Z",
        "renewTime": "2026-01-02T03:04:05.678901Z",
        "leaseTransitions": 0,
    }
    taken = lease_body("l", "ns", ME, duration_seconds=15, now=now, record=rec(OTHER))
    assert taken["metadata"]["resourceVersion"] == "7"
    assert taken["spec"]["leaseTransitions"] == 3
    ours = LeaseRecord(ME, 15, "9", 3, acquired="2026-01-01T00:00:00.000000Z")
    renewed = lease_body("l", "ns", ME, duration_seconds=15, now=now, record=ours)
    assert renewed["spec"]["leaseTransitions"] == 3
    assert renewed["spec"]["acquireTime"] == "2026-01-01T00:00:00.000000Z"
    released = released_body("l", "ns", ours)
    assert "holderIdentity" not in released["spec"]
    assert released["metadata"]["resourceVersion"] == "9"


def test_settings_keep_renewals_within_half_the_lease(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="lease_renew_seconds"):
        OperatorSettings.from_env({"MGE_LEASE_DURATION": "6", "MGE_LEASE_RENEW": "4"})
    op = OperatorSettings.from_env({"MGE_LEASE_DURATION": "6", "MGE_LEASE_RENEW": "2"})
    assert (op.lease_name, op.lease_duration_seconds, op.lease_renew_seconds) == (
        "mge-operator",
        6.0,
        2.0,
    )
    assert OperatorSettings.from_env({"MGE_LEADER_ELECTION": "false"}).leader_election is False
    assert lease_namespace(OperatorSettings(namespace="mge-system")) == "mge-system"
    sa = tmp_path / "namespace"
    sa.write_text("ops\n")
    assert lease_namespace(OperatorSettings(), sa_file=sa) == "ops"
    assert lease_namespace(OperatorSettings(), sa_file=tmp_path / "absent") == "default"


class FakeLeases:
    """The Lease API of one namespace: resourceVersion per write, 409 on a stale one."""

    def __init__(self) -> None:
        self.obj: dict[str, Any] | None = None
        self.version = 0
        self.down = False
        self.forbidden = False
        self.writes: list[str] = []

    async def get_lease(self, namespace: str, name: str, *, request_seconds: float) -> Any:
        if self.down:
            raise KubeUnavailable("down", status=0, reason="KubernetesUnreachable")
        if self.forbidden:
            raise KubeAPIError("get Lease: HTTP 403", status=403, reason="KubernetesForbidden")
        return copy.deepcopy(self.obj)

    async def write_lease(self, body: dict[str, Any], *, request_seconds: float) -> Any:
        if self.down:
            raise KubeUnavailable("down", status=0, reason="KubernetesUnreachable")
        rv = body["metadata"].get("resourceVersion")
        current = None if self.obj is None else self.obj["metadata"]["resourceVersion"]
        if rv != current:
            return None  # AlreadyExists / Conflict
        self.version += 1
        self.obj = copy.deepcopy(body)
        self.obj["metadata"]["resourceVersion"] = str(self.version)
        self.writes.append(body["spec"].get("holderIdentity") or "")
        return copy.deepcopy(self.obj)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def elector(api: FakeLeases, me: str, clock: Clock, exits: list[int]) -> LeaderElector:
    return LeaderElector(
        cast(KubeClient, api),
        name="mge-operator",
        namespace="ns",
        duration=6,
        renew=0.05,
        me=me,
        clock=clock,
        exit_process=exits.append,
    )


async def test_standby_takes_over_a_released_lease_at_once() -> None:
    api, clock, exits = FakeLeases(), Clock(), []
    a, b = elector(api, "a", clock, exits), elector(api, "b", clock, exits)
    await a.acquire()
    assert a.leading and api.writes == ["a"]
    waiting = asyncio.create_task(b.acquire())
    await asyncio.sleep(0.2)
    assert not waiting.done(), "the standby took a held Lease"
    a.keep(on_lost=lambda: asyncio.sleep(0))
    await a.release()
    await asyncio.wait_for(waiting, timeout=2)
    assert b.leading and api.writes[-2:] == ["", "b"]
    assert exits == []


async def test_standby_takes_over_an_expired_lease_only_after_its_duration() -> None:
    api, clock, exits = FakeLeases(), Clock(), []
    a, b = elector(api, "a", clock, exits), elector(api, "b", clock, exits)
    await a.acquire()  # then a is SIGKILLed: nobody renews
    waiting = asyncio.create_task(b.acquire())
    await asyncio.sleep(0.2)
    clock.t += 5.9
    await asyncio.sleep(0.2)
    assert not waiting.done()
    clock.t += 0.2
    await asyncio.wait_for(waiting, timeout=2)
    assert b.leading and api.obj is not None
    assert api.obj["spec"]["leaseTransitions"] == 1


async def test_leader_that_cannot_renew_stops_its_workers_and_exits_before_expiry() -> None:
    api, clock, exits = FakeLeases(), Clock(), []
    a = elector(api, "a", clock, exits)
    await a.acquire()
    stopped: list[float] = []

    async def stop_workers() -> None:
        stopped.append(clock())

    assert metrics.METRICS.leader._value.get() == 1  # mge_operator_leader
    a.keep(on_lost=stop_workers)
    api.down = True
    await asyncio.sleep(0.2)
    assert exits == [] and a.leading
    clock.t += 6 - 0.05  # the renew deadline: duration - renew
    for _ in range(100):
        if exits:
            break
        await asyncio.sleep(0.02)
    assert exits[:1] == [LOST_LEASE_EXIT_CODE] and stopped, "did not step down"
    assert stopped[0] < 1000.0 + 6, "workers stopped after a standby could take over"
    assert not a.leading and metrics.METRICS.leader._value.get() == 0
    await a.release()


async def test_leader_that_finds_another_holder_steps_down() -> None:
    api, clock, exits = FakeLeases(), Clock(), []
    a = elector(api, "a", clock, exits)
    await a.acquire()
    assert api.obj is not None
    api.obj["spec"]["holderIdentity"] = "b"  # e.g. an admin handed it over
    api.obj["metadata"]["resourceVersion"] = "99"
    a.keep(on_lost=lambda: asyncio.sleep(0))
    for _ in range(100):
        if exits:
            break
        await asyncio.sleep(0.02)
    assert exits[:1] == [LOST_LEASE_EXIT_CODE]
    await a.release()
    assert api.obj["spec"]["holderIdentity"] == "b", "released a Lease it did not hold"


async def test_a_refused_lease_stops_the_standby_with_what_to_grant() -> None:
    """403 is not transient: waiting forever as a 'standby' would hide an RBAC mistake."""
    api, clock, exits = FakeLeases(), Clock(), []
    api.forbidden = True
    with pytest.raises(ConfigError, match=r"grant this ServiceAccount get/update"):
        await asyncio.wait_for(elector(api, "a", clock, exits).acquire(), timeout=2)


async def test_an_unreachable_api_keeps_the_standby_waiting() -> None:
    api, clock, exits = FakeLeases(), Clock(), []
    api.down = True
    waiting = asyncio.create_task(elector(api, "a", clock, exits).acquire())
    await asyncio.sleep(0.2)
    assert not waiting.done()
    api.down = False
    await asyncio.wait_for(waiting, timeout=3)


def _hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # stands in for CPU work run on the event loop


async def test_a_blocked_event_loop_is_reported_with_where_it_is_stuck(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api, exits = FakeLeases(), []
    a = LeaderElector(
        cast(KubeClient, api),
        name="mge-operator",
        namespace="ns",
        duration=6,
        renew=0.2,
        me="a",
        exit_process=exits.append,
    )
    await a.acquire()
    a.keep(on_lost=lambda: asyncio.sleep(0))
    with caplog.at_level(logging.WARNING, logger="mge.operator.leader"):
        _hold_the_loop(1.6)  # over the report threshold: max(renew, 4 heartbeats) = 1 s
        await asyncio.sleep(0.5)
    await a.release()
    stalls = [r.getMessage() for r in caplog.records if "has not run" in r.getMessage()]
    assert any("_hold_the_loop" in m and "time.sleep(seconds)" in m for m in stalls), stalls
    assert exits == []
