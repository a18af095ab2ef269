"""L3 performance through a sandbox Job on the real control plane: the benchmarks run as one
suite Job in a `restricted` namespace (the harness runs the sandbox image's real entry point),
and the miss comes back with its samples and the hot atom named from the profile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane, PodHarness
from tests.integration.kube.helpers import RESTRICTED, project_body, sandbox_entry_point

from mge.execution.performance import PerformanceGate, performance_feedback
from mge.kube.client import KubeClient
from mge.kube.jobs import JobTarget, KubeJobRunner
from mge.models.atoms import AtomicUnit
from mge.models.performance import PerformanceCriterion, PerformancePolicy
from mge.models.project import ExecutionSpec
from mge.validation.codebase import Codebase

pytestmark = [pytest.mark.kube, pytest.mark.usefixtures("crds_installed")]

SKELETON = '''\
"""Pages."""


def page(items: list[int], offset: int, limit: int) -> list[int]:
    """The items from offset, at most limit of them."""
    ...
'''
BENCH = '''\
"""Benchmark of AC-1."""

from pages.cut import page

CRITERION = "AC-1"


def setup(size: int) -> list[int]:
    return list(range(size))


def run(items: list[int]) -> None:
    page(items, 0, len(items))
'''
# quadratic: hundreds of ms for 10,000 items against a 20 ms budget
QUADRATIC = (
    "def page(items: list[int], offset: int, limit: int) -> list[int]:\n"
    "    return [x for x in items if offset <= items.index(x) < offset + limit]\n"
)


def test_benchmarks_run_as_a_suite_job_and_name_the_hot_atom(
    control_plane: ControlPlane,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
    start_harness: Callable[..., PodHarness],
) -> None:
    namespace = make_namespace(RESTRICTED)
    harness = start_harness(sandbox_entry_point(api), namespace)
    body = custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body("pages")
    )
    target = JobTarget(
        namespace=namespace,
        project="pages",
        owner=body,
        generation=1,
        execution=ExecutionSpec(atom_timeout_seconds=120),
    )
    jobs = KubeJobRunner(KubeClient(api), target, poll_first=0.2, poll_max=1.0)
    atom = AtomicUnit(
        id="page",
        file="pages/cut.py",
        language="python",
        kind="function",
        qualname="page",
        signature="def page(items: list[int], offset: int, limit: int) -> list[int]",
        estimated_loc=2,
        complexity=1,
    )
    codebase = Codebase(
        {
            "pages/__init__.py": "",
            "pages/cut.py": SKELETON,
            "tests/benchmarks/bench_page.py": BENCH,
        },
        {"page": atom},
    )
    criterion = PerformanceCriterion(
        id="AC-1", text="Cut 10,000 items in under 20 ms", operation="cut", size=10_000,
        budget_ms=20.0,
    )  # fmt: skip
    gate = PerformanceGate(
        codebase,
        jobs.suite_runner().run_batch,
        PerformancePolicy(repetitions=3),
        [criterion],
        language="python",
    )
    report = asyncio.run(gate.check({"page": QUADRATIC}))

    (result,) = report.results
    assert not result.error, result.error
    assert not result.passed and len(result.samples_ms) >= 3
    assert result.median_ms is not None and result.median_ms > result.limit_ms
    assert [h.atom_id for h in result.hot] == ["page"]
    assert list(performance_feedback(report)) == ["page"]
    listed = client.BatchV1Api(api).list_namespaced_job(namespace).items
    assert len(listed) == 1 and listed[0].metadata.labels["mge.dev/level"] == "suite"
    assert len(harness.handled) == 1
