"""A real node for the test control plane: kubelet + containerd + runc + a CNI bridge.

Pods bound to this node run as real containers (runc, cgroups, seccomp, overlayfs), their logs
are served by the kubelet through the API server, and their status (OOMKilled, exit codes,
DeadlineExceeded through the Job controller) is the kubelet's. See docs/control-plane.md.

One node per machine at a time (a lock in the cache dir): the kubelet hard-codes
``/var/lib/kubelet/device-plugins`` and the node's bridge, address and iptables chain have
fixed names. ``up()`` records the host state first; ``down()`` stops what ``up()`` started (by
PID), undoes every host change and returns what is left over (empty on a clean stop).

A run killed with its node up (SIGKILL skips ``down()``) leaves the bridge, address and chain
behind. The next ``up()`` finds that node's work dir, sees none of its processes running, and
takes it down from its state file before starting (``reclaimed`` says which). A node whose
kubelet or containerd still runs is never touched: ``up()`` names it and stops.

Used by the ``real_node`` fixture (tests/integration/realnode/conftest.py) and by hand through
``hack/real-node/node.sh up|down`` (real_node_cli.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from kubernetes import client, config

from . import host_state
from .kubeconfig import write_kubeconfig
from .node_configs import CNI_BIN_DIR, NodeLayout, cni_conflist, containerd_toml, kubelet_config
from .pki import Pki, load_pki
from .processes import ManagedProcess, ProcessError, free_port, log_tail

REPO_ROOT = Path(__file__).resolve().parents[3]
BUILD_KUBELET = REPO_ROOT / "hack" / "real-node" / "build-kubelet.sh"
BUILD_PAUSE = REPO_ROOT / "hack" / "real-node" / "build-pause.sh"

CACHE_DIR = Path(os.environ.get("MGE_REAL_NODE_CACHE", Path.home() / ".cache" / "mge-real-node"))
"""containerd's image store (images are imported once per machine) and the node lock."""

NODE_NAME = "mge-real-node"
NODE_IP = "10.212.0.1"
"""The node's address: a /32 on the loopback interface (kubelet refuses 127.0.0.0/8)."""
BRIDGE = "mge-cni0"
POD_SUBNET = "10.213.0.0/24"
CHAIN = "MGE-REAL-NODE"
NODE_BINDING = "mge-real-node-system-nodes"

READY_TIMEOUT_SECONDS = 120.0
LOCK_TIMEOUT_SECONDS = 15 * 60.0
"""How long up() waits for another real node on this machine to stop."""
DRAIN_TIMEOUT_SECONDS = 90.0
REQUIRED_CNI_PLUGINS = ("bridge", "host-local", "loopback")
TOOL_TIMEOUT_SECONDS = 600


class RealNodeUnavailable(RuntimeError):
    """This machine cannot run a real node; the message says exactly why."""


class RealNodeError(RuntimeError):
    """The node or one of its pods is in a bad state; the message says which."""


