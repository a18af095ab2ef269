"""The warm zygote (pod and unsandboxed isolation): atoms fork from one interpreter per batch,
yet nothing of one atom reaches the next, each keeps its own limits, and every way a run can
end is still told apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.parts import missing_part

from mge.models.sandbox import AtomStatus, SandboxBatch, SandboxResult
from mge.sandbox import HostReport, LocalSandbox, RunnerOptions
from mge.sandbox.limits import MIB
from mge.sandbox.toolchains import PYTHON_AS_HEADROOM
from mge.validation.sandboxed import IMPORT_MARKER, RESULTS_MARKER, driver_command

WARM = ["pod", "unsandboxed"]
"""The isolation choices without a wrapper, where the runner forks atoms from a zygote."""

POLLUTER = """
import builtins, json, os, pathlib, sys
import pkg.add

def test_pollute():
    sys.modules["mge_leak_marker"] = object()
    builtins.leaked = 1
    builtins.divmod = lambda a, b: (42, 42)  # one pytest does not use itself
    json.LEAKED = True
    os.environ["MGE_LEAK"] = "1"
    os.environ["PATH"] = "/nowhere"
    sys.path.insert(0, "/polluted")
    pkg.add.add = lambda a, b: 0
    pathlib.Path("leak.txt").write_text("x")
    pathlib.Path(os.environ["TMPDIR"], "leak.txt").write_text("x")
    sys.setrecursionlimit(4321)
"""
WITNESS = """
import builtins, json, os, sys
from pathlib import Path

def test_clean():
    assert "mge_leak_marker" not in sys.modules
    assert not hasattr(builtins, "leaked")
    assert divmod(7, 2) == (3, 1)
    assert not hasattr(json, "LEAKED")
    assert "MGE_LEAK" not in os.environ
    assert os.environ["PATH"] != "/nowhere"
    assert "/polluted" not in sys.path
    from pkg.add import add
    assert add(2, 3) == 5
    assert not Path("leak.txt").exists()
    assert not Path(os.environ["TMPDIR"], "leak.txt").exists()
    assert Path.cwd().name.endswith("witness")
    assert sys.getrecursionlimit() != 4321
"""
OWN_PROCESS = """
import os, resource

def test_own_process():
    assert os.getpgid(0) == os.getpid()
    assert resource.getrlimit(resource.RLIMIT_AS) == ({as_bytes}, {as_bytes})
    assert resource.getrlimit(resource.RLIMIT_CPU) == ({cpu}, {cpu} + 1)
    assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] == {fsize}
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == {nofile}
    assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)
    fds = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.append(os.readlink(f"/proc/self/fd/{{fd}}"))
        except FileNotFoundError:  # the listing's own descriptor
            pass
    assert not [f for f in fds if f.startswith("socket:")], fds
    assert os.environ.get("MGE_FAKE_SECRET") is None
