"""The rootless path (a laptop user): bubblewrap without root, fork bombs held by RLIMIT_NPROC.

The runner here runs as root and then relies on a pids cgroup. This test checks the other half
of the design with the runner's own argv builders: run unprivileged (as uid 65534 via setpriv when
we are root), a sandbox's RLIMIT_NPROC counts only the processes of its own user namespace — so
one atom's fork bomb neither starves a sibling nor is helped by other processes of the same uid.
Uses the system Python (/usr/bin/python3), which an unprivileged user can read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mge.sandbox.isolation import LAUNCHER_ENV, bwrap_argv, host_root_entries
from mge.sandbox.limits import ResourceLimits, prlimit_argv

SYSTEM_PYTHON = "/usr/bin/python3"
FORKS = """
import os, sys, time
n = 0
for _ in range(60):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(3)
        os._exit(0)
    n += 1
print(n)
"""


def _as_nobody() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def test_rootless_bwrap_counts_processes_per_atom() -> None:
    assert shutil.which("bwrap") and Path(SYSTEM_PYTHON).exists()
    limits = ResourceLimits(
        cpu_seconds=10,
        address_space_bytes=1 << 30,
        processes=20,
        file_size_bytes=1 << 20,
        open_files=64,
    )
    procs = []
    # 30 processes of the same uid outside any sandbox: they must not count against the atoms.
    bystanders = [subprocess.Popen([*_as_nobody(), "sleep", "5"]) for _ in range(30)]
    # Not pytest's tmp_path: its parent is private to root, and the atom runs as nobody.
    tmp = Path(tempfile.mkdtemp(prefix="mge-rootless-"))
    tmp.chmod(0o755)
    try:
        for i in range(2):
            work = tmp / f"atom{i}"
            work.mkdir()
            work.chmod(0o777)
            argv = bwrap_argv(
                "bwrap",
                host_workdir=str(work),
                read_only_paths=[],
                root_entries=host_root_entries(),
                env=LAUNCHER_ENV,
                tmp_size_bytes=1 << 20,
            )
            cmd = [
                *_as_nobody(),
                *argv,
                *prlimit_argv("prlimit", limits),
                SYSTEM_PYTHON,
                "-c",
                FORKS,
            ]
            procs.append(
                subprocess.Popen(
                    cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=LAUNCHER_ENV
                )
            )
        results = [p.communicate(timeout=30) for p in procs]
    finally:
        for b in bystanders:
            b.kill()
            b.wait()
        shutil.rmtree(tmp)
    assert all(p.returncode == 0 for p in procs), results
    forks = [int(out.strip()) for out, _ in results]
    # Each atom: 20 processes minus its own python (and bwrap's pid 1), whatever the other does.
    assert all(15 <= f < 20 for f in forks), (forks, [err for _, err in results])
