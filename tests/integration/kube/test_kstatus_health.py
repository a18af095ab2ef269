"""Health as Flux reads it: the real kstatus library over Projects on the real API server.

Each Project gets the status the operator's own ``decide()`` writes for one phase, through the
/status subresource as the operator writes it, and is read back; a fresh Project gets none. The
objects go through ``status.Compute`` of sigs.k8s.io/cli-utils (hack/kstatus, built and cached by
hack/kstatus/build.sh). Go missing locally skips; under CI=true it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.integration.kube.helpers import project_body
from tests.integration.parts import missing_part

from mge.kube.decide import Observed, decide
from mge.models.project import Phase, Progress, ProjectSpec, ProjectStatus

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
GROUP, VERSION, PLURAL = "mge.dev", "v1alpha1", "projects"


def _go_available() -> bool:
    return bool(os.environ.get("GO") or shutil.which("go") or Path("/usr/local/go/bin/go").exists())


@pytest.fixture(scope="module")
def kstatus_binary() -> Path:
    """hack/kstatus built (or reused from the cache)."""
    if not _go_available():
        missing_part("no Go toolchain: hack/kstatus cannot be built")
    out = subprocess.run(
        ["bash", str(REPO / "hack" / "kstatus" / "build.sh")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return Path(out.stdout.strip().splitlines()[-1])


def kstatus(binary: Path, objects: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What kstatus ``Compute`` says of each object (status, message)."""
    out = subprocess.run(
        [str(binary)], input=json.dumps(objects), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    results: list[dict[str, str]] = json.loads(out.stdout)
    assert not [r for r in results if r.get("error")], results
    return results


@dataclass(frozen=True)
class Case:
    """One state of the world, the phase the operator then writes, and kstatus's reading."""

    name: str
    observed: dict[str, Any]
    phase: Phase
    kstatus: str
    before: str = "Pending"
    spec: dict[str, Any] = field(default_factory=dict)


RUNNING = [Phase.DISCOVERING, Phase.PLANNING, Phase.ATOMIZING, Phase.ANALYZING, Phase.EXECUTING]
CASES = [
    Case("pending", {}, Phase.PENDING, "InProgress"),
    *[
        Case(p.value.lower(), {"worker": "running", "stored_phase": p}, p, "InProgress")
        for p in [*RUNNING, Phase.INTEGRATING]
    ],
    Case(
        "reviewing",
        {
            "worker": "finished",
            "stored_phase": Phase.REVIEWING,
            "review_items": 2,
            "reviews_total": 2,
            "reviews_pending": 2,
            "progress": Progress(atoms_total=10, atoms_done=10),
        },
        Phase.REVIEWING,
        "InProgress",
        before="Reviewing",
    ),
    Case("completed", {"stored_phase": Phase.COMPLETED}, Phase.COMPLETED, "Current", "Completed"),
    Case(
        "failed",
        {"worker": "failed", "worker_error": "boom"},
        Phase.FAILED,
        "Failed",
        "Executing",
    ),
    Case(
        "budget-stalled",
        {"worker": "budget", "spent_usd": 60.0, "stored_phase": Phase.EXECUTING},
        Phase.EXECUTING,
        "Failed",
        "Executing",
    ),
]


def operator_status(case: Case, generation: int) -> dict[str, Any]:
    """The status the operator's decide() writes for ``case`` (as handlers.py serialises it)."""
    spec = ProjectSpec.model_validate({"requirements": "A tiny inventory library."} | case.spec)
    before = ProjectStatus(phase=case.before, observed_generation=generation)
    observed = Observed(generation=generation, key=f"ns/{case.name}", **case.observed)
    status = decide(spec, before, observed, NOW).status
    assert status.phase == case.phase.value, f"{case.name}: decide wrote {status.phase}"
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_every_phase_reads_right_in_kstatus(
    kstatus_binary: Path, custom: client.CustomObjectsApi, namespace: str
) -> None:
    objects = []
    for case in CASES:
        made = custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, project_body(case.name)
        )
        status = operator_status(case, made["metadata"]["generation"])
        objects.append(
            custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURAL, case.name, {"status": status}
            )
        )
    results = kstatus(kstatus_binary, objects)
    got = {c.name: r["status"] for c, r in zip(CASES, results, strict=True)}
    assert got == {c.name: c.kstatus for c in CASES}, results


def test_a_project_the_operator_has_not_seen_is_in_progress(
    kstatus_binary: Path, custom: client.CustomObjectsApi, namespace: str
) -> None:
    """Flux with ``wait: true`` must not call a Project healthy before the operator saw it."""
    made = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, project_body("fresh")
    )
    read = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "fresh")
    created, got = kstatus(kstatus_binary, [made, read])
    assert created["status"] == "InProgress", created
    assert got["status"] == "InProgress", got
    assert "latest observed generation is 0" in got["message"]
    assert read["status"]["phase"] == "Pending"  # the PHASE column says so too


def test_a_changed_spec_is_in_progress_until_observed(
    kstatus_binary: Path, custom: client.CustomObjectsApi, namespace: str
) -> None:
    done = CASES[[c.name for c in CASES].index("completed")]
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, project_body("edit"))
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "edit", {"status": operator_status(done, 1)}
    )
    changed = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "edit", {"spec": {"requirements": "Now with sets."}}
    )
    assert changed["metadata"]["generation"] == 2
    (result,) = kstatus(kstatus_binary, [changed])
    assert result["status"] == "InProgress", result