def preflight() -> list[str]:
    """Why this machine cannot run a kubelet here (empty: it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append(f"not root: the kubelet and runc need root (uid is {os.geteuid()})")
    for tool, package in (
        ("containerd", "containerd"),
        ("ctr", "containerd"),
        ("runc", "runc"),
        ("podman", "podman"),
        ("iptables", "iptables"),
        ("ip", "iproute2"),
    ):
        if shutil.which(tool) is None:
            reasons.append(f"{tool} not found (apt package {package}; scripts/install.sh)")
    missing = [p for p in REQUIRED_CNI_PLUGINS if not (CNI_BIN_DIR / p).is_file()]
    if missing:
        reasons.append(
            f"CNI plugins {', '.join(missing)} missing in {CNI_BIN_DIR} "
            "(apt package containernetworking-plugins)"
        )
    hierarchies = {h.name for h in host_state.cgroup_hierarchies()}
    if not ({"memory", "pids"} <= hierarchies or "cgroup" in hierarchies):
        reasons.append(f"no memory/pids cgroup controllers under /sys/fs/cgroup ({hierarchies})")
    return reasons


@dataclass(frozen=True)
class ControlPlaneAccess:
    """What the node needs from a running test control plane."""

    server: str
    pki: Pki
    admin_kubeconfig: Path


def build_kubelet() -> Path:
    """hack/real-node/build-kubelet.sh (cached): the kubelet binary."""
    return Path(_last_line(["bash", str(BUILD_KUBELET)])) / "kubelet"


def build_pause_image() -> str:
    """hack/real-node/build-pause.sh (cached): the pause image name."""
    return _last_line(["bash", str(BUILD_PAUSE)])


def _last_line(argv: list[str]) -> str:
    result = subprocess.run(argv, stdout=subprocess.PIPE, check=False, timeout=3600)
    lines = result.stdout.decode().strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RealNodeUnavailable(f"{' '.join(argv)} failed with code {result.returncode}")
    return lines[-1]


class RealNode:
    """One real node joined to one control plane. ``up()``, then ``down()``."""

    def __init__(
        self,
        access: ControlPlaneAccess,
        kubelet: Path,
        pause_image: str,
        images: Sequence[str] = (),
        work_dir: Path | None = None,
    ) -> None:
        self.access = access
        self.kubelet = kubelet
        self.pause_image = pause_image
        self.images = [pause_image, *images]
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="mge-real-node-"))
        self.log_dir = self.work_dir / "logs"
        self.layout = NodeLayout(
            work_dir=self.work_dir,
            containerd_root=CACHE_DIR / "containerd-root",
            node_name=NODE_NAME,
            node_ip=NODE_IP,
            bridge=BRIDGE,
            pod_subnet=POD_SUBNET,
            kubelet_port=free_port(),
            kubelet_healthz_port=free_port(),
        )
        self.marks = host_state.NodeMarks(self.work_dir, BRIDGE, CHAIN, POD_SUBNET, NODE_IP)
        self.phase_seconds: dict[str, float] = {}
        self._before: host_state.HostState | None = None
        self._processes: dict[str, ManagedProcess] = {}
        self._pids: dict[str, int] = {}
        self._lock_file: IO[str] | None = None
        self.reclaimed: list[str] = []
        """One line per earlier node this ``up()`` took down (left up by a killed run)."""

    # ------------------------------------------------------------------ lifecycle

    def up(self) -> RealNode:
        """Start containerd and the kubelet, import the images, wait for the node to be Ready.

        On failure everything started so far is undone before the error propagates.
        """
        reasons = preflight()
        if reasons:
            raise RealNodeUnavailable("; ".join(reasons))
        self._take_machine_lock()
        try:
            self._reclaim_left_nodes()
            self._up()
        except BaseException:
            self.down()
            raise
        return self

    def _up(self) -> None:
        mark = time.monotonic()

        def phase(name: str) -> None:
            nonlocal mark
            now = time.monotonic()
            self.phase_seconds[name] = round(now - mark, 2)
            mark = now

        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._before = host_state.snapshot()
        self._save_state()
        self._network_up()
        phase("network")
        serving, kubeconfig = self._credentials()
        self._write_configs(serving)
        phase("credentials")
        containerd = self._spawn(
            "containerd", ["containerd", "--config", str(self.layout.containerd_config)]
        )
        _wait("containerd to answer", self._containerd_answers, 60, [containerd])
        phase("containerd")
        self.import_images(self.images)
        phase("images")
        kubelet = self._spawn(
            "kubelet",
            [
                str(self.kubelet),
                f"--config={self.layout.kubelet_config}",
                f"--kubeconfig={kubeconfig}",
                f"--root-dir={self.layout.kubelet_root}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_IP}",
                "--v=2",
            ],
        )
        self._wait_ready([containerd, kubelet])
        phase("node-ready")

    def down(self, keep_work_dir: bool = False) -> list[str]:
        """Drain and stop the node, undo every host change; return what is still left over."""
        problems: list[str] = []
        with contextlib.suppress(Exception):
            self._drain()
        self._stop("kubelet")
        with contextlib.suppress(Exception):
            self._remove_containers()
        self._stop("containerd")
        for pid in host_state.pids_with_argument(str(self.layout.containerd_socket)):
            _kill_pid(pid)  # containerd-shim-runc-v2 of this node (started via our containerd)
        before = self._before
        if before is not None:
            problems += self._undo_host_changes(before)
            left = host_state.residue(before, host_state.snapshot(), self.marks)
        else:
            left = []
        self._release_machine_lock()
        if not keep_work_dir and not left and not problems:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        return problems + left

    # ------------------------------------------------------------------ images

    def import_images(self, images: Sequence[str]) -> None:
        """Copy podman images into containerd's k8s.io namespace (skipped when already there
        with the same image id)."""
        present = self.containerd_images()
        marker_dir = CACHE_DIR / "imported"
        marker_dir.mkdir(parents=True, exist_ok=True)
        for image in images:
            image_id = _run(["podman", "image", "inspect", "--format", "{{.Id}}", image]).strip()
            if not image_id:
                raise RealNodeError(
                    f"image {image} is not in podman's store: build it first "
                    "(hack/images/build.sh sandbox, hack/real-node/build-pause.sh)"
                )
            marker = marker_dir / image.replace("/", "_").replace(":", "_")
            if image in present and marker.exists() and marker.read_text() == image_id:
                continue
            save = subprocess.Popen(["podman", "save", image], stdout=subprocess.PIPE)
            result = subprocess.run(
                [*self._ctr(), "images", "import", "-"],
                stdin=save.stdout,
                capture_output=True,
                text=True,
                check=False,
                timeout=TOOL_TIMEOUT_SECONDS,
            )
            save.wait(timeout=TOOL_TIMEOUT_SECONDS)
            if result.returncode != 0 or save.returncode != 0:
                raise RealNodeError(f"importing {image} into containerd failed: {result.stderr}")
            marker.write_text(image_id)
        missing = [i for i in images if i not in self.containerd_images()]
        if missing:
            raise RealNodeError(f"images missing from containerd after import: {missing}")

    def containerd_images(self) -> set[str]:
        """Image names in containerd's k8s.io namespace (what the kubelet can run)."""
        return set(_run([*self._ctr(), "images", "ls", "-q"]).split())

    def _ctr(self) -> list[str]:
        return ["ctr", "--address", str(self.layout.containerd_socket), "-n", "k8s.io"]

    def _containerd_answers(self) -> bool:
        result = subprocess.run(
            [*self._ctr(), "version"], capture_output=True, check=False, timeout=30
        )
        return result.returncode == 0

    # ------------------------------------------------------------------ start-up steps

    def _take_machine_lock(self) -> None:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        handle = (CACHE_DIR / "node.lock").open("a+")
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    handle.seek(0)
                    holder = handle.read().strip()
                    handle.close()
                    raise RealNodeUnavailable(
                        f"another real node holds {CACHE_DIR / 'node.lock'} ({holder}) "
                        f"for more than {LOCK_TIMEOUT_SECONDS:.0f} s"
                    ) from None
                time.sleep(2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} work dir {self.work_dir}\n")
        handle.flush()
        self._lock_file = handle

    def _reclaim_left_nodes(self) -> None:
        """Take down nodes that killed runs left up, newest first, until our names are free."""
        for work_dir in other_node_dirs(self.work_dir):
            if not names_taken(host_state.snapshot()):
                return
            running = [pid for pid in _recorded_pids(work_dir) if _is_ours(pid, work_dir)]
            if running:
                raise RealNodeError(
                    f"the real node in {work_dir} is still running (pids {running}): stop it "
                    f"with hack/real-node/node.sh down {work_dir}"
                )
            try:
                left = RealNode.load(work_dir, pki_paths).down(keep_work_dir=True)
            except (OSError, ValueError, KeyError) as error:
                self.reclaimed.append(f"could not reclaim {work_dir}: {error!r}")
                continue
            self.reclaimed.append(
                f"took down the node a killed run left up in {work_dir}"
                + (f" (still left: {'; '.join(left)})" if left else "")
            )

    def _release_machine_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _network_up(self) -> None:
        before = self._before
        if before is not None and names_taken(before):
            raise RealNodeError(
                f"{BRIDGE}, {NODE_IP} or chain {CHAIN} already exists: an earlier real node was "
                "not stopped and its processes still run, or it left no state file; stop it "
                "with hack/real-node/node.sh down <its work dir> (/tmp/mge-real-node-*)"
            )
        _sh(["ip", "addr", "add", f"{NODE_IP}/32", "dev", "lo"])
        # Whatever enters from or leaves to the pod bridge through the host is dropped:
        # forwarding (pod to pod, pod to anywhere) and input (pod to the node).
        for command in host_state.IPTABLES_COMMANDS:
            _sh([command, "-w", "-N", CHAIN])
            _sh([command, "-w", "-A", CHAIN, "-i", BRIDGE, "-j", "DROP"])
            _sh([command, "-w", "-A", CHAIN, "-o", BRIDGE, "-j", "DROP"])
            _sh([command, "-w", "-I", "FORWARD", "1", "-j", CHAIN])
            _sh([command, "-w", "-I", "INPUT", "1", "-i", BRIDGE, "-j", CHAIN])

    def _credentials(self) -> tuple[tuple[Path, Path], Path]:
        pki = self.access.pki
        serving = pki.server_cert(
            "real-node-serving", NODE_NAME, (NODE_NAME, "localhost"), (NODE_IP,)
        )
        node_client = pki.client_cert(f"system:node:{NODE_NAME}", ("system:nodes",))
        kubeconfig = write_kubeconfig(
            self.work_dir / "kubelet.kubeconfig",
            self.access.server,
            pki.ca.cert,
            f"system:node:{NODE_NAME}",
            node_client,
        )
        # The test API server authorizes with RBAC only (no Node authorizer).
        with self._admin() as api:
            binding = client.V1ClusterRoleBinding.model_validate(
                {
                    "metadata": {"name": NODE_BINDING},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "system:node",
                    },
                    "subjects": [
                        {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "Group",
                            "name": "system:nodes",
                        }
                    ],
                }
            )
            try:
                client.RbacAuthorizationV1Api(api).create_cluster_role_binding(binding)
            except client.ApiException as error:
                if error.status != 409:
                    raise
        return (serving.cert, serving.key), kubeconfig

    def _write_configs(self, serving: tuple[Path, Path]) -> None:
        layout = self.layout
        layout.containerd_root.mkdir(parents=True, exist_ok=True)
        layout.cni_conf_dir.mkdir(parents=True, exist_ok=True)
        layout.pod_logs_dir.mkdir(parents=True, exist_ok=True)
        layout.kubelet_root.mkdir(parents=True, exist_ok=True)
        layout.containerd_config.write_text(containerd_toml(layout, self.pause_image))
        # Written in place before containerd starts: containerd 1.6 misses a conflist mv'd in.
        (layout.cni_conf_dir / "10-mge-real-node.conflist").write_text(cni_conflist(layout))
        layout.kubelet_config.write_text(kubelet_config(layout, self.access.pki.ca.cert, serving))

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.log_dir / f"{name}.log", cwd=self.work_dir)
        process.start()
        self._processes[name] = process
        if process.pid is not None:
            self._pids[name] = process.pid
        self._save_state()
        return process

    def _wait_ready(self, watched: Sequence[ManagedProcess]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        with self._admin() as api:
            core = client.CoreV1Api(api)
            last = "the Node object was never created (kubelet could not register)"
            while time.monotonic() < deadline:
                for process in watched:
                    process.check_alive()
                with contextlib.suppress(client.ApiException):
                    node = core.read_node(NODE_NAME)
                    ready, last = node_readiness(node)
                    if ready:
                        return
                time.sleep(0.5)
        raise RealNodeError(
            f"node {NODE_NAME} not Ready after {READY_TIMEOUT_SECONDS:.0f} s: {last}\n"
            f"kubelet log {self.log_dir / 'kubelet.log'}:\n{log_tail(self.log_dir / 'kubelet.log')}"
        )

    @contextlib.contextmanager
    def _admin(self) -> Iterator[client.ApiClient]:
        api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.access.admin_kubeconfig)
        )
        try:
            yield api
        finally:
            api.close()  # type: ignore[no-untyped-call]

    # ------------------------------------------------------------------ stop steps

    def _drain(self) -> None:
        """Force-delete this node's pods from the API (the kubelet then removes their
        containers and sandboxes through CRI), wait until containerd holds none, delete the
        Node."""
        with self._admin() as api:
            core = client.CoreV1Api(api)
            core.patch_node(NODE_NAME, {"spec": {"unschedulable": True}})
            pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={NODE_NAME}")
            for pod in pods.items:
                meta = pod.metadata
                if meta is None or not meta.name or not meta.namespace:
                    continue
                with contextlib.suppress(client.ApiException):
                    core.delete_namespaced_pod(meta.name, meta.namespace, grace_period_seconds=0)
            deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
            # The kubelet stops the sandboxes (CNI DEL, netns removed) within seconds; the
            # exited containers wait for its once-a-minute GC, so they are removed below.
            while time.monotonic() < deadline and self._running_tasks():
                time.sleep(0.5)
            core.delete_node(NODE_NAME)

    def _containerd_containers(self) -> list[str]:
        return _run([*self._ctr(), "containers", "ls", "-q"]).split()

    def _running_tasks(self) -> list[str]:
        lines = _run([*self._ctr(), "tasks", "ls"]).splitlines()[1:]
        return [line.split()[0] for line in lines if "RUNNING" in line.split()]

    def _remove_containers(self) -> None:
        for container in self._containerd_containers():
            _run([*self._ctr(), "tasks", "kill", "-s", "SIGKILL", container])
            _run([*self._ctr(), "tasks", "delete", "-f", container])
            _run([*self._ctr(), "containers", "delete", container])

    def _stop(self, name: str) -> None:
        process = self._processes.pop(name, None)
        if process is not None:
            process.stop()
        else:
            pid = self._pids.get(name)
            if pid is not None and _is_ours(pid, self.work_dir):
                _kill_pid(pid)
        self._pids.pop(name, None)

    def _undo_host_changes(self, before: host_state.HostState) -> list[str]:
        problems: list[str] = []
        # Mounts: container rootfs, sandbox shm, netns bind mounts, the kubelet's own bind
        # mount of its root dir. Deepest (latest) first.
        for point in reversed(host_state.read_mounts()):
            if (
                point not in before.mounts
                and self.marks.owns_mount(point)
                and _run_rc(["umount", point]) != 0
                and _run_rc(["umount", "-l", point]) != 0
            ):
                problems.append(f"could not unmount {point}")
        for directory in host_state.NETNS_DIRS:
            if directory.is_dir():
                for entry in directory.glob("cni-*"):
                    if entry.name not in before.netns:
                        with contextlib.suppress(OSError):
                            entry.unlink()
        for hierarchy in host_state.cgroup_hierarchies():
            for cgroup in hierarchy.glob("kubepods*"):
                if f"{hierarchy.name}/{cgroup.name}" not in before.cgroups:
                    problems += _remove_cgroup_tree(cgroup)
        problems += self._undo_iptables(before)
        if BRIDGE in host_state.links():
            _run(["ip", "link", "delete", BRIDGE])
        _run(["ip", "addr", "del", f"{NODE_IP}/32", "dev", "lo"])
        now = host_state.read_sysctls()
        for key, value in before.sysctls.items():
            if now.get(key) != value:
                try:
                    host_state.write_sysctl(key, value)
                except OSError as error:
                    problems.append(f"could not restore sysctl {key}={value}: {error}")
        for path in sorted(host_state.WATCHED_PATHS, key=lambda p: len(p.parts), reverse=True):
            if str(path) not in before.paths and path.exists():
                shutil.rmtree(path, ignore_errors=True)
        return problems

    def _undo_iptables(self, before: host_state.HostState) -> list[str]:
        problems = []
        added = [
            line
            for line in host_state.iptables_lines()
            if line not in before.iptables and self.marks.owns_rule(line)
        ]
        for line in added:  # rules first (jumps into the chains), then the chains
            command, table, rule = line.split(" ", 2)
            if rule.startswith("-A "):
                argv = [command, "-w", "-t", table, "-D", *_split_rule(rule[3:])]
                if _run_rc(argv) != 0:
                    problems.append(f"could not delete iptables rule: {line}")
        for line in added:
            command, table, rule = line.split(" ", 2)
            if rule.startswith("-N "):
                chain = rule[3:].strip()
                _run_rc([command, "-w", "-t", table, "-F", chain])
                if _run_rc([command, "-w", "-t", table, "-X", chain]) != 0:
                    problems.append(f"could not delete iptables chain {command} {table} {chain}")
        return problems

    # ------------------------------------------------------------------ state file

    @property
    def state_file(self) -> Path:
        return self.work_dir / "state.json"

    def _save_state(self) -> None:
        before = self._before
        state: dict[str, Any] = {
            "server": self.access.server,
            "pki": str(self.access.pki.directory),
            "admin_kubeconfig": str(self.access.admin_kubeconfig),
            "kubelet": str(self.kubelet),
            "pause_image": self.pause_image,
            "images": self.images[1:],
            "layout": {k: str(v) for k, v in asdict(self.layout).items()},
            "pids": self._pids,
            "before": None
            if before is None
            else {
                key: sorted(value) if isinstance(value, frozenset) else value
                for key, value in asdict(before).items()
            },
        }
        self.state_file.write_text(json.dumps(state, indent=1))

    @classmethod
    def load(cls, work_dir: Path, pki_loader: Callable[[Path], Pki]) -> RealNode:
        """The node that ``up()`` started with this work dir (from its state file)."""
        state = json.loads((work_dir / "state.json").read_text())
        access = ControlPlaneAccess(
            server=state["server"],
            pki=pki_loader(Path(state["pki"])),
            admin_kubeconfig=Path(state["admin_kubeconfig"]),
        )
        node = cls(access, Path(state["kubelet"]), state["pause_image"], state["images"], work_dir)
        layout = state["layout"]
        node.layout = NodeLayout(
            work_dir=work_dir,
            containerd_root=Path(layout["containerd_root"]),
            node_name=layout["node_name"],
            node_ip=layout["node_ip"],
            bridge=layout["bridge"],
            pod_subnet=layout["pod_subnet"],
            kubelet_port=int(layout["kubelet_port"]),
            kubelet_healthz_port=int(layout["kubelet_healthz_port"]),
        )
        node._pids = {k: int(v) for k, v in state["pids"].items()}
        if state["before"] is not None:
            b = state["before"]
            node._before = host_state.HostState(
                mounts=frozenset(b["mounts"]),
                cgroups=frozenset(b["cgroups"]),
                iptables=frozenset(b["iptables"]),
                links=frozenset(b["links"]),
                addresses=frozenset(b["addresses"]),
                sysctls=dict(b["sysctls"]),
                paths=frozenset(b["paths"]),
                netns=frozenset(b["netns"]),
            )
        return node


