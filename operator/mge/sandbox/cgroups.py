"""Per-atom cgroups (pids and memory), when this process may create them.

Why: as root, RLIMIT_NPROC does not hold — the kernel exempts uid 0, and inside bubblewrap the
sandbox's uid maps to host uid 0 — so a fork bomb is only contained by a ``pids`` cgroup
(measured on the CI machine, see docs/sandbox.md). A ``memory`` cgroup also turns a memory bomb
into a clean OOM kill that the runner can name.

Supports cgroup v1 (a hierarchy per controller) and v2 (one unified tree, where the parent must
allow the controllers in ``cgroup.subtree_control``). Detection really creates and removes a
probe group; anything that fails means "no cgroups", never an error. A process joins its group
*before* it execs the sandbox, through a tiny ``sh`` wrapper (:func:`attach_argv`), so not even
the first fork escapes.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

CONTROLLERS = ("pids", "memory")
ATTACH_FAILED_EXIT = 125
"""Exit status of the attach wrapper when it could not join the cgroup."""
ATTACH_SCRIPT = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do '
    'echo $$ > "$1" || { echo "mge-sandbox: cannot join cgroup $1" >&2; exit 125; }; '
    'shift; n=$((n-1)); done; exec "$@"'
)
KILL_ROUNDS = 50
"""How many times kill_all sweeps a v1 group (new processes may appear between sweeps)."""
REMOVE_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Mount:
    """A cgroup file system mount from /proc/self/mountinfo."""

    root: str
    mount_point: str
    fstype: str
    super_options: frozenset[str]


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup and cgroup2 mounts in a /proc/self/mountinfo text."""
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        out.append(Mount(fields[3], fields[4], tail[0], frozenset(tail[2].split(","))))
    return out


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Controller -> path from /proc/self/cgroup; the v2 unified entry has the key ''."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        names = parts[1].split(",") if parts[1] else [""]
        for name in names:
            out[name] = parts[2]
    return out


def _join(mount: Mount, path: str) -> Path:
    rel = path[len(mount.root) :] if path.startswith(mount.root) and mount.root != "/" else path
    return Path(mount.mount_point) / rel.lstrip("/")


def own_groups(mounts: Iterable[Mount], proc_cgroup: Mapping[str, str]) -> dict[str, Path]:
    """Where this process sits, per controller ("pids", "memory", or "" for v2)."""
    out: dict[str, Path] = {}
    for m in mounts:
        if m.fstype == "cgroup2" and "" in proc_cgroup:
            out.setdefault("", _join(m, proc_cgroup[""]))
        elif m.fstype == "cgroup":
            for c in CONTROLLERS:
                if c in m.super_options and c in proc_cgroup:
                    out.setdefault(c, _join(m, proc_cgroup[c]))
    return out


@dataclass(frozen=True)
class CgroupSupport:
    """Where per-atom groups can be made: one parent per controller (v1) or one (v2)."""

    version: Literal[1, 2]
    parents: Mapping[str, Path]
    """Controller -> parent folder. For v2 both controllers map to the same folder."""

    @property
    def controllers(self) -> list[str]:
        """Controllers available, e.g. ["pids", "memory"]."""
        return sorted(self.parents)

    def describe(self) -> str:
        """One line for reports."""
        return f"cgroup v{self.version} ({', '.join(self.controllers)}) per atom"


def _probe_dir(parent: Path) -> bool:
    probe = parent / f"mge-probe-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        probe.mkdir()
    except OSError:
        return False
    with contextlib.suppress(OSError):
        probe.rmdir()
    return True


def _v2_enable(parent: Path) -> list[str]:
    try:
        available = (parent / "cgroup.controllers").read_text().split()
        enabled = (parent / "cgroup.subtree_control").read_text().split()
    except OSError:
        return []
    wanted = [c for c in CONTROLLERS if c in available and c not in enabled]
    for c in wanted:
        with contextlib.suppress(OSError):
            (parent / "cgroup.subtree_control").write_text(f"+{c}")
    try:
        enabled = (parent / "cgroup.subtree_control").read_text().split()
    except OSError:
        return []
    return [c for c in CONTROLLERS if c in enabled]


def detect_cgroups(
    mountinfo: str | None = None, proc_cgroup: str | None = None
) -> CgroupSupport | None:
    """The cgroups this process can create per-atom groups in, or None (I/O)."""
    try:
        mountinfo = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
        proc_cgroup = (
            proc_cgroup if proc_cgroup is not None else Path("/proc/self/cgroup").read_text()
        )
    except OSError:
        return None
    groups = own_groups(parse_mountinfo(mountinfo), parse_proc_cgroup(proc_cgroup))
    v1 = {c: groups[c] for c in CONTROLLERS if c in groups and _probe_dir(groups[c])}
    if "pids" in v1:
        return CgroupSupport(version=1, parents=v1)
    if "" in groups and _probe_dir(groups[""]):
        enabled = _v2_enable(groups[""])
        if "pids" in enabled:
            return CgroupSupport(version=2, parents={c: groups[""] for c in enabled})
    return None


