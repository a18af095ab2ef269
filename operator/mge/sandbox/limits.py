"""Resource limits for one atom, and the ``prlimit`` argv that applies them.

Limits are applied by util-linux ``prlimit`` *inside* the isolation wrapper, right before the
atom's command. Inside a fresh user namespace (bubblewrap, rootless unshare) that makes
RLIMIT_NPROC count the atom's own processes only, so a fork bomb in one atom does not starve its
siblings (measured; see docs/sandbox.md). Outside one, RLIMIT_NPROC counts every process of the
uid, so the runner raises it to a batch-wide budget there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from mge.models.sandbox import SandboxLimits

MIB = 1024 * 1024
CPU_HARD_GRACE_SECONDS = 1
"""The hard CPU limit (SIGKILL) comes this long after the soft one (SIGXCPU)."""
PROCESS_HEADROOM = 64
"""Extra processes for the runner itself when RLIMIT_NPROC counts the whole uid."""
COLD_DATA_HEADROOM = 64 * MIB
"""Private memory a freshly exec'd Python holds before an atom's code runs (a cold run's
RLIMIT_DATA is this plus the atom's data budget; a warm child measures its own instead)."""


@dataclass(frozen=True)
class ResourceLimits:
    """Concrete limits for one process tree, in seconds and bytes."""

    cpu_seconds: int
    address_space_bytes: int
    processes: int
    file_size_bytes: int
    open_files: int
    data_budget_bytes: int | None = None
    """New private writable memory the atom may take (RLIMIT_DATA on top of what the process
    holds when the atom starts); None for no data limit. Set where no memory cgroup per atom
    exists but a container limit does (a sandbox pod; see :mod:`mge.sandbox.container`)."""


def resolve_limits(
    limits: SandboxLimits,
    *,
    timeout_seconds: float,
    address_space_headroom_bytes: int,
    shared_uid_slots: int = 0,
    uid_baseline: int = 0,
) -> ResourceLimits:
    """Turn a batch's limits into rlimits for one atom.

    ``address_space_headroom_bytes`` is added to the memory limit for the address-space cap,
    because virtual size is not resident size (Node reserves ~1 GiB it never touches; Python's
    thread stacks are virtual). ``shared_uid_slots`` > 0 means RLIMIT_NPROC will count every
    process of the uid (no private user namespace): the cap then covers that many atoms at once
    plus the runner, on top of ``uid_baseline`` — the tasks the uid already runs (on a laptop,
    a desktop session's few hundred; in a pod, the runner alone).
    """
    cpu = limits.cpu_seconds or max(1, math.ceil(timeout_seconds))
    processes = limits.max_processes
    if shared_uid_slots > 0:
        processes = uid_baseline + processes * shared_uid_slots + PROCESS_HEADROOM
    return ResourceLimits(
        cpu_seconds=cpu,
        address_space_bytes=limits.memory_mb * MIB + address_space_headroom_bytes,
        processes=processes,
        file_size_bytes=limits.max_file_size_mb * MIB,
        open_files=limits.max_open_files,
    )


def prlimit_argv(prlimit: str, limits: ResourceLimits) -> list[str]:
    """The ``prlimit … --`` prefix that sets ``limits`` and then execs the command after it."""
    cpu_hard = limits.cpu_seconds + CPU_HARD_GRACE_SECONDS
    data = []
    if limits.data_budget_bytes is not None:
        data = [f"--data={limits.data_budget_bytes + COLD_DATA_HEADROOM}"]
    return [
        prlimit,
        f"--cpu={limits.cpu_seconds}:{cpu_hard}",
        f"--as={limits.address_space_bytes}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_size_bytes}",
        f"--nofile={limits.open_files}",
        "--core=0",
        *data,
        "--",
    ]


def uid_task_count(uid: int, proc: Path = Path("/proc")) -> int:
    """How many tasks (threads) with real uid ``uid`` run now: what RLIMIT_NPROC counts (I/O)."""
    total = 0
    for status in proc.glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        uids = fields.get("Uid", "").split()
        if uids and uids[0] == str(uid):
            total += int(fields.get("Threads", "1").strip() or 1)
    return total
