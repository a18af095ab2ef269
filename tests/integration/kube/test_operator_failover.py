"""Active/standby operators on the real control plane: `examples/inventory-lib` runs while the
active replica is killed (SIGKILL) or stopped (SIGTERM, a rolling update), and the standby takes
over from the store — no atom lost, no paid LLM call repeated, no Job created twice, and at no
time two replicas holding workers.

Each operator is `mge operator run` as a process (json logs: every worker start and stop has a
timestamp); the Lease is read with the admin client. Figures are printed as one `failover:` line
(benchmarks/results/operator-failover.md records them with the command)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.integration.controlplane import PodHarness
from tests.integration.kube.helpers import Operators, wait_for
from tests.integration.kube.test_operator_pipeline import (  # noqa: F401 (fixtures)
    NAME,
    JobWatch,
    get,
    ledger_keys,
    manifest,
    pipeline,
    recordings,
)

from mge.config import LEASE_NAME
from mge.kube.leader import LOST_LEASE_EXIT_CODE

pytestmark = [pytest.mark.kube, pytest.mark.slow, pytest.mark.usefixtures("crds_installed")]
G, V = "mge.dev", "v1alpha1"
LEASE_DURATION, LEASE_RENEW = (
    int(x) for x in os.environ.get("MGE_TEST_LEASE", "10/2").split("/", 1)
)
"""Lease duration/renew seconds: short for the test (a killed leader is replaced after about
10 s; a leader on a loaded machine keeps an 8 s renewal window); ``MGE_TEST_LEASE=15/5``
measures the chart's defaults."""
STARTED, STOPPED = "worker started:", "workers stopped:"

Pipeline = tuple[Operators, PodHarness, JobWatch]


@pytest.fixture
def run(pipeline: Pipeline) -> Pipeline:  # noqa: F811
    """Operators, the pod harness and the Job watch of test_operator_pipeline.py."""
    return pipeline


