"""Fixtures for the operator's tests on the real control plane (see docs/operator.md)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane
from tests.integration.kube.helpers import RESTRICTED, Operators, apply_crds
from tests.integration.kube.review_ui_env import seed


@pytest.fixture(scope="session")
def crds_installed(control_plane: ControlPlane) -> None:
    """The generated CRDs applied and Established (once per session)."""
    apply_crds(control_plane.kubeconfig)


@pytest.fixture
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    """Admin CustomObjectsApi."""
    return client.CustomObjectsApi(api)


@pytest.fixture
def operator_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for an operator process: SQLite store in tmp, fast timer."""
    env = dict(os.environ)
    env["MGE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'operator.db'}"
    env["MGE_RECONCILE_INTERVAL"] = "1"
    env["MGE_JOB_POLL_MAX_SECONDS"] = "1"
    env["MGE_WORKDIR"] = str(tmp_path / "work")
    # A restarted operator waits for its killed predecessor's Lease, so tests keep it shorter
    # than the chart's 15/5 s — but a leader steps down after duration - renew seconds without a
    # renewal, and on a loaded CI machine (2 cores, load 10) a 5 s window was lost mid-test.
    env["MGE_LEASE_DURATION"] = "12"
    env["MGE_LEASE_RENEW"] = "3"
    yield env


@pytest.fixture
def operators(
    control_plane: ControlPlane,
    make_namespace: Callable[..., str],
    operator_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[Operators]:
    """`mge operator run` processes for one `restricted` namespace (Traceback in a log = fail)."""
    ops = Operators(control_plane, make_namespace(RESTRICTED), operator_env, tmp_path)
    try:
        yield ops
    finally:
        text = ops.stop_all()
        assert "Traceback" not in text, text[-4000:]


@pytest.fixture
async def seeded(
    api: client.ApiClient, make_namespace: Callable[..., str], tmp_path: Path
) -> tuple[str, Path]:
    """A new namespace with a Project in Reviewing and its AtomReviews (``review_ui_env.seed``)."""
    namespace = make_namespace()
    return namespace, await seed(api, namespace, tmp_path)
