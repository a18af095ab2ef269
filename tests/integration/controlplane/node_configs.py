"""The configuration files of the real test node, rendered as text (pure functions).

containerd (CRI plugin, runc v2 with cgroupfs, overlayfs, the locally built pause image and
``restrict_oom_score_adj`` — root here lacks CAP_SYS_RESOURCE, so runc cannot lower a pod's
oom_score_adj), the CNI bridge network (no gateway on the host, no masquerade, no routes: pods
see only their own subnet) and the KubeletConfiguration. Facts behind each setting:
/work/shared/notes/real-node.md and docs/control-plane.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

CNI_NETWORK_NAME = "mge-real-node"
CNI_BIN_DIR = Path("/usr/lib/cni")
"""Where Debian's containernetworking-plugins puts the bridge, host-local and loopback plugins."""


@dataclass(frozen=True)
class NodeLayout:
    """Every path and address of one real node (all under its work dir except the shared
    image store, which persists between runs so images are imported once)."""

    work_dir: Path
    containerd_root: Path
    node_name: str
    node_ip: str
    bridge: str
    pod_subnet: str
    kubelet_port: int
    kubelet_healthz_port: int

    @property
    def containerd_state(self) -> Path:
        return self.work_dir / "containerd-state"

    @property
    def containerd_socket(self) -> Path:
        return self.work_dir / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.work_dir / "containerd.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.work_dir / "cni" / "net.d"

    @property
    def cni_data_dir(self) -> Path:
        """host-local's address allocations."""
        return self.work_dir / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.work_dir / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.work_dir / "kubelet.yaml"

    @property
    def kubelet_kubeconfig(self) -> Path:
        return self.work_dir / "kubelet.kubeconfig"

    @property
    def pod_logs_dir(self) -> Path:
        return self.work_dir / "pod-logs"


def containerd_toml(layout: NodeLayout, pause_image: str) -> str:
    """containerd 1.6 configuration (version 2) for a CRI runtime private to this node."""
    return f"""version = 2
root = "{layout.containerd_root}"
state = "{layout.containerd_state}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{layout.containerd_socket}"

[ttrpc]
  address = "{layout.containerd_socket}.ttrpc"

[debug]
  level = "info"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause_image}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{layout.cni_conf_dir}"
    max_conf_num = 1
"""


def cni_conflist(layout: NodeLayout) -> str:
    """A bridge with no address on the host, no gateway, no masquerade and no routes.

    Pods get an address from ``pod_subnet`` and can reach nothing outside it (the bridge's
    forwarded traffic, pod to pod included, is dropped by the node's own iptables chain).
    """
    return json.dumps(
        {
            "cniVersion": "0.4.0",
            "name": CNI_NETWORK_NAME,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": layout.bridge,
                    "isGateway": False,
                    "isDefaultGateway": False,
                    "ipMasq": False,
                    "hairpinMode": False,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": str(layout.cni_data_dir),
                        "ranges": [[{"subnet": layout.pod_subnet}]],
                        "routes": [],
                    },
                }
            ],
        },
        indent=2,
    )


def kubelet_config(layout: NodeLayout, ca_cert: Path, serving: tuple[Path, Path]) -> str:
    """KubeletConfiguration: cgroupfs on cgroup v1, x509 + webhook auth, no read-only port,
    low eviction thresholds (a shared disk), no iptables utility chains."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": layout.node_ip,
        "port": layout.kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": layout.kubelet_healthz_port,
        "tlsCertFile": str(serving[0]),
        "tlsPrivateKeyFile": str(serving[1]),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        # True makes the kubelet exit here (kernel.panic=1 on this machine); False makes it
        # rewrite kernel.panic, kernel.panic_on_oops and vm.overcommit_memory, which the
        # node saves before and restores after.
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": False,
        "podLogsDirectory": str(layout.pod_logs_dir),
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "imageServiceEndpoint": f"unix://{layout.containerd_socket}",
        "maxPods": 16,
        # A pids cgroup per pod: a fork bomb ends inside its own pod (the default is unlimited).
        "podPidsLimit": 1024,
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "nodeStatusUpdateFrequency": "5s",
        "nodeStatusReportFrequency": "10s",
        "syncFrequency": "5s",
        "resolvConf": "",
        "staticPodPath": "",
        "volumeStatsAggPeriod": "0s",
        "shutdownGracePeriod": "0s",
        "registerNode": True,
        "logging": {"format": "text"},
    }
    return yaml.safe_dump(config, sort_keys=False)