class Fleet:
    """Operator processes of one test, their logs and the Lease."""

    def __init__(self, ops: Operators, api: client.ApiClient) -> None:
        ops.env.update(
            {
                "MGE_LEASE_DURATION": str(LEASE_DURATION),
                "MGE_LEASE_RENEW": str(LEASE_RENEW),
                "MGE_LOG_FORMAT": "json",
            }
        )
        self.ops = ops
        self.coordination = client.CoordinationV1Api(api)
        self.logs: dict[int, Path] = {}

    def start(self) -> subprocess.Popen[bytes]:
        log = self.ops.logs / f"operator-{len(self.ops.procs)}.log"
        proc = self.ops.start()
        self.logs[proc.pid] = log
        return proc

    def holder_pid(self) -> int | None:
        try:
            lease = self.coordination.read_namespaced_lease(LEASE_NAME, self.ops.namespace)
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise
        holder = lease.spec.holder_identity or ""
        return int(holder.rsplit("-", 2)[1]) if holder else None

    def records(self, proc: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
        out = []
        for line in self.logs[proc.pid].read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def said(self, proc: subprocess.Popen[bytes], text: str) -> bool:
        return any(text in r.get("message", "") for r in self.records(proc))

    def lead(self, proc: subprocess.Popen[bytes]) -> None:
        wait_for(f"pid {proc.pid} to lead", lambda: self.holder_pid() == proc.pid, timeout=60)

    def standby(self, proc: subprocess.Popen[bytes]) -> None:
        def waiting() -> bool:
            assert proc.poll() is None, "the standby exited"
            return self.said(proc, "standby (")

        wait_for(f"pid {proc.pid} to wait as standby", waiting, timeout=60)

    def hand_over(
        self, old: subprocess.Popen[bytes], new: subprocess.Popen[bytes], sig: signal.Signals
    ) -> dict[str, float]:
        """Signal the leader ``old``; seconds until ``new`` holds the Lease and runs a worker."""
        assert not self.said(new, STARTED), "a standby ran a worker"
        t0 = time.monotonic()
        old.send_signal(sig)
        wait_for("the standby to take the Lease", lambda: self.holder_pid() == new.pid, 60, 0.05)
        lease = time.monotonic() - t0
        wait_for("the new leader's worker", lambda: self.said(new, STARTED), 60, 0.05)
        resumed = time.monotonic() - t0
        old.wait(timeout=60)
        return {"lease_s": round(lease, 2), "resume_s": round(resumed, 2), "exit": old.returncode}

    def holding(self, killed: dict[int, float]) -> list[tuple[float, float, int]]:
        """(from, to, pid): when each process held workers (a SIGKILL ends it at the kill)."""
        spans = []
        for proc in self.ops.procs:
            start: float | None = None
            for r in self.records(proc):
                at = datetime.fromisoformat(r["time"]).timestamp()
                message = r.get("message", "")
                if message.startswith(STARTED) and start is None:
                    start = at
                elif message.startswith(STOPPED) and start is not None:
                    spans.append((start, at, proc.pid))
                    start = None
            if start is not None:
                spans.append((start, killed.get(proc.pid, time.time()), proc.pid))
        return sorted(spans)


def check_run(
    fleet: Fleet, api: client.ApiClient, custom: client.CustomObjectsApi, pipe: Pipeline
) -> dict[str, Any]:
    """The run reaches Reviewing with every atom, each Job once, each paid LLM call once."""
    ops, harness, jobs = pipe
    ns = ops.namespace

    def reviewing() -> dict[str, Any] | None:
        st: dict[str, Any] = get(custom, ns, "projects", NAME).get("status") or {}
        if st.get("phase") == "Failed":
            pytest.fail(f"the Project failed: {st.get('message')}")
        return st if st.get("phase") in ("Reviewing", "Completed") else None

    st = wait_for("the pipeline to reach Reviewing", reviewing, timeout=900, interval=0.5)
    progress = st["progress"]
    db = Path(ops.env["MGE_DATABASE_URL"].removeprefix("sqlite:///"))
    key = f"{ns}/{NAME}"
    with sqlite3.connect(db) as conn:
        attempted = conn.execute(
            "SELECT count(DISTINCT atom_id) FROM attempts WHERE project = ?", (key,)
        ).fetchone()[0]
    # 0 lost atoms: every atom was attempted and none failed.
    assert progress["atomsTotal"] > 0 and progress["atomsFailed"] == 0, progress
    assert attempted == progress["atomsTotal"], (attempted, progress)
    # 0 duplicate Jobs: each name created once (the apiserver's ADDED events), each pod run once.
    created = Counter(name for name, _ in jobs.added)
    assert created and max(created.values()) == 1, created.most_common(3)
    listed = client.BatchV1Api(api).list_namespaced_job(ns).items
    assert len(harness.handled) == len(listed), "a Job's pod ran twice"
    # 0 paid LLM calls repeated: every request key is in the cost ledger once.
    keys = ledger_keys(db, key)
    assert keys and len(keys) == len(set(keys)), Counter(keys).most_common(3)
    return {
        "atoms": progress["atomsTotal"],
        "jobs": len(listed),
        "paid_calls": len(keys),
        "repeated_calls": len(keys) - len(set(keys)),
        "duplicate_jobs": sum(n - 1 for n in created.values()),
    }


def executing(custom: client.CustomObjectsApi, pipe: Pipeline) -> None:
    ops, harness, _ = pipe

    def probe() -> bool:
        st = get(custom, ops.namespace, "projects", NAME).get("status") or {}
        return st.get("phase") == "Executing" and len(harness.handled) >= 1

    wait_for("execution with a finished sandbox Job", probe, timeout=600, interval=0.2)


def assert_never_two_holders(spans: list[tuple[float, float, int]]) -> None:
    for (_, end, pid), (start, _, other) in itertools.pairwise(spans):
        assert end <= start, f"pid {pid} held workers until {end}, pid {other} from {start}"


def test_sigkill_of_the_active_replica_the_standby_resumes(
    api: client.ApiClient, custom: client.CustomObjectsApi, run: Pipeline
) -> None:
    fleet = Fleet(run[0], api)
    active = fleet.start()
    fleet.lead(active)
    standby = fleet.start()
    fleet.standby(standby)
    custom.create_namespaced_custom_object(G, V, fleet.ops.namespace, "projects", manifest())
    executing(custom, run)
    killed_at = time.time()
    figures = fleet.hand_over(active, standby, signal.SIGKILL)
    assert figures["exit"] == -signal.SIGKILL
    # the standby measures expiry from its last sighting of a renewal (at most a renew period
    # before the kill, more on a loaded machine): never much before the duration
    assert figures["lease_s"] >= LEASE_DURATION - 3 * LEASE_RENEW, "took the Lease too early"
    figures |= check_run(fleet, api, custom, run)
    assert_never_two_holders(fleet.holding({active.pid: killed_at}))
    print(f"\nfailover: SIGKILL {json.dumps(figures)}")


def test_rolling_update_hands_over_on_sigterm_with_no_double_work(
    api: client.ApiClient, custom: client.CustomObjectsApi, run: Pipeline
) -> None:
    """A rolling update with maxSurge 1: a new pod starts (standby), then the old leader gets
    SIGTERM, twice in a row; each leader releases the Lease after stopping its workers."""
    fleet = Fleet(run[0], api)
    first = fleet.start()
    fleet.lead(first)
    second = fleet.start()
    fleet.standby(second)
    custom.create_namespaced_custom_object(G, V, fleet.ops.namespace, "projects", manifest())
    executing(custom, run)
    one = fleet.hand_over(first, second, signal.SIGTERM)
    assert fleet.said(first, "released the Lease"), "the leader did not release the Lease"
    third = fleet.start()
    fleet.standby(third)
    two = fleet.hand_over(second, third, signal.SIGTERM)
    figures: dict[str, Any] = {"first": one, "second": two}
    figures |= check_run(fleet, api, custom, run)
    spans = fleet.holding({})
    assert [pid for _, _, pid in spans] == [first.pid, second.pid, third.pid], spans
    assert_never_two_holders(spans)
    figures["gaps_s"] = [round(b[0] - a[1], 2) for a, b in itertools.pairwise(spans)]
    print(f"\nfailover: SIGTERM {json.dumps(figures)}")


def test_a_standby_stops_at_once_and_leaves_the_lease_alone(
    api: client.ApiClient, operators: Operators
) -> None:
    """SIGTERM to a waiting standby (a rolling update replacing it): it exits promptly without a
    Traceback, and the leader keeps the Lease."""
    fleet = Fleet(operators, api)
    active = fleet.start()
    fleet.lead(active)
    standby = fleet.start()
    fleet.standby(standby)
    standby.send_signal(signal.SIGTERM)
    assert standby.wait(timeout=30) == 0
    time.sleep(LEASE_DURATION)
    assert fleet.holder_pid() == active.pid and active.poll() is None
    assert not fleet.said(standby, STARTED)


def test_a_leader_that_loses_the_lease_exits_to_restart_as_standby(
    api: client.ApiClient, operators: Operators
) -> None:
    """Someone else holds the Lease now (e.g. the leader was partitioned and a standby took
    over): at its next renewal the leader stops its workers and exits with code 75."""
    fleet = Fleet(operators, api)
    active = fleet.start()
    fleet.lead(active)
    lease = fleet.coordination.read_namespaced_lease(LEASE_NAME, operators.namespace)
    lease.spec.holder_identity = "intruder-1-abcdef"
    fleet.coordination.replace_namespaced_lease(LEASE_NAME, operators.namespace, lease)
    assert active.wait(timeout=LEASE_DURATION * 3) == LOST_LEASE_EXIT_CODE
    assert fleet.said(active, "lost the Lease")
