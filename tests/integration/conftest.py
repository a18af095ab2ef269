"""Fixtures for tests against the real test control plane (docs/control-plane.md).

``control_plane`` (session) builds or reuses the binaries with hack/k8s-bins/build.sh, starts
etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, and stops them at the end.
If the binaries cannot be built or the cluster does not start, every test using it errors:
never skipped. Component logs are kept (path printed in the summary) when a test failed, the
run was interrupted, or ``MGE_KEEP_CONTROL_PLANE=1``.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client

_REPO_ROOT = Path(__file__).resolve().parents[2]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from tests.integration.controlplane import (  # noqa: E402
    BinariesError,
    ControlPlane,
    PodHarness,
    PodRunner,
    find_binaries,
)

KEEP_ENV = "MGE_KEEP_CONTROL_PLANE"
"""Set to 1 to keep the control plane's work dir (logs, certificates) even when all passed."""

_REPORT_KEY = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORT_KEY] = []


_interrupted: list[bool] = []
"""Non-empty once the run was interrupted (the hook below gets no config to stash it in)."""


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    # A hang is the usual reason to interrupt: keep the logs then too.
    _interrupted.append(True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_REPORT_KEY, [])
    if lines:
        terminalreporter.section("test control plane")
        for line in lines:
            terminalreporter.write_line(line)


def _report(config: pytest.Config, line: str) -> None:
    config.stash[_REPORT_KEY].append(line)


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    """A started control plane shared by the session (admin kubeconfig: ``.kubeconfig``)."""
    config = request.config
    started = time.monotonic()
    capture = config.pluginmanager.getplugin("capturemanager")
    try:
        # Let the build script's progress reach the terminal: a cold build takes minutes.
        if capture is not None:
            with capture.global_and_fixture_disabled():
                binaries = find_binaries()
        else:
            binaries = find_binaries()
    except BinariesError as error:
        pytest.fail(f"control-plane binaries unavailable: {error}", pytrace=False)
    binaries_seconds = time.monotonic() - started

    plane = ControlPlane(binaries)
    try:
        plane.start()
    except Exception as error:
        _report(config, f"start-up FAILED; logs kept in {plane.log_dir}")
        pytest.fail(f"control plane did not start: {error!r}", pytrace=False)
    _report(
        config,
        f"binaries ready in {binaries_seconds:.1f} s ({binaries.directory}); "
        f"control plane started in {plane.startup_seconds:.1f} s {plane.phase_seconds}",
    )
    try:
        yield plane
    finally:
        plane.stop()
        if request.session.testsfailed or _interrupted or os.environ.get(KEEP_ENV) == "1":
            _report(config, f"logs and work dir kept: {plane.log_dir}")
        else:
            plane.remove_work_dir()


@pytest.fixture
def api(control_plane: ControlPlane) -> Iterator[client.ApiClient]:
    """An admin ApiClient (system:masters), closed after the test."""
    with control_plane.connect() as api_client:
        yield api_client


def _namespace_name(test_name: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].rstrip("-")
    return f"{stem}-{secrets.token_hex(3)}"


@pytest.fixture
def make_namespace(
    request: pytest.FixtureRequest, control_plane: ControlPlane, api: client.ApiClient
) -> Iterator[Callable[..., str]]:
    """Factory: ``make_namespace(labels=None)`` creates a fresh namespace, deleted afterwards."""
    created: list[str] = []

    def make(labels: dict[str, str] | None = None) -> str:
        name = _namespace_name(request.node.name)
        control_plane.create_namespace(name, labels)
        created.append(name)
        return name

    yield make
    core = client.CoreV1Api(api)
    for name in created:
        core.delete_namespace(name)


@pytest.fixture
def namespace(make_namespace: Callable[..., str]) -> str:
    """A fresh namespace without Pod Security labels."""
    return make_namespace()


@pytest.fixture
def start_harness(control_plane: ControlPlane) -> Iterator[Callable[[PodRunner, str], PodHarness]]:
    """Factory: ``start_harness(run, namespace)`` runs that namespace's sandbox pods with
    ``run``; stopped after the test, which fails if the harness itself hit an error."""
    started: list[PodHarness] = []

    def start(run: PodRunner, namespace: str) -> PodHarness:
        harness = control_plane.harness(run, namespace=namespace)
        started.append(harness)
        return harness.start()

    yield start
    errors: list[str] = []
    for harness in started:
        harness.stop()
        errors.extend(harness.errors)
    if errors:
        pytest.fail("pod harness errors:\n" + "\n".join(errors), pytrace=False)
