"""Sandbox throughput: atoms validated per second, one batch vs one runner process per atom.

Each atom is a small Python module with two pytest tests (the shape the execution stage sends).
For N in 1, 10, 50 it times, wall clock, from launching the runner to having every result:

- ``batch``: one ``python -m mge.cli.sandbox run`` for all N atoms (concurrency = CPUs);
- ``process-per-atom``: one runner process per atom (a batch of one each), the same number of
  them at once as the batch runs atoms at once — what a caller without batches would do.

It also times a batch of 10 under each isolation this host has, and 10 JavaScript atoms, to show
what isolation and the language cost. Results: benchmarks/results/sandbox_throughput.{json,md}.

``--languages`` instead compares the languages, 10 atoms each: a sandbox batch of Python,
JavaScript and TypeScript atoms (tests only), and whole L1 validation of a batch of candidates
(parse, signature, one type-check run — mypy or strict tsc — and the sandboxed tests) for
Python and TypeScript. Results: benchmarks/results/sandbox_languages.{json,md}.

    .venv/bin/python benchmarks/sandbox_throughput.py [--repeats 3] [--sizes 1,10,50]
    .venv/bin/python benchmarks/sandbox_throughput.py --languages [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
RUNNER = [sys.executable, "-m", "mge.cli.sandbox", "run"]
CPUS = len(os.sched_getaffinity(0))


def python_atom(i: int) -> dict[str, Any]:
    code = f"def scale_{i}(x: int) -> int:\n    return x * {i + 2}\n"
    test = (
        f"from pkg.m{i} import scale_{i}\n\n"
        f"def test_scale():\n    assert scale_{i}(3) == {3 * (i + 2)}\n\n"
        f"def test_zero():\n    assert scale_{i}(0) == 0\n"
    )
    return {
        "atomId": f"a{i}",
        "files": {f"pkg/m{i}.py": code, f"tests/test_m{i}.py": test},
        "testFiles": [f"tests/test_m{i}.py"],
    }


def js_atom(i: int) -> dict[str, Any]:
    code = f"exports.scale = (x) => x * {i + 2};\n"
    test = (
        "const test = require('node:test'); const assert = require('node:assert');\n"
        f"const {{ scale }} = require('./m{i}.js');\n"
        f"test('scale', () => assert.strictEqual(scale(3), {3 * (i + 2)}));\n"
    )
    return {
        "atomId": f"j{i}",
        "files": {f"m{i}.js": code, f"m{i}.test.js": test},
        "testFiles": [f"m{i}.test.js"],
    }


def ts_atom(i: int) -> dict[str, Any]:
    code = f"export function scale{i}(x: number): number {{\n  return x * {i + 2};\n}}\n"
    test = (
        'import { test } from "node:test";\nimport assert from "node:assert/strict";\n'
        f'import {{ scale{i} }} from "./m{i}.ts";\n'
        f'test("scale", () => assert.equal(scale{i}(3), {3 * (i + 2)}));\n'
        f'test("zero", () => assert.equal(scale{i}(0), 0));\n'
    )
    return {
        "atomId": f"t{i}",
        "files": {f"m{i}.ts": code, f"m{i}.test.ts": test},
        "testFiles": [f"m{i}.test.ts"],
    }


def batch(items: list[dict[str, Any]], language: str = "python") -> dict[str, Any]:
    shared = {"pkg/__init__.py": ""} if language == "python" else {}
    return {"batchId": "bench", "language": language, "sharedFiles": shared, "items": items}


def run_runner(path: Path, isolation: str) -> dict[str, Any]:
    proc = subprocess.run(
        [*RUNNER, str(path), "--isolation", isolation], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def time_batch(items: list[dict[str, Any]], isolation: str, language: str, tmp: Path) -> float:
    path = tmp / "batch.json"
    path.write_text(json.dumps(batch(items, language)))
    start = time.perf_counter()
    result = run_runner(path, isolation)
    elapsed = time.perf_counter() - start
    failed = [o["atomId"] for o in result["outcomes"] if not o["passed"]]
    assert not failed, f"atoms failed in the benchmark: {failed}"
    return elapsed


async def _per_atom(paths: list[Path], isolation: str) -> None:
    gate = asyncio.Semaphore(CPUS)

    async def one(p: Path) -> None:
        async with gate:
            await asyncio.to_thread(run_runner, p, isolation)

    await asyncio.gather(*(one(p) for p in paths))


def time_per_atom(items: list[dict[str, Any]], isolation: str, tmp: Path) -> float:
    paths = []
    for i, item in enumerate(items):
        p = tmp / f"one-{i}.json"
        p.write_text(json.dumps(batch([item])))
        paths.append(p)
    start = time.perf_counter()
    asyncio.run(_per_atom(paths, isolation))
    return time.perf_counter() - start


def measure(
    scenario: str, mode: str, isolation: str, n: int, fn: Callable[[], float], repeats: int
) -> dict[str, Any]:
    """Run ``fn`` ``repeats`` times; one result row."""
    times = [fn() for _ in range(repeats)]
    median = statistics.median(times)
    row = {
        "scenario": scenario,
        "mode": mode,
        "isolation": isolation,
        "atoms": n,
        "median_s": round(median, 3),
        "runs_s": [round(t, 3) for t in times],
        "atoms_per_s": round(n / median, 2),
    }
    print(row, flush=True)
    return row


def l1_codebase(language: str, n: int) -> tuple[Any, list[Any]]:
    """A codebase of ``n`` stub functions with two tests each, and a correct candidate for each."""
    from mge.models.atoms import AtomicUnit, atom_id
    from mge.validation.batch import Candidate
    from mge.validation.codebase import Codebase

    py = language == "python"
    src, tests = ("pkg/m.py", "tests/test_m.py") if py else ("src/m.ts", "tests/m.test.ts")
    stubs, bodies, checks, atoms = [], [], [], []
    for i in range(n):
        if py:
            sig = f"def scale_{i}(x: int) -> int:"
            stubs.append(f'{sig}\n    """x times {i + 2}."""\n    ...\n')
            bodies.append(f"{sig}\n    return x * {i + 2}\n")
            checks.append(
                f"def test_scale_{i}() -> None:\n    assert scale_{i}(3) == {3 * (i + 2)}\n"
                f"def test_zero_{i}() -> None:\n    assert scale_{i}(0) == 0\n"
            )
            name, test_names = f"scale_{i}", [f"test_scale_{i}", f"test_zero_{i}"]
        else:
            sig = f"export function scale{i}(x: number): number {{"
            stubs.append(f'/** x times {i + 2}. */\n{sig}\n  throw new Error("TODO");\n}}\n')
            bodies.append(f"{sig}\n  return x * {i + 2};\n}}\n")
            checks.append(
                f'test("scale {i}", () => assert.equal(scale{i}(3), {3 * (i + 2)}));\n'
                f'test("zero {i}", () => assert.equal(scale{i}(0), 0));\n'
            )
            name, test_names = f"scale{i}", [f"scale {i}", f"zero {i}"]
        atoms.append(
            AtomicUnit.model_validate(
                {
                    "id": atom_id(src, name),
                    "file": src,
                    "language": language,
                    "kind": "function",
                    "qualname": name,
                    "signature": sig,
                    "testCases": test_names,
                    "estimatedLoc": 1,
                    "complexity": 1,
                }
            )
        )
    names = ", ".join(a.qualname for a in atoms)
    if py:
        files = {
            "pkg/__init__.py": "",
            src: "\n\n".join(stubs),
            tests: f"from pkg.m import {names}\n\n" + "\n".join(checks),
        }
    else:
        head = 'import { test } from "node:test";\nimport assert from "node:assert/strict";\n'
        files = {
            "package.json": '{"type": "module"}\n',
            src: "\n".join(stubs),
            tests: head + f'import {{ {names} }} from "../src/m.ts";\n' + "".join(checks),
        }
    cb = Codebase(files=files, atoms={a.id: a for a in atoms})
    candidates = [Candidate(a.id, 1, b) for a, b in zip(atoms, bodies, strict=True)]
    return cb, candidates


def time_l1(language: str, n: int, tmp: Path) -> float:
    """Wall clock of one L1 validation of ``n`` correct candidates (one batch)."""
    from mge.sandbox import LocalSandbox, RunnerOptions
    from mge.validation.batch import LocalBatchValidator, Workspace
    from mge.validation.sandboxed import SandboxTestRunner
    from mge.validation.tscheck import TscChecker
    from mge.validation.typecheck import MypyChecker, TypeCheckers

    cb, candidates = l1_codebase(language, n)
    scratch = Path(tempfile.mkdtemp(dir=tmp))
    runner = SandboxTestRunner(LocalSandbox(RunnerOptions(scratch_dir=scratch)).run)
    checkers = TypeCheckers(MypyChecker(cache_dir=scratch / "mypy"), TscChecker())
    validator = LocalBatchValidator(Workspace(cb), runner, checkers)
    start = time.perf_counter()
    results = asyncio.run(validator.validate(0, 0, candidates))
    elapsed = time.perf_counter() - start
    failed = {k: [c for c in r.checks if not c.passed] for k, r in results.items() if not r.passed}
    assert not failed, f"L1 failed in the benchmark: {failed}"
    typed = [r for r in results.values() if any(c.name == "types" and c.detail for c in r.checks)]
    assert not typed, "the type checker did not run"
    return elapsed


def languages(repeats: int, tmp: Path) -> list[dict[str, Any]]:
    """The language comparison rows (see the module docstring)."""
    rows = []
    for language, make in (
        ("python", python_atom),
        ("javascript", js_atom),
        ("typescript", ts_atom),
    ):
        run = partial(time_batch, [make(i) for i in range(10)], "auto", language, tmp)
        rows.append(measure(language, "sandbox batch", "auto", 10, run, repeats))
    for language in ("python", "typescript"):
        run = partial(time_l1, language, 10, tmp)
        rows.append(measure(language, "L1 (types + tests)", "auto", 10, run, repeats))
    return rows


def available_isolations() -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "mge.cli.sandbox", "check", "--json"], capture_output=True, text=True
    )
    report = json.loads(proc.stdout)
    kinds = [k for k in ("bwrap", "unshare") if report[k]["ok"]]
    return [*kinds, "unsandboxed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--languages", action="store_true", help="compare the languages only")
    args = parser.parse_args()
    if args.languages:
        load = os.getloadavg()[0]
        with tempfile.TemporaryDirectory(prefix="mge-bench-") as t:
            rows = languages(args.repeats, Path(t))
        write_results(rows, args.repeats, (load, os.getloadavg()[0]), "sandbox_languages")
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    r = args.repeats
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="mge-bench-") as t:
        tmp = Path(t)
        for n in sizes:
            items = [python_atom(i) for i in range(n)]
            batched = partial(time_batch, items, "auto", "python", tmp)
            rows.append(measure("python", "batch", "auto", n, batched, r))
            single = partial(time_per_atom, items, "auto", tmp)
            rows.append(measure("python", "process-per-atom", "auto", n, single, r))
        items10 = [python_atom(i) for i in range(10)]
        for iso in available_isolations():
            batched = partial(time_batch, items10, iso, "python", tmp)
            rows.append(measure("isolation", "batch", iso, 10, batched, r))
        if shutil.which("node"):
            js = partial(time_batch, [js_atom(i) for i in range(10)], "auto", "javascript", tmp)
            rows.append(measure("javascript", "batch", "auto", 10, js, r))
    write_results(rows, args.repeats, (load_before, os.getloadavg()[0]))


def write_results(
    rows: list[dict[str, Any]],
    repeats: int,
    load: tuple[float, float],
    name: str = "sandbox_throughput",
) -> None:
    bwrap = shutil.which("bwrap")
    version = None
    if bwrap is not None:
        version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout
        version = version.strip()
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": CPUS,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "bwrap": version,
        "repeats": repeats,
        "root": os.geteuid() == 0,
        "load_average_1m": {"before": round(load[0], 2), "after": round(load[1], 2)},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = [
        "# Sandbox throughput" + (": languages" if name != "sandbox_throughput" else ""),
        "",
        f"Recorded {meta['date']} on {CPUS} CPUs (kernel {meta['kernel']}, Python "
        f"{meta['python']}, {meta['bwrap']}, root={meta['root']}); median of {repeats} runs, "
        "wall clock from launching the runner to having every result. Produced by "
        "`benchmarks/sandbox_throughput.py`; see docs/sandbox.md for what the numbers mean.",
        f"The machine is shared: 1-minute load average {load[0]:.1f} before, {load[1]:.1f} after "
        "(2 CPUs), so single runs vary; the runs column shows the spread.",
        "",
        "| scenario | mode | isolation | atoms | median s | atoms/s | runs (s) |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        runs = ", ".join(f"{t:.2f}" for t in r["runs_s"])
        lines.append(
            f"| {r['scenario']} | {r['mode']} | {r['isolation']} | {r['atoms']} | "
            f"{r['median_s']:.2f} | {r['atoms_per_s']:.2f} | {runs} |"
        )
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