def attach_argv(procs_files: Iterable[Path]) -> list[str]:
    """A ``sh`` prefix that moves itself into every given ``cgroup.procs``, then execs the rest."""
    files = [str(f) for f in procs_files]
    return ["/bin/sh", "-c", ATTACH_SCRIPT, "sh", str(len(files)), *files]


def _read_counter(path: Path, key: str) -> int:
    try:
        text = path.read_text()
    except OSError:
        return 0
    m = re.search(rf"^{re.escape(key)} (\d+)$", text, re.MULTILINE)
    return int(m.group(1)) if m else 0


class BatchCgroups:
    """The cgroups of one batch: a folder per controller, with a group per atom inside."""

    def __init__(self, support: CgroupSupport, batch_id: str) -> None:
        self.support = support
        name = f"mge-{os.getpid()}-{batch_id}-{secrets.token_hex(3)}"
        self.dirs = {c: p / name for c, p in support.parents.items()}
        for d in set(self.dirs.values()):
            d.mkdir()
        if support.version == 2:
            _v2_enable(next(iter(self.dirs.values())))

    def atom(self, index: int, *, pids_max: int, memory_bytes: int) -> AtomCgroup:
        """A fresh group for the atom at ``index`` with its limits set."""
        return AtomCgroup(
            self.support.version,
            {c: d / f"a{index}" for c, d in self.dirs.items()},
            pids_max=pids_max,
            memory_bytes=memory_bytes,
        )

    def remove(self) -> None:
        """Remove the batch folders (atom groups must be gone already)."""
        for d in set(self.dirs.values()):
            _rmdir_patiently(d)


def _rmdir_patiently(d: Path) -> None:
    deadline = time.monotonic() + REMOVE_WAIT_SECONDS
    while True:
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)


class AtomCgroup:
    """One atom's group: limits, joining, killing everything in it, and what it hit."""

    def __init__(
        self, version: int, dirs: Mapping[str, Path], *, pids_max: int, memory_bytes: int
    ) -> None:
        self.version = version
        self.dirs = dict(dirs)
        for d in set(self.dirs.values()):
            d.mkdir()
        self._set_limits(pids_max, memory_bytes)

    def _set_limits(self, pids_max: int, memory_bytes: int) -> None:
        if "pids" in self.dirs:
            (self.dirs["pids"] / "pids.max").write_text(str(pids_max))
        mem = self.dirs.get("memory")
        if mem is None:
            return
        if self.version == 1:
            (mem / "memory.limit_in_bytes").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):
                (mem / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        else:
            (mem / "memory.max").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):
                (mem / "memory.swap.max").write_text("0")

    @property
    def procs_files(self) -> list[Path]:
        """The cgroup.procs files a process writes its pid to, to join."""
        return [d / "cgroup.procs" for d in sorted(set(self.dirs.values()))]

    def _pids(self) -> set[int]:
        out: set[int] = set()
        for f in self.procs_files:
            with contextlib.suppress(OSError):
                out.update(int(x) for x in f.read_text().split())
        return out

    def kill_all(self) -> None:
        """SIGKILL every process in the group (cgroup.kill on v2, repeated sweeps on v1)."""
        if self.version == 2:
            for d in set(self.dirs.values()):
                with contextlib.suppress(OSError):
                    (d / "cgroup.kill").write_text("1")
        for _ in range(KILL_ROUNDS):
            pids = self._pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed a process of this group."""
        mem = self.dirs.get("memory")
        if mem is None:
            return False
        if self.version == 1:
            return _read_counter(mem / "memory.oom_control", "oom_kill") > 0
        return _read_counter(mem / "memory.events", "oom_kill") > 0

    def pids_limit_hit(self) -> bool:
        """Whether a fork was refused because the group was at pids.max."""
        pids = self.dirs.get("pids")
        return pids is not None and _read_counter(pids / "pids.events", "max") > 0

    def peak_processes(self) -> int:
        """The most processes/threads the group held at once (0 when the kernel cannot tell).

        ``pids.peak`` exists on kernels from 6.12 on, for cgroup v1 and v2 alike.
        """
        pids = self.dirs.get("pids")
        if pids is None:
            return 0
        try:
            return int((pids / "pids.peak").read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        """Kill what is left and remove the group."""
        self.kill_all()
        for d in set(self.dirs.values()):
            _rmdir_patiently(d)
