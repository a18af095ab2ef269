"""`mge sandbox run` and `mge sandbox check` as commands (real processes, real sandbox)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mge.models.sandbox import SandboxResult

MGE = str(Path(sys.executable).parent / "mge")
LIGHT = [sys.executable, "-m", "mge.cli.sandbox"]
BATCH = {
    "batchId": "cli",
    "language": "python",
    "items": [
        {"atomId": "ok", "command": ["python", "-c", "print('hi')"]},
        {"atomId": "no", "command": ["python", "-c", "raise SystemExit(1)"]},
    ],
}


def _run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)


def test_run_prints_the_result_and_writes_out(tmp_path: Path) -> None:
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(BATCH))
    out = tmp_path / "result.json"
    proc = _run([MGE, "sandbox", "run", str(batch), "--out", str(out)])
    assert proc.returncode == 0, proc.stderr
    result = SandboxResult.model_validate_json(proc.stdout)
    assert [o.passed for o in result.outcomes] == [True, False]
    assert result.outcome("ok").stdout_tail == "hi\n"
    assert SandboxResult.model_validate_json(out.read_text()) == result
    assert "batch cli: 1/2 atoms passed" in proc.stderr


def test_the_light_entry_point_reads_stdin() -> None:
    proc = _run([*LIGHT, "run", "-"], stdin=json.dumps(BATCH))
    assert proc.returncode == 0, proc.stderr
    assert SandboxResult.model_validate_json(proc.stdout).passed_count == 1


def test_an_invalid_batch_names_the_field(tmp_path: Path) -> None:
    bad = {**BATCH, "items": [{"atomId": "a b", "command": ["true"]}]}
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(bad))
    proc = _run([*LIGHT, "run", str(batch)])
    assert proc.returncode == 2
    assert "items.0.atomId" in proc.stderr and proc.stdout == ""


def test_unsandboxed_runs_are_announced_loudly(tmp_path: Path) -> None:
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(BATCH))
    proc = _run([*LIGHT, "run", str(batch), "--isolation", "unsandboxed"])
    assert proc.returncode == 0
    assert "WARNING: UNSANDBOXED" in proc.stderr
    assert json.loads(proc.stdout)["isolation"] == "none"


def test_check_reports_the_isolation_and_its_threat_matrix() -> None:
    proc = _run([MGE, "sandbox", "check", "--json"])
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["chosen"] in ("bwrap", "unshare")
    assert report["threats"]["network"]["level"] == "contained"
    assert set(report) >= {"bwrap", "unshare", "prlimit", "cgroups", "python", "node"}
    human = _run([*LIGHT, "check"])
    assert "isolation for 'auto'" in human.stdout and "fork_bomb" in human.stdout