"""
ADD = "def add(a, b):\n    return a + b\n"


def _item(atom_id: str, test: str, **extra: object) -> dict[str, object]:
    name = f"tests/test_{atom_id.replace('-', '_')}.py"
    return {"atomId": atom_id, "files": {name: test}, "testFiles": [name], **extra}


def _batch(items: list[dict[str, object]], **limits: object) -> SandboxBatch:
    return SandboxBatch.model_validate(
        {
            "batchId": "warm",
            "language": "python",
            "sharedFiles": {"pkg/__init__.py": "", "pkg/add.py": ADD},
            "limits": {"timeoutSeconds": 30, **limits},
            "items": items,
        }
    )


async def _run(batch: SandboxBatch, iso: str, tmp_path: Path, **opts: object) -> SandboxResult:
    options = RunnerOptions(isolation=iso, scratch_dir=tmp_path / "scratch", **opts)  # type: ignore[arg-type]
    return await LocalSandbox(options).run(batch)


def _warm_was_used(result: SandboxResult) -> bool:
    return any(line.startswith("warm:") for line in result.isolation_detail)


@pytest.mark.parametrize("iso", WARM)
async def test_one_atoms_state_does_not_reach_the_next(iso: str, tmp_path: Path) -> None:
    batch = _batch([_item("polluter", POLLUTER), _item("witness", WITNESS)])
    result = await _run(batch, iso, tmp_path, concurrency=1)  # polluter first, then witness
    assert _warm_was_used(result), result.isolation_detail
    by_id = {o.atom_id: o for o in result.outcomes}
    assert by_id["polluter"].status is AtomStatus.PASSED, by_id["polluter"].detail
    assert by_id["witness"].status is AtomStatus.PASSED, by_id["witness"].detail


@pytest.mark.parametrize("iso", WARM)
async def test_each_child_has_its_own_process_group_limits_and_no_runner_socket(
    iso: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MGE_FAKE_SECRET", "do-not-leak")
    memory_mb, timeout = 256, 17
    test = OWN_PROCESS.format(
        as_bytes=memory_mb * MIB + PYTHON_AS_HEADROOM,
        cpu=timeout,
        fsize=8 * MIB,
        nofile=128,
    )
    batch = _batch(
        [_item("own-a", test), _item("own-b", test)],
        memoryMb=memory_mb,
        timeoutSeconds=timeout,
        maxFileSizeMb=8,
        maxOpenFiles=128,
    )
    result = await _run(batch, iso, tmp_path, concurrency=2)
    assert _warm_was_used(result)
    for outcome in result.outcomes:
        assert outcome.status is AtomStatus.PASSED, outcome.detail


SPIN = "def test_spin():\n    while True:\n        pass\n"
FLOOD = "import sys\n\ndef test_flood():\n    while True:\n        sys.stderr.write('x' * 65536)\n"
BIG_FILE = "def test_big():\n    open('big.bin', 'wb').write(b'x' * (20 * 2**20))\n"
CRASH = "import os, signal\n\ndef test_crash():\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
FAIL = "def test_fail():\n    assert 1 + 1 == 3\n"
MEMORY_ONLY = (
    "def test_eat():\n    keep = []\n    while True:\n        keep.append(bytearray(8 * 2**20))\n"
)
FORK_ONLY = (
    "import os\n\ndef test_forks():\n    for _ in range(1_000_000):\n        try:\n"
    "            os.fork()\n        except OSError:\n            pass\n"
)


@pytest.mark.parametrize("iso", WARM)
async def test_every_ending_is_told_apart_when_warm(iso: str, tmp_path: Path) -> None:
    items = [
        _item("spin", SPIN, timeoutSeconds=3),
        _item("flood", FLOOD),
        _item("big-file", BIG_FILE),
        _item("crash", CRASH),
        _item("fail", FAIL),
        _item("ok", "from pkg.add import add\n\ndef test_ok():\n    assert add(1, 1) == 2\n"),
    ]
    batch = _batch(items, maxFileSizeMb=8, maxOutputBytes=262144)
    result = await _run(batch, iso, tmp_path, concurrency=2)
    assert _warm_was_used(result)
    status = {o.atom_id: o.status for o in result.outcomes}
    details = {o.atom_id: o.detail for o in result.outcomes}
    assert status["spin"] in (AtomStatus.TIMEOUT, AtomStatus.CPU_LIMIT), details
    assert status["flood"] is AtomStatus.OUTPUT_LIMIT, details
    assert status["big-file"] is AtomStatus.FILE_LIMIT, details
    assert status["crash"] is AtomStatus.KILLED, details
    assert "SIGSEGV" in details["crash"]
    assert status["fail"] is AtomStatus.FAILED, details
    assert status["ok"] is AtomStatus.PASSED, details


@pytest.mark.slow
async def test_bombs_are_told_apart_when_warm(host: HostReport, tmp_path: Path) -> None:
    """Only where cgroups contain them (as root here, RLIMIT_NPROC alone would not)."""
    if host.cgroups is None or not {"pids", "memory"} <= set(host.cgroups.controllers):
        missing_part("needs per-atom pids and memory cgroups (run as root): the limits are unset")
    batch = _batch(
        [
            _item("fork-only", FORK_ONLY, timeoutSeconds=8),
            _item("memory-only", MEMORY_ONLY, timeoutSeconds=8),
        ],
        memoryMb=256,
        maxProcesses=32,
    )
    result = await _run(batch, "pod", tmp_path, concurrency=2)
    assert _warm_was_used(result)
    by_id = {o.atom_id: o for o in result.outcomes}
    assert by_id["fork-only"].status is AtomStatus.PROCESS_LIMIT, by_id["fork-only"].detail
    assert by_id["memory-only"].status is AtomStatus.OOM, by_id["memory-only"].detail


async def test_a_killed_zygote_fails_one_atom_and_the_rest_run_cold(tmp_path: Path) -> None:
    killer = "import os, signal\n\ndef test_kill():\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    ok = "from pkg.add import add\n\ndef test_ok():\n    assert add(1, 1) == 2\n"
    batch = _batch([_item("killer", killer), _item("after-1", ok), _item("after-2", ok)])
    result = await _run(batch, "unsandboxed", tmp_path, concurrency=1)
    by_id = {o.atom_id: o for o in result.outcomes}
    assert by_id["after-1"].status is AtomStatus.PASSED, by_id["after-1"].detail
    assert by_id["after-2"].status is AtomStatus.PASSED, by_id["after-2"].detail


DRIVER_CASES = {
    "passes": (["pkg.add"], ["tests/test_d.py::test_ok"], "def test_ok():\n    assert 1\n"),
    "fails": (["pkg.add"], ["tests/test_d.py::test_no"], "def test_no():\n    assert 0\n"),
    "import-error": (["pkg.missing"], ["tests/test_d.py::test_ok"], "def test_ok():\n    pass\n"),
    "exits": (["pkg.add"], [], ""),
}


@pytest.mark.parametrize("iso", WARM)
async def test_the_validation_driver_runs_warm_with_the_same_results_as_cold(
    iso: str, tmp_path: Path
) -> None:
    """What the execution stage sends (``python -s -c DRIVER``) runs in the zygote too."""
    items = [
        {
            "atomId": name,
            "files": {"tests/test_d.py": test} if test else {},
            "command": driver_command(modules, tests),
        }
        for name, (modules, tests, test) in DRIVER_CASES.items()
    ]
    batch = _batch(items)
    warm = await _run(batch, iso, tmp_path / "warm")
    cold = await _run(batch, iso, tmp_path / "cold", warm=False)
    assert _warm_was_used(warm) and not _warm_was_used(cold)

    def seen(result: SandboxResult) -> dict[str, tuple[object, ...]]:
        return {
            o.atom_id: (
                o.status,
                o.exit_code,
                IMPORT_MARKER in o.stdout_tail,
                RESULTS_MARKER in o.stderr_tail,
            )
            for o in result.outcomes
        }

    assert seen(warm) == seen(cold)
    assert seen(warm)["passes"][0] is AtomStatus.PASSED
    assert seen(warm)["import-error"][2] is True


@pytest.mark.slow
async def test_bombs_are_told_apart_without_cgroups_as_in_a_pod(tmp_path: Path) -> None:
    """A sandbox pod cannot make cgroups (read-only cgroup fs): the runner's process-tree cap
    and the atom's data limit must name both bombs, and the neighbour still passes."""
    batch = _batch(
        [
            _item("fork-only", FORK_ONLY, timeoutSeconds=20),
            _item("memory-only", MEMORY_ONLY, timeoutSeconds=20),
            _item("ok", "from pkg.add import add\n\ndef test_ok():\n    assert add(1, 1) == 2\n"),
        ],
        memoryMb=128,
        maxProcesses=32,
    )
    result = await _run(batch, "pod", tmp_path, concurrency=2, use_cgroups=False)
    assert _warm_was_used(result)
    assert any(line.startswith("memory: RLIMIT_DATA") for line in result.isolation_detail)
    assert any(line.startswith("processes: an atom") for line in result.isolation_detail)
    by_id = {o.atom_id: o for o in result.outcomes}
    fork, memory = by_id["fork-only"], by_id["memory-only"]
    assert fork.status is AtomStatus.PROCESS_LIMIT, fork.detail
    assert "32 processes/threads" in fork.detail
    assert memory.status is AtomStatus.OOM, memory.detail
    assert "MemoryError" in memory.detail  # its own limit, not a kill from outside
    assert by_id["ok"].status is AtomStatus.PASSED, by_id["ok"].detail
