"""Sandbox throughput: atoms validated per second, one batch vs one runner process per atom.

Each atom is a small Python module with two pytest tests, run as the atom's ``testFiles``
(scenario ``python``) or, as the execution stage ships it, by the validation driver
``python -s -c DRIVER`` (scenario ``driver``).
For N in 1, 10, 50 it times, wall clock, from launching the runner to having every result:

- ``batch``: one ``python -m mge.cli.sandbox run`` for all N atoms (concurrency = CPUs);
- ``process-per-atom``: one runner process per atom (a batch of one each), the same number of
  them at once as the batch runs atoms at once — what a caller without batches would do.

each under ``auto`` isolation (bubblewrap here: a fresh wrapper and interpreter per atom) and
under ``pod`` (the operator's sandbox Jobs: no wrapper, so a batch's pytest runs fork from one
warm interpreter — ``batch (warm)`` — or, with ``--cold``, start one each — ``batch (cold)``).

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
import resource
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
UNCOUNTED_CPU = ("auto", "bwrap")
"""Isolation whose atom processes' CPU does not reach RUSAGE_CHILDREN (see render())."""
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


def driver_atom(i: int) -> dict[str, Any]:
    """The same atom as the execution stage ships it: an explicit ``python -s -c DRIVER``."""
    from mge.validation.sandboxed import driver_command

    atom = python_atom(i)
    test = f"tests/test_m{i}.py"
    command = driver_command([f"pkg.m{i}"], [f"{test}::test_scale", f"{test}::test_zero"])
    return {"atomId": atom["atomId"], "files": atom["files"], "command": command}


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


def run_runner(path: Path, isolation: str, cold: bool = False) -> dict[str, Any]:
    argv = [*RUNNER, str(path), "--isolation", isolation, *(["--cold"] if cold else [])]
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def time_batch(
    items: list[dict[str, Any]], isolation: str, language: str, tmp: Path, cold: bool = False
) -> float:
    path = tmp / "batch.json"
    path.write_text(json.dumps(batch(items, language)))
    start = time.perf_counter()
    result = run_runner(path, isolation, cold)
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


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far: the runners and,
    through them, each atom's processes (a zygote's children roll up into the zygote)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    scenario: str, mode: str, isolation: str, n: int, fn: Callable[[], float], repeats: int
) -> dict[str, Any]:
    """Run ``fn`` ``repeats`` times; one result row."""
    times, cpus = [], []
    for _ in range(repeats):
        before = _children_cpu()
        times.append(fn())
        cpus.append(_children_cpu() - before)
    median = statistics.median(times)
    cpu = statistics.median(cpus)
    row = {
        "scenario": scenario,
        "mode": mode,
        "isolation": isolation,
        "atoms": n,
        "median_s": round(median, 3),
        "runs_s": [round(t, 3) for t in times],
        "atoms_per_s": round(n / median, 2),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_atom": round(1000 * cpu / n, 1),
        "atoms_per_cpu_s": round(n / cpu, 2) if cpu else None,
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
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the markdown from the recorded JSON"
    )
    args = parser.parse_args()
    if args.render:
        recorded = json.loads((RESULTS / "sandbox_throughput.json").read_text())
        (RESULTS / "sandbox_throughput.md").write_text(render(recorded["meta"], recorded["rows"]))
        return
    command = " ".join([".venv/bin/python benchmarks/sandbox_throughput.py", *sys.argv[1:]])
    if args.languages:
        load = os.getloadavg()[0]
        with tempfile.TemporaryDirectory(prefix="mge-bench-") as t:
            rows = languages(args.repeats, Path(t))
        write_results(rows, args.repeats, (load, os.getloadavg()[0]), command, "sandbox_languages")
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
            warm = partial(time_batch, items, "pod", "python", tmp)
            rows.append(measure("python", "batch (warm)", "pod", n, warm, r))
            cold = partial(time_batch, items, "pod", "python", tmp, True)
            rows.append(measure("python", "batch (cold)", "pod", n, cold, r))
            single = partial(time_per_atom, items, "pod", tmp)
            rows.append(measure("python", "process-per-atom", "pod", n, single, r))
        n = max(sizes)
        items = [driver_atom(i) for i in range(n)]
        warm = partial(time_batch, items, "pod", "python", tmp)
        rows.append(measure("driver", "batch (warm)", "pod", n, warm, r))
        cold = partial(time_batch, items, "pod", "python", tmp, True)
        rows.append(measure("driver", "batch (cold)", "pod", n, cold, r))
        items10 = [python_atom(i) for i in range(10)]
        for iso in available_isolations():
            batched = partial(time_batch, items10, iso, "python", tmp)
            rows.append(measure("isolation", "batch", iso, 10, batched, r))
        if shutil.which("node"):
            js = partial(time_batch, [js_atom(i) for i in range(10)], "auto", "javascript", tmp)
            rows.append(measure("javascript", "batch", "auto", 10, js, r))
    command = " ".join([".venv/bin/python benchmarks/sandbox_throughput.py", *sys.argv[1:]])
    write_results(rows, args.repeats, (load_before, os.getloadavg()[0]), command)


