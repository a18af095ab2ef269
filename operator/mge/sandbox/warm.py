"""The runner's side of the warm zygote (:mod:`mge.sandbox.zygote`): one per batch.

Where the isolation is the pod itself (``pod``) or nothing (``unsandboxed``), an atom's test run
needs no wrapper process of its own, so a batch's pytest runs can fork from one interpreter that
imported pytest once instead of each starting Python and importing pytest anew (measured: most
of a small atom's run; docs/sandbox.md). Under bubblewrap or unshare every atom needs its own
namespaces, mounts and pid 1, which only a fresh wrapper gives: there the runner keeps one
process per atom.

Each child keeps everything a cold run has: its own folder, environment, rlimits (set with
``setrlimit`` in the child instead of by ``prlimit``), cgroup, process group, wall-clock limit
and output cap — the last two applied here by :func:`~mge.sandbox.process.supervise`, exactly
as for a cold run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mge.errors import SandboxError
from mge.models.sandbox import TAIL_BYTES
from mge.sandbox.limits import CPU_HARD_GRACE_SECONDS, ResourceLimits
from mge.sandbox.process import ProcessRun, supervise

ZYGOTE_PATH = Path(__file__).with_name("zygote.py")
BOOTSTRAP = (
    "import runpy, sys; sys.argv = [{path!r}, sys.argv[1]]; "
    "runpy.run_path({path!r}, run_name='__main__')"
)
"""``python -s -c`` program that runs zygote.py by path (no mge on its path, no package)."""
START_TIMEOUT_SECONDS = 60.0
"""How long the zygote may take to import pytest on a loaded machine."""
MAX_MESSAGE = 1 << 16
SEND_RETRY_SECONDS = 0.005


def rlimit_request(limits: ResourceLimits) -> dict[str, list[int]]:
    """The rlimits a child sets on itself, as the zygote reads them (the same as prlimit's)."""
    return {
        "cpu": [limits.cpu_seconds, limits.cpu_seconds + CPU_HARD_GRACE_SECONDS],
        "as": [limits.address_space_bytes] * 2,
        "nproc": [limits.processes] * 2,
        "fsize": [limits.file_size_bytes] * 2,
        "nofile": [limits.open_files] * 2,
        "core": [0, 0],
    }


PYTHON_NAMES = ("python", "python3")
"""Logical program names the Python toolchain resolves to its interpreter."""


def warm_script(command: Sequence[str] | None) -> str | None:
    """The script of an explicit ``python -s -c SCRIPT`` command (the validation driver's
    shape), which a zygote child can run as ``python -c`` would; None for anything else."""
    if command is None or len(command) != 4:
        return None
    program, flag, dash_c, script = command
    if program in PYTHON_NAMES and flag == "-s" and dash_c == "-c":
        return script
    return None


def pytest_args(argv: Sequence[str]) -> list[str]:
    """The arguments after ``-m pytest`` in a toolchain's pytest argv."""
    for i in range(len(argv) - 1):
        if argv[i] == "-m" and argv[i + 1] == "pytest":
            return list(argv[i + 2 :])
    raise SandboxError(f"not a pytest command, cannot run it warm: {list(argv)[:4]}")


class Zygote:
    """A started zygote: send it atoms with :meth:`run`, stop it with :meth:`close`."""

    def __init__(self, proc: asyncio.subprocess.Process, sock: socket.socket) -> None:
        self._proc = proc
        self._sock = sock
        self._next_id = 0
        self._started: dict[int, asyncio.Future[int]] = {}
        self._ended: dict[int, asyncio.Future[int | None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._dead = ""

    @property
    def alive(self) -> bool:
        """False once the zygote has ended (an atom may kill it: same uid); atoms then run cold."""
        return not self._dead

    @property
    def pid(self) -> int:
        """The zygote's own process id."""
        return self._proc.pid

    @classmethod
    async def start(cls, python: str, env: Mapping[str, str], cwd: Path) -> Zygote:
        """Start one, wait until pytest is imported (SandboxError when it cannot start)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            proc = await asyncio.create_subprocess_exec(
                python,
                "-s",
                "-c",
                BOOTSTRAP.format(path=str(ZYGOTE_PATH)),
                str(theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=dict(env),
                cwd=str(cwd),
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        zygote = cls(proc, ours)
        loop = asyncio.get_running_loop()
        try:
            first = await asyncio.wait_for(loop.sock_recv(ours, MAX_MESSAGE), START_TIMEOUT_SECONDS)
        except TimeoutError:
            first = b""
        if not first or not json.loads(first).get("ready"):
            await zygote.close()
            err = b""
            if proc.stderr is not None:
                with contextlib.suppress(Exception):
                    err = await asyncio.wait_for(proc.stderr.read(4096), 1.0)
            raise SandboxError(
                f"the warm interpreter did not start: {err.decode(errors='replace')}"
            )
        zygote._reader = asyncio.create_task(zygote._read())
        return zygote

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await loop.sock_recv(self._sock, MAX_MESSAGE):
                message: dict[str, Any] = json.loads(data)
                ident = int(message["id"])
                if "pid" in message:
                    fut = self._started.pop(ident, None)
                    if fut is not None and not fut.done():
                        fut.set_result(int(message["pid"]))
                elif "status" in message:
                    ended = self._ended.pop(ident, None)
                    if ended is not None and not ended.done():
                        ended.set_result(os.waitstatus_to_exitcode(int(message["status"])))
        except OSError as e:
            self._dead = f"lost the warm interpreter: {e}"
        finally:
            self._dead = self._dead or "the warm interpreter ended"
            for started in self._started.values():
                if not started.done():
                    started.set_exception(SandboxError(self._dead))
            for ended in self._ended.values():
                if not ended.done():
                    ended.set_result(None)
            self._started.clear()
            self._ended.clear()

    async def _send(self, message: dict[str, Any], fds: Sequence[int]) -> None:
        data = json.dumps(message).encode()
        while True:
            try:
                socket.send_fds(self._sock, [data], list(fds))
                return
            except BlockingIOError:
                await asyncio.sleep(SEND_RETRY_SECONDS)

    async def run(
        self,
        args: Sequence[str] | None = None,
        *,
        script: str | None = None,
        cwd: Path,
        env: Mapping[str, str],
        limits: ResourceLimits,
        cgroup_procs: Sequence[Path],
        timeout_s: float,
        max_output_bytes: int,
        extra_kill: Callable[[], None] | None = None,
        tripwire: Callable[[], bool] | None = None,
        on_start: Callable[[int], None] | None = None,
        tail_bytes: int = TAIL_BYTES,
    ) -> ProcessRun:
        """Run ``pytest args`` (or ``script``, as ``python -c``) for one atom in a fresh child;
        the same record as a cold run."""
        if self._dead:
            raise SandboxError(self._dead)
        start = time.monotonic()
        loop = asyncio.get_running_loop()
        ident = self._next_id
        self._next_id += 1
        started: asyncio.Future[int] = loop.create_future()
        ended: asyncio.Future[int | None] = loop.create_future()
        self._started[ident] = started
        self._ended[ident] = ended
        (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
        request: dict[str, Any] = {
            "id": ident,
            "cwd": str(cwd),
            "env": dict(env),
            "rlimits": rlimit_request(limits),
            "cgroupProcs": [str(p) for p in cgroup_procs],
        }
        if limits.data_budget_bytes is not None:
            request["dataBudget"] = limits.data_budget_bytes
        if script is not None:
            request["script"] = script
        else:
            request["args"] = list(args or ())
        try:
            await self._send(request, (out_w, err_w))
            pid = await started
        except BaseException:
            self._started.pop(ident, None)
            self._ended.pop(ident, None)
            os.close(out_r)
            os.close(err_r)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        if on_start is not None:
            on_start(pid)
        run = await supervise(
            ended,
            lambda: ended.result() if ended.done() else None,
            pgid=pid,
            out_r=out_r,
            err_r=err_r,
            timeout_s=timeout_s,
            max_output_bytes=max_output_bytes,
            extra_kill=extra_kill,
            tripwire=tripwire,
            tail_bytes=tail_bytes,
            start=start,
        )
        if run.returncode is None and self._dead:
            run.notes.append(f"{self._dead} during this run; its status is unknown")
        return run

    async def close(self) -> None:
        """Stop the zygote (it exits when its socket closes; killed if it does not)."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        try:
            await asyncio.wait_for(self._proc.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()


def zygote_python() -> str:
    """The interpreter the zygote runs on: the runner's own (the Python toolchain's)."""
    return sys.executable
