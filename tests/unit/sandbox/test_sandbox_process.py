"""Running one process tree: exit, wall-clock kill of the whole group, output cap, tails."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from mge.sandbox.process import run_capped

ENV = {"PATH": "/usr/bin:/bin"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still "exists" until reaped by its parent; count it as dead
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return False


async def test_exit_code_and_tails(tmp_path: Path) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    run = await run_capped(
        [sys.executable, "-c", code],
        env=ENV,
        cwd=str(tmp_path),
        timeout_s=10,
        max_output_bytes=1000,
    )
    assert run.returncode == 3 and not run.timed_out and not run.output_exceeded
    assert run.stdout_tail == b"out\n" and run.stderr_tail == b"err\n"
    assert (run.stdout_bytes, run.stderr_bytes) == (4, 4)


async def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pidfile}; sleep 60"
    start = time.monotonic()
    run = await run_capped(
        ["/bin/sh", "-c", script],
        env=ENV,
        cwd=str(tmp_path),
        timeout_s=0.5,
        max_output_bytes=1000,
    )
    assert run.timed_out and run.returncode == -signal.SIGKILL
    assert time.monotonic() - start < 30, "waited for the 60 s sleep instead of the timeout"
    child = int(pidfile.read_text())
    for _ in range(100):
        if not _alive(child):
            break
        await asyncio.sleep(0.01)
    assert not _alive(child), "the background child survived the group kill"


async def test_output_flood_is_cut_off_before_the_timeout(tmp_path: Path) -> None:
    code = "import sys\nwhile True: sys.stdout.write('x' * 65536)"
    run = await run_capped(
        [sys.executable, "-c", code],
        env=ENV,
        cwd=str(tmp_path),
        timeout_s=30,
        max_output_bytes=200_000,
        tail_bytes=1000,
    )
    assert run.output_exceeded and not run.timed_out
    assert run.stdout_bytes > 200_000 and len(run.stdout_tail) == 1000


async def test_tail_keeps_the_end(tmp_path: Path) -> None:
    code = "for i in range(20000): print('line', i)\nprint('END')"
    run = await run_capped(
        [sys.executable, "-c", code],
        env=ENV,
        cwd=str(tmp_path),
        timeout_s=30,
        max_output_bytes=10**7,
        tail_bytes=100,
    )
    assert run.returncode == 0 and run.stdout_tail.endswith(b"line 19999\nEND\n")
    assert len(run.stdout_tail) == 100


async def test_an_escaped_daemon_holding_the_pipes_does_not_hang_the_runner(
    tmp_path: Path,
) -> None:
    # setsid leaves the process group, so the group kill misses it; it keeps stdout open.
    script = "setsid sleep 30 & sleep 0.3; echo $!"
    start = time.monotonic()
    run = await run_capped(
        ["/bin/sh", "-c", script],
        env=ENV,
        cwd=str(tmp_path),
        timeout_s=10,
        max_output_bytes=1000,
    )
    try:
        assert run.returncode == 0  # not the 10 s timeout: it did not wait for the pipes
        assert time.monotonic() - start < 25, "waited for the daemon's 30 s sleep"
        assert any("pipes stayed open" in n for n in run.notes)
    finally:
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(run.stdout_tail.split()[0]), signal.SIGKILL)


async def test_extra_kill_is_called(tmp_path: Path) -> None:
    calls: list[int] = []
    await run_capped(
        ["/bin/true"],
        env=ENV,
        cwd=str(tmp_path),
        timeout_s=5,
        max_output_bytes=10,
        extra_kill=lambda: calls.append(1),
    )
    assert calls


async def test_a_tripped_tripwire_ends_the_run_before_its_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    code = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(600)"
    run = await run_capped(
        [sys.executable, "-c", code],
        env=ENV,
        cwd=str(tmp_path),
        timeout_s=600,
        max_output_bytes=1000,
        tripwire=marker.exists,  # trips once the process has started
    )
    assert run.tripped and not run.timed_out and not run.output_exceeded
    assert run.returncode == -signal.SIGKILL


async def test_a_tripwire_that_never_trips_changes_nothing(tmp_path: Path) -> None:
    run = await run_capped(
        [sys.executable, "-c", "print('done')"],
        env=ENV,
        cwd=str(tmp_path),
        timeout_s=60,
        max_output_bytes=1000,
        tripwire=lambda: False,
    )
    assert run.returncode == 0 and not run.tripped and run.stdout_tail == b"done\n"