# ---------------------------------------------------------------------- earlier nodes


def names_taken(state: host_state.HostState) -> bool:
    """Whether the host already has the node's bridge, address or iptables chain (an earlier
    node is up, or was not taken down)."""
    return (
        BRIDGE in state.links
        or any(a.split()[-1] == f"{NODE_IP}/32" for a in state.addresses)
        or any(line.endswith(f" -N {CHAIN}") for line in state.iptables)
    )


def other_node_dirs(own: Path) -> list[Path]:
    """Work dirs of earlier nodes on this machine that have a state file, newest first."""
    found: list[tuple[float, Path]] = []
    for state in Path(tempfile.gettempdir()).glob("mge-real-node-*/state.json"):
        with contextlib.suppress(OSError):  # removed meanwhile by its own down()
            if state.parent != own:
                found.append((state.stat().st_mtime, state.parent))
    return [work_dir for _, work_dir in sorted(found, reverse=True)]


def _recorded_pids(work_dir: Path) -> list[int]:
    try:
        pids = json.loads((work_dir / "state.json").read_text()).get("pids", {})
    except (OSError, ValueError):
        return []
    return [int(pid) for pid in pids.values()]


def pki_paths(directory: Path) -> Pki:
    """The control plane's PKI paths, present or not: taking a node down needs no certificate
    (the drain against its gone API server fails and is skipped)."""
    return load_pki(directory, check=False)


