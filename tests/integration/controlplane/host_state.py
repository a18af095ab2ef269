"""What a real node changes on the host, and how to take it back.

``snapshot()`` reads the host state a kubelet, containerd and the CNI bridge touch (mounts,
cgroups, iptables rules and chains, network links and addresses, a set of sysctls, well-known
directories, network namespaces); ``residue(before, after, marks)`` — a pure function — lists
what a stopped node left behind. The node's own names (its bridge, chain, subnet and the
``KUBE-`` chains of the kubelet) are the ``marks``: changes other processes on this shared
machine make at the same time (another podman, another helper) are not ours and are ignored.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")

WATCHED_SYSCTLS = (
    "kernel/panic",
    "kernel/panic_on_oops",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
"""Sysctls the kubelet writes (protectKernelDefaults: false): saved, restored and checked.

Network sysctls (ip_forward, forwarding, bridge-nf-call-*) are not among them: the node's CNI
config (no gateway, no masquerade) does not write them — they were watched over some 25 runs
and never changed — while podman on this shared machine does set ip_forward, and restoring a
value another process set would break its network."""

WATCHED_PATHS = (
    Path("/var/lib/kubelet"),
    Path("/var/lib/kubelet/device-plugins"),
    Path("/var/log/containers"),
    Path("/var/log/pods"),
    Path("/run/containerd"),
    Path("/var/lib/cni"),
    Path("/etc/cni"),
    Path("/run/netns"),
)
"""Directories the kubelet, containerd or CNI create outside the node's work dir."""

IPTABLES_TABLES = ("filter", "nat", "mangle")
IPTABLES_COMMANDS = ("iptables", "ip6tables")
NETNS_DIRS = (Path("/run/netns"), Path("/var/run/netns"))


@dataclass(frozen=True)
class HostState:
    """One reading of the host."""

    mounts: frozenset[str]
    cgroups: frozenset[str]
    """Top-level cgroup directories, as ``<hierarchy>/<name>``."""
    iptables: frozenset[str]
    """``<command> <table> <rule or -N chain>`` lines (no counters)."""
    links: frozenset[str]
    addresses: frozenset[str]
    """``<interface> <address/prefix>``."""
    sysctls: dict[str, str] = field(hash=False)
    paths: frozenset[str]
    netns: frozenset[str]


@dataclass(frozen=True)
class NodeMarks:
    """Names that identify what one real node made."""

    work_dir: Path
    bridge: str
    chain: str
    pod_subnet: str
    node_ip: str

    def owns_rule(self, line: str) -> bool:
        return any(token in line for token in ("KUBE-", self.chain, self.bridge, self.pod_subnet))

    def owns_mount(self, mount_point: str) -> bool:
        prefixes = (
            str(self.work_dir),
            "/run/containerd",
            "/var/lib/kubelet",
            "/run/netns/cni-",
            "/var/run/netns/cni-",
        )
        return mount_point.startswith(prefixes)


def residue(before: HostState, after: HostState, marks: NodeMarks) -> list[str]:
    """What the node left behind: one line per leftover, empty when the host is as before."""
    left: list[str] = []
    left += [f"mount {m}" for m in sorted(after.mounts - before.mounts) if marks.owns_mount(m)]
    left += [f"cgroup {c}" for c in sorted(after.cgroups - before.cgroups) if "kubepods" in c]
    left += [
        f"iptables {r}" for r in sorted(after.iptables - before.iptables) if marks.owns_rule(r)
    ]
    left += [f"link {name}" for name in sorted(after.links - before.links) if name == marks.bridge]
    left += [
        f"address {a}"
        for a in sorted(after.addresses - before.addresses)
        if a.split()[-1].startswith(marks.node_ip + "/")
    ]
    left += [
        f"sysctl {key}: {before.sysctls.get(key)} -> {value}"
        for key, value in sorted(after.sysctls.items())
        if before.sysctls.get(key) != value
    ]
    left += [f"path {p}" for p in sorted(after.paths - before.paths)]
    left += [f"netns {n}" for n in sorted(after.netns - before.netns) if n.startswith("cni-")]
    return left


# --------------------------------------------------------------------- reading the host


def snapshot() -> HostState:
    """Read the host now."""
    return HostState(
        mounts=frozenset(read_mounts()),
        cgroups=frozenset(_top_level_cgroups()),
        iptables=frozenset(iptables_lines()),
        links=frozenset(links()),
        addresses=frozenset(_addresses()),
        sysctls=read_sysctls(),
        paths=frozenset(str(p) for p in WATCHED_PATHS if p.exists()),
        netns=frozenset(_netns()),
    )


def read_mounts() -> list[str]:
    """Mount points, in mount order (field 5 of /proc/self/mountinfo, octal escapes decoded)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if len(fields) > 4:
            points.append(_unescape(fields[4]))
    return points


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def cgroup_hierarchies() -> list[Path]:
    """The mounted cgroup hierarchies (v1 controllers and the unified v2 tree)."""
    if not CGROUP_ROOT.is_dir():
        return []
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return [CGROUP_ROOT]
    return sorted(p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink())


def _top_level_cgroups() -> list[str]:
    found = []
    for hierarchy in cgroup_hierarchies():
        try:
            found += [f"{hierarchy.name}/{c.name}" for c in hierarchy.iterdir() if c.is_dir()]
        except OSError:
            continue
    return found


def _run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    return result.stdout if result.returncode == 0 else ""


def iptables_lines() -> list[str]:
    lines = []
    for command in IPTABLES_COMMANDS:
        for table in IPTABLES_TABLES:
            for line in _run([command, "-w", "-t", table, "-S"]).splitlines():
                lines.append(f"{command} {table} {line}")
    return lines


def links() -> list[str]:
    names = []
    for line in _run(["ip", "-o", "link", "show"]).splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@")[0])
    return names


def _addresses() -> list[str]:
    found = []
    for line in _run(["ip", "-o", "addr", "show"]).splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] in ("inet", "inet6"):
            found.append(f"{fields[1]} {fields[3]}")
    return found


def read_sysctls(keys: Iterable[str] = WATCHED_SYSCTLS) -> dict[str, str]:
    """The current values of ``keys`` (paths under /proc/sys); absent ones are left out."""
    values = {}
    for key in keys:
        try:
            values[key] = (Path("/proc/sys") / key).read_text().strip()
        except OSError:
            continue
    return values


def write_sysctl(key: str, value: str) -> None:
    (Path("/proc/sys") / key).write_text(value + "\n")


def _netns() -> list[str]:
    names: set[str] = set()
    for directory in NETNS_DIRS:
        if directory.is_dir():
            names.update(p.name for p in directory.iterdir())
    return sorted(names)


def pids_with_argument(argument: str) -> list[int]:
    """PIDs of processes whose command line contains ``argument`` (e.g. a socket path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(argument.encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found
