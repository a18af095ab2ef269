"""TestJobs as a SandboxBatch, and sandbox outcomes back as TestOutcomes (pure parts)."""

from __future__ import annotations

import json

import pytest

from mge.models.sandbox import AtomOutcome, AtomStatus, SandboxLimits
from mge.validation.runner import TestJob
from mge.validation.sandboxed import (
    IMPORT_MARKER,
    RESULTS_MARKER,
    build_batch,
    driver_command,
    item_id,
    outcome_of,
    parse_results,
    split_shared,
)

JOB_A = TestJob(
    "atom-a",
    {"m.py": "A = 1\n", "shared.py": "S\n", "t/test_m.py": "T"},
    ("t/test_m.py::test_a",),
    ("m",),
)
JOB_B = TestJob(
    "atom-b",
    {"m.py": "A = 2\n", "shared.py": "S\n", "t/test_m.py": "T"},
    ("t/test_m.py::test_b", "t/test_m.py::TestX::test_c"),
    ("m",),
)


def test_split_shared_puts_identical_files_once() -> None:
    shared, own = split_shared([JOB_A, JOB_B])
    # m.py: two versions, one each; the first job's is shared on the tie
    assert shared == {"m.py": "A = 1\n", "shared.py": "S\n", "t/test_m.py": "T"}
    assert own == [{}, {"m.py": "A = 2\n"}]


def test_split_shared_carries_only_the_files_that_differ_from_the_common_version() -> None:
    """Each item of a batch has its candidate in its own module and the base version of the
    other modules the batch touches: only its own module may travel with it."""
    modules = [f"m{k}.py" for k in range(4)]
    base = {m: f"# {m} base\n" * 50 for m in modules}
    jobs = [
        TestJob(f"atom-{k}", {**base, modules[k]: f"# {modules[k]} with candidate {k}\n"})
        for k in range(4)
    ]
    shared, own = split_shared(jobs)
    assert shared == base
    assert own == [{modules[k]: f"# {modules[k]} with candidate {k}\n"} for k in range(4)]
    for job, mine in zip(jobs, own, strict=True):
        assert {**shared, **mine} == job.files


def test_a_path_some_jobs_lack_is_never_shared() -> None:
    a = TestJob("a", {"x.py": "X", "only_a.py": "A"})
    b = TestJob("b", {"x.py": "X"})
    shared, own = split_shared([a, b])
    assert shared == {"x.py": "X"}
    assert own == [{"only_a.py": "A"}, {}]


def test_build_batch_is_a_valid_sandbox_batch_with_unique_ids() -> None:
    twin = TestJob("atom a", JOB_A.files, JOB_A.tests, JOB_A.imports)
    batch, ids = build_batch([JOB_A, JOB_B, twin], SandboxLimits(timeout_seconds=5), "mge-1")
    assert [i.atom_id for i in batch.items] == ["atom-a", "atom-b", "atom-a-2"]
    assert ids == {"atom-a": "atom-a", "atom-b": "atom-b", "atom-a-2": "atom a"}
    assert batch.limits.timeout_seconds == 5
    command = batch.items[1].command
    assert command is not None and command[:3] == ["python", "-s", "-c"]
    assert "t/test_m.py::TestX::test_c" in command[3]


def test_driver_is_valid_python() -> None:
    script = driver_command(["a.b"], ["t/test_x.py::test_y"])[3]
    compile(script, "<driver>", "exec")


@pytest.mark.parametrize(
    ("raw", "ok"),
    [("weird id/with spaces", "weird-id-with-spaces"), ("...", "job"), ("a" * 200, "a" * 128)],
)
def test_item_id_is_sandbox_safe(raw: str, ok: str) -> None:
    assert item_id(raw) == ok


def _atom(status: AtomStatus, stdout: str = "", stderr: str = "", detail: str = "") -> AtomOutcome:
    return AtomOutcome(
        atom_id="atom-b",
        status=status,
        passed=status is AtomStatus.PASSED,
        stdout_tail=stdout,
        stderr_tail=stderr,
        detail=detail,
    )


def _results(data: dict[str, list[str]]) -> str:
    return "noise\n" + RESULTS_MARKER + json.dumps(data) + "\n"


def test_parse_results_reads_the_last_marker_line() -> None:
    text = _results({"x::y": ["failed", "boom"]})
    assert parse_results(text) == {"x::y": ("failed", "boom")}
    assert parse_results("no marker") == {}
    assert parse_results(RESULTS_MARKER + "{not json") == {}


def test_outcome_with_per_test_results() -> None:
    stderr = _results(
        {
            "t/test_m.py::test_b": ["passed", ""],
            "t/test_m.py::TestX::test_c": ["failed", "E   assert 1 == 2"],
        }
    )
    out = outcome_of(JOB_B, _atom(AtomStatus.FAILED, stderr=stderr, detail="command exited 1"))
    assert not out.passed
    assert out.failed_tests == ("t/test_m.py::TestX::test_c",)
    assert out.passed_tests == ("t/test_m.py::test_b",)
    assert out.details["t/test_m.py::TestX::test_c"] == "E   assert 1 == 2"
    assert out.error == ""
    assert RESULTS_MARKER not in out.output


def test_outcome_of_an_import_failure() -> None:
    out = outcome_of(
        JOB_B,
        _atom(
            AtomStatus.FAILED,
            stdout=f"{IMPORT_MARKER} m\n",
            stderr="Traceback...\nNameError: name 'x' is not defined",
        ),
    )
    assert not out.passed
    assert out.import_error.startswith("importing m failed:")
    assert "NameError" in out.import_error


def test_outcome_of_a_collection_error_fails_every_test() -> None:
    stderr = _results({"t/test_m.py": ["error", "ImportError while importing test module"]})
    out = outcome_of(JOB_B, _atom(AtomStatus.FAILED, stderr=stderr))
    assert set(out.failed_tests) == set(JOB_B.tests)
    assert "ImportError" in out.details["t/test_m.py::test_b"]


def test_outcome_of_a_timeout_keeps_the_runner_detail() -> None:
    out = outcome_of(JOB_B, _atom(AtomStatus.TIMEOUT, detail="killed at the 30 s wall-clock limit"))
    assert out.timed_out and not out.passed
    assert out.error == "killed at the 30 s wall-clock limit"


def test_passed_atom_passes() -> None:
    stderr = _results({t: ["passed", ""] for t in JOB_B.tests})
    out = outcome_of(JOB_B, _atom(AtomStatus.PASSED, stderr=stderr, detail="command exited 0"))
    assert out.passed and out.error == "" and len(out.passed_tests) == 2


def test_parametrized_cases_roll_up_to_their_test() -> None:
    job = TestJob("j", {}, ("t/test_m.py::test_b", "t/test_m.py::TestX::test_c"))
    stderr = _results(
        {
            "t/test_m.py::test_b[1]": ["passed", ""],
            "t/test_m.py::test_b[2]": ["failed", "E   assert 2 == 3"],
            "t/test_m.py::TestX::test_c[a-b]": ["passed", ""],
        }
    )
    out = outcome_of(job, _atom(AtomStatus.FAILED, stderr=stderr))
    assert out.failed_tests == ("t/test_m.py::test_b",)
    assert out.passed_tests == ("t/test_m.py::TestX::test_c",)
    assert out.details["t/test_m.py::test_b"] == "E   assert 2 == 3"
