"""Where the control-plane binaries come from: hack/k8s-bins/build.sh (cached per version)."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = REPO_ROOT / "hack" / "k8s-bins" / "build.sh"

BIN_DIR_ENV = "MGE_K8S_BIN_DIR"
"""If set, use the binaries in this directory and never run the build script."""

BUILD_TIMEOUT_SECONDS = 60 * 60
"""Upper bound on a cold build (about 6 min measured on 2 idle cores)."""

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
KWOK_LOGS_CRD = Path("kwok-crds") / "kwok.x-k8s.io_logs.yaml"


class BinariesError(RuntimeError):
    """The binaries are missing and could not be built."""


@dataclass(frozen=True)
class Binaries:
    """A directory holding every component binary plus kwok's Logs CRD."""

    directory: Path

    def __getitem__(self, component: str) -> Path:
        return self.directory / component

    @property
    def kwok_logs_crd(self) -> Path:
        """The CustomResourceDefinition of kwok's per-pod ``Logs`` objects."""
        return self.directory / KWOK_LOGS_CRD

    def check(self) -> Binaries:
        """Raise BinariesError unless every binary is an executable file."""
        missing = [c for c in COMPONENTS if not os.access(self[c], os.X_OK)]
        if not self.kwok_logs_crd.is_file():
            missing.append(str(KWOK_LOGS_CRD))
        if missing:
            raise BinariesError(f"missing in {self.directory}: {', '.join(missing)}")
        return self


def build_binaries(log: Path | None = None) -> Binaries:
    """Run the build script (a no-op on a cache hit) and return its bin dir.

    The script's progress goes to ``log`` if given, else to this process's stderr.
    """
    started = time.monotonic()
    sink = None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        sink = log.open("ab")
    try:
        result = subprocess.run(
            ["bash", str(BUILD_SCRIPT)],
            stdout=subprocess.PIPE,
            stderr=sink,
            check=False,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
    finally:
        if sink is not None:
            sink.close()
    if result.returncode != 0:
        where = f"; see {log}" if log is not None else ""
        raise BinariesError(f"{BUILD_SCRIPT} failed with code {result.returncode}{where}")
    lines = result.stdout.decode().strip().splitlines()
    if not lines:
        raise BinariesError(f"{BUILD_SCRIPT} printed no bin dir")
    binaries = Binaries(Path(lines[-1])).check()
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"build_binaries: {time.monotonic() - started:.1f} s\n")
    return binaries


def find_binaries(log: Path | None = None) -> Binaries:
    """``$MGE_K8S_BIN_DIR`` if set (checked, never built), else the build script's output."""
    preset = os.environ.get(BIN_DIR_ENV)
    if preset:
        return Binaries(Path(preset)).check()
    return build_binaries(log)
