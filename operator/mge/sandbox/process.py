"""Run one process tree with a wall-clock limit and an output cap (async I/O).

The process starts in a new session, so its process group can be killed as a whole; a caller may
add its own kill (a cgroup sweep) through ``extra_kill``. stdout and stderr are read in chunks,
keeping only their last :data:`~mge.models.sandbox.TAIL_BYTES`; once both together pass
``max_output_bytes`` the tree is killed — a process printing gigabytes costs the runner a few
kilobytes of memory and a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from mge.models.sandbox import TAIL_BYTES

CHUNK_BYTES = 65536
DRAIN_GRACE_SECONDS = 1.0
"""After the main process ends (or is killed), how long to wait for the pipes to close. A
descendant that escaped the process group may hold them open; it is not waited for longer."""
REAP_GRACE_SECONDS = 5.0
"""How long to wait for a SIGKILLed process to be reaped before giving up on it."""
TRIPWIRE_SECONDS = 0.1
"""How often a tripwire (e.g. "the kernel refused a fork at pids.max") is checked."""


class _Tail:
    """The last ``size`` bytes of a stream, and how many bytes it had in all."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.buf = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.buf += chunk
        if len(self.buf) > self.size:
            del self.buf[: len(self.buf) - self.size]


@dataclass
class ProcessRun:
    """What one run did."""

    returncode: int | None
    """As asyncio reports it: negative for a signal; None if it could not be reaped."""
    duration_s: float
    stdout_tail: bytes
    stderr_tail: bytes
    stdout_bytes: int
    stderr_bytes: int
    timed_out: bool = False
    output_exceeded: bool = False
    tripped: bool = False
    """Ended early because the caller's tripwire turned true."""
    notes: list[str] = field(default_factory=list)


async def _pipe_reader(fd: int) -> tuple[asyncio.StreamReader, asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2 * CHUNK_BYTES)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader, transport


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def run_capped(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str,
    timeout_s: float,
    max_output_bytes: int,
    extra_kill: Callable[[], None] | None = None,
    tripwire: Callable[[], bool] | None = None,
    on_start: Callable[[int], None] | None = None,
    tail_bytes: int = TAIL_BYTES,
) -> ProcessRun:
    """Run ``argv`` (stdin closed) until it exits, the timeout passes, output overflows or
    ``tripwire()`` turns true (checked every :data:`TRIPWIRE_SECONDS`); ``on_start`` gets the
    started process's pid."""
    start = time.monotonic()
    # Our own pipes rather than asyncio's: asyncio's Process.wait() also waits for its pipes to
    # close, which a daemon that escaped the process group can put off forever.
    (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    except BaseException:
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    if on_start is not None:
        on_start(proc.pid)
    return await supervise(
        proc.wait(),
        lambda: proc.returncode,
        pgid=proc.pid,
        out_r=out_r,
        err_r=err_r,
        timeout_s=timeout_s,
        max_output_bytes=max_output_bytes,
        extra_kill=extra_kill,
        tripwire=tripwire,
        tail_bytes=tail_bytes,
        start=start,
    )


async def _trips(tripwire: Callable[[], bool]) -> None:
    # A kernel counter in a file: nothing to wait on but the next look.
    while not tripwire():  # noqa: ASYNC110
        await asyncio.sleep(TRIPWIRE_SECONDS)


async def supervise(
    wait: Awaitable[object],
    returncode: Callable[[], int | None],
    *,
    pgid: int,
    out_r: int,
    err_r: int,
    timeout_s: float,
    max_output_bytes: int,
    extra_kill: Callable[[], None] | None,
    tripwire: Callable[[], bool] | None = None,
    tail_bytes: int,
    start: float,
) -> ProcessRun:
    """Watch a started process tree (process group ``pgid``) until ``wait`` completes, the
    timeout passes or its output (read from ``out_r``/``err_r``) overflows; then kill the group
    and read ``returncode()``. Shared by :func:`run_capped` and the warm zygote's children.

    A tripped ``tripwire`` ends the run at once (``tripped``): once the kernel has refused a
    fork at the atom's pids limit its verdict is settled, and a fork bomb left running until the
    timeout slows its neighbours (measured: it held a sibling's OOM kill back for its whole 4 s
    under the warm zygote)."""
    (out, out_t), (err, err_t) = await _pipe_reader(out_r), await _pipe_reader(err_r)
    tails = (_Tail(tail_bytes), _Tail(tail_bytes))
    overflow = asyncio.Event()

    def kill() -> None:
        _killpg(pgid)
        if extra_kill is not None:
            extra_kill()

    async def pump(stream: asyncio.StreamReader, tail: _Tail) -> None:
        while chunk := await stream.read(CHUNK_BYTES):
            tail.add(chunk)
            if tails[0].total + tails[1].total > max_output_bytes:
                overflow.set()
                return

    pumps = asyncio.gather(pump(out, tails[0]), pump(err, tails[1]))
    waiter = asyncio.ensure_future(wait)
    overflowed = asyncio.ensure_future(overflow.wait())
    watchers = {waiter, overflowed}
    tripped = asyncio.ensure_future(_trips(tripwire)) if tripwire is not None else None
    if tripped is not None:
        watchers.add(tripped)
    run = ProcessRun(None, 0.0, b"", b"", 0, 0)
    try:
        done, _ = await asyncio.wait(
            watchers, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if overflowed in done or overflow.is_set():
            run.output_exceeded = True
        elif tripped is not None and tripped in done and waiter not in done:
            run.tripped = True
        elif waiter not in done:
            run.timed_out = True
    finally:
        kill()  # also sweeps up descendants of a process that exited on its own
        overflowed.cancel()
        if tripped is not None:
            tripped.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), REAP_GRACE_SECONDS)
        except TimeoutError:
            run.notes.append("the process could not be reaped after SIGKILL")
            waiter.cancel()
        try:
            await asyncio.wait_for(pumps, DRAIN_GRACE_SECONDS)
        except TimeoutError:
            run.notes.append("output pipes stayed open after the process ended")
        out_t.close()
        err_t.close()
    run.returncode = returncode()
    run.duration_s = time.monotonic() - start
    run.stdout_tail, run.stderr_tail = bytes(tails[0].buf), bytes(tails[1].buf)
    run.stdout_bytes, run.stderr_bytes = tails[0].total, tails[1].total
    return run
