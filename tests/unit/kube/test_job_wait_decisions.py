"""The pure parts of watching a sandbox Job and its pod: which events end the wait, what a wait
returns, how a failed watch request is read."""

from __future__ import annotations

import urllib3
from kubernetes import client

from mge.kube.client import WatchEnd, watch_failure
from mge.kube.jobs import ends_wait, job_finished, pod_ends_wait, wait_verdict

RUNNING: dict[str, object] = {"metadata": {"name": "j", "resourceVersion": "7"}, "status": {}}
COMPLETE = {
    "metadata": {"name": "j"},
    "status": {"conditions": [{"type": "Complete", "status": "True"}]},
}
IMAGE_PULL = {"status": {"containerStatuses": [{"state": {"waiting": {"reason": "ErrImagePull"}}}]}}
POD_RUNNING = {"status": {"phase": "Running"}}
POD_SUCCEEDED = {
    "status": {
        "phase": "Succeeded",
        "containerStatuses": [{"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
    }
}
POD_FAILED = {
    "status": {
        "phase": "Failed",
        "containerStatuses": [{"state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}],
    }
}


def reason(job: dict[str, object] | None) -> str | None:
    if job is None:
        return None
    conditions = (job.get("status") or {}).get("conditions") or []  # type: ignore[attr-defined]
    return next((c.get("reason") or c["type"] for c in conditions), None)


def test_only_a_finished_or_deleted_job_ends_the_wait() -> None:
    assert ends_wait("MODIFIED", COMPLETE)
    assert ends_wait("DELETED", RUNNING)
    assert not ends_wait("MODIFIED", RUNNING)
    assert not ends_wait("ADDED", RUNNING)


def test_a_pod_that_ended_went_away_or_cannot_start_ends_the_wait_on_it() -> None:
    assert pod_ends_wait("MODIFIED", POD_SUCCEEDED)
    assert pod_ends_wait("MODIFIED", POD_FAILED)
    assert pod_ends_wait("DELETED", POD_RUNNING)
    assert pod_ends_wait("ADDED", IMAGE_PULL)
    assert not pod_ends_wait("ADDED", POD_RUNNING)
    assert not pod_ends_wait("MODIFIED", {"status": {"phase": "Pending"}})


def test_a_succeeded_pod_completes_its_job_before_the_job_controller_says_so() -> None:
    verdict = wait_verdict(RUNNING, [POD_SUCCEEDED], past_deadline=False)
    assert verdict is not None and job_finished(verdict) == "Complete"
    assert reason(verdict) == "PodSucceeded"
    assert verdict["metadata"] == RUNNING["metadata"]
    # a failed pod decides nothing by itself: the Job's conditions say how it ended
    assert wait_verdict(RUNNING, [POD_FAILED], past_deadline=False) is None
    assert reason(wait_verdict(RUNNING, [POD_FAILED], past_deadline=True)) == "DeadlineExceeded"


def test_wait_verdict_names_how_the_wait_ended() -> None:
    assert wait_verdict(RUNNING, [], past_deadline=False) is None
    assert wait_verdict(COMPLETE, [], past_deadline=True) == COMPLETE
    assert reason(wait_verdict(None, [], past_deadline=False)) == "JobGone"
    assert reason(wait_verdict(RUNNING, [IMAGE_PULL], past_deadline=False)) == "PodStuck"
    assert reason(wait_verdict(RUNNING, [], past_deadline=True)) == "DeadlineExceeded"
    for verdict in (wait_verdict(None, [], False), wait_verdict(RUNNING, [], True)):
        assert verdict is not None and job_finished(verdict) == "Failed"


def test_a_410_is_gone_and_other_failures_are_a_dropped_watch() -> None:
    assert watch_failure(client.ApiException(status=410, reason="Gone")) == WatchEnd(gone=True)
    assert watch_failure(client.ApiException(status=500, reason="Internal")).dropped == (
        "500 Internal"
    )
    dropped = watch_failure(urllib3.exceptions.ProtocolError("Connection broken"))
    assert dropped.dropped.startswith("ProtocolError") and dropped.ended_by == "dropped"
    assert WatchEnd().ended_by == "timeout"
    assert WatchEnd(event="MODIFIED", object={}).ended_by == "event"
