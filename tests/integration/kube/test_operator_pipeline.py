"""The whole pipeline through the operator: `examples/inventory-lib` from a Project to Completed.

`mge operator run` runs as a subprocess under the least-privilege ServiceAccount; sandbox Jobs go
into a namespace enforcing Pod Security `restricted`; the harness runs each pod with the sandbox
image's real entry point (`python -m mge.cli.sandbox` on the pod's ConfigMap). The operator is
SIGKILLed mid-execution and restarted; the reviewer then edits, regenerates and approves the
AtomReviews by merge patch.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, watch
from tests.integration.controlplane import ControlPlane, PodHarness
from tests.integration.kube.helpers import (
    REPO,
    Operators,
    approve_with_kubectl,
    example_recordings,
    sandbox_entry_point,
    wait_for,
)

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]
G, V = "mge.dev", "v1alpha1"
NAME = "inventory-lib"
SECOND = "tasks-api"
"""A second Project in the same namespace: it plans with code the first one taught."""
BATCH_SIZE = 50
"""Large enough that every level is one L1 batch: Jobs per level, not per atom."""
FEEDBACK = "Keep the behaviour; name the failure plainly."


class JobWatch:
    """Records every Job the API server saw created in a namespace: (name, uid) per ADDED."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.batch = client.BatchV1Api(api)
        self.namespace = namespace
        self.added: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seen: set[str] = set()
        while not self._stop.is_set():
            w = watch.Watch()
            for event in w.stream(
                self.batch.list_namespaced_job, self.namespace, timeout_seconds=2
            ):
                job = event["object"]
                if job.metadata.uid not in seen:
                    seen.add(job.metadata.uid)
                    self.added.append((job.metadata.name, job.metadata.uid))
                if self._stop.is_set():
                    break

    def __enter__(self) -> JobWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def get(custom: client.CustomObjectsApi, ns: str, plural: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = custom.get_namespaced_custom_object(G, V, ns, plural, name)
    return obj


def ledger_keys(db: Path, key: str) -> list[str]:
    """Request keys of the paid (non-cached) LLM calls of project ``key``."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT request_key FROM cost_ledger WHERE project = ?", (key,))
        return [r[0] for r in rows]


def attempts(db: Path, key: str, atom: str) -> int:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM attempts WHERE project = ? AND atom_id = ?", (key, atom)
        )
        return int(rows.fetchone()[0])


def all_attempts(db: Path, key: str) -> int:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT count(*) FROM attempts WHERE project = ?", (key,))
        return int(rows.fetchone()[0])


def output_files(db: Path, key: str) -> dict[str, str]:
    import json

    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT content FROM documents WHERE project = ? AND kind = 'output'", (key,)
        ).fetchone()
    assert row is not None, "no output document in the store"
    body = json.loads(row[0])
    files: dict[str, str] = body["files"]
    return files


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    """A copy of the example's recordings (a regenerate response is added by the test)."""
    return example_recordings(tmp_path, NAME, SECOND)


@pytest.fixture
def pipeline(
    api: client.ApiClient,
    operators: Operators,
    start_harness: Callable[..., PodHarness],
    recordings: Path,
) -> Iterator[tuple[Operators, PodHarness, JobWatch]]:
    operators.env["MGE_RECORDINGS_ROOT"] = str(recordings)
    harness = start_harness(sandbox_entry_point(api), operators.namespace)
    with JobWatch(api, operators.namespace) as jobs:
        yield operators, harness, jobs


def document(db: Path, key: str, kind: str) -> Any:
    """A stored document of project ``key`` (None when there is none yet)."""
    import json

    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT content FROM documents WHERE project = ? AND kind = ?", (key, kind)
        ).fetchone()
    return None if row is None else json.loads(row[0])


def manifest(name: str = NAME) -> dict[str, Any]:
    body = yaml.safe_load((REPO / "examples" / name / "project.yaml").read_text())
    body["metadata"] = {"name": name}
    body["spec"]["llm"]["recordings"] = f"{name}/recordings"
    body["spec"]["output"] = {}
    body["spec"].setdefault("execution", {})["batchSize"] = BATCH_SIZE
    body["spec"]["execution"]["atomTimeoutSeconds"] = 60
    return body


