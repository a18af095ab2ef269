"""The real node's pure parts: what counts as left behind on the host, and the sentences that
say why a node is not Ready or a pod does not run. No node needed."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client
from tests.integration.controlplane.host_state import HostState, NodeMarks, residue
from tests.integration.controlplane.node_configs import NodeLayout, cni_conflist
from tests.integration.controlplane.real_node import node_readiness, pod_problem

MARKS = NodeMarks(
    Path("/tmp/mge-real-node-x"), "mge-cni0", "MGE-REAL-NODE", "10.213.0.0/24", "10.212.0.1"
)


def state(**changes: object) -> HostState:
    base: dict[str, object] = {
        "mounts": frozenset({"/", "/proc"}),
        "cgroups": frozenset({"memory/user.slice"}),
        "iptables": frozenset({"iptables filter -P INPUT ACCEPT"}),
        "links": frozenset({"lo", "eth0"}),
        "addresses": frozenset({"lo 127.0.0.1/8"}),
        "sysctls": {"kernel/panic": "1", "vm/overcommit_memory": "0"},
        "paths": frozenset(),
        "netns": frozenset(),
    }
    base.update(changes)
    return HostState(**base)  # type: ignore[arg-type]


def test_an_untouched_host_has_no_residue() -> None:
    assert residue(state(), state(), MARKS) == []


def test_every_kind_of_leftover_is_named() -> None:
    before = state()
    after = state(
        mounts=frozenset({"/", "/proc", "/tmp/mge-real-node-x/kubelet", "/run/netns/cni-1"}),
        cgroups=frozenset({"memory/user.slice", "memory/kubepods"}),
        iptables=frozenset(
            {
                "iptables filter -P INPUT ACCEPT",
                "iptables filter -N KUBE-FIREWALL",
                "iptables filter -A FORWARD -j MGE-REAL-NODE",
            }
        ),
        links=frozenset({"lo", "eth0", "mge-cni0"}),
        addresses=frozenset({"lo 127.0.0.1/8", "lo 10.212.0.1/32"}),
        sysctls={"kernel/panic": "10", "vm/overcommit_memory": "1"},
        paths=frozenset({"/var/lib/kubelet"}),
        netns=frozenset({"cni-1"}),
    )
    left = residue(before, after, MARKS)
    assert left == [
        "mount /run/netns/cni-1",
        "mount /tmp/mge-real-node-x/kubelet",
        "cgroup memory/kubepods",
        "iptables iptables filter -A FORWARD -j MGE-REAL-NODE",
        "iptables iptables filter -N KUBE-FIREWALL",
        "link mge-cni0",
        "address lo 10.212.0.1/32",
        "sysctl kernel/panic: 1 -> 10",
        "sysctl vm/overcommit_memory: 0 -> 1",
        "path /var/lib/kubelet",
        "netns cni-1",
    ]


def test_changes_by_other_processes_are_not_ours() -> None:
    after = state(
        mounts=frozenset({"/", "/proc", "/var/lib/containers/storage/overlay/x/merged"}),
        iptables=frozenset({"iptables filter -P INPUT ACCEPT", "iptables nat -N NETAVARK-1"}),
        links=frozenset({"lo", "eth0", "podman0"}),
    )
    assert residue(state(), after, MARKS) == []


def _node(conditions: list[dict[str, str]]) -> client.V1Node:
    return client.V1Node.model_validate({"status": {"conditions": conditions}})


def test_a_node_not_ready_names_the_condition() -> None:
    cni = "container runtime network not ready: cni plugin not initialized"
    ready, why = node_readiness(
        _node(
            [
                {
                    "type": "MemoryPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientMemory",
                },
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": cni},
            ]
        )
    )
    assert not ready
    assert why == f"Ready=False (KubeletNotReady: {cni})"
    assert node_readiness(_node([{"type": "Ready", "status": "True"}])) == (True, "Ready")


def test_pressure_is_named_next_to_ready() -> None:
    ready, why = node_readiness(
        _node(
            [
                {"type": "DiskPressure", "status": "True", "reason": "KubeletHasDiskPressure"},
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady"},
            ]
        )
    )
    assert not ready and "DiskPressure=True" in why and "Ready=False" in why


def test_pod_problems_name_the_image_the_cni_and_container_creating() -> None:
    pod = client.V1Pod.model_validate(
        {
            "metadata": {"name": "p", "namespace": "ns"},
            "status": {
                "phase": "Pending",
                "containerStatuses": [
                    {
                        "name": "a",
                        "image": "localhost/x:1",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"waiting": {"reason": "ErrImageNeverPull"}},
                    },
                    {
                        "name": "b",
                        "image": "localhost/y:1",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"waiting": {"reason": "ContainerCreating"}},
                    },
                ],
            },
        }
    )
    event = client.CoreV1Event.model_validate(
        {
            "metadata": {"name": "e"},
            "involvedObject": {"name": "p"},
            "type": "Warning",
            "reason": "FailedCreatePodSandBox",
            "message": 'failed to setup network for sandbox "x": plugin type="bridge" failed',
        }
    )
    text = pod_problem(pod, [event])
    assert "image localhost/x:1 is missing from containerd" in text
    assert "container b stuck in ContainerCreating" in text
    assert 'CNI: failed to setup network for sandbox "x"' in text


def test_the_bridge_has_no_gateway_masquerade_or_route() -> None:
    import json

    layout = NodeLayout(
        Path("/w"), Path("/r"), "n", "10.212.0.1", "mge-cni0", "10.213.0.0/24", 1, 2
    )
    bridge = json.loads(cni_conflist(layout))["plugins"][0]
    assert (bridge["isGateway"], bridge["isDefaultGateway"], bridge["ipMasq"]) == (
        False,
        False,
        False,
    )
    assert bridge["ipam"]["routes"] == []