# ---------------------------------------------------------------------- diagnosis (pure)


def node_readiness(node: client.V1Node) -> tuple[bool, str]:
    """(Ready?, a sentence naming the condition that is not as it should be)."""
    conditions = (node.status.conditions if node.status else None) or []
    by_type = {c.type: c for c in conditions}
    ready = by_type.get("Ready")
    if ready is not None and ready.status == "True":
        return True, "Ready"
    bad = [
        f"{c.type}={c.status} ({c.reason}: {c.message})"
        for c in conditions
        if (c.type == "Ready") != (c.status == "True") or c.type == "Ready"
    ]
    if ready is None:
        return False, "no Ready condition yet; " + "; ".join(bad)
    return False, "; ".join(bad)


def pod_problem(pod: client.V1Pod, events: Sequence[client.CoreV1Event]) -> str:
    """Why a pod on the real node is not running, in one paragraph (for failure messages)."""
    status = pod.status
    phase = status.phase if status else None
    meta = pod.metadata
    where = f"{meta.namespace}/{meta.name}" if meta else "(unnamed)"
    lines = [f"pod {where} phase {phase}"]
    for container in (status.container_statuses if status else None) or []:
        waiting = container.state.waiting if container.state else None
        if waiting is None:
            continue
        if waiting.reason == "ErrImageNeverPull":
            lines.append(
                f"image {container.image} is missing from containerd (imagePullPolicy Never): "
                "import it with RealNode.import_images or hack/real-node/node.sh import IMAGE"
            )
        elif waiting.reason == "ContainerCreating":
            lines.append(f"container {container.name} stuck in ContainerCreating")
        else:
            lines.append(f"container {container.name} waiting: {waiting.reason} {waiting.message}")
    for event in events:
        if event.type == "Warning" or event.reason in ("FailedCreatePodSandBox", "Failed"):
            message = event.message or ""
            if "cni" in message.lower() or "network" in message.lower():
                lines.append(f"CNI: {message}")
            else:
                lines.append(f"event {event.reason}: {message}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- helpers


def _run(argv: list[str]) -> str:
    result = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=TOOL_TIMEOUT_SECONDS
    )
    return result.stdout if result.returncode == 0 else ""


