"""Isolation wrappers: the argv put in front of an atom's (rlimited) command.

Four kinds, strongest first:

``bwrap``
    bubblewrap: new user, pid, net, ipc, uts and cgroup namespaces; an empty read-only root
    with read-only /usr (and the interpreter's folders); the atom folder as the only writable
    host path, a size-limited tmpfs /tmp; a fresh /proc whose /proc/sys is read-only (as root,
    the sandbox's uid maps to host uid 0, which may write global sysctls otherwise — measured);
    no /etc, no HOME, uid 65534 inside, nested user namespaces disabled.
``unshare``
    util-linux unshare: new net, pid, ipc, uts and mount namespaces (own /proc, read-only
    /proc/sys), all capabilities dropped with setpriv, ``no_new_privs``. The host file system
    stays visible with the runner's uid: the fallback when bubblewrap is missing.
``pod``
    no wrapper: the Kubernetes pod is the isolation (restricted securityContext, no network, no
    secrets, read-only root). The runner still applies rlimits, timeouts and output caps.
``none``
    like ``pod`` on a machine that is not a pod: generated code runs UNSANDBOXED. Only on
    explicit request, and announced loudly.

Everything here except :func:`host_root_entries` is pure and builds argv lists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

IsolationChoice = Literal["auto", "bwrap", "unshare", "pod", "unsandboxed"]

SANDBOX_WORKDIR = "/sandbox"
"""Where the atom folder appears inside bubblewrap."""
SANDBOX_UID = 65534
"""uid/gid inside bubblewrap (nobody)."""
ROOT_ENTRIES = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
"""Top-level host entries mirrored into the bubblewrap root: symlinks stay symlinks (merged-/usr
systems), real folders are mounted read-only."""
PROC_COVERS = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/pressure")
"""procfs entries made read-only inside bubblewrap."""
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
UNSHARE_SETUP = (
    "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys /proc/sys && "
    'exec setpriv --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"'
)
"""Runs as the new namespace's first process: read-only /proc/sys, then drop every capability."""


class IsolationKind(StrEnum):
    """What isolates atoms from the host (see the module docstring)."""

    BWRAP = "bwrap"
    UNSHARE = "unshare"
    POD = "pod"
    NONE = "none"


@dataclass(frozen=True)
class RootEntry:
    """A top-level host entry to mirror into the bubblewrap root."""

    path: str
    symlink_target: str | None
    """The link target when the host entry is a symlink; None for a real folder."""


def host_root_entries(names: Sequence[str] = ROOT_ENTRIES) -> list[RootEntry]:
    """Which of ``names`` exist on this host, and whether each is a symlink (I/O)."""
    out = []
    for name in names:
        if os.path.islink(name):
            out.append(RootEntry(name, os.readlink(name)))
        elif os.path.isdir(name):
            out.append(RootEntry(name, None))
    return out


def bwrap_argv(
    bwrap: str,
    *,
    host_workdir: str,
    read_only_paths: Sequence[str],
    root_entries: Sequence[RootEntry],
    env: Mapping[str, str],
    tmp_size_bytes: int,
) -> list[str]:
    """The bubblewrap prefix for one atom; the atom folder appears at :data:`SANDBOX_WORKDIR`."""
    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for entry in root_entries:
        if entry.symlink_target is not None:
            argv += ["--symlink", entry.symlink_target, entry.path]
        else:
            argv += ["--ro-bind", entry.path, entry.path]
    # The fresh /tmp comes before the read-only binds: a toolchain that lives under /tmp (a
    # virtualenv in a CI checkout there) must stay visible, not be hidden by the tmpfs.
    argv += ["--size", str(tmp_size_bytes), "--tmpfs", "/tmp"]
    for path in read_only_paths:
        argv += ["--ro-bind", path, path]
    argv += ["--proc", "/proc"]
    for cover in PROC_COVERS:
        argv += ["--ro-bind-try", cover, cover]
    argv += [
        "--dev",
        "/dev",
        "--bind",
        host_workdir,
        SANDBOX_WORKDIR,
        "--remount-ro",
        "/",
        "--chdir",
        SANDBOX_WORKDIR,
        "--clearenv",
    ]
    for key in sorted(env):
        argv += ["--setenv", key, env[key]]
    argv.append("--")
    return argv


def unshare_argv(unshare: str, *, as_root: bool) -> list[str]:
    """The unshare prefix: new namespaces, read-only /proc/sys, no capabilities.

    Without root, a user namespace (mapped to the caller) is needed to create the others; it also
    makes RLIMIT_NPROC count this atom's processes only.
    """
    argv = [unshare]
    if not as_root:
        argv += ["--user", "--map-root-user"]
    argv += [
        "--net",
        "--ipc",
        "--uts",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount",
        "--propagation",
        "private",
        "--mount-proc",
        "--",
        "/bin/sh",
        "-c",
        UNSHARE_SETUP,
        "sh",
    ]
    return argv


def sandbox_env(
    *,
    workdir: str,
    tmpdir: str,
    toolchain_env: Mapping[str, str],
    batch_env: Mapping[str, str],
    path_dirs: Sequence[str] = (),
) -> dict[str, str]:
    """The whole environment an atom sees: built from nothing, never copied from the runner.

    No HOME, no credentials, a minimal PATH; deterministic hashing and no bytecode files.
    """
    env = {
        "PATH": ":".join([*path_dirs, SANDBOX_PATH]),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": tmpdir,
        "PYTHONPATH": workdir,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
        "CI": "1",
    }
    env.update(toolchain_env)
    env.update(batch_env)
    return env


LAUNCHER_ENV = {"PATH": SANDBOX_PATH, "LANG": "C.UTF-8"}
"""The environment of the wrapper processes themselves (bwrap, unshare). bubblewrap's pid-1
reaper keeps its own environment, which the sandbox can read in /proc/1/environ — so the wrappers
must never inherit the runner's (measured: it held the runner's variables)."""
