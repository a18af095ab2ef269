"""The installability check: the manifest declares what the code imports, and the project
installs and passes its tests in a fresh environment, offline, inside the sandbox.

Two halves:

- :func:`undeclared_imports` (pure, in the trusted process): every third-party import of the
  code that the ``pyproject.toml`` does not declare, at its line (so it names an atom);
- :data:`DRIVER` (run in the sandbox with the sandbox's interpreter): build a wheel from the
  manifest (``pip wheel --no-build-isolation --no-index``), create a fresh virtual environment
  from the base interpreter (no site packages, no pip), install the wheel into it with
  ``pip --python``, make the declared dependencies and the ``test`` extra available (with what
  they require, from the sandbox's own installation: the sandbox has no network, so nothing is
  downloaded), copy the tests away from the source tree and run them with the fresh
  interpreter in isolated mode. An import the manifest forgot fails there as
  ``No module named …``. Each stage prints one ``MGE-INSTALL {json}`` line.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Mapping

from mge.execution.manifest import distribution_of, is_test_path, own_modules
from mge.execution.readiness.parse import INSTALL_MARKER
from mge.models.readiness import Finding

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(manifest: str) -> tuple[set[str], set[str]]:
    """(runtime, test) distribution names a ``pyproject.toml`` declares (normalised)."""
    data = tomllib.loads(manifest)
    project = data.get("project") or {}
    runtime = {
        _normal(m.group(1)) for r in project.get("dependencies") or [] if (m := _NAME.match(r))
    }
    extras = project.get("optional-dependencies") or {}
    test = {
        _normal(m.group(1))
        for key in ("test", "tests", "dev")
        for r in extras.get(key) or []
        if (m := _NAME.match(r))
    }
    return runtime, test


def undeclared_imports(
    files: Mapping[str, str], manifest_path: str = "pyproject.toml"
) -> list[Finding]:
    """Third-party imports the manifest does not declare (code: ``dependencies``; tests: those
    or the ``test`` extra), one finding per import statement."""
    manifest = files.get(manifest_path)
    if manifest is None:
        return [Finding(check="install", rule="manifest", message=f"no {manifest_path}")]
    try:
        runtime, test = declared(manifest)
    except tomllib.TOMLDecodeError as e:
        return [Finding(check="install", rule="manifest", path=manifest_path, message=str(e))]
    py = {p: t for p, t in files.items() if p.endswith(".py")}
    own = own_modules(py)
    skip = own | set(sys.stdlib_module_names) | {"__future__"}
    out = []
    for path, source in sorted(py.items()):
        allowed = runtime | test if is_test_path(path) else runtime
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names: list[str] = []
            line = getattr(node, "lineno", None)
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module.split(".")[0]]
            for module in names:
                if module in skip:
                    continue
                dist = distribution_of(module)
                if _normal(dist) not in allowed:
                    where = "dependencies" if not is_test_path(path) else "the test extra"
                    out.append(
                        Finding(
                            check="install",
                            rule="undeclared",
                            path=path,
                            line=line,
                            message=f"imports {module} ({dist}), which {manifest_path} does not "
                            f"declare in {where}",
                        )
                    )
    return out


# Runs as `python -s -c DRIVER` in the project folder. Standard library and pip only.
DRIVER = """\
import json, os, shutil, subprocess, sys, tomllib, venv
from importlib import metadata
from pip._vendor.packaging.requirements import Requirement

MARK = {marker!r}
root = os.getcwd()
tmp = os.environ.get("TMPDIR") or "/tmp"
work = os.path.join(tmp, "mge-install")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

def report(stage, ok, detail=""):
    print(MARK + json.dumps({{"stage": stage, "ok": ok, "detail": detail[-4000:]}}), flush=True)
    if not ok:
        sys.exit(1)

clean = {{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}}

def run(stage, argv, cwd=root):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=clean)
    report(stage, p.returncode == 0, p.stdout + p.stderr)

pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
dist = os.path.join(work, "dist")
src = os.path.join(work, "src")
shutil.copytree(root, src, ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info"))
run("build", [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
              "-w", dist, src])
env = os.path.join(work, "env")
venv.EnvBuilder(with_pip=False, system_site_packages=False, symlinks=True).create(env)
python = os.path.join(env, "bin", "python")
wheels = [os.path.join(dist, w) for w in os.listdir(dist) if w.endswith(".whl")]
run("install", [*pip, "--python", python, "install", "-q", "--no-deps", "--no-index", *wheels])
where = "import sysconfig; print(sysconfig.get_path('purelib'))"
site = subprocess.run([python, "-I", "-c", where],
                      capture_output=True, text=True, env=clean).stdout.strip()

with open(os.path.join(root, "pyproject.toml"), "rb") as f:
    project = tomllib.load(f).get("project", {{}})
wanted = [Requirement(r) for r in project.get("dependencies", [])]
wanted += [Requirement(r) for r in project.get("optional-dependencies", {{}}).get("test", [])]
seen, missing = set(), []
while wanted:
    req = wanted.pop()
    key = req.name.lower().replace("_", "-")
    if key in seen:
        continue
    seen.add(key)
    try:
        d = metadata.distribution(req.name)
    except metadata.PackageNotFoundError:
        missing.append(str(req))
        continue
    base = str(d.locate_file(""))
    tops = {{str(p).split("/")[0] for p in (d.files or []) if not str(p).startswith("..")}}
    for top in tops:
        src, dst = os.path.join(base, top), os.path.join(site, top)
        if os.path.exists(src) and not os.path.lexists(dst):
            os.symlink(src, dst)
    for r in d.requires or []:
        sub = Requirement(r)
        extras = req.extras or {{""}}
        if sub.marker is None or any(sub.marker.evaluate({{"extra": e}}) for e in extras):
            wanted.append(sub)
if missing:
    report("dependencies", False, "not available offline in the sandbox: " + ", ".join(missing))
report("dependencies", True)

tests = os.path.join(work, "tests")
for dirpath, dirnames, filenames in os.walk(root):
    dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("build", "dist")]
    rel = os.path.relpath(dirpath, root)
    in_tests = rel.split(os.sep)[0] in ("tests", "test")
    for name in filenames:
        named = name.startswith("test_") or name.endswith("_test.py")
        if in_tests or named or name == "conftest.py":
            target = os.path.join(tests, rel, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(os.path.join(dirpath, name), target)
run("tests", [python, "-I", "-m", "pytest", "-q", "-p", "no:cacheprovider",
              "--import-mode=importlib", "--rootdir", tests, tests], cwd=tests)
"""


def driver_command() -> list[str]:
    """The argv of the sandbox item that runs the install driver."""
    return ["python", "-s", "-c", DRIVER.format(marker=INSTALL_MARKER)]
