"""An output folder as a project of its own: a fresh venv with no MGE installs it with the
dependencies its manifest declares, and its suite passes there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def assert_installs_and_passes(out: Path, scratch: Path, passed: int) -> None:
    """Install ``out`` (``pip install -e .[test]``) into a new venv under ``scratch`` and run
    its tests from outside the folder, so the package is imported as installed."""
    venv = scratch / "fresh-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = str(venv / "bin" / "python")
    install = subprocess.run(
        [py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", ".[test]"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    config = out / "pyproject.toml"
    fresh = subprocess.run(
        [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(config), str(out)],
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fresh.returncode == 0 and f"{passed} passed" in fresh.stdout, fresh.stdout[-2000:]
