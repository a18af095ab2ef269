"""What each isolation kind contains on this host: the threat matrix. Pure.

``mge sandbox check`` prints it, docs/sandbox.md explains it, and the red-team tests run every
threat marked ``contained`` for every isolation kind this host has — so a row here is a promise
the tests keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from mge.sandbox.isolation import IsolationKind

Level = Literal["contained", "delegated", "shared", "exposed"]
"""contained: the runner stops it, per atom. delegated: left to the Kubernetes pod spec.
shared: stopped for the host, but sibling atoms in the batch may feel it. exposed: not stopped."""


class Threat(StrEnum):
    """What generated code might try."""

    NETWORK = "network"
    ENV_SECRETS = "env_secrets"
    HOST_FILES_READ = "host_files_read"
    HOST_FILES_WRITE = "host_files_write"
    KERNEL_SETTINGS = "kernel_settings"
    FORK_BOMB = "fork_bomb"
    MEMORY_BOMB = "memory_bomb"
    CPU_LOOP = "cpu_loop"
    OUTPUT_FLOOD = "output_flood"


@dataclass(frozen=True)
class Containment:
    """How one threat fares under one isolation kind."""

    level: Level
    how: str


def _fork_bomb(kind: IsolationKind, *, root: bool, cgroup_pids: bool) -> Containment:
    if cgroup_pids:
        return Containment("contained", "a pids cgroup per atom")
    if not root and kind in (IsolationKind.BWRAP, IsolationKind.UNSHARE):
        return Containment("contained", "RLIMIT_NPROC counted in the atom's own user namespace")
    if not root:
        return Containment("shared", "RLIMIT_NPROC counts every process of the uid (batch-wide)")
    return Containment(
        "exposed", "root ignores RLIMIT_NPROC and no pids cgroup is available: only the wall clock"
    )


def containment(
    kind: IsolationKind, *, root: bool, cgroup_pids: bool, cgroup_memory: bool
) -> dict[Threat, Containment]:
    """The threat matrix row for ``kind`` on a host with these properties."""
    isolated = kind in (IsolationKind.BWRAP, IsolationKind.UNSHARE)
    pod = kind is IsolationKind.POD

    def by(contained_if: bool, how: str, pod_how: str, exposed_how: str) -> Containment:
        if contained_if:
            return Containment("contained", how)
        if pod:
            return Containment("delegated", pod_how)
        return Containment("exposed", exposed_how)

    bwrap = kind is IsolationKind.BWRAP
    memory = "a memory cgroup per atom" if cgroup_memory else "RLIMIT_AS"
    return {
        Threat.NETWORK: by(
            isolated, "empty network namespace", "pod NetworkPolicy", "host network"
        ),
        Threat.ENV_SECRETS: by(
            isolated,
            "environment built from scratch; own pid namespace hides the runner's environ",
            "environment built from scratch; the pod holds no secrets",
            "the code can read the runner's /proc/PID/environ",
        ),
        Threat.HOST_FILES_READ: by(
            bwrap,
            "empty root: only /usr and the interpreter, read-only",
            "read-only root file system without secrets",
            "host files visible with the runner's uid",
        ),
        Threat.HOST_FILES_WRITE: by(
            bwrap,
            "only the atom folder and a private tmpfs are writable",
            "read-only root file system, emptyDir for work",
            "host files writable with the runner's uid",
        ),
        Threat.KERNEL_SETTINGS: by(
            isolated or not root,
            "read-only /proc/sys" if isolated else "not root",
            "non-root pod, no capabilities",
            "root can write /proc/sys",
        ),
        Threat.FORK_BOMB: _fork_bomb(kind, root=root, cgroup_pids=cgroup_pids),
        Threat.MEMORY_BOMB: Containment("contained", memory),
        Threat.CPU_LOOP: Containment("contained", "RLIMIT_CPU and the wall-clock kill"),
        Threat.OUTPUT_FLOOD: Containment("contained", "output read with a cap, then killed"),
    }


def contained_threats(
    kind: IsolationKind, *, root: bool, cgroup_pids: bool, cgroup_memory: bool
) -> list[Threat]:
    """The threats the runner itself contains per atom under ``kind``."""
    row = containment(kind, root=root, cgroup_pids=cgroup_pids, cgroup_memory=cgroup_memory)
    return [t for t, c in row.items() if c.level == "contained"]
