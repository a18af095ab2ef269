"""A sandbox Job that runs past its deadline on the real node: the Job controller stops it
(``activeDeadlineSeconds``) and the operator's KubeJobRunner reads DeadlineExceeded from the
real Job status, failing the batch's atoms as ``timeout`` with that reason."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from kubernetes import client
from tests.integration.controlplane.real_node import RealNode
from tests.integration.kube.helpers import job_runner
from tests.integration.realnode.conftest import SANDBOX_IMAGE
from tests.integration.realnode.helpers import RESTRICTED

from mge.kube.children import JOB_SLACK_SECONDS
from mge.kube.jobs import Slot
from mge.models.project import ExecutionSpec
from mge.models.sandbox import AtomStatus, SandboxBatch

pytestmark = [pytest.mark.kube, pytest.mark.realnode, pytest.mark.usefixtures("crds_installed")]

ATOM_TIMEOUT = 1
"""The Project's atom timeout: the Job's deadline is this per atom plus JOB_SLACK_SECONDS."""


def test_a_job_past_its_deadline_fails_its_atoms_as_timeout(
    real_node: RealNode,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
) -> None:
    namespace = make_namespace(RESTRICTED)
    # The atom's own timeout (10 min) is far past the Job's (61 s): only the deadline stops it.
    batch = SandboxBatch.model_validate(
        {
            "batchId": "deadline",
            "language": "python",
            "items": [
                {
                    "atomId": "spin",
                    "command": ["python", "-c", "while True:\n    pass\n"],
                    "timeoutSeconds": 600,
                }
            ],
        }
    )
    runner = job_runner(
        api,
        custom,
        namespace,
        "deadline",
        ExecutionSpec(atom_timeout_seconds=ATOM_TIMEOUT, sandbox_image=SANDBOX_IMAGE),
    )
    result = asyncio.run(runner.batch_runner(Slot(0, 0, 0))(batch))

    jobs = client.BatchV1Api(api).list_namespaced_job(namespace).items
    assert len(jobs) == 1
    job = jobs[0]
    assert job.spec.active_deadline_seconds == ATOM_TIMEOUT + JOB_SLACK_SECONDS
    failed = [c for c in job.status.conditions or [] if c.type == "Failed"]
    assert [c.reason for c in failed] == ["DeadlineExceeded"], job.status.conditions
    [outcome] = result.outcomes
    assert outcome.atom_id == "spin"
    assert outcome.status is AtomStatus.TIMEOUT, outcome
    assert outcome.detail.startswith("DeadlineExceeded"), outcome.detail
