"""Reading JUnit reports: real ones from pytest and node, and hostile ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mge.sandbox.junit import MAX_REPORT_BYTES, clip, parse_junit

PY_TESTS = """
import pytest
def test_ok(): assert 1 + 1 == 2
def test_bad(): assert [1, 2] == [1, 3]
@pytest.mark.skip(reason="report data: a skipped case, so the parser sees one")
def test_later(): pass
@pytest.fixture
def broken(): raise RuntimeError("fixture broke")
def test_uses_broken(broken): pass
"""

JS_TESTS = """
const test = require('node:test'); const assert = require('node:assert');
test('adds', () => assert.strictEqual(1 + 2, 3));
test('subtracts', () => assert.strictEqual(3 - 1, 1));
"""


def test_a_real_pytest_report(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(PY_TESTS)
    report = tmp_path / "r.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "test_x.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"},
    )
    cases = {c.name: c for c in parse_junit(report.read_bytes())}
    assert {n: c.status for n, c in cases.items()} == {
        "test_ok": "passed",
        "test_bad": "failed",
        "test_later": "skipped",
        "test_uses_broken": "error",
    }
    assert "[1, 2] == [1, 3]" in cases["test_bad"].message
    assert "fixture broke" in cases["test_uses_broken"].message
    assert cases["test_ok"].classname == "test_x"


def test_a_real_node_report(tmp_path: Path) -> None:
    (tmp_path / "x.test.js").write_text(JS_TESTS)
    subprocess.run(
        [
            "node",
            "--test",
            "--test-reporter=junit",
            "--test-reporter-destination=r.xml",
            "x.test.js",
        ],
        cwd=tmp_path,
        capture_output=True,
    )
    cases = {c.name: c for c in parse_junit((tmp_path / "r.xml").read_bytes())}
    assert cases["adds"].status == "passed"
    assert cases["subtracts"].status == "failed"
    assert "2 !== 1" in cases["subtracts"].message


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "not valid XML"),
        (b"<testsuites><testcase", "not valid XML"),
        (b"<html/>", "not <testsuites>"),
        (b"<testsuites/>" + b" " * MAX_REPORT_BYTES, "limit"),
    ],
)
def test_bad_reports_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_junit(data)


def test_entity_expansion_bomb_is_refused() -> None:
    lol = b'<!DOCTYPE t [<!ENTITY a "aaaaaaaaaa">'
    for i in range(1, 10):
        prev = b"&a;" if i == 1 else f"&a{i - 1};".encode()
        lol += f'<!ENTITY a{i} "'.encode() + prev * 10 + b'">'
    lol += b']><testsuites><testcase name="&a9;"/></testsuites>'
    with pytest.raises(ValueError):
        parse_junit(lol)


def test_clip_keeps_head_and_tail() -> None:
    text = "HEAD " + "m" * 5000 + " TAIL"
    out = clip(text, 200)
    assert len(out) <= 200 and out.startswith("HEAD") and out.endswith("TAIL")
    assert clip("short") == "short"
