"""Per-atom limits where no cgroup per atom can be made (a sandbox pod): the process-tree cap
(proctree.py) and the data budget that fits the container (container.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mge.models.sandbox import SandboxLimits
from mge.sandbox.container import (
    MIN_ATOM_BYTES,
    RESERVE_BYTES,
    ContainerMemory,
    atom_data_budget,
    read_container_memory,
)
from mge.sandbox.limits import COLD_DATA_HEADROOM, MIB, prlimit_argv, resolve_limits
from mge.sandbox.proctree import Task, TreeCap, parse_stat, subtree
from mge.sandbox.warm import rlimit_request
from mge.sandbox.zygote import RLIMITS


def _stat(pid: int, ppid: int, threads: int = 1, comm: str = "python") -> str:
    rest = ["S", str(ppid), *["0"] * 15, str(threads), "0", "0"]
    return f"{pid} ({comm}) " + " ".join(rest) + "\n"


def test_parse_stat_reads_ppid_and_threads_past_an_odd_command_name() -> None:
    assert parse_stat(_stat(42, 7, 3, comm="a) (b")) == (42, Task(7, 3))
    assert parse_stat("garbage") is None
    assert parse_stat("12 (x) S 1") is None


def test_subtree_counts_every_descendant_and_their_threads() -> None:
    table = {
        10: Task(1, 1),
        11: Task(10, 4),
        12: Task(11, 1),
        13: Task(12, 2),
        20: Task(1, 9),  # a neighbour: not counted
    }
    pids, tasks = subtree(10, table)
    assert sorted(pids) == [10, 11, 12, 13]
    assert tasks == 8
    assert subtree(99, table) == ([], 0)


def _fake_proc(root: Path, stats: dict[int, str]) -> None:
    for pid, text in stats.items():
        (root / str(pid)).mkdir(parents=True, exist_ok=True)
        (root / str(pid) / "stat").write_text(text)


def test_tree_cap_trips_when_the_tree_holds_the_cap(tmp_path: Path) -> None:
    cap = TreeCap(4, proc=tmp_path)
    assert not cap.tripped()  # not started: nothing to count
    _fake_proc(tmp_path, {100: _stat(100, 1), 101: _stat(101, 100), 300: _stat(300, 1, 50)})
    cap.started(100)
    assert not cap.tripped()
    assert cap.peak == 2
    _fake_proc(tmp_path, {102: _stat(102, 101), 103: _stat(103, 102, 2)})
    assert cap.tripped()
    assert cap.hit and cap.peak == 5


def test_tree_cap_sees_a_real_process_and_its_children() -> None:
    code = "import subprocess, sys, time; [subprocess.Popen(['sleep', '30']) for _ in range(3)]; "
    code += "print('up', flush=True); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "up\n"
        cap = TreeCap(4)
        cap.started(proc.pid)
        assert cap.look() >= 4  # the interpreter and its three children
        assert cap.tripped()
        cap.kill_all()
        assert proc.wait(timeout=30) == -9
    finally:
        proc.kill()


def test_the_budget_is_the_atoms_memory_where_the_container_holds_it() -> None:
    assert atom_data_budget(None, memory_mb=512, concurrency=2, per_atom_overhead_bytes=0) == (
        512 * MIB
    )
    roomy = ContainerMemory(limit_bytes=4096 * MIB, working_set_bytes=200 * MIB)
    assert atom_data_budget(roomy, memory_mb=512, concurrency=2, per_atom_overhead_bytes=0) == (
        512 * MIB
    )


def test_the_budget_is_a_share_of_what_a_small_pod_has_left() -> None:
    pod = ContainerMemory(limit_bytes=256 * MIB, working_set_bytes=100 * MIB)
    budget = atom_data_budget(pod, memory_mb=128, concurrency=2, per_atom_overhead_bytes=10 * MIB)
    assert budget == (256 * MIB - 100 * MIB - RESERVE_BYTES) // 2 - 10 * MIB
    full = ContainerMemory(limit_bytes=256 * MIB, working_set_bytes=250 * MIB)
    assert atom_data_budget(full, memory_mb=128, concurrency=2, per_atom_overhead_bytes=0) == (
        MIN_ATOM_BYTES
    )


@pytest.mark.parametrize("version", ["v1", "v2", "unlimited", "missing"])
def test_container_memory_is_read_from_either_cgroup_version(tmp_path: Path, version: str) -> None:
    if version in ("v1", "unlimited"):
        memory = tmp_path / "memory"
        memory.mkdir()
        limit = str(256 * MIB) if version == "v1" else "9223372036854771712"
        (memory / "memory.limit_in_bytes").write_text(limit + "\n")
        (memory / "memory.usage_in_bytes").write_text(f"{120 * MIB}\n")
        (memory / "memory.stat").write_text(f"cache 5\ntotal_inactive_file {20 * MIB}\n")
    elif version == "v2":
        (tmp_path / "memory.max").write_text(f"{256 * MIB}\n")
        (tmp_path / "memory.current").write_text(f"{120 * MIB}\n")
        (tmp_path / "memory.stat").write_text(f"anon 1\ninactive_file {20 * MIB}\n")
    got = read_container_memory(tmp_path)
    if version in ("unlimited", "missing"):
        assert got is None
    else:
        assert got == ContainerMemory(256 * MIB, 100 * MIB)


def test_a_cold_run_gets_its_data_budget_from_prlimit() -> None:
    limits = SandboxLimits(memory_mb=64)
    rl = resolve_limits(limits, timeout_seconds=30, address_space_headroom_bytes=512 * MIB)
    assert not any(a.startswith("--data") for a in prlimit_argv("prlimit", rl))
    rl = rl.__class__(**{**rl.__dict__, "data_budget_bytes": 32 * MIB})
    code = (
        "import resource\n"
        "print(resource.getrlimit(resource.RLIMIT_DATA)[0], flush=True)\n"
        "keep = [bytearray(8 * 2**20) for _ in range(64)]\n"
    )
    run = subprocess.run(
        [*prlimit_argv("prlimit", rl), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stdout.split()[0] == str(32 * MIB + COLD_DATA_HEADROOM)
    assert "MemoryError" in run.stderr
    assert set(rlimit_request(rl)) == set(RLIMITS)  # the budget goes to a warm child apart
