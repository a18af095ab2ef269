"""A per-atom process cap where no pids cgroup can be made: count the atom's process tree.

Why: in a sandbox pod (``--isolation=pod``) the container's cgroup file system is read-only,
so the runner cannot give an atom a pids cgroup of its own, and RLIMIT_NPROC counts every
process of the pod's one uid — a batch-wide budget, not a per-atom one. A fork bomb then ran
until the wall clock and was reported ``timeout`` (measured on the real node, issue 20). The
runner instead watches the atom's tree — the atom's first process and every descendant; a
warm child makes itself a child subreaper, so a double fork stays in the tree — and ends the
atom as ``process_limit`` as soon as the tree holds the atom's ``maxProcesses`` tasks
(processes and threads, what a pids cgroup counts). The kernel's per-uid limit stays as the
hard stop between two looks.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STAT_PPID = 1
"""Fields of /proc/PID/stat after the ``(comm)`` field, 0-based: state, ppid, …"""
STAT_THREADS = 17
"""num_threads, counted the same way."""


@dataclass(frozen=True)
class Task:
    """One process as /proc/PID/stat tells it."""

    ppid: int
    threads: int


def parse_stat(text: str) -> tuple[int, Task] | None:
    """(pid, Task) from a /proc/PID/stat line; None if it is not one. Pure.

    The command name is in parentheses and may itself hold spaces and parentheses, so the
    fields are split after its *last* closing parenthesis."""
    head, sep, tail = text.rpartition(")")
    if not sep:
        return None
    pid_text = head.split("(", 1)[0].strip()
    fields = tail.split()
    if not pid_text.isdigit() or len(fields) <= STAT_THREADS:
        return None
    try:
        return int(pid_text), Task(int(fields[STAT_PPID]), int(fields[STAT_THREADS]))
    except ValueError:
        return None


def subtree(root: int, table: Mapping[int, Task]) -> tuple[list[int], int]:
    """(pids, tasks) of ``root`` and all its descendants in ``table``; tasks counts threads.
    Pure."""
    children: dict[int, list[int]] = {}
    for pid, task in table.items():
        children.setdefault(task.ppid, []).append(pid)
    if root not in table:
        return [], 0
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, ()))
    return pids, sum(table[p].threads for p in pids)


def read_table(proc: Path = Path("/proc")) -> dict[int, Task]:
    """Every process this process can see (I/O); ones that end while being read are skipped."""
    table: dict[int, Task] = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            parsed = parse_stat(stat.read_text())
        except OSError:
            continue
        if parsed is not None:
            table[parsed[0]] = parsed[1]
    return table


@dataclass
class TreeCap:
    """Watches one atom's process tree against ``cap`` tasks (a runner-side pids limit).

    Use :meth:`started` with the atom's first pid, :meth:`tripped` as the run's tripwire and
    :meth:`kill_all` as its extra kill (it also reaches descendants that left the process
    group)."""

    cap: int
    proc: Path = Path("/proc")
    root: int | None = None
    peak: int = 0
    hit: bool = False
    last_pids: list[int] = field(default_factory=list)

    def started(self, pid: int) -> None:
        """The atom's first process is ``pid``."""
        self.root = pid

    def look(self) -> int:
        """Count the tree now; remember the peak and whether it reached the cap."""
        if self.root is None:
            return 0
        pids, tasks = subtree(self.root, read_table(self.proc))
        if pids:
            self.last_pids = pids
        self.peak = max(self.peak, tasks)
        if tasks >= self.cap:
            self.hit = True
        return tasks

    def tripped(self) -> bool:
        """True once the tree has held ``cap`` tasks at once."""
        if not self.hit:
            self.look()
        return self.hit

    def kill_all(self) -> None:
        """SIGKILL every process of the tree, as last seen and as it is now."""
        if self.root is None:
            return
        pids, _ = subtree(self.root, read_table(self.proc))
        for pid in {*pids, *self.last_pids}:
            if pid in (os.getpid(), 1):
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