def _run_rc(argv: list[str]) -> int:
    result = subprocess.run(argv, capture_output=True, check=False, timeout=TOOL_TIMEOUT_SECONDS)
    return result.returncode


def _sh(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0:
        raise RealNodeError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


def _split_rule(rule: str) -> list[str]:
    import shlex

    return shlex.split(rule)


def _wait(
    what: str, probe: Callable[[], bool], timeout: float, watched: Sequence[ManagedProcess]
) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        for process in watched:
            process.check_alive()
        if time.monotonic() > deadline:
            raise ProcessError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def _is_ours(pid: int, work_dir: Path) -> bool:
    """True if ``pid`` still runs a command line naming ``work_dir`` (guards PID reuse)."""
    try:
        return str(work_dir).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kill_pid(pid: int, grace: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if _is_zombie(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:4]
    except (OSError, IndexError):
        return True


def _remove_cgroup_tree(root: Path) -> list[str]:
    """rmdir a cgroup and its children, deepest first (cgroupfs dirs hold no files to delete)."""
    problems = []
    for directory in sorted(
        (p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)
    ):
        with contextlib.suppress(OSError):
            directory.rmdir()
    try:
        root.rmdir()
    except OSError as error:
        problems.append(f"could not remove cgroup {root}: {error}")
    return problems
