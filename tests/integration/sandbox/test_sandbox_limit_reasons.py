"""The reason a limit-bound atom ended is the cause, not a consequence: it feeds the retry prompt.

A fork bomb started from a module that a pytest test imports makes copies of the whole pytest
process; together they can fill the memory limit before the process limit is reached, and the
kernel then reports an OOM kill. It must still read as ``process_limit`` (the code forks in a
loop), while a plain memory bomb stays ``oom``. Needs the pids and memory cgroups (root here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_hosts import available_isolations, host_report
from tests.integration.parts import missing_part

from mge.models.sandbox import AtomStatus, SandboxResult

FORK_FILLING_MEMORY = """import os
keep = []
for _ in range(1_000_000):
    try:
        os.fork()
    except OSError:
        pass
    keep.append(bytearray(8 * 2**20))
"""
FORK_ONLY = """import os
for _ in range(1_000_000):
    try:
        os.fork()
    except OSError:
        pass
"""
MEMORY_ONLY = """keep = []
while True:
    keep.append(bytearray(8 * 2**20))
"""
IMPORTING_TEST = "from pkg.bomb import *  # noqa\n\ndef test_imports():\n    assert True\n"


def _item(atom_id: str, bomb: str) -> dict[str, object]:
    test = f"tests/test_{atom_id.replace('-', '_')}.py"
    return {
        "atomId": atom_id,
        "files": {"pkg/__init__.py": "", "pkg/bomb.py": bomb, test: IMPORTING_TEST},
        "testFiles": [test],
        "timeoutSeconds": 8,
    }


def _cgroups_ready() -> bool:
    cg = host_report().cgroups
    return cg is not None and {"pids", "memory"} <= set(cg.controllers)


@pytest.mark.slow
@pytest.mark.parametrize("iso", [i for i in available_isolations() if i != "unsandboxed"])
def test_fork_bomb_imported_by_a_test_is_a_process_limit(iso: str, tmp_path: Path) -> None:
    if not _cgroups_ready():
        missing_part("needs per-atom pids and memory cgroups (run as root): the limits are unset")
    batch = {
        "batchId": "limit-reasons",
        "language": "python",
        "limits": {"memoryMb": 512, "maxProcesses": 64},
        "items": [
            _item("fork-filling-memory", FORK_FILLING_MEMORY),
            _item("fork-only", FORK_ONLY),
            _item("memory-only", MEMORY_ONLY),
        ],
    }
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch))
    proc = subprocess.run(
        [sys.executable, "-m", "mge.cli.sandbox", "run", str(path), "--isolation", iso],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    outcomes = {o.atom_id: o for o in SandboxResult.model_validate_json(proc.stdout).outcomes}
    details = {k: (o.status, o.detail) for k, o in outcomes.items()}
    assert outcomes["fork-filling-memory"].status == AtomStatus.PROCESS_LIMIT, details
    assert "processes" in outcomes["fork-filling-memory"].detail
    assert outcomes["fork-only"].status == AtomStatus.PROCESS_LIMIT, details
    assert outcomes["memory-only"].status == AtomStatus.OOM, details
