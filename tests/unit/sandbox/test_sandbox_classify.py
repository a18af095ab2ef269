"""How a run's observations become a status: a table of cases, most certain evidence first."""

from __future__ import annotations

import signal
from dataclasses import replace

import pytest

from mge.models.sandbox import AtomStatus, CaseOutcome
from mge.sandbox.classify import LimitFacts, RunFacts, classify, decode_exit, signal_name

LIMITS = LimitFacts(
    timeout_s=30, cpu_s=30, memory_mb=512, processes=64, file_size_mb=64, output_bytes=1 << 20
)
PASS = CaseOutcome(name="test_ok", status="passed")
FAIL = CaseOutcome(name="test_bad", status="failed", message="assert 1 == 2\nE   assert 1 == 2")
ERR = CaseOutcome(name="tests.test_x", status="error", message="SyntaxError: expected ':'")
SKIP = CaseOutcome(name="test_skip", status="skipped")

BASE = RunFacts(
    returncode=0,
    wrapper="bwrap",
    timed_out=False,
    output_exceeded=False,
    oom_killed=False,
    pids_limit_hit=False,
    peak_processes=1,
    cases=[PASS],
    report_problem="",
    stdout_tail="",
    stderr_tail="",
    explicit_command=False,
    runner="pytest",
)

CASES = [
    ("all passed", {}, AtomStatus.PASSED),
    ("one failed", {"returncode": 1, "cases": [PASS, FAIL]}, AtomStatus.FAILED),
    ("collection error", {"returncode": 2, "cases": [ERR]}, AtomStatus.ERROR),
    ("pytest found nothing", {"returncode": 5, "cases": []}, AtomStatus.NO_TESTS),
    ("only skipped", {"returncode": 0, "cases": [SKIP]}, AtomStatus.NO_TESTS),
    ("exit 0 but a failure", {"returncode": 0, "cases": [FAIL]}, AtomStatus.FAILED),
    ("passed yet crashed", {"returncode": 3, "cases": [PASS]}, AtomStatus.ERROR),
    (
        "no report",
        {"returncode": 1, "cases": None, "report_problem": "no report"},
        AtomStatus.ERROR,
    ),
    ("wall clock", {"returncode": -9, "timed_out": True, "cases": None}, AtomStatus.TIMEOUT),
    (
        "output cap beats timeout",
        {"output_exceeded": True, "timed_out": True},
        AtomStatus.OUTPUT_LIMIT,
    ),
    ("cgroup oom", {"returncode": 137, "oom_killed": True, "cases": None}, AtomStatus.OOM),
    ("fork bomb", {"timed_out": True, "pids_limit_hit": True}, AtomStatus.PROCESS_LIMIT),
    (
        "fork bomb that also filled the memory",
        {"returncode": 137, "oom_killed": True, "pids_limit_hit": True, "cases": None},
        AtomStatus.PROCESS_LIMIT,
    ),
    (
        "fork bomb out of memory before the pids limit",
        {"returncode": 137, "oom_killed": True, "peak_processes": 23, "cases": None},
        AtomStatus.PROCESS_LIMIT,
    ),
    (
        "node out of memory with its own threads",
        {"returncode": 137, "oom_killed": True, "peak_processes": 11, "cases": None},
        AtomStatus.OOM,
    ),
    ("SIGXCPU via bwrap", {"returncode": 128 + 24, "cases": None}, AtomStatus.CPU_LIMIT),
    ("SIGXFSZ direct", {"returncode": -25, "wrapper": "", "cases": None}, AtomStatus.FILE_LIMIT),
    ("segfault", {"returncode": 139, "cases": None}, AtomStatus.KILLED),
    (
        "MemoryError in a test",
        {"returncode": 1, "cases": [FAIL.model_copy(update={"message": "MemoryError"})]},
        AtomStatus.OOM,
    ),
    (
        "node heap",
        {
            "returncode": 134,
            "cases": None,
            "stderr_tail": "FATAL ERROR: JavaScript heap out of memory",
        },
        AtomStatus.OOM,
    ),
    (
        "EFBIG in a test",
        {
            "returncode": 1,
            "cases": [FAIL.model_copy(update={"message": "OSError: [Errno 27] File too large"})],
        },
        AtomStatus.FILE_LIMIT,
    ),
    (
        "bwrap could not start",
        {"returncode": 1, "cases": None, "stderr_tail": "bwrap: Can't mount proc: EPERM"},
        AtomStatus.SANDBOX_ERROR,
    ),
    (
        "cgroup join failed",
        {"returncode": 125, "cases": None, "stderr_tail": "mge-sandbox: cannot join cgroup x"},
        AtomStatus.SANDBOX_ERROR,
    ),
    (
        "command ok",
        {"runner": "command", "cases": None, "explicit_command": True},
        AtomStatus.PASSED,
    ),
    (
        "command failed",
        {"runner": "command", "cases": None, "explicit_command": True, "returncode": 3},
        AtomStatus.FAILED,
    ),
    (
        "unshare hides SIGKILL",
        {
            "wrapper": "unshare",
            "returncode": 1,
            "cases": None,
            "stderr_tail": "unshare: sigprocmask unblock failed: Invalid argument",
        },
        AtomStatus.KILLED,
    ),
    ("node failing test", {"runner": "node", "returncode": 1, "cases": [FAIL]}, AtomStatus.FAILED),
]


@pytest.mark.parametrize(("what", "over", "expected"), CASES, ids=[c[0] for c in CASES])
def test_classification_table(what: str, over: dict[str, object], expected: AtomStatus) -> None:
    verdict = classify(replace(BASE, **over), LIMITS)  # type: ignore[arg-type]
    assert verdict.status is expected, verdict.detail


def test_a_passing_test_about_memory_errors_still_passes() -> None:
    facts = replace(BASE, stdout_tail="test_raises_MemoryError PASSED")
    assert classify(facts, LIMITS).status is AtomStatus.PASSED


def test_exit_decoding_per_wrapper() -> None:
    assert decode_exit(137, wrapper="bwrap") == (None, 9)
    assert decode_exit(137, wrapper="") == (137, None)
    assert decode_exit(-24, wrapper="unshare") == (None, 24)
    assert decode_exit(3, wrapper="bwrap") == (3, None)
    assert decode_exit(None, wrapper="bwrap") == (None, None)
    assert signal_name(int(signal.SIGKILL)) == "SIGKILL"
    assert signal_name(99) == "SIG99"


def test_detail_names_the_failing_test_and_the_limit() -> None:
    failed = classify(replace(BASE, returncode=1, cases=[PASS, FAIL]), LIMITS)
    assert "1 of 2 tests failed" in failed.detail and "test_bad" in failed.detail
    timeout = classify(replace(BASE, returncode=-9, timed_out=True), replace(LIMITS, timeout_s=2.5))
    assert "2.5 s wall-clock" in timeout.detail


def test_long_failure_keeps_first_and_last_lines() -> None:
    lines = ["AssertionError: first line"] + [f"frame {i}" for i in range(30)] + ["E   last"]
    case = FAIL.model_copy(update={"message": "\n".join(lines)})
    detail = classify(replace(BASE, returncode=1, cases=[case]), LIMITS).detail
    assert "first line" in detail and "E   last" in detail and "frame 3\n" not in detail