def test_inventory_lib_runs_to_completed_through_sandbox_jobs_and_reviews(
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    pipeline: tuple[Operators, PodHarness, JobWatch],
    operator_env: dict[str, str],
    recordings: Path,
) -> None:
    operators, harness, jobs = pipeline
    ns = operators.namespace
    key = f"{ns}/{NAME}"
    db = Path(operator_env["MGE_DATABASE_URL"].removeprefix("sqlite:///"))
    first = operators.start()
    custom.create_namespaced_custom_object(G, V, ns, "projects", manifest())
    phases: list[str] = []

    def status() -> dict[str, Any]:
        st: dict[str, Any] = get(custom, ns, "projects", NAME).get("status") or {}
        if st.get("phase") and (not phases or phases[-1] != st["phase"]):
            phases.append(st["phase"])
        return st

    # Kill the operator (SIGKILL) once execution has run sandbox Jobs, and start another.
    wait_for(
        "execution with a finished sandbox Job",
        lambda: status().get("phase") == "Executing" and len(harness.handled) >= 1,
        timeout=240,
        interval=0.2,
    )
    first.kill()
    first.wait(timeout=10)
    jobs_at_kill = len(jobs.added)
    second = operators.start()

    def reviewing() -> dict[str, Any] | None:
        assert second.poll() is None, "the restarted operator exited"
        st = status()
        if st.get("phase") == "Failed":
            pytest.fail(f"the Project failed: {st.get('message')}")
        return st if st.get("phase") in ("Reviewing", "Completed") else None

    st = wait_for("the pipeline to reach Reviewing", reviewing, timeout=600, interval=0.5)
    assert phases[0] in ("Pending", "Discovering", "Planning", "Atomizing", "Analyzing")
    assert {"Executing", "Reviewing"} <= set(phases), phases
    conditions = {c["type"]: c for c in st["conditions"]}
    assert conditions["Reconciling"]["status"] == "True"
    assert conditions["Stalled"]["status"] == "False"
    assert conditions["Ready"]["reason"] == "WaitingForReview"
    assert st["progress"]["atomsTotal"] > 0
    assert 0 < st["progress"]["atomsDone"] < st["progress"]["atomsTotal"]  # some in review
    assert st["progress"]["atomsFailed"] == 0
    assert st["progress"]["levels"] >= 2
    assert st["output"]["storeKey"] == key
    # L4 readiness ran in a sandbox Job like every other check: counts in the status.
    readiness = st["readiness"]
    assert readiness["checks"] == 6 and readiness["ready"] is True, readiness
    assert readiness["blocking"] == 0 and readiness["retried"] == 0

    # Jobs: one per batch per level (and per suite run), restricted, each created and run once.
    created = Counter(name for name, _ in jobs.added)
    assert created and max(created.values()) == 1, created
    listed = client.BatchV1Api(api).list_namespaced_job(ns).items
    assert {j.metadata.name for j in listed} == set(created)
    assert len(harness.handled) == len(listed), "a Job's pod ran twice"
    l1 = [j for j in listed if j.metadata.labels["mge.dev/level"] != "suite"]
    levels = {j.metadata.labels["mge.dev/level"] for j in l1}
    assert len(levels) == st["progress"]["levels"]
    # One L1 Job per batch the journal recorded, whichever operator formed it (the restarted
    # one formed the killed one's batches again and found their Jobs). How many batches a level
    # takes depends on how far apart its answers came in (the batch linger, 1 s): on a busy
    # machine a level of 8 was 3 batches, so the count itself is not asserted.
    recorded = {
        frozenset((str(a), int(n)) for a, n in batch)
        for k in range(st["progress"]["levels"])
        for batch in (document(db, key, f"execution-batches/{k}") or {}).get("batches", [])
    }
    assert len(l1) == len(recorded), (len(l1), sorted(map(sorted, recorded)))
    assert len(l1) <= all_attempts(db, key)
    pod = listed[0].spec.template.spec
    assert pod.automount_service_account_token is False
    assert pod.security_context.run_as_non_root is True
    sc = pod.containers[0].security_context
    assert (sc.read_only_root_filesystem, sc.allow_privilege_escalation) == (True, False)
    assert sc.capabilities.drop == ["ALL"] and not pod.containers[0].env
    assert listed[0].spec.backoff_limit == 0 and listed[0].spec.active_deadline_seconds
    print(
        f"\njobs: {len(listed)} ({len(l1)} L1 batches over {len(levels)} levels, "
        f"{len(listed) - len(l1)} suite runs); {jobs_at_kill} before the kill; phases {phases}"
    )

    # The kill repeated no LLM call: every request key is in the cost ledger once.
    keys = ledger_keys(db, key)
    assert keys and sorted(keys) == sorted(set(keys)), Counter(keys).most_common(3)

    # AtomReviews for the review queue; a reviewer decides them by merge patch.
    reviews = wait_for(
        "the AtomReviews",
        lambda: custom.list_namespaced_custom_object(
            G, V, ns, "atomreviews", label_selector=f"mge.dev/project={NAME}"
        )["items"],
        timeout=60,
    )
    assert all(r["status"]["state"] == "Pending" and r["status"]["code"] for r in reviews)
    edit, regen, *rest = sorted(reviews, key=lambda r: r["metadata"]["name"])

    def patch(review: dict[str, Any], spec: dict[str, Any]) -> None:
        custom.patch_namespaced_custom_object(
            G, V, ns, "atomreviews", review["metadata"]["name"], {"spec": spec}
        )

    def settled(review: dict[str, Any], generation: int) -> Callable[[], dict[str, Any] | None]:
        def probe() -> dict[str, Any] | None:
            st = get(custom, ns, "atomreviews", review["metadata"]["name"]).get("status") or {}
            done = st.get("state") in ("Accepted", "Rejected")
            return st if done and st.get("observedGeneration") == generation else None

        return probe

    # edit: broken code is validated in a sandbox Job and refused; the original is accepted.
    jobs_before = len(jobs.added)
    patch(edit, {"decision": "edit", "code": "def nope(:\n    return\n"})
    refused = wait_for("the bad edit to be refused", settled(edit, 2), timeout=120)
    assert refused["state"] == "Rejected" and "NOT accepted" in refused["message"], refused
    good = edit["status"]["code"]
    patch(edit, {"decision": "edit", "code": good})
    accepted = wait_for("the edit to be accepted", settled(edit, 3), timeout=120)
    assert accepted["state"] == "Accepted", accepted
    assert len(jobs.added) > jobs_before, "the edit was not validated in a sandbox Job"
    assert [h["decision"] for h in accepted["history"]] == ["edit", "edit"]

    # regenerate: a new attempt with the feedback (its recorded answer), validated in a Job.
    atom = regen["spec"]["atomId"]
    number = attempts(db, key, atom) + 1
    (recordings / NAME / "recordings" / "regenerate.yaml").write_text(
        yaml.safe_dump(
            {
                "recording": True,
                "responses": [
                    {
                        "key": f"atom/{atom}/regenerate-{number}",
                        "usage": {"input_tokens": 900, "output_tokens": 60},
                        "response": f"```python\n{regen['status']['code'].rstrip()}\n```\n",
                    }
                ],
            }
        )
    )
    patch(regen, {"decision": "regenerate", "feedback": FEEDBACK})
    regenerated = wait_for("the regeneration", settled(regen, 2), timeout=120)
    assert regenerated["state"] == "Accepted", regenerated["message"]
    assert attempts(db, key, atom) == number
    assert f"atom/{atom}/regenerate-{number}" in ledger_keys(db, key)

    # approve the rest with kubectl (merge patch); the Project completes.
    approve_with_kubectl(
        control_plane.kubeconfig, ns, (review["metadata"]["name"] for review in rest)
    )

    def completed() -> dict[str, Any] | None:
        st = status()  # one read: the test looks at the status it decided on
        return st if st.get("phase") == "Completed" else None

    done = wait_for("Completed", completed, 60)
    ready = next(c for c in done["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", done
    assert done["output"]["storeKey"] == key
    assert done["progress"]["atomsDone"] == done["progress"]["atomsTotal"], done["progress"]
    files = output_files(db, key)
    body_line = good.strip().splitlines()[-1].strip()  # the accepted code is spliced in
    assert any(p.endswith(".py") for p in files) and body_line in "\n".join(files.values())
    assert "MGE-STUB" not in "\n".join(files.values())

    ev = client.CoreV1Api(api).list_namespaced_event(
        ns, field_selector=f"involvedObject.name={NAME}"
    )
    reasons = {e.reason for e in ev.items}
    assert {"Executing", "Integrating", "Reviewing", "Completed"} <= reasons, reasons
    keys = ledger_keys(db, key)
    assert sorted(keys) == sorted(set(keys))

    # Completed: what passed every level or was accepted is learned, under this namespace.
    # (The learn step embeds after the status says Completed: wait for it.)
    use = wait_for(
        "the learn step",
        lambda: (d := document(db, key, "retrieval-use")) and d.get("learned") and d,
        timeout=300,
        interval=1.0,
    )
    assert all(e.startswith(f"{ns}/{NAME}:") for e in use["learned"])
    learned_atoms = {e.split(":", 1)[1].rsplit("-", 1)[0] for e in use["learned"]}
    with sqlite3.connect(db) as conn:
        atom_ids = {r[0] for r in conn.execute("SELECT id FROM atoms WHERE project = ?", (key,))}
    # every atom: all passed every level, or a reviewer accepted them (edit, regenerate, approve)
    assert learned_atoms == atom_ids and len(learned_atoms) == len(use["learned"])

    # A second Project in the same namespace plans with the first one's learned code.
    custom.create_namespaced_custom_object(G, V, ns, "projects", manifest(SECOND))
    second_key = f"{ns}/{SECOND}"
    planned = wait_for(
        "the second Project's retrieval",
        lambda: document(db, second_key, "patterns"),
        timeout=300,
        interval=1.0,
    )
    offered = [p["pattern_id"] for p in planned["output"]]
    print(f"\nsecond Project planned with {offered}; learned from the first: {len(use['learned'])}")
    assert set(offered) & learned_atoms, (offered, sorted(learned_atoms))


def test_status_follows_the_worker_without_waiting_for_the_timer(
    custom: client.CustomObjectsApi,
    pipeline: tuple[Operators, PodHarness, JobWatch],
) -> None:
    """With the reconcile timer at 10 minutes, only the worker's nudges (the
    `worker.mge.dev/state` annotation waking the update handler) can move status from phase
    to phase; inventory-lib takes about two minutes to reach Reviewing."""
    operators, _harness, _jobs = pipeline
    operators.env["MGE_RECONCILE_INTERVAL"] = "600"
    ns = operators.namespace
    proc = operators.start()
    custom.create_namespaced_custom_object(G, V, ns, "projects", manifest())
    seen: list[str] = []

    def reviewing() -> dict[str, Any] | None:
        assert proc.poll() is None, "the operator exited"
        project = get(custom, ns, "projects", NAME)
        st: dict[str, Any] = project.get("status") or {}
        if st.get("phase") and (not seen or seen[-1] != st["phase"]):
            seen.append(st["phase"])
        if st.get("phase") == "Failed":
            pytest.fail(f"the Project failed: {st.get('message')}")
        return project if st.get("phase") in ("Reviewing", "Completed") else None

    project = wait_for("Reviewing before the first timer tick", reviewing, timeout=400)
    assert "Executing" in seen, seen
    state = project["metadata"]["annotations"]["worker.mge.dev/state"]
    assert state.startswith("g1 Reviewing"), state
