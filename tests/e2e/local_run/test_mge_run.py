"""`mge run` as a user runs it: a subprocess on an example manifest, offline, on recordings.

Checks what the issue asks of the local product: the whole pipeline ends in a folder whose own
tests pass under plain pytest; a first attempt that fails is fixed on retry; at least one atom
ends in review; a re-run makes no LLM call; a run killed mid-execution resumes to the same
result without paying for any request twice.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.e2e.local_run.fresh_install import assert_installs_and_passes

REPO = Path(__file__).resolve().parents[3]
MANIFEST = REPO / "examples" / "inventory-lib" / "project.yaml"
MGE = [str(Path(sys.executable).parent / "mge")]
RUN_TIMEOUT_S = 600


def mge_run(workdir: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`mge run` from the workdir's parent with a RELATIVE --workdir, as a user types it
    (the default `.mge` is relative too; sandbox paths made from it must still resolve)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MGE_")}
    return subprocess.run(
        [
            *MGE,
            "--workdir",
            workdir.name,
            "run",
            str(MANIFEST),
            "--no-patterns",
            "-o",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
        cwd=workdir.parent,
    )


def report(out: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / "report.json").read_text())
    return data


def paid_keys(workdir: Path) -> list[str]:
    with sqlite3.connect(workdir / "mge.db") as db:
        return [r[0] for r in db.execute("select request_key from cost_ledger")]


@pytest.mark.slow
def test_run_writes_a_codebase_whose_tests_pass_and_rerun_is_free(tmp_path: Path) -> None:
    work, out = tmp_path / "state", tmp_path / "out"
    first = mge_run(work, out)
    assert first.returncode == 0, first.stderr[-3000:]
    r = report(out)
    assert r["recorded"] is True and r["provider"] == "scripted"
    assert r["atoms"] == 29 and r["levelsDone"] == r["levels"] == 5
    assert 0 < r["firstTryPassRate"] < 1.0  # type: ignore[operator]
    assert r["passRateAfterRetries"] == 1.0 and r["retries"] == 4
    assert r["reviewItems"] == r["inReview"] and r["inReview"] >= 1  # type: ignore[operator]
    checks = [(c["level"], c["subject"]) for c in r["validations"]]  # type: ignore[attr-defined]
    assert checks and len(checks) == len(set(checks)), checks  # each check listed once
    assert "phase Executing" in first.stderr and "Run report" in first.stdout
    assert "scripted recording" in (out / "README.md").read_text().lower()

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert tests.returncode == 0, tests.stdout[-2000:]
    assert "84 passed" in tests.stdout

    # The folder is a project of its own: a fresh environment with no MGE installs it with the
    # dependencies its manifest declares and its suite passes there.
    assert_installs_and_passes(out, tmp_path, passed=84)

    paid = paid_keys(work)
    again = mge_run(work, out)
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = report(out)
    assert rerun["llmCalls"] == 0
    assert paid_keys(work) == paid, "a re-run of an unchanged project must not pay again"
    # The re-run's report describes the same codebase: every check it stands on (the
    # integration checkpoints were not made again) and what it cost, from the ledger.
    for field in ("validations", "usage", "costUsd", "attempts", "firstTryPassRate"):
        assert rerun[field] == r[field], field


@pytest.mark.slow
def test_killed_run_resumes_without_paying_twice(tmp_path: Path) -> None:
    work, out = tmp_path / "state", tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MGE_")}
    proc = subprocess.Popen(
        [*MGE, "--workdir", str(work), "run", str(MANIFEST), "--no-patterns", "-o", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO,
        start_new_session=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + RUN_TIMEOUT_S
    for line in proc.stderr:
        if "atoms (level" in line or time.monotonic() > deadline:
            break  # execution is under way: kill it there
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = paid_keys(work)
    assert any(k.startswith("atom/") for k in killed_at), "the kill should land mid-execution"
    assert not (out / "report.json").exists()

    resumed = mge_run(work, out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    keys = paid_keys(work)
    assert len(keys) == len(set(keys)), "some LLM request was paid twice"
    assert set(killed_at) <= set(keys)
    r = report(out)
    assert r["passRateAfterRetries"] == 1.0 and r["atoms"] == 29
