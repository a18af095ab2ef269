"""The job-timing line: API times read from a pod, the line written and read back."""

from __future__ import annotations

import logging

import pytest

from mge.kube.job_timing import JobTiming, api_time, checks_started, parse_line, pod_times

POD = {
    "metadata": {"name": "p", "creationTimestamp": "2026-12-06T18:14:50Z"},
    "status": {
        "phase": "Succeeded",
        "conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": "2026-12-06T18:14:55Z"},
            {
                "type": "PodScheduled",
                "status": "True",
                "lastTransitionTime": "2026-12-06T18:14:51Z",
            },
        ],
        "containerStatuses": [
            {
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "startedAt": "2026-12-06T18:14:52Z",
                        "finishedAt": "2026-12-06T18:14:54Z",
                    }
                }
            }
        ],
    },
}


def test_api_time_reads_rfc3339_and_refuses_the_rest() -> None:
    assert api_time("2026-12-06T18:14:50Z") == api_time("2026-12-06T18:14:50+00:00")
    assert api_time(None) is None
    assert api_time("not a time") is None


def test_pod_times_are_the_api_times_of_created_scheduled_started_finished() -> None:
    times = pod_times([POD])
    base = api_time("2026-12-06T18:14:50Z")
    assert base is not None
    assert {k: (v or 0) - base for k, v in times.items()} == {
        "pod_created": 0,
        "pod_scheduled": 1,
        "pod_started": 2,
        "pod_finished": 4,
    }
    assert set(pod_times([]).values()) == {None}


def test_a_job_timing_line_round_trips_and_carries_the_checks_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with checks_started():
        timing = JobTiming("proj-g1-l2-a1-abc", 2, 1, 3)
    outside = JobTiming("proj-g1-suite-abc", -1, 0, 1)
    assert timing.checks_started_at is not None
    assert timing.checks_started_at <= timing.run_started
    assert outside.checks_started_at is None
    timing.finish({"status": {"completionTime": "2026-12-06T18:14:55Z"}}, [POD])
    with caplog.at_level(logging.INFO, logger="mge.operator.jobs"):
        timing.emit()
    record = parse_line("2026-12-06 18:14:57,000 INFO x [- - -] " + caplog.messages[-1])
    assert record is not None
    assert record["job"] == "proj-g1-l2-a1-abc"
    assert record["level"] == 2
    assert record["job_completed"] == api_time("2026-12-06T18:14:55Z")
    assert record["pod"]["pod_scheduled"] == api_time("2026-12-06T18:14:51Z")
    assert parse_line("job-timing {broken") is None
    assert parse_line("an ordinary line") is None
