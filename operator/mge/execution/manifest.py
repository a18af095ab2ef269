"""The package manifest of an output folder, so it installs and tests like any project of its
ecosystem: ``pip install -e '.[test]'`` then ``python -m pytest``. Pure.

For Python the manifest is a ``pyproject.toml`` whose packages are the folder's own top-level
packages (``src/`` layout too) and whose dependencies are the third-party modules the code
imports: found with :mod:`ast`, less the standard library and the folder's own modules,
mapped from module to distribution name through the distributions installed beside MGE (so
``yaml`` becomes ``pyyaml``), with the tests' imports as the ``test`` extra. A manifest the
skeleton already carries is kept as it is.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from pathlib import PurePosixPath

PYPROJECT = "pyproject.toml"
BUILD_REQUIRES = "setuptools>=69"
"""The build backend a fresh environment fetches to install the folder."""
TEST_RUNNER = "pytest"
"""Always in the ``test`` extra: the README's test command runs it."""
REQUIRES_PYTHON = ">=3.11"
"""What generated code may assume (the version MGE validates it with)."""


IMPLIED_NEEDS: dict[str, str] = {
    "fastapi.testclient": "httpx",
    "starlette.testclient": "httpx",
}
"""Modules that need a distribution their own package does not require (an optional
dependency they import at run time): importing the key adds the value to the manifest. Found by
the readiness install check (a fresh environment without httpx cannot import the test client)."""


@cache
def _distributions() -> dict[str, str]:
    """Top-level module → distribution name, from what is installed beside MGE."""
    found: dict[str, str] = {}
    for module, dists in metadata.packages_distributions().items():
        if dists:
            found[module] = dists[0]
    return found


def distribution_of(module: str) -> str:
    """The distribution that provides top-level ``module`` (the module name when unknown)."""
    return _distributions().get(module, module)


def imported_modules(source: str) -> set[str]:
    """Top-level names of the absolute imports in ``source`` (none when it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def is_test_path(path: str) -> bool:
    """True for a file of the tests (under ``tests``/``test``, or ``test_*``)."""
    p = PurePosixPath(path)
    return "tests" in p.parts or "test" in p.parts or p.name.startswith("test_")


def _own_modules(paths: Iterable[str]) -> tuple[set[str], str | None]:
    """The folder's own top-level modules, and ``src`` when it uses the src layout."""
    own: set[str] = set()
    src = None
    for path in paths:
        parts = PurePosixPath(path).parts
        if parts and parts[0] == "src" and len(parts) > 1:
            src = "src"
            parts = parts[1:]
        if parts and parts[-1].endswith(".py"):
            own.add(parts[0].removesuffix(".py"))
    return own, src


def own_modules(paths: Iterable[str]) -> set[str]:
    """The folder's own top-level module names (``src/`` layout too)."""
    return _own_modules(paths)[0]


def implied_distributions(source: str) -> set[str]:
    """Distributions :data:`IMPLIED_NEEDS` adds for the imports of ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        found |= {IMPLIED_NEEDS[n] for n in names if n in IMPLIED_NEEDS}
    return found


def _third_party(sources: Iterable[str], own: set[str]) -> list[str]:
    modules: set[str] = set()
    implied: set[str] = set()
    for source in sources:
        modules |= imported_modules(source)
        implied |= implied_distributions(source)
    modules -= own | set(sys.stdlib_module_names) | {"__future__"}
    return sorted({distribution_of(m) for m in modules} | implied, key=str.lower)


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def project_name(project: str) -> str:
    """A distribution name from the project's key (``namespace/name`` or ``name``)."""
    name = project.rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "generated"


def python_manifest(files: Mapping[str, str], project: str) -> str:
    """The ``pyproject.toml`` of a Python output folder."""
    py = {p: t for p, t in files.items() if p.endswith(".py")}
    own, src = _own_modules(p for p in py if not is_test_path(p))
    packages = sorted(m for m in own if any(p.endswith(f"{m}/__init__.py") for p in py))
    runtime = _third_party((t for p, t in py.items() if not is_test_path(p)), own)
    tests_own, _ = _own_modules(py)
    testing = _third_party((t for p, t in py.items() if is_test_path(p)), own | tests_own)
    test_extra = sorted({TEST_RUNNER, *(d for d in testing if d not in runtime)}, key=str.lower)
    find = f'where = ["{src}"]\n' if src else ""
    include = [f"{p}*" for p in packages]
    lines = [
        "# Written by MGE: the packages are this folder's own; the dependencies are the",
        "# third-party modules its code imports. Install and test with",
        "#   pip install -e '.[test]' && python -m pytest -q",
        "[build-system]",
        f'requires = ["{BUILD_REQUIRES}"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f'name = "{project_name(project)}"',
        'version = "0.1.0"',
        f'requires-python = "{REQUIRES_PYTHON}"',
        f"dependencies = {_toml_list(runtime)}",
        "",
        "[project.optional-dependencies]",
        f"test = {_toml_list(test_extra)}",
        "",
        "[tool.setuptools.packages.find]",
        f"{find}include = {_toml_list(include)}",
    ]
    if any(PurePosixPath(p).parts[0] == "tests" for p in py):
        lines += ["", "[tool.pytest.ini_options]", 'testpaths = ["tests"]']
    return "\n".join(lines) + "\n"


def with_manifest(files: Mapping[str, str], project: str, language: str) -> dict[str, str]:
    """``files`` plus the ecosystem's manifest when they carry none (Python only for now)."""
    out = dict(files)
    if language == "python" and PYPROJECT not in out:
        out[PYPROJECT] = python_manifest(files, project)
    return out
