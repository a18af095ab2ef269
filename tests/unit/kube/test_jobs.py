"""Sandbox Job pure parts: batch in, result out, pod/Job failures mapped to atom failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mge.kube import jobs
from mge.models.sandbox import (
    AtomOutcome,
    AtomStatus,
    SandboxBatch,
    SandboxLimits,
    SandboxResult,
)
from mge.validation.runner import TestJob
from mge.validation.sandboxed import build_batch, outcome_of


def tj(atom: str, tests: tuple[str, ...] = ("tests/test_a.py::test_x",)) -> TestJob:
    return TestJob(
        id=atom,
        files={"pkg/a.py": "def f():\n    return 1\n", "tests/test_a.py": "def test_x(): pass\n"},
        tests=tests,
        imports=("pkg.a",),
    )


def pod(phase: str = "Failed", **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "status": {"phase": phase, **status}}


def terminated(reason: str, code: int = 137, message: str = "") -> dict[str, Any]:
    return {
        "containerStatuses": [
            {"state": {"terminated": {"exitCode": code, "reason": reason, "message": message}}}
        ]
    }


def waiting(reason: str) -> dict[str, Any]:
    return {"containerStatuses": [{"state": {"waiting": {"reason": reason, "message": "m"}}}]}


FAILED_JOB_DEADLINE = {
    "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}
}
FAILED_JOB_BACKOFF = {
    "status": {
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
            }
        ]
    }
}


@pytest.mark.parametrize(
    ("job", "pods", "prefix"),
    [
        (FAILED_JOB_BACKOFF, [pod(**terminated("OOMKilled"))], "OOMKilled:"),
        (FAILED_JOB_DEADLINE, [], "DeadlineExceeded:"),
        (FAILED_JOB_DEADLINE, [pod(phase="Running")], "DeadlineExceeded:"),
        (
            FAILED_JOB_BACKOFF,
            [pod(reason="Evicted", message="low on memory")],
            "Evicted: low on memory",
        ),
        (
            FAILED_JOB_BACKOFF,
            [pod(phase="Pending", **waiting("ImagePullBackOff"))],
            "ImagePull: ImagePullBackOff",
        ),
        (FAILED_JOB_BACKOFF, [pod(**terminated("Error", 3, "bad"))], "Error: bad"),
        (FAILED_JOB_BACKOFF, [], "BackoffLimitExceeded: Job has reached"),
        ({"status": {}}, [], "JobFailed:"),
    ],
    ids=[
        "oom",
        "deadline-no-pod",
        "deadline-running-pod",
        "evicted",
        "image",
        "error-exit",
        "backoff",
        "nothing",
    ],
)
def test_job_failure_reasons(job: dict[str, Any], pods: list[dict[str, Any]], prefix: str) -> None:
    assert jobs.job_failure(job, pods).startswith(prefix)


def test_stuck_pod_only_for_hopeless_states() -> None:
    assert jobs.stuck_pod([pod(phase="Pending", **waiting("ErrImagePull"))]) is not None
    assert jobs.stuck_pod([pod(phase="Pending", **waiting("ContainerCreating"))]) is None
    assert jobs.stuck_pod([pod(phase="Running")]) is None


def test_job_finished() -> None:
    assert (
        jobs.job_finished({"status": {"conditions": [{"type": "Complete", "status": "True"}]}})
        == "Complete"
    )
    assert jobs.job_finished(FAILED_JOB_DEADLINE) == "Failed"
    assert (
        jobs.job_finished({"status": {"conditions": [{"type": "Complete", "status": "False"}]}})
        is None
    )
    assert jobs.job_finished({}) is None


def batch(*ids: str, timeout: float = 7) -> SandboxBatch:
    jobs_ = [tj(i) for i in ids]
    built, _ = build_batch(jobs_, SandboxLimits(timeout_seconds=timeout), "mge-17")
    return built


def test_fingerprint_ignores_ids_but_not_content() -> None:
    a = batch("a1", "a2")
    renamed = a.model_copy(
        update={
            "batch_id": "mge-99",
            "items": [i.model_copy(update={"atom_id": f"x{k}"}) for k, i in enumerate(a.items)],
        }
    )
    assert jobs.batch_fingerprint(a) == jobs.batch_fingerprint(renamed)
    assert jobs.batch_fingerprint(a) != jobs.batch_fingerprint(batch("a1", "a2", timeout=8))
    assert jobs.batch_fingerprint(a) != jobs.batch_fingerprint(batch("a1"))
    shipped = jobs.canonical_batch(a)
    assert [i.atom_id for i in shipped.items] == ["i0", "i1"]
    assert shipped.items[0].command == a.items[0].command


def test_restore_ids_maps_positional_outcomes_back() -> None:
    a = batch("a1", "a2")
    got = SandboxResult(
        batch_id="job-name",
        isolation="pod",
        outcomes=[
            AtomOutcome(atom_id="i1", status=AtomStatus.FAILED, passed=False),
            AtomOutcome(atom_id="i0", status=AtomStatus.PASSED, passed=True),
            AtomOutcome(atom_id="i7", status=AtomStatus.PASSED, passed=True),
        ],
    )
    back = jobs.restore_ids(a, got)
    assert {o.atom_id: o.passed for o in back.outcomes} == {"a1": True, "a2": False}
    assert back.batch_id == a.batch_id


def result(*outcomes: AtomOutcome) -> SandboxResult:
    return SandboxResult(batch_id="b1", isolation="pod", outcomes=list(outcomes))


def test_parse_result_takes_last_json_line_and_ignores_noise() -> None:
    r = result(AtomOutcome(atom_id="a1", status=AtomStatus.PASSED, passed=True))
    log = "starting\n{not json\n" + r.model_dump_json(by_alias=True) + "\n"
    parsed = jobs.parse_result(log)
    assert parsed is not None and parsed.outcomes[0].atom_id == "a1"
    assert jobs.parse_result("no result here\n") is None
    assert jobs.parse_result(json.dumps({"unrelated": 1})) is None


def test_missing_items_become_no_result() -> None:
    a = batch("a1", "a2")
    r = result(AtomOutcome(atom_id="a1", status=AtomStatus.PASSED, passed=True))
    full = jobs.complete_result(a, r)
    assert [(o.atom_id, o.passed) for o in full.outcomes] == [("a1", True), ("a2", False)]
    assert full.outcomes[1].detail.startswith("NoResult")


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("OOMKilled: x", AtomStatus.OOM),
        ("DeadlineExceeded: y", AtomStatus.TIMEOUT),
        ("Evicted: z", AtomStatus.ERROR),
    ],
)
def test_failed_result_covers_every_item(reason: str, status: AtomStatus) -> None:
    out = jobs.failed_result(batch("a1", "a2"), reason)
    assert [(o.atom_id, o.status, o.passed, o.detail) for o in out.outcomes] == [
        ("a1", status, False, reason),
        ("a2", status, False, reason),
    ]


def test_pod_failures_reach_validation_with_their_reason() -> None:
    """Through the same SandboxTestRunner parsing as locally: the reason is the error."""
    jobs_ = [tj("a1"), tj("a2")]
    built, ids = build_batch(jobs_, SandboxLimits(), "mge-1")
    failed = jobs.failed_result(built, "OOMKilled: the sandbox pod exceeded its memory limit")
    outcomes = {ids[o.atom_id]: outcome_of(jobs_[0], o) for o in failed.outcomes}
    assert {k: (v.passed, v.error.split(":")[0]) for k, v in outcomes.items()} == {
        "a1": (False, "OOMKilled"),
        "a2": (False, "OOMKilled"),
    }
    deadline = jobs.failed_result(built, "DeadlineExceeded: past activeDeadlineSeconds")
    assert outcome_of(jobs_[0], deadline.outcomes[0]).timed_out
