"""The real-node lane: a control plane of its own plus a real node (kubelet + containerd + runc
+ CNI bridge); every pod created here runs as a real container (docs/control-plane.md).

``control_plane`` is overridden for this directory: the kwok node is cordoned, so the scheduler
binds every pod to the real node. The control plane and the node live as long as this package
(``__init__.py`` makes it one): both are down before the rest of the run, so a run stopped
later leaves no node behind, and the kubelet and containerd stop taking CPU. When this machine
cannot run a kubelet (not root, no containerd, ...) every test here fails with the reasons;
``MGE_REAL_NODE=0`` turns that into a skip that names the reasons, refused when ``CI`` is set
(CI must run this lane).
The node's teardown fails the run if it left anything on the host (mounts, cgroups, iptables
rules or chains, the bridge, changed sysctls, directories, processes).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from tests.integration.controlplane import BinariesError, ControlPlane, find_binaries
from tests.integration.controlplane.real_node import (
    ControlPlaneAccess,
    RealNode,
    RealNodeError,
    RealNodeUnavailable,
    build_kubelet,
    build_pause_image,
    preflight,
)
from tests.integration.controlplane.real_node_cli import cordon_kwok_node
from tests.integration.kube.helpers import apply_crds
from tests.integration.parts import in_ci

SANDBOX_IMAGE = os.environ.get("MGE_SANDBOX_IMAGE", "localhost/mge-sandbox:0.1.0")
OPT_OUT_ENV = "MGE_REAL_NODE"
_LINES = pytest.StashKey[list[str]]()


def _report(config: pytest.Config, line: str) -> None:
    config.stash.setdefault(_LINES, []).append(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_LINES, [])
    if lines:
        terminalreporter.section("real node")
        for line in lines:
            terminalreporter.write_line(line)


def _unavailable(reason: str) -> None:
    if os.environ.get(OPT_OUT_ENV) == "0" and not in_ci():
        pytest.skip(f"real-node lane NOT RUN ({OPT_OUT_ENV}=0): {reason}")
    pytest.fail(f"real node unavailable on this machine: {reason}", pytrace=False)


@pytest.fixture(scope="session")
def real_node_parts() -> tuple[os.PathLike[str], str]:
    """The kubelet binary and the pause image (both built on a cache miss only)."""
    reasons = preflight()
    if reasons:
        _unavailable("; ".join(reasons))
    try:
        return build_kubelet(), build_pause_image()
    except RealNodeUnavailable as error:
        _unavailable(str(error))
        raise


@pytest.fixture(scope="package")
def control_plane(
    request: pytest.FixtureRequest, real_node_parts: tuple[os.PathLike[str], str]
) -> Iterator[ControlPlane]:
    """A control plane of this lane's own, kwok node cordoned."""
    try:
        binaries = find_binaries()
    except BinariesError as error:
        pytest.fail(f"control-plane binaries unavailable: {error}", pytrace=False)
    plane = ControlPlane(binaries)
    try:
        plane.start()
        cordon_kwok_node(plane)
    except Exception as error:
        _report(request.config, f"real-node lane: start-up FAILED; logs kept in {plane.log_dir}")
        pytest.fail(f"control plane did not start: {error!r}", pytrace=False)
    try:
        yield plane
    finally:
        plane.stop()
        if request.session.testsfailed or os.environ.get("MGE_KEEP_CONTROL_PLANE"):
            _report(request.config, f"real-node lane: control plane kept in {plane.log_dir}")
        else:
            plane.remove_work_dir()


@pytest.fixture(scope="package")
def real_node(
    request: pytest.FixtureRequest,
    control_plane: ControlPlane,
    real_node_parts: tuple[os.PathLike[str], str],
) -> Iterator[RealNode]:
    """The real node, Ready, with the sandbox image imported; down (and checked clean) after."""
    kubelet, pause = real_node_parts
    access = ControlPlaneAccess(control_plane.server, control_plane.pki, control_plane.kubeconfig)
    node = RealNode(access, kubelet, pause, [SANDBOX_IMAGE])  # type: ignore[arg-type]
    started = time.monotonic()
    try:
        node.up()
    except RealNodeUnavailable as error:
        _unavailable(str(error))
    except RealNodeError as error:
        pytest.fail(f"real node did not start: {error}", pytrace=False)
    finally:  # an earlier node taken down is worth knowing whether or not this one started
        for line in node.reclaimed:
            _report(request.config, f"real node: {line}")
    try:
        _report(
            request.config,
            f"real node up in {time.monotonic() - started:.1f} s {node.phase_seconds} "
            f"(work dir {node.work_dir})",
        )
        yield node
    finally:
        stopped = time.monotonic()
        left = node.down(keep_work_dir=bool(request.session.testsfailed))
        _report(request.config, f"real node down in {time.monotonic() - stopped:.1f} s")
    if left:
        pytest.fail("the real node left this behind on the host:\n" + "\n".join(left))


@pytest.fixture(scope="package")
def crds_installed(control_plane: ControlPlane) -> None:
    """The generated CRDs applied and Established on this lane's control plane."""
    apply_crds(control_plane.kubeconfig)


# The operator fixtures of the kube lane, here bound to this lane's control plane.
from tests.integration.kube.conftest import (  # noqa: E402
    custom,
    operator_env,
    operators,
)

__all__ = ["custom", "operator_env", "operators"]
