"""L4 production readiness through `mge run`, as a user runs it, on the tasks-api recordings.

`Task.apply` attempt 1 (a recording, written by people) passes its tests but evaluates a
string-built call; the readiness checks (bandit and ruff, in the sandbox) must name that atom,
send it back with the finding, and attempt 2 must make the codebase ready.
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
