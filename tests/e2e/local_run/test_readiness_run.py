"""L3 performance and L4 production readiness through `mge run`, as a user runs it, on the
tasks-api recordings.

`Task.apply` attempt 1 (a recording, written by people) passes its tests but evaluates a
string-built call; the readiness checks (bandit and ruff, in the sandbox) must name that atom,
send it back with the finding, and attempt 2 must make the codebase ready.
`InMemoryTaskRepository.add` attempt 1 passes its tests but scans every stored task for a
duplicate id (quadratic over an import): the AC-10 benchmark (2,000 adds within 50 ms) must
miss it by far, send that atom back with the figures, and attempt 2 must meet the budget.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
MANIFEST = REPO / "examples" / "tasks-api" / "project.yaml"
MGE = [str(Path(sys.executable).parent / "mge")]
RUN_TIMEOUT_S = 900
APPLY = "task-apply-50d0775f64"
ADD = "inmemorytaskrepository-add-c62e89333c"


def mge_run(manifest: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    work, out = tmp_path / "state", tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MGE_")}
    return subprocess.run(
        [*MGE, "--workdir", str(work), "run", str(manifest), "--no-patterns", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
    )


@pytest.mark.slow
def test_a_string_built_eval_is_caught_by_bandit_and_fixed_on_retry(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = mge_run(MANIFEST, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    readiness = json.loads((out / "report.json").read_text())["readiness"]
    checks = {c["name"]: c for c in readiness["checks"]}
    assert list(checks) == ["lint", "format", "types", "security", "secrets", "install"]
    assert readiness["retried"] == [APPLY]
    assert readiness["rounds"] == 2
    caught = readiness["caught"]
    # bandit flags the eval; ruff sees `updated_at` used only inside the evaluated string.
    assert [(f["check"], f["rule"], f["atomId"]) for f in caught] == [
        ("lint", "F841", APPLY),
        ("security", "B307", APPLY),
    ]
    assert {f["path"] for f in caught} == {"app/domain.py"}
    # After the retry: the blocking checks pass (format is report-only by default).
    for name in ("lint", "types", "security", "secrets", "install"):
        assert checks[name]["passed"], checks[name]
    assert checks["format"]["mode"] == "report"
    assert "eval(" not in (out / "app" / "domain.py").read_text()
    page = (out / "readiness.md").read_text()
    assert "Verdict: **ready**" in page
    assert "security B307" in page and APPLY in page
    assert "readiness.md" in json.loads((out / "report.json").read_text())["files"]


@pytest.mark.slow
def test_a_quadratic_add_misses_its_budget_and_the_retry_meets_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = mge_run(MANIFEST, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    perf = report["performance"]
    assert perf["mode"] == "block" and perf["rounds"] == 2
    # only the atom the profile shows on the hot path goes back (list and the rest do not)
    assert perf["retried"] == [ADD]
    (caught,) = perf["caught"]
    assert caught.startswith("AC-10: median ") and "size 2,000" in caught
    assert caught.endswith("sent back InMemoryTaskRepository.add")
    results = {r["criterion"]["id"]: r for r in perf["results"]}
    assert list(results) == ["AC-9", "AC-10"]
    for r in results.values():
        assert r["passed"] and len(r["samplesMs"]) >= 7, r
        assert r["medianMs"] <= r["limitMs"]
    assert "any(" not in (out / "app" / "repository.py").read_text()
    # L3 records the verdict; L4 counts a benchmarked criterion as checked by its benchmark
    assert {"level": "L3", "subject": "performance", "passed": True} in report["validations"]
    page = (out / "performance.md").read_text()
    assert "Verdict: **met** (mode block)" in page
    assert "sent back InMemoryTaskRepository.add" in page
    assert "performance.md" in report["files"]
    assert "performance" in run.stdout and "2/2 budgets met" in run.stdout


@pytest.mark.slow
def test_without_retries_the_blocking_finding_stays_and_the_run_exits_4(tmp_path: Path) -> None:
    """``retries: 0``: the eval is reported, not fixed; `mge run` writes the codebase and exits
    4 (not production-ready), naming the blocking check."""
    example = tmp_path / "tasks-api"
    shutil.copytree(MANIFEST.parent, example)
    manifest = example / "project.yaml"
    doc = yaml.safe_load(manifest.read_text())
    doc["spec"]["validation"] = {"readiness": {"retries": 0}}
    manifest.write_text(yaml.safe_dump(doc))
    run = mge_run(manifest, tmp_path)
    assert run.returncode == 4, run.stderr[-3000:]
    assert "not production-ready: lint, security" in run.stdout
    out = tmp_path / "out"
    readiness = json.loads((out / "report.json").read_text())["readiness"]
    assert readiness["rounds"] == 1 and readiness["retried"] == []
    security = next(c for c in readiness["checks"] if c["name"] == "security")
    assert [(f["rule"], f["atomId"]) for f in security["findings"]] == [("B307", APPLY)]
    assert "Verdict: **NOT ready** (blocking: lint, security)" in (out / "readiness.md").read_text()
