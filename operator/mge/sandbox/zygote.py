"""A warm interpreter for a batch: imports pytest once, then forks one child per atom.

Started by the runner (:mod:`mge.sandbox.warm`) as ``python -s -c <bootstrap>`` that runs this
file by path, so it imports nothing from mge and its children see the interpreter's own
``sys.path`` only. It talks to the runner over one ``SOCK_SEQPACKET`` socket (fd given as the
only argument), one JSON document per message:

runner → zygote
    ``{"id", "cwd", "env", "rlimits", "cgroupProcs"}`` and either ``"args"`` (run
    ``pytest.main(args)``, as ``python -m pytest args``) or ``"script"`` (run it as
    ``python -c script`` would), with two file descriptors attached (the atom's stdout and
    stderr pipes).
zygote → runner
    ``{"ready": true}`` once pytest is imported; ``{"id", "pid"}`` when an atom's child is
    forked; ``{"id", "status"}`` (a wait status) when it has ended.

Each child, before any of the atom's code runs: becomes its own process group (the runner
kills it with ``killpg``), joins the atom's cgroups, takes its pipes as stdout/stderr and
``/dev/null`` as stdin, closes every other descriptor (the socket included), becomes a child
subreaper (an orphan of the atom stays in the atom's process tree, which the runner may count),
sets the atom's rlimits (and, given ``"dataBudget"``, RLIMIT_DATA at what it holds plus that),
moves into the atom's folder, replaces the whole environment with the atom's, puts the folder
first on ``sys.path`` (as ``python -m pytest`` or ``python -c`` would) and runs the
atom's pytest arguments or script. The zygote itself never runs an atom's code, so each
atom starts from the same untouched interpreter: nothing one atom imports, patches or sets can
reach the next.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import resource
import select
import signal
import socket
import sys
import traceback
import types
from typing import Any

MAX_MESSAGE = 1 << 20
"""Largest request (the atom's environment and arguments, a few KB in practice)."""
CHILD_SETUP_FAILED = 70
"""Exit status of a child whose set-up failed before pytest ran (EX_SOFTWARE)."""
RLIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "nproc": resource.RLIMIT_NPROC,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
}
"""Request keys → rlimits; each value is ``[soft, hard]``."""
PR_SET_CHILD_SUBREAPER = 36


WARM_MODULES = ("_pytest._argcomplete", "faulthandler", "pdb")
"""Modules every pytest run imports late (measured), imported ahead too."""


def _warm() -> None:
    """Import pytest and every plugin it loads by default (what a fresh run spends most on),
    then freeze the heap: the garbage collector pytest runs at the end of a session (twice)
    skips the zygote's objects instead of walking them in every child (measured: ~45 ms)."""
    import pytest  # noqa: F401
    from _pytest.config import default_plugins

    for name in (*(f"_pytest.{p}" for p in default_plugins), *WARM_MODULES):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    gc.collect()
    gc.freeze()


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode())


def _exit_code(e: SystemExit) -> int:
    """The status ``python`` itself exits with for ``SystemExit(e.code)``."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)
    return 1


def _run_pytest(args: list[str]) -> int:
    """``python -m pytest ARGS``: the folder first on ``sys.path``, as ``-m`` puts it."""
    import pytest

    sys.path.insert(0, os.getcwd())
    sys.argv = [os.path.join(os.path.dirname(pytest.__file__), "__main__.py"), *args]
    return int(pytest.main(args))


def _run_script(script: str) -> int:
    """``python -c SCRIPT``: a fresh ``__main__``, the folder ('') first on ``sys.path``."""
    sys.path.insert(0, "")
    sys.argv = ["-c"]
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    try:
        exec(compile(script, "<string>", "exec"), main.__dict__)
    except SystemExit as e:
        return _exit_code(e)
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _become_subreaper() -> None:
    """Orphans of this process's descendants re-parent to it, not to the pod's pid 1."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _data_now() -> int:
    """This process's private writable memory (VmData) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmData in /proc/self/status")


def _child(request: dict[str, Any], out_fd: int, err_fd: int) -> None:
    """Become the atom's run; never returns."""
    code = CHILD_SETUP_FAILED
    try:
        os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for procs in request["cgroupProcs"]:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        _become_subreaper()
        for key, (soft, hard) in request["rlimits"].items():
            resource.setrlimit(RLIMITS[key], (soft, hard))
        budget = request.get("dataBudget")
        if budget is not None:
            data = _data_now() + int(budget)
            resource.setrlimit(resource.RLIMIT_DATA, (data, data))
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if "script" in request:
            code = _run_script(str(request["script"]))
        else:
            code = _run_pytest(list(request["args"]))
    except SystemExit as e:
        code = _exit_code(e)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(sock: socket.socket) -> None:
    """Fork a child per request until the runner closes the socket; report each child's end."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    running: dict[int, Any] = {}
    _send(sock, {"ready": True})
    while True:
        readable, _, _ = select.select([sock.fileno(), wake_r], [], [])
        if wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_r, 512):
                    pass
        if sock.fileno() in readable:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 2)
            if not data:
                for fd in fds:
                    os.close(fd)
                return
            request = json.loads(data)
            out_fd, err_fd = fds
            pid = os.fork()
            if pid == 0:
                _child(request, out_fd, err_fd)
            with contextlib.suppress(OSError):  # the child may have done it (or died) already
                os.setpgid(pid, pid)
            os.close(out_fd)
            os.close(err_fd)
            running[pid] = request["id"]
            _send(sock, {"id": request["id"], "pid": pid})
            del request
        while running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in running:
                _send(sock, {"id": running.pop(pid), "status": status})


def main(argv: list[str]) -> None:
    """``zygote.py FD``: serve the runner on socket ``FD``."""
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    _warm()
    sock = socket.socket(fileno=int(argv[1]))
    sock.setblocking(True)
    serve(sock)


if __name__ == "__main__":
    main(sys.argv)
