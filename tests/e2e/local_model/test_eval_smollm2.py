"""`mge eval humaneval --provider llamacpp` on a few problems with the real SmolLM2 model.

Asserts only what must hold whatever the model writes: the command finishes, every problem has
a row, attempts stay within the limit, the report's figures add up from its rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.local_model

LIMIT = 3
ATTEMPTS = 2


def test_a_short_eval_run_writes_a_consistent_report(tmp_path: Path) -> None:
    out = tmp_path / "he"
    cmd = [
        str(Path(sys.executable).parent / "mge"), "--workdir", str(tmp_path / "wd"),
        "eval", "humaneval", "--provider", "llamacpp", "--limit", str(LIMIT),
        "--attempts", str(ATTEMPTS), "--max-tokens", "128", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr

    report = json.loads(out.with_suffix(".json").read_text())
    rows = report["results"]
    assert report["provider"] == "llamacpp" and report["problems"] == LIMIT == len(rows)
    assert [r["task_id"] for r in rows] == [f"HumanEval/{i}" for i in range(LIMIT)]
    for r in rows:
        assert 1 <= r["attempts"] <= ATTEMPTS
        # An attempt is never silently lost: unparseable and errored ones are counted.
        assert r["unparseable_answers"] + r["llm_errors"] <= r["attempts"]
        if r["validated"]:
            assert r["attempts"] <= ATTEMPTS
        else:
            assert r["attempts"] == ATTEMPTS  # a problem not validated used every attempt
    assert report["attempts_used"] == sum(r["attempts"] for r in rows)
    assert report["passed_final"] == sum(r["final_hidden_passed"] for r in rows)
    assert report["passed_first"] == sum(r["first_hidden_passed"] for r in rows)
    assert report["usage"]["output_tokens"] == sum(r["usage"]["output_tokens"] for r in rows) > 0
    assert report["cost_usd"] == 0.0
    assert not out.with_suffix(".partial.json").exists()
    assert "pass@1, after retries" in out.with_suffix(".md").read_text()
