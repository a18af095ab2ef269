"""Child processes of the control plane: start in their own process group, log to a file,
stop the whole group (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

STOP_GRACE_SECONDS = 10.0
"""How long a component gets to exit after SIGTERM before its process group is killed."""

LOG_TAIL_BYTES = 4000
"""How much of a component's log a start-up error quotes."""


class ProcessError(RuntimeError):
    """A component exited early or did not become healthy."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, limit: int = LOG_TAIL_BYTES) -> str:
    """The last ``limit`` bytes of a log file, or a note that it is missing."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"


class ManagedProcess:
    """One component: a command whose stdout and stderr go to ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id (also the process group id), or None before start."""
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        """Start the command in a new session so that stop() can signal its whole group."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(self.argv)}\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
            )

    def poll(self) -> int | None:
        """Exit code if the process has exited, else None."""
        return self._popen.poll() if self._popen else None

    def check_alive(self) -> None:
        """Raise ProcessError, quoting the log, if the process has exited."""
        code = self.poll()
        if code is not None:
            raise ProcessError(
                f"{self.name} exited with code {code}; log {self.log_path}:\n"
                f"{log_tail(self.log_path)}"
            )

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the process group, wait up to ``grace`` seconds, then SIGKILL it."""
        popen = self._popen
        if popen is None:
            return
        if popen.poll() is None:
            _signal_group(popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=grace)
        # Children of the component may outlive it; the group id is the leader's pid.
        _signal_group(popen.pid, signal.SIGKILL)
        if popen.poll() is None:
            popen.wait(timeout=grace)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def wait_until(
    condition_name: str,
    probe: Callable[[], bool],
    timeout: float,
    watched: Sequence[ManagedProcess] = (),
    interval: float = 0.2,
) -> None:
    """Call ``probe()`` until it returns True; fail early if a watched process exits.

    ``probe`` may raise: that counts as "not yet". On timeout the last exception is reported.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        for process in watched:
            process.check_alive()
        try:
            if probe():
                return
            last_error = None
        except Exception as error:  # any failure means "not ready yet"
            last_error = error
        if time.monotonic() >= deadline:
            detail = f": last error {last_error!r}" if last_error else ""
            raise ProcessError(
                f"timed out after {timeout:.0f} s waiting for {condition_name}{detail}"
            )
        time.sleep(interval)