def _speedups(rows: list[dict[str, Any]]) -> list[str]:
    """Lines comparing each batch row with process-per-atom under the same isolation and N."""
    per = {
        (r["isolation"], r["atoms"]): r["atoms_per_s"]
        for r in rows
        if r["scenario"] == "python" and r["mode"] == "process-per-atom"
    }
    per_cpu = {
        (r["isolation"], r["atoms"]): r.get("cpu_ms_per_atom")
        for r in rows
        if r["scenario"] == "python" and r["mode"] == "process-per-atom"
    }
    out = []
    for r in rows:
        base = per.get((r["isolation"], r["atoms"]))
        if r["scenario"] in ("python", "driver") and r["mode"].startswith("batch") and base:
            line = (
                f"- {r['scenario']}, {r['atoms']} atoms, {r['isolation']}, {r['mode']}: "
                f"{r['atoms_per_s'] / base:.1f}× process-per-atom by wall clock"
            )
            base_cpu = per_cpu.get((r["isolation"], r["atoms"]))
            if r["isolation"] not in UNCOUNTED_CPU and base_cpu and r.get("cpu_ms_per_atom"):
                line += f", {base_cpu / r['cpu_ms_per_atom']:.1f}× by CPU per atom"
            out.append(line)
    return out


def write_results(
    rows: list[dict[str, Any]],
    repeats: int,
    load: tuple[float, float],
    command: str,
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
        "command": command,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(render(meta, rows, name))


def _cpu_cell(r: dict[str, Any], value: object) -> str:
    return "n/a¹" if r["isolation"] in UNCOUNTED_CPU else str(value)


def render(
    meta: dict[str, Any], rows: list[dict[str, Any]], name: str = "sandbox_throughput"
) -> str:
    """benchmarks/results/<name>.md from the recorded JSON."""
    load = (meta["load_average_1m"]["before"], meta["load_average_1m"]["after"])
    repeats, command = meta["repeats"], meta.get("command", "benchmarks/sandbox_throughput.py")
    cpus = meta["cpus"]
    lines = [
        "# Sandbox throughput" + (": languages" if name != "sandbox_throughput" else ""),
        "",
        f"Recorded {meta['date']} on {cpus} CPUs (kernel {meta['kernel']}, Python "
        f"{meta['python']}, {meta['bwrap']}, root={meta['root']}); median of {repeats} runs, "
        "wall clock from launching the runner to having every result. Produced by "
        f"`{command}`; see docs/sandbox.md for what the numbers mean.",
        f"The machine is shared: 1-minute load average {load[0]:.1f} before, {load[1]:.1f} after "
        f"({cpus} CPUs), so single runs vary; the runs column shows the spread.",
        "",
        "| scenario | mode | isolation | atoms | median s | atoms/s | CPU ms/atom "
        "| atoms per CPU-s | runs (s) |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        runs = ", ".join(f"{t:.2f}" for t in r["runs_s"])
        lines.append(
            f"| {r['scenario']} | {r['mode']} | {r['isolation']} | {r['atoms']} | "
            f"{r['median_s']:.2f} | {r['atoms_per_s']:.2f} | "
            f"{_cpu_cell(r, r.get('cpu_ms_per_atom'))} | "
            f"{_cpu_cell(r, r.get('atoms_per_cpu_s'))} | {runs} |"
        )
    lines += [
        "",
        "CPU = user + system seconds of the runner processes and everything they started "
        "(`RUSAGE_CHILDREN`), median of the runs: unlike wall clock it hardly depends on what "
        f"else the machine runs, and {cpus} CPUs / CPU per atom is the throughput ceiling of an "
        "idle machine. ¹ Not counted under bubblewrap (`auto` here, `bwrap`): its sandboxed "
        "processes do not roll up into the runner's `RUSAGE_CHILDREN` (measured: a batch of 10 "
        "counted 0.57 s, the runner's own share), so those rows have wall clock only.",
        "",
        "Batch vs process-per-atom (python scenario), same isolation and size:",
        "",
        *_speedups(rows),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
