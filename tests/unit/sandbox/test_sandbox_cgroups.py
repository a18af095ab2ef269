"""Finding one's cgroups (v1 and v2 texts), joining one before exec, and the v2 file names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mge.sandbox.cgroups import (
    AtomCgroup,
    attach_argv,
    own_groups,
    parse_mountinfo,
    parse_proc_cgroup,
)

HYBRID_MOUNTINFO = """\
30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
35 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 30 0:32 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
37 30 0:33 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
38 30 0:34 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
40 25 8:1 / / rw,relatime - ext4 /dev/vda rw
"""
HYBRID_CGROUP = """\
8:pids:/
4:memory:/process_api/abc
2:cpu,cpuacct:/
0::/
"""
V2_MOUNTINFO = "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V2_CGROUP = "0::/user.slice/user-1000.slice/session-2.scope\n"


def test_hybrid_v1_groups() -> None:
    groups = own_groups(parse_mountinfo(HYBRID_MOUNTINFO), parse_proc_cgroup(HYBRID_CGROUP))
    assert groups["pids"] == Path("/sys/fs/cgroup/pids")
    assert groups["memory"] == Path("/sys/fs/cgroup/memory/process_api/abc")
    assert groups[""] == Path("/sys/fs/cgroup/unified")


def test_unified_v2_group() -> None:
    groups = own_groups(parse_mountinfo(V2_MOUNTINFO), parse_proc_cgroup(V2_CGROUP))
    assert groups == {"": Path("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope")}


def test_a_namespaced_mount_root_is_stripped() -> None:
    mounts = parse_mountinfo(
        "1 2 0:3 /kubepods/pod1 /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
    )
    groups = own_groups(mounts, {"pids": "/kubepods/pod1/c1"})
    assert groups["pids"] == Path("/sys/fs/cgroup/pids/c1")


def test_this_machine_parses() -> None:
    mounts = parse_mountinfo(Path("/proc/self/mountinfo").read_text())
    groups = own_groups(mounts, parse_proc_cgroup(Path("/proc/self/cgroup").read_text()))
    assert all(p.is_dir() for p in groups.values())


def test_attach_wrapper_joins_before_exec(tmp_path: Path) -> None:
    a, b = tmp_path / "a.procs", tmp_path / "b.procs"
    a.touch()
    b.touch()
    argv = [*attach_argv([a, b]), sys.executable, "-c", "import os; print(os.getpid())"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    assert a.read_text().strip() == b.read_text().strip() == out  # same pid: sh exec'd python


def test_attach_failure_stops_before_exec(tmp_path: Path) -> None:
    argv = [*attach_argv([tmp_path / "missing" / "cgroup.procs"]), "/bin/echo", "RAN"]
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 125
    assert "RAN" not in proc.stdout and "mge-sandbox: cannot join cgroup" in proc.stderr


def test_v2_limits_and_counters_use_v2_file_names(tmp_path: Path) -> None:
    # A folder standing in for a cgroup2 group (this machine has no v2 controllers to test on).
    group = AtomCgroup(
        2, {"pids": tmp_path / "a0", "memory": tmp_path / "a0"}, pids_max=20, memory_bytes=1 << 20
    )
    d = tmp_path / "a0"
    assert (d / "pids.max").read_text() == "20"
    assert (d / "memory.max").read_text() == str(1 << 20)
    assert not group.oom_killed() and not group.pids_limit_hit()
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (d / "pids.events").write_text("max 7\n")
    assert group.oom_killed() and group.pids_limit_hit()
    assert group.procs_files == [d / "cgroup.procs"]
