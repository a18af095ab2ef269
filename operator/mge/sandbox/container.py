"""An atom's memory where the runner cannot make a memory cgroup: a share of the container's.

Why: in a sandbox pod the container's cgroup file system is read-only, so the only memory
limit is the pod's own. The address-space rlimit is the atom's ``memoryMb`` plus the
interpreter's headroom (virtual size is not resident size), larger than most pods, so a memory
bomb ran until the *pod's* OOM killer SIGKILLed it (reported ``killed``) — or the whole runner
(measured on the real node, issue 20). In a pod the runner therefore gives each atom a data
limit (RLIMIT_DATA: private writable memory, what a heap grows into) that fits the container:
its share of what the container has left once the runner and the warm interpreter are counted.
An allocation past it fails inside the atom (Python: ``MemoryError``), which the classifier
names ``oom``, and the atoms next to it keep running.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from mge.sandbox.limits import MIB

UNLIMITED_BYTES = 1 << 60
"""Above this a cgroup v1 ``memory.limit_in_bytes`` means "no limit" (it reads ~2^63)."""
RESERVE_BYTES = 24 * MIB
"""Kept back for the runner's own growth while a batch runs (reading logs, reports)."""
MIN_ATOM_BYTES = 16 * MIB
"""Never less than this per atom: below it not even pytest starts."""


@dataclass(frozen=True)
class ContainerMemory:
    """The memory cgroup this process is in: its limit and what it holds now."""

    limit_bytes: int
    working_set_bytes: int
    """Usage minus inactive file cache (what the kubelet calls the working set)."""


def _read_int(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        text = path.read_text().strip()
        return None if text == "max" else int(text)
    return None


def _stat_value(path: Path, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    return 0


def read_container_memory(root: Path = Path("/sys/fs/cgroup")) -> ContainerMemory | None:
    """The limit of the memory cgroup mounted at ``root`` (a container sees its own there), v1
    or v2; None when there is no limit or nothing readable (I/O)."""
    v1 = root / "memory"
    if (v1 / "memory.limit_in_bytes").exists():
        limit = _read_int(v1 / "memory.limit_in_bytes")
        usage = _read_int(v1 / "memory.usage_in_bytes")
        inactive = _stat_value(v1 / "memory.stat", "total_inactive_file")
    else:
        limit = _read_int(root / "memory.max")
        usage = _read_int(root / "memory.current")
        inactive = _stat_value(root / "memory.stat", "inactive_file")
    if limit is None or usage is None or limit >= UNLIMITED_BYTES:
        return None
    return ContainerMemory(limit, max(0, usage - inactive))


def atom_data_budget(
    memory: ContainerMemory | None,
    *,
    memory_mb: int,
    concurrency: int,
    per_atom_overhead_bytes: int,
) -> int:
    """Bytes of new private memory one atom may take: its ``memory_mb``, or less when the
    container cannot hold ``concurrency`` atoms that size next to what it already runs. Pure.

    ``per_atom_overhead_bytes`` is memory each running atom holds beyond its own allocations
    (a warm child's copy-on-write copies of the interpreter's pages)."""
    wanted = memory_mb * MIB
    if memory is None:
        return wanted
    free = memory.limit_bytes - memory.working_set_bytes - RESERVE_BYTES
    share = free // max(1, concurrency) - per_atom_overhead_bytes
    return max(MIN_ATOM_BYTES, min(wanted, share))


def resident_bytes(pid: int, proc: Path = Path("/proc")) -> int:
    """VmRSS of ``pid`` in bytes; 0 if unreadable (I/O)."""
    with contextlib.suppress(OSError, ValueError):
        for line in (proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
