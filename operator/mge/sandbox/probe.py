"""Find out which isolation this host can give, by trying it (I/O), and choose one (pure).

A probe runs the real wrapper with a trivial command — for bubblewrap, the runner's own Python
with every read-only mount an atom will get — so "available" means "works here", not "installed".
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass

from mge.errors import SandboxError, SandboxUnavailable
from mge.sandbox.cgroups import CgroupSupport, detect_cgroups
from mge.sandbox.isolation import (
    LAUNCHER_ENV,
    IsolationChoice,
    IsolationKind,
    bwrap_argv,
    host_root_entries,
    unshare_argv,
)
from mge.sandbox.threats import Containment, Threat, containment
from mge.sandbox.toolchains import javascript_toolchain, python_toolchain

PROBE_TIMEOUT_SECONDS = 20.0
PROBE_TMP_BYTES = 1024 * 1024
UNSANDBOXED_WARNING = (
    "UNSANDBOXED: generated code runs with resource limits but WITHOUT isolation — it can use the "
    "network and read and write whatever this user can"
)


@dataclass(frozen=True)
class Probe:
    """One capability: found where, working or not, and why not."""

    ok: bool
    path: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class HostReport:
    """What this host offers the sandbox."""

    root: bool
    prlimit: Probe
    bwrap: Probe
    unshare: Probe
    cgroups: CgroupSupport | None
    python: Probe
    node: Probe

    def matrix(self, kind: IsolationKind) -> dict[Threat, Containment]:
        """The threat matrix for ``kind`` on this host."""
        controllers = self.cgroups.controllers if self.cgroups else []
        return containment(
            kind,
            root=self.root,
            cgroup_pids="pids" in controllers,
            cgroup_memory="memory" in controllers,
        )


async def _try(argv: list[str], cwd: str) -> Probe:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=LAUNCHER_ENV,
            cwd=cwd,
            start_new_session=True,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), PROBE_TIMEOUT_SECONDS)
    except (OSError, TimeoutError) as e:
        return Probe(False, argv[0], f"{type(e).__name__}: {e}")
    if proc.returncode != 0:
        text = out.decode(errors="replace").strip()[-300:]
        return Probe(False, argv[0], f"exit {proc.returncode}: {text}")
    return Probe(True, argv[0])


async def probe_bwrap(workdir: str) -> Probe:
    """Run the runner's Python under the exact bubblewrap setup atoms get."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Probe(False, None, "bwrap not found (apt-get install bubblewrap)")
    try:
        paths = python_toolchain().read_only_paths
    except SandboxError as e:
        return Probe(False, bwrap, str(e))
    argv = bwrap_argv(
        bwrap,
        host_workdir=workdir,
        read_only_paths=paths,
        root_entries=host_root_entries(),
        env=LAUNCHER_ENV,
        tmp_size_bytes=PROBE_TMP_BYTES,
    )
    return await _try([*argv, sys.executable, "-c", "pass"], workdir)


async def probe_unshare(workdir: str) -> Probe:
    """Create the namespaces the unshare fallback uses and run /bin/true in them."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return Probe(False, None, "unshare not found (util-linux)")
    if shutil.which("setpriv") is None:
        return Probe(False, unshare, "setpriv not found (util-linux)")
    return await _try([*unshare_argv(unshare, as_root=os.geteuid() == 0), "/bin/true"], workdir)


def _toolchain_probe(language: str) -> Probe:
    try:
        tc = python_toolchain() if language == "python" else javascript_toolchain()
    except SandboxError as e:
        return Probe(False, None, str(e))
    return Probe(True, next(iter(tc.programs.values())))


NOT_PROBED = Probe(False, None, "not probed")


async def probe_host(for_choice: IsolationChoice | None = None) -> HostReport:
    """Probe this host. With ``for_choice``, only what that choice needs: ``auto`` tries
    unshare only when bubblewrap fails, ``pod`` and ``unsandboxed`` no wrapper at all."""
    prlimit = shutil.which("prlimit")
    want_bwrap = for_choice in (None, "auto", "bwrap")
    want_unshare = for_choice in (None, "auto", "unshare")
    bwrap = unshare = NOT_PROBED
    with tempfile.TemporaryDirectory(prefix="mge-probe-") as tmp:
        if for_choice is None:
            bwrap, unshare = await asyncio.gather(probe_bwrap(tmp), probe_unshare(tmp))
        else:
            if want_bwrap:
                bwrap = await probe_bwrap(tmp)
            if want_unshare and not (for_choice == "auto" and bwrap.ok):
                unshare = await probe_unshare(tmp)
    return HostReport(
        root=os.geteuid() == 0,
        prlimit=Probe(prlimit is not None, prlimit, "" if prlimit else "prlimit not found"),
        bwrap=bwrap,
        unshare=unshare,
        cgroups=detect_cgroups(),
        python=_toolchain_probe("python"),
        node=_toolchain_probe("javascript"),
    )


def choose_isolation(choice: IsolationChoice, host: HostReport) -> tuple[IsolationKind, list[str]]:
    """The isolation to use for ``choice`` on ``host``, and warnings to show (pure).

    ``auto`` takes bubblewrap, then unshare, and otherwise refuses: running generated code
    without isolation must be asked for by name (``unsandboxed``).
    """
    if not host.prlimit.ok:
        raise SandboxUnavailable("prlimit (util-linux) is needed to apply resource limits")
    if choice == "pod":
        return IsolationKind.POD, []
    if choice == "unsandboxed":
        return IsolationKind.NONE, [UNSANDBOXED_WARNING]
    if choice in ("auto", "bwrap") and host.bwrap.ok:
        return IsolationKind.BWRAP, []
    if choice in ("auto", "unshare") and host.unshare.ok:
        warn = [] if choice == "unshare" else [f"bubblewrap unavailable ({host.bwrap.reason})"]
        warn.append("unshare isolation: the host file system stays visible to generated code")
        return IsolationKind.UNSHARE, warn
    tried = {
        "auto": [("bwrap", host.bwrap), ("unshare", host.unshare)],
        "bwrap": [("bwrap", host.bwrap)],
        "unshare": [("unshare", host.unshare)],
    }[choice]
    reasons = "; ".join(f"{name}: {p.reason}" for name, p in tried)
    raise SandboxUnavailable(
        f"no sandbox isolation available ({reasons}). Install bubblewrap, or run generated code "
        "WITHOUT isolation by choosing it explicitly: --isolation unsandboxed "
        "(setting sandbox: unsandboxed / MGE_SANDBOX=unsandboxed)"
    )
