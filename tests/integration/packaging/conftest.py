"""Fixtures for the packaging tests: helm and kubeconform (built by hack/helm/build.sh on a cache
miss, else instant), chart rendering, and kubeconform schemas from the real test apiserver."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CHART = REPO / "charts" / "mge-operator"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
KUBE_VERSION = "1.34.4"
"""The Kubernetes version the chart is rendered and validated for (the test control plane's)."""
RELEASE, NAMESPACE = "mge", "mge-system"


@pytest.fixture(scope="session")
def tools() -> Path:
    """The folder holding helm and kubeconform."""
    proc = subprocess.run(
        ["bash", str(REPO / "hack/helm/build.sh")], capture_output=True, text=True, timeout=1800
    )
    if proc.returncode != 0:
        pytest.fail(f"hack/helm/build.sh failed:\n{proc.stderr[-3000:]}", pytrace=False)
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def helm(tools: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, check: bool = True, env: dict[str, str] | None = None) -> Any:
        proc = subprocess.run(
            [str(tools / "helm"), *args], capture_output=True, text=True, timeout=300, env=env
        )
        if check and proc.returncode != 0:
            pytest.fail(f"helm {' '.join(args)} failed:\n{proc.stderr}", pytrace=False)
        return proc

    return run


@pytest.fixture(scope="session")
def render(helm: Callable[..., Any]) -> Callable[..., list[dict[str, Any]]]:
    """``render(values_file=None, *set_args)`` → the chart's manifests as dicts."""
    cache: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def run(values: Path | None = None, *sets: str) -> list[dict[str, Any]]:
        args = ["template", RELEASE, str(CHART), "-n", NAMESPACE, "--kube-version", KUBE_VERSION]
        if values is not None:
            args += ["-f", str(values)]
        for s in sets:
            args += ["--set", s]
        key = tuple(args)
        if key not in cache:
            text = helm(*args).stdout
            cache[key] = [d for d in yaml.safe_load_all(text) if d]
        return cache[key]

    return run


def dump_openapi(kubeconfig: Path) -> dict[str, Any]:
    """GET /openapi/v2 from the API server of ``kubeconfig`` (through kubectl)."""
    from tests.integration.kube.helpers import kubectl

    result: dict[str, Any] = json.loads(kubectl(kubeconfig, "get", "--raw", "/openapi/v2").stdout)
    return result
