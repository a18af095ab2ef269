"""The batch format: what it accepts, what it refuses, and how it reads on the wire."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mge.models.sandbox import (
    AtomOutcome,
    AtomStatus,
    SandboxBatch,
    SandboxResult,
    check_relative_path,
)


def _batch(**over: object) -> dict[str, object]:
    data: dict[str, object] = {
        "batchId": "level-0.batch-1",
        "language": "python",
        "items": [{"atomId": "a1", "files": {"t/test_a.py": "x"}, "testFiles": ["t/test_a.py"]}],
    }
    data.update(over)
    return data


def test_minimal_batch_reads_camel_case_and_fills_defaults() -> None:
    b = SandboxBatch.model_validate(_batch())
    assert b.limits.timeout_seconds == 30
    assert b.items[0].test_files == ["t/test_a.py"]
    assert b.timeout_for(b.items[0]) == 30
    wire = b.wire()
    assert wire["batchId"] == "level-0.batch-1"
    assert SandboxBatch.model_validate(wire) == b


def test_item_timeout_overrides_the_batch() -> None:
    items = [{"atomId": "a1", "command": ["python", "-V"], "timeoutSeconds": 2.5}]
    b = SandboxBatch.model_validate(_batch(items=items))
    assert b.timeout_for(b.items[0]) == 2.5


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../x.py", "a/../../x", "a//b", "./a", "a\\b", "", "a\x00b", ".mge-junit.xml"],
)
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        check_relative_path(path)
    with pytest.raises(ValidationError):
        SandboxBatch.model_validate(_batch(sharedFiles={path: ""}))


@given(st.lists(st.sampled_from(["a", "b", "..", ".", "", "/", "c.py", "\\"]), max_size=6))
def test_accepted_paths_stay_inside_the_atom_folder(parts: list[str]) -> None:
    path = "/".join(parts)
    try:
        ok = check_relative_path(path)
    except ValueError:
        return
    root = "/sandbox/atom"
    assert posixpath.normpath(posixpath.join(root, ok)).startswith(root + "/")


def test_a_file_cannot_also_be_a_folder() -> None:
    with pytest.raises(ValidationError, match="also a folder"):
        SandboxBatch.model_validate(_batch(sharedFiles={"pkg": "", "pkg/m.py": ""}))


def test_test_files_must_be_given() -> None:
    items = [{"atomId": "a1", "files": {}, "testFiles": ["t/test_missing.py"]}]
    with pytest.raises(ValidationError, match="test files not given"):
        SandboxBatch.model_validate(_batch(items=items))


def test_test_files_may_come_from_shared_files() -> None:
    items = [{"atomId": "a1", "testFiles": ["t/test_s.py"]}]
    b = SandboxBatch.model_validate(_batch(items=items, sharedFiles={"t/test_s.py": ""}))
    assert b.items[0].files == {}


def test_an_item_needs_tests_or_a_command() -> None:
    with pytest.raises(ValidationError, match="testFiles or a command"):
        SandboxBatch.model_validate(_batch(items=[{"atomId": "a1"}]))


def test_duplicate_atom_ids_are_refused() -> None:
    item = {"atomId": "a1", "command": ["true"]}
    with pytest.raises(ValidationError, match="duplicate atom ids: a1"):
        SandboxBatch.model_validate(_batch(items=[item, item]))


@pytest.mark.parametrize("name", ["PATH", "TMPDIR", "PYTHONPATH", "LD_PRELOAD", "1X", "A-B"])
def test_env_cannot_override_the_runner_or_be_malformed(name: str) -> None:
    with pytest.raises(ValidationError):
        SandboxBatch.model_validate(_batch(env={name: "x"}))


def test_ids_must_be_folder_and_label_safe() -> None:
    with pytest.raises(ValidationError):
        SandboxBatch.model_validate(_batch(batchId="../up"))
    with pytest.raises(ValidationError):
        SandboxBatch.model_validate(_batch(items=[{"atomId": "a b", "command": ["x"]}]))


def test_oversized_batch_is_refused() -> None:
    big = "x" * (9 * 1024 * 1024)
    items = [{"atomId": f"a{i}", "command": ["true"]} for i in range(8)]
    with pytest.raises(ValidationError, match="bytes of files"):
        SandboxBatch.model_validate(_batch(items=items, sharedFiles={"big.txt": big}))


def test_passed_must_agree_with_status() -> None:
    with pytest.raises(ValidationError, match="contradicts"):
        AtomOutcome(atom_id="a", status=AtomStatus.FAILED, passed=True)
    ok = AtomOutcome(atom_id="a", status=AtomStatus.PASSED, passed=True, detail="1 tests passed")
    bad = AtomOutcome(atom_id="b", status=AtomStatus.TIMEOUT, passed=False, detail="killed at 2 s")
    assert ok.as_check().passed and ok.as_check().detail == ""
    assert bad.as_check("L1 tests").model_dump() == {
        "name": "L1 tests",
        "passed": False,
        "detail": "killed at 2 s",
    }
    res = SandboxResult(batch_id="b", isolation="bwrap", outcomes=[ok])
    assert res.outcome("a") is ok and res.passed_count == 1
    with pytest.raises(KeyError):
        res.outcome("zz")
    assert SandboxResult.model_validate_json(res.model_dump_json(by_alias=True)) == res


def test_example_batch_in_the_docs_is_valid() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "sandbox.md"
    text = docs.read_text()
    start = text.index("```json\n") + len("```json\n")
    example = text[start : text.index("```", start)]
    SandboxBatch.model_validate_json(example)
