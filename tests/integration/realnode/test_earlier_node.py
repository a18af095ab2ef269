"""A node that a killed run left up is taken down by the next node's start; one that still runs
is named and left alone.

A run killed with SIGKILL never reaches ``down()``: the bridge, the node address on ``lo`` and
the iptables chain stay on the host, and the next run's node could not start (this is how a CI
run once failed). These tests make that leftover for real — ``_network_up()`` of a node that
then "dies" plus the bridge the CNI plugin would have made — and start a second node's
reclaim against it. They need root and ``ip``/``iptables`` but no kubelet, and they run before
any test here brings the lane's node up (file order), holding the machine's node lock as
``up()`` does.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.controlplane import host_state
from tests.integration.controlplane.pki import load_pki
from tests.integration.controlplane.real_node import (
    BRIDGE,
    CHAIN,
    ControlPlaneAccess,
    RealNode,
    RealNodeError,
    names_taken,
    preflight,
)

pytestmark = pytest.mark.realnode


def _node(work_dir: Path | None = None) -> RealNode:
    """A node object that never starts a kubelet (no control plane behind it); without
    ``work_dir`` it gets one where earlier nodes are looked for."""
    nowhere = Path("/nonexistent-mge-control-plane")
    access = ControlPlaneAccess(
        "https://127.0.0.1:9", load_pki(nowhere, check=False), nowhere / "admin.kubeconfig"
    )
    return RealNode(access, Path("/nonexistent-kubelet"), "localhost/pause:none", (), work_dir)


@pytest.fixture
def left_up() -> Iterator[RealNode]:
    """An earlier node's network made for real, then abandoned as a SIGKILLed run leaves it."""
    reasons = preflight()
    if reasons:
        pytest.fail("; ".join(reasons), pytrace=False)
    if names_taken(host_state.snapshot()):
        pytest.fail(f"{BRIDGE} is already up: these tests need a host with no real node up")
    earlier = _node()
    earlier._take_machine_lock()
    try:
        earlier._before = host_state.snapshot()
        earlier._save_state()
        earlier._network_up()
        subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
        earlier._release_machine_lock()  # what the kernel does when the run is killed
        yield earlier
    finally:
        earlier.down()  # whatever a failed test left


def test_a_node_a_killed_run_left_up_is_taken_down_before_the_next_starts(
    left_up: RealNode, tmp_path: Path
) -> None:
    before = left_up._before
    assert before is not None and names_taken(host_state.snapshot())
    assert any(CHAIN in line for line in host_state.iptables_lines())

    node = _node(tmp_path)
    node._take_machine_lock()
    try:
        node._reclaim_left_nodes()
    finally:
        node._release_machine_lock()

    assert node.reclaimed == [f"took down the node a killed run left up in {left_up.work_dir}"]
    after = host_state.snapshot()
    assert not names_taken(after)
    assert host_state.residue(before, after, left_up.marks) == []


def test_a_node_whose_processes_still_run_is_named_and_left_alone(
    left_up: RealNode, tmp_path: Path
) -> None:
    # A process whose command line names the work dir, as containerd's and the kubelet's do.
    alive = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", str(left_up.work_dir)]
    )
    try:
        left_up._pids = {"kubelet": alive.pid}
        left_up._save_state()
        node = _node(tmp_path)
        node._take_machine_lock()
        try:
            with pytest.raises(RealNodeError) as caught:
                node._reclaim_left_nodes()
        finally:
            node._release_machine_lock()
        assert str(left_up.work_dir) in str(caught.value)
        assert f"hack/real-node/node.sh down {left_up.work_dir}" in str(caught.value)
        assert names_taken(host_state.snapshot())
        assert alive.poll() is None
    finally:
        alive.kill()
        alive.wait()
        left_up._pids = {}
