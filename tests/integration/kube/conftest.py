"""Fixtures for the operator's tests on the real control plane (see docs/operator.md)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane

from mge.kube import crds as crd_gen

KUBECTL = "/usr/bin/kubectl"
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


def kubectl(
    kubeconfig: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run kubectl with ``kubeconfig``; returns the completed process."""
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def wait_for(what: str, probe: Any, timeout: float = 30.0, interval: float = 0.3) -> Any:
    """Poll ``probe()`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture(scope="session")
def crds_installed(control_plane: ControlPlane) -> None:
    """The generated CRDs applied and Established (once per session)."""
    docs = "---\n".join(crd_gen.render().values())
    kubectl(control_plane.kubeconfig, "apply", "--server-side", "-f", "-", stdin=docs)
    for plural in ("projects", "atomreviews"):
        kubectl(
            control_plane.kubeconfig,
            "wait",
            "--for=condition=Established",
            f"crd/{plural}.mge.dev",
            "--timeout=30s",
        )


def project_body(name: str, **spec: Any) -> dict[str, Any]:
    """A minimal Project manifest."""
    return {
        "apiVersion": "mge.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {"requirements": "A tiny inventory library.", **spec},
    }


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
    yield env
