"""Sandbox Job pure parts: batch in, result out, pod/Job failures mapped to atom failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mge.kube import jobs
from mge.models.project import ExecutionSpec
from mge.models.sandbox import AtomOutcome, AtomStatus, CaseOutcome, SandboxResult
from mge.validation.runner import TestJob


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


def test_sandbox_batch_from_test_jobs() -> None:
    batch = jobs.sandbox_batch(
        "b1", [tj("a1"), tj("a2", tests=())], ExecutionSpec(atom_timeout_seconds=7)
    )
    assert batch.limits.timeout_seconds == 7
    assert batch.items[0].test_files == ["tests/test_a.py"]
    assert batch.items[1].command == ["python", "-c", "import pkg.a"]


def result(*outcomes: AtomOutcome) -> SandboxResult:
    return SandboxResult(batch_id="b1", isolation="pod", outcomes=list(outcomes))


def test_parse_result_takes_last_json_line_and_ignores_noise() -> None:
    r = result(AtomOutcome(atom_id="a1", status=AtomStatus.PASSED, passed=True))
    log = "starting\n{not json\n" + r.model_dump_json(by_alias=True) + "\n"
    parsed = jobs.parse_result(log)
    assert parsed is not None and parsed.outcomes[0].atom_id == "a1"
    assert jobs.parse_result("no result here\n") is None
    assert jobs.parse_result(json.dumps({"unrelated": 1})) is None


def test_outcomes_map_cases_timeouts_imports_and_missing_atoms() -> None:
    failing = AtomOutcome(
        atom_id="a1",
        status=AtomStatus.FAILED,
        passed=False,
        cases=[
            CaseOutcome(
                name="test_x", classname="tests.test_a", status="failed", message="assert 1 == 2"
            ),
            CaseOutcome(name="test_y", status="passed"),
        ],
    )
    slow = AtomOutcome(atom_id="a2", status=AtomStatus.TIMEOUT, passed=False, detail="30 s")
    broken = AtomOutcome(
        atom_id="a3", status=AtomStatus.ERROR, passed=False, detail="ImportError: x"
    )
    out = jobs.outcomes_from_result(
        [tj("a1"), tj("a2"), tj("a3"), tj("a4")], result(failing, slow, broken)
    )
    assert out["a1"].failed_tests == ("tests.test_a::test_x",)
    assert out["a1"].details["tests.test_a::test_x"] == "assert 1 == 2"
    assert out["a1"].passed_tests == ("test_y",)
    assert out["a2"].timed_out and "timeout" in out["a2"].error
    assert out["a3"].import_error == "ImportError: x"
    assert not out["a4"].passed and out["a4"].error.startswith("NoResult")


def test_failed_outcomes_cover_every_atom() -> None:
    out = jobs.failed_outcomes([tj("a1"), tj("a2")], "OOMKilled: x")
    assert {k: (v.passed, v.error) for k, v in out.items()} == {
        "a1": (False, "OOMKilled: x"),
        "a2": (False, "OOMKilled: x"),
    }
    assert jobs.failed_outcomes([tj("a1")], "DeadlineExceeded: y")["a1"].timed_out
