"""The package manifest of an output folder, so it installs and tests like any project of its
ecosystem: ``pip install -e '.[test]'`` then ``python -m pytest``. Pure.

For Python the manifest is a ``pyproject.toml`` whose packages are the folder's own top-level
packages (``src/`` layout too) and whose dependencies are the third-party modules the code
imports: found with :mod:`ast`, less the standard library and the folder's own modules,
mapped from module to distribution name through the distributions installed beside MGE (so
``yaml`` becomes ``pyyaml``), with the tests' imports as the ``test`` extra. A manifest the
skeleton already carries is kept as it is.

For TypeScript and JavaScript it is a ``package.json`` (ESM, ``npm test`` runs ``node --test`` on
the folder's test files, after ``tsc --noEmit`` for TypeScript; ``npm run lint`` runs ESLint,
``npm run format`` prettier), a
strict ``tsconfig.json`` for TypeScript (the one L1 checked the code with), the ESLint config
of the readiness checks (``eslint.config.js``, :mod:`mge.execution.eslint_config`), and a
``package-lock.json`` when every dependency is one MGE pins itself (typescript, @types/node,
ESLint and its rule sets), so it is written offline from MGE's own lockfile (the entries those
packages need, nothing else). Bare imports other than Node's built-ins become dependencies at
``*`` (no lockfile then: resolving versions needs the registry).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from pathlib import PurePosixPath
from typing import Any

from mge.execution.eslint_config import SHIPPED_ESLINT_CONFIG, eslint_config, eslint_packages
from mge.sandbox.nodetools import LOCK_DIR
from mge.validation.codebase import is_test_file, language_of
from mge.validation.tscheck import tsconfig

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
    """Top-level module → distribution name, from what is installed beside MGE (read once per
    process: it reads every installed distribution's file list, seconds on a busy machine)."""
    found: dict[str, str] = {}
    for module, dists in metadata.packages_distributions().items():
        if dists:
            found[module] = dists[0]
    return found


def warm_up() -> None:
    """Read the installed distributions now (blocking): the operator does it in a thread before
    it leads, so its event loop never spends those seconds in the middle of a reconcile."""
    _distributions()


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


FORMATTER = "prettier"
"""The formatter the output's ``npm run format`` runs (and the readiness format check)."""
PACKAGE_JSON = "package.json"
PACKAGE_LOCK = "package-lock.json"
TSCONFIG = "tsconfig.json"
NODE_ENGINES = {"typescript": ">=22.18", "javascript": ">=20"}
"""Node that runs the tests: TypeScript files run with their types stripped (22.18+)."""
NPMRC = ".npmrc"
ENGINE_STRICT = (
    "# npm install refuses a Node older than package.json's engines, saying which it needs,\n"
    "# instead of the tests failing later on syntax that Node cannot run.\n"
    "engine-strict=true\n"
)
_SPECIFIER = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"'\n]+)["']""")
NODE_BUILTINS = frozenset(
    [
        "assert",
        "async_hooks",
        "buffer",
        "child_process",
        "cluster",
        "console",
        "constants",
        "crypto",
        "dgram",
        "dns",
        "domain",
        "events",
        "fs",
        "http",
        "http2",
        "https",
        "inspector",
        "module",
        "net",
        "os",
        "path",
        "perf_hooks",
        "process",
        "punycode",
        "querystring",
        "readline",
        "repl",
        "stream",
        "string_decoder",
        "timers",
        "tls",
        "trace_events",
        "tty",
        "url",
        "util",
        "v8",
        "vm",
        "wasi",
        "worker_threads",
        "zlib",
        "test",
    ]
)


def package_of(specifier: str) -> str | None:
    """The npm package a bare import names (``@a/b/c`` → ``@a/b``); None for relative paths,
    ``node:`` and Node's built-in modules."""
    if specifier.startswith((".", "/", "node:")):
        return None
    parts = specifier.split("/")
    name = "/".join(parts[:2]) if specifier.startswith("@") else parts[0]
    return None if name in NODE_BUILTINS else name


def npm_packages(sources: Iterable[str]) -> set[str]:
    """The npm packages imported by ``sources`` (pure; regex, so comments may add a name)."""
    found: set[str] = set()
    for source in sources:
        for spec in _SPECIFIER.findall(source):
            name = package_of(spec)
            if name:
                found.add(name)
    return found


def _pinned_tools() -> dict[str, Any]:
    """MGE's own npm lockfile (typescript and @types/node with their integrity hashes)."""
    lock: dict[str, Any] = json.loads((LOCK_DIR / PACKAGE_LOCK).read_text())
    return lock


def pinned_version(package: str) -> str:
    """The version of ``package`` in MGE's npm lockfile ("" when it pins none)."""
    entry = _pinned_tools()["packages"].get(f"node_modules/{package}") or {}
    return str(entry.get("version", ""))


def lock_closure(packages: Mapping[str, Any], roots: Iterable[str]) -> dict[str, Any]:
    """The entries of a lockfile's ``packages`` that ``roots`` need: each package with its
    dependencies and required peers, found the way Node resolves them (nested first)."""
    out: dict[str, Any] = {}
    todo = [("", r) for r in roots]
    while todo:
        parent, name = todo.pop()
        base = parent
        while True:
            key = f"{base}/node_modules/{name}" if base else f"node_modules/{name}"
            if key in packages or not base:
                break
            base = base.rsplit("/node_modules/", 1)[0] if "/node_modules/" in base else ""
        if key not in packages or key in out:
            continue
        entry = packages[key]
        out[key] = entry
        optional = entry.get("peerDependenciesMeta") or {}
        peers = [
            p
            for p in entry.get("peerDependencies") or {}
            if not optional.get(p, {}).get("optional")
        ]
        for dep in [*(entry.get("dependencies") or {}), *peers]:
            todo.append((key, dep))
    return dict(sorted(out.items()))


def script_manifests(files: Mapping[str, str], project: str, language: str) -> dict[str, str]:
    """``package.json`` (+ ``tsconfig.json`` and, when possible, ``package-lock.json``)."""
    scripts = {p: t for p, t in files.items() if language_of(p) in ("typescript", "javascript")}
    tests = sorted(p for p in scripts if is_test_file(p))
    runtime = npm_packages(t for p, t in scripts.items() if p not in tests)
    testing = npm_packages(t for p, t in scripts.items() if p in tests) - runtime
    node_test = "node --test" + "".join(f" {json.dumps(t)}" for t in tests)
    name = project_name(project).lower()
    engines = NODE_ENGINES.get(language, ">=20")
    pinned = _pinned_tools()["packages"]
    dev: dict[str, str] = {}
    tools = ("typescript", "@types/node") if language == "typescript" else ()
    for pkg in (*tools, *eslint_packages(language), FORMATTER):
        dev[pkg] = pinned[f"node_modules/{pkg}"]["version"]
    pinned_dev = sorted(dev)
    dev = dict(sorted(dev.items()))
    dev.update({p: "*" for p in sorted(testing) if p not in dev})
    package: dict[str, Any] = {
        "name": name,
        "version": "0.1.0",
        "private": True,
        "type": "module",
        "description": f"Written by MGE. Needs Node {engines}. Test with: "
        + ("npm install && npm test" if dev or runtime else "npm test"),
        "engines": {"node": engines},
        "scripts": {
            "test": f"tsc --noEmit && {node_test}" if language == "typescript" else node_test,
            "lint": "eslint .",
            "format": "prettier --check .",
        },
    }
    if runtime:
        package["dependencies"] = {p: "*" for p in sorted(runtime)}
    if dev:
        package["devDependencies"] = dev
    out = {
        PACKAGE_JSON: json.dumps(package, indent=2) + "\n",
        SHIPPED_ESLINT_CONFIG: eslint_config(language),
        NPMRC: ENGINE_STRICT,
    }
    if language == "typescript":
        config = tsconfig()
        config["include"] = ["**/*.ts", "**/*.mts"]
        out[TSCONFIG] = json.dumps(config, indent=2) + "\n"
    if not runtime and not testing:
        root: dict[str, Any] = {"name": name, "version": "0.1.0"}
        entries: dict[str, Any] = {"": root}
        if dev:
            root["devDependencies"] = dev
            entries.update(lock_closure(pinned, pinned_dev))
        lock = {"name": name, "version": "0.1.0", "lockfileVersion": 3, "requires": True}
        lock["packages"] = entries
        out[PACKAGE_LOCK] = json.dumps(lock, indent=2) + "\n"
    return out


def with_manifest(files: Mapping[str, str], project: str, language: str) -> dict[str, str]:
    """``files`` plus the manifests of each ecosystem they hold, when they carry none (a project
    mixing Python and TypeScript gets both)."""
    out = dict(files)
    present = {language_of(p) for p in files} | {language}
    if PYPROJECT not in out and "python" in present:
        out[PYPROJECT] = python_manifest(files, project)
    script = "typescript" if "typescript" in present else "javascript"
    if script in present:
        made = script_manifests(files, project, script)
        if PACKAGE_JSON not in out:
            out.update({k: v for k, v in made.items() if k not in out})
        elif script == "typescript" and TSCONFIG not in out:
            out[TSCONFIG] = made[TSCONFIG]
    return out
