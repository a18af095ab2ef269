"""Helpers for the operator's control-plane tests: kubectl, polling, a minimal Project."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

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


def project_body(name: str, **spec: Any) -> dict[str, Any]:
    """A minimal Project manifest."""
    return {
        "apiVersion": "mge.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {"requirements": "A tiny inventory library.", **spec},
    }
