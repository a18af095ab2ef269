"""JavaScript and TypeScript projects through the operator: `examples/textkit-js` and
`examples/notes-api-ts` from a Project to Completed.

`mge operator run` runs as a subprocess; each sandbox Job's pod runs the sandbox image's real
entry point (`python -m mge.cli.sandbox`) through the harness, so the atoms' `node --test` runs
happen in Jobs. The reviewer approves the review queue by merge patch; the codebase the
operator stored is then written to a folder with the manifests its git push adds
(`with_manifest`, as `render_tree` does; the push itself is tested in test_output_git.py), where
its own `npm test` passes with no MGE.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import ControlPlane, PodHarness
from tests.integration.kube.helpers import (
    REPO,
    Operators,
    approve_with_kubectl,
    example_recordings,
    sandbox_entry_point,
    wait_for,
)

from mge.execution.manifest import with_manifest
from mge.sandbox import nodetools

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]
G, V = "mge.dev", "v1alpha1"
EXAMPLES = {
    # example: (language, atoms, tests its npm test runs)
    "textkit-js": ("javascript", 5, 7),
    "notes-api-ts": ("typescript", 15, 16),
}


READINESS_CHECKS = {"javascript": 5, "typescript": 6}
"""lint, format, (types,) security, secrets, install."""
RETRIED = {"textkit-js": 0, "notes-api-ts": 1}
"""notes-api-ts's readJson attempt 1 evals the request body; the security check sends it back."""


def manifest(name: str) -> dict[str, Any]:
    body = yaml.safe_load((REPO / "examples" / name / "project.yaml").read_text())
    body["metadata"] = {"name": name}
    body["spec"]["llm"]["recordings"] = f"{name}/recordings"
    body["spec"]["output"] = {}
    body["spec"].setdefault("execution", {})["batchSize"] = 50
    body["spec"]["execution"]["atomTimeoutSeconds"] = 60
    return body


def stored_output(db: Path, key: str) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT content FROM documents WHERE project = ? AND kind = 'output'", (key,)
        ).fetchone()
    assert row is not None, "no output document in the store"
    files: dict[str, str] = json.loads(row[0])["files"]
    return files


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_runs_to_completed_through_sandbox_jobs(
    name: str,
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    operators: Operators,
    operator_env: dict[str, str],
    start_harness: Callable[..., PodHarness],
    tmp_path: Path,
) -> None:
    language, atoms, tests = EXAMPLES[name]
    operators.env["MGE_RECORDINGS_ROOT"] = str(example_recordings(tmp_path, name))
    ns = operators.namespace
    harness = start_harness(sandbox_entry_point(api), ns)
    key = f"{ns}/{name}"
    db = Path(operator_env["MGE_DATABASE_URL"].removeprefix("sqlite:///"))
    proc = operators.start()
    custom.create_namespaced_custom_object(G, V, ns, "projects", manifest(name))

    def status() -> dict[str, Any]:
        assert proc.poll() is None, "the operator exited"
        st: dict[str, Any] = (
            custom.get_namespaced_custom_object(G, V, ns, "projects", name).get("status") or {}
        )
        if st.get("phase") == "Failed":
            pytest.fail(f"the Project failed: {st.get('message')}")
        return st

    def in_phase(*phases: str) -> Callable[[], dict[str, Any] | None]:
        def probe() -> dict[str, Any] | None:
            st = status()
            return st if st.get("phase") in phases else None

        return probe

    st = wait_for("Reviewing", in_phase("Reviewing", "Completed"), timeout=600, interval=0.5)
    assert st["progress"]["atomsTotal"] == atoms and st["progress"]["atomsFailed"] == 0
    assert harness.handled, "no sandbox Job ran"
    # L4 readiness ran in sandbox Jobs (a Node batch and a Python one per round): its counts.
    readiness = st["readiness"]
    assert readiness["checks"] == READINESS_CHECKS[language], readiness
    assert readiness["ready"] is True and readiness["blocking"] == 0, readiness
    assert readiness["retried"] == RETRIED[name], readiness
    reviews = custom.list_namespaced_custom_object(
        G, V, ns, "atomreviews", label_selector=f"mge.dev/project={name}"
    )["items"]
    approve_with_kubectl(
        control_plane.kubeconfig, ns, (review["metadata"]["name"] for review in reviews)
    )
    done = wait_for("Completed", in_phase("Completed"), timeout=120)
    assert done["progress"]["atomsDone"] == done["progress"]["atomsTotal"] == atoms

    files = stored_output(db, key)
    assert "MGE-STUB" not in "\n".join(files.values())
    out = tmp_path / "out"
    for rel, text in with_manifest(files, key, language).items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    node = nodetools.wheel_node()
    assert node is not None
    npm = Path(node).parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    env = {"PATH": f"{Path(node).parent}:/usr/bin:/bin", "HOME": str(Path.home())}
    install = subprocess.run(
        [node, str(npm), "ci", "--offline", "--no-audit", "--no-fund"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    result = subprocess.run(
        [node, str(npm), "test"], cwd=out, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert f"# pass {tests}" in result.stdout and "# fail 0" in result.stdout
