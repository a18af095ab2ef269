"""L3 performance through the whole operator: `examples/tasks-api` from a Project to Reviewing.

tasks-api's acceptance criteria AC-9 and AC-10 carry numbers, so its repository's skeleton has a
benchmark for each. `InMemoryTaskRepository.add` attempt 1 (a recording, written by people)
passes its tests but scans every stored task for a duplicate id, so 2,000 adds are quadratic:
the benchmark suite Job after the last level must miss AC-10, the operator must send that atom
back, attempt 2 (a dictionary lookup) must meet the budget, and `status.performance` must say
so in counts. `Task.apply` attempt 1 evals a string-built call; L4 readiness (its own suite Job)
sends it back too. `mge operator run` runs as a subprocess; the harness runs every sandbox Job's
pod with the sandbox image's real entry point.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from tests.integration.controlplane import PodHarness
from tests.integration.kube.helpers import (
    REPO,
    Operators,
    example_recordings,
    sandbox_entry_point,
    wait_for,
)
from tests.integration.kube.test_operator_pipeline import document

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]
G, V = "mge.dev", "v1alpha1"
NAME = "tasks-api"
ADD = "inmemorytaskrepository-add-c62e89333c"
APPLY = "task-apply-50d0775f64"
REVIEWING_TIMEOUT_S = 900
"""26 atoms, a benchmark round and a readiness round per retry, every check a Job; measured
well under this on 2 loaded cores (see the report the test prints)."""


def manifest() -> dict[str, Any]:
    body = yaml.safe_load((REPO / "examples" / NAME / "project.yaml").read_text())
    body["metadata"] = {"name": NAME}
    body["spec"]["llm"]["recordings"] = f"{NAME}/recordings"
    body["spec"]["output"] = {}
    body["spec"].setdefault("execution", {})["batchSize"] = 50
    body["spec"]["execution"]["atomTimeoutSeconds"] = 60
    return body


def attempts(db: Path, key: str, atom: str) -> list[str]:
    """The code of each stored attempt of one atom, first attempt first."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT code FROM attempts WHERE project = ? AND atom_id = ? ORDER BY number",
            (key, atom),
        )
        return [r[0] for r in rows]


def test_a_missed_budget_is_sent_back_and_met_through_the_operator(
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    operators: Operators,
    operator_env: dict[str, str],
    start_harness: Callable[..., PodHarness],
    tmp_path: Path,
) -> None:
    operators.env["MGE_RECORDINGS_ROOT"] = str(example_recordings(tmp_path, NAME))
    ns = operators.namespace
    harness = start_harness(sandbox_entry_point(api), ns)
    key = f"{ns}/{NAME}"
    db = Path(operator_env["MGE_DATABASE_URL"].removeprefix("sqlite:///"))
    started = time.monotonic()
    proc = operators.start()
    custom.create_namespaced_custom_object(G, V, ns, "projects", manifest())

    def reviewing() -> dict[str, Any] | None:
        assert proc.poll() is None, "the operator exited"
        project = custom.get_namespaced_custom_object(G, V, ns, "projects", NAME)
        st: dict[str, Any] = project.get("status") or {}
        if st.get("phase") == "Failed":
            pytest.fail(f"the Project failed: {st.get('message')}")
        return st if st.get("phase") in ("Reviewing", "Completed") else None

    st = wait_for("Reviewing", reviewing, timeout=REVIEWING_TIMEOUT_S, interval=1.0)
    elapsed = time.monotonic() - started
    assert st["progress"]["atomsTotal"] == 26 and st["progress"]["atomsFailed"] == 0
    # L3: both criteria benchmarked, AC-10 missed once, its hot atom sent back, now met.
    assert st["performance"] == {
        "met": True,
        "criteria": 2,
        "missed": 0,
        "unmeasured": 0,
        "retried": 1,
    }, st["performance"]
    report = document(db, key, "execution-progress/performance")
    assert report is not None, "no performance report in the store"
    assert report["retried"] == [ADD] and report["rounds"] == 2, report
    (caught,) = report["caught"]
    assert caught.startswith("AC-10: median ") and caught.endswith(
        "sent back InMemoryTaskRepository.add"
    )
    first, second = attempts(db, key, ADD)
    assert "any(" in first and "any(" not in second
    # L4 readiness sent Task.apply back for its eval, and is ready after the retry.
    readiness = st["readiness"]
    assert readiness["ready"] is True and readiness["retried"] == 1, readiness
    assert len(attempts(db, key, APPLY)) == 2
    # The benchmarks ran in sandbox Jobs of their own (the suite Jobs), not in the operator.
    jobs = client.BatchV1Api(api).list_namespaced_job(ns).items
    suite = [j for j in jobs if j.metadata.labels.get("mge.dev/level") == "suite"]
    assert suite and harness.handled
    print(
        f"\ntasks-api to {st['phase']} through the operator in {elapsed:.0f} s: "
        f"{len(jobs)} Jobs ({len(suite)} suite runs); caught {caught}"
    )
