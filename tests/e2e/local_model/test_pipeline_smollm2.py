"""`mge run examples/tiny-lib` with the real SmolLM2 model: MGE stays sound, whatever it says.

The atoms are written by SmolLM2; discovery, the masterplan and the skeleton come from the
example's recordings (``spec.llm.planner``), so execution always runs. Asserted (never that the
model's code is good):
- no crash: the run completes (exit 0, maybe with review items, or 4 when the model's code
  fails a blocking readiness check), never a Python traceback;
- every structured answer that did not parse got its repair round (a ``<key>/repair`` call in
  the cost ledger), and every atom answer without usable code is a stored, failed attempt;
- the sandbox checked every candidate that had code (each such attempt carries a validation
  result); every atom ends validated/approved or in review; the report's counts add up and it
  names who wrote the atoms and who planned.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mge.cli.run import EXIT_NOT_READY

pytestmark = pytest.mark.local_model

MANIFEST = Path(__file__).parents[3] / "examples" / "tiny-lib" / "project.yaml"
MGE = str(Path(sys.executable).parent / "mge")
RUN_TIMEOUT_S = 1800
SETTLED = {"validated", "approved", "in_review"}


def test_mge_run_with_smollm2_is_sound_whatever_the_model_says(tmp_path: Path) -> None:
    work, out = tmp_path / "state", tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MGE_")}
    env["COLUMNS"] = "240"  # rich wraps the report table at 80 columns without a terminal
    done = subprocess.run(
        [MGE, "--workdir", str(work), "run", str(MANIFEST), "--no-patterns", "-o", str(out)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=env, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    # 0: written (maybe with review items); 4: written, but SmolLM2's code fails a blocking
    # readiness check (lint, types…) even after its retries. Both are sound outcomes.
    assert done.returncode in (0, EXIT_NOT_READY), done.stderr[-4000:]
    if done.returncode == EXIT_NOT_READY:
        assert "not production-ready" in done.stdout and (out / "readiness.md").is_file()

    with sqlite3.connect(work / "mge.db") as db:
        keys = [r[0] for r in db.execute("select request_key from cost_ledger")]
        attempts = db.execute("select atom_id, number, code, validation, error from attempts")
        rows = list(attempts)
    assert keys, "the model was never called"
    for key in keys:
        if key.endswith("/repair"):
            assert key.removesuffix("/repair") in keys  # a repair follows a real first answer
    for atom_id, number, code, validation, error in rows:
        if code.strip():
            assert validation is not None, f"{atom_id}#{number}: the sandbox never checked it"
        else:
            assert error, f"{atom_id}#{number}: an empty answer must be recorded as failed"
            assert validation is None or not json.loads(validation)["passed"]

    r = json.loads((out / "report.json").read_text())
    assert (r["provider"], r["recorded"], r["planner"]) == ("llamacpp", False, "scripted/recording")
    assert r["status"] == "completed"
    atoms = r["atomList"]
    assert len(atoms) == r["atoms"] == 2  # add and is_even, from the recorded skeleton
    assert all(a["state"] in SETTLED for a in atoms), atoms
    assert r["validated"] + r["approved"] + r["inReview"] == r["atoms"]
    assert r["attempts"] == len(rows) == sum(a["attempts"] for a in atoms)
    assert all(1 <= a["attempts"] <= 3 for a in atoms)  # spec.execution.maxAttempts
    assert r["reviewItems"] == len(r["review"])
    atom_keys = [k for k in keys if k.startswith("atom/")]
    assert len({k.removesuffix("/repair") for k in atom_keys}) == len(rows)  # one call per attempt
    assert "planning: scripted/recording" in done.stdout + done.stderr
