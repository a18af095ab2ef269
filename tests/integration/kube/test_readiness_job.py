"""L4 readiness through a sandbox Job on the real control plane: the readiness batch runs as
one suite Job in a `restricted` namespace (the harness runs the sandbox image's real entry
point), and bandit's finding comes back attributed to the atom that evals a string.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane, PodHarness
from tests.integration.kube.helpers import RESTRICTED, job_runner, sandbox_entry_point

from mge.execution.readiness import ReadinessGate
from mge.models.atoms import AtomicUnit
from mge.models.project import ExecutionSpec
from mge.models.readiness import ReadinessPolicy
from mge.validation.codebase import Codebase

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

SKELETON = '''\
"""Tiny calculator."""


def add(a: int, b: int) -> int:
    """The sum."""
    ...
'''
EVAL = "def add(a: int, b: int) -> int:\n    total: int = eval(f'{a} + {b}')\n    return total\n"
TEST = "from calc.ops import add\n\n\ndef test_add() -> None:\n    assert add(2, 3) == 5\n"


def test_readiness_runs_as_a_suite_job_and_names_the_atom(
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
    start_harness: Callable[..., PodHarness],
) -> None:
    namespace = make_namespace(RESTRICTED)
    harness = start_harness(sandbox_entry_point(api), namespace)
    jobs = job_runner(api, custom, namespace, "calc", ExecutionSpec(atom_timeout_seconds=120))
    atom = AtomicUnit(
        id="add",
        file="calc/ops.py",
        language="python",
        kind="function",
        qualname="add",
        signature="def add(a: int, b: int) -> int",
        estimated_loc=2,
        complexity=1,
        test_cases=["test_add"],
    )
    codebase = Codebase(
        {"calc/__init__.py": "", "calc/ops.py": SKELETON, "tests/test_ops.py": TEST},
        {"add": atom},
    )
    policy = ReadinessPolicy()
    gate = ReadinessGate(
        codebase, jobs.suite_runner().run_batch, policy, language="python", project="calc"
    )
    report = asyncio.run(gate.check({"add": EVAL}))

    checks = {c.name: c for c in report.checks}
    assert list(checks) == ["lint", "format", "types", "security", "secrets", "install"]
    assert all(not c.error for c in report.checks), [c.error for c in report.checks]
    security = checks["security"]
    assert [(f.rule, f.path, f.atom_id) for f in security.findings] == [
        ("B307", "calc/ops.py", "add")
    ]
    assert not report.ready and [c.name for c in report.blocking_failures] == ["security"]
    assert checks["install"].passed and checks["types"].passed  # built, installed, tested
    listed = client.BatchV1Api(api).list_namespaced_job(namespace).items
    assert len(listed) == 1 and listed[0].metadata.labels["mge.dev/level"] == "suite"
    assert len(harness.handled) == 1
