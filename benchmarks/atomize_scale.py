"""Atomization + dependency graph at scale: 800, 10,000 and 100,000 atoms.

Generates a synthetic codebase (Python packages with a TypeScript module every fifth file:
typed functions of 4–8 lines with branches, loops, calls within the module and into imported
modules, a dataclass with methods, constants) on disk, then measures, in a fresh process per
size so peak memory is that size's own:

* read      — find and read the files;
* atomize   — parse (tree-sitter), split into atoms, resolve names into typed edges;
* context   — context packs for every atom and the ten atomicity criteria;
* graph     — DependencyAnalyzer: cycles, levels, critical path, boundaries.

Targets (issue 4): 800 atoms end to end < 2 s; 100,000 atoms < 60 s and < 2 GB peak RSS.

    .venv/bin/python benchmarks/atomize_scale.py                 # 800 and 10,000
    .venv/bin/python benchmarks/atomize_scale.py --sizes 800 10000 100000

Results go to benchmarks/results/atomize_scale.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ATOMS_PER_MODULE = 20
"""Roughly: 13 functions, a class and 4 methods, 2 module-level statement groups."""
TS_EVERY = 5
"""Every fifth module is TypeScript."""
TARGETS = {800: 2.0, 100_000: 60.0}
MEMORY_TARGET_MB = 2048


def python_module(m: int) -> str:
    """Module m imports two earlier modules (an acyclic import graph, as real packages have)."""
    deps = [d for d in (m - 1, m // 2) if 0 <= d < m and d % TS_EVERY != TS_EVERY - 1]
    lines = [f'"""Synthetic module {m}."""', "", "from dataclasses import dataclass", ""]
    for d in sorted(set(deps)):
        lines.append(f"from pkg{d // 50}.mod{d} import f{d}_0, f{d}_1, Box{d}")
    lines += ["", f"LIMIT{m} = {m % 97 + 3}", f"SCALE{m} = {m % 7 + 1}", "", ""]
    lines += [
        "@dataclass",
        f"class Box{m}:",
        f'    """A box of module {m}."""',
        "",
        "    size: int",
        "    label: str",
        "",
        "    def grow(self, by: int) -> int:",
        '        """Grow the box."""',
        f"        return self.size + by * SCALE{m}",
        "",
        "    def shrink(self, by: int) -> int:",
        '        """Shrink the box."""',
        "        if by > self.size:",
        "            return 0",
        "        return self.size - by",
        "",
        "    def fits(self, other: int) -> bool:",
        '        """Whether another size fits."""',
        f"        return other <= self.size and other < LIMIT{m}",
        "",
        "    def describe(self) -> str:",
        '        """Label and size."""',
        "        return f'{self.label}:{self.grow(0)}'",
        "",
    ]
    for i in range(13):
        callee = f"f{m}_{i - 1}(total, y)" if i else "total + 1"
        imported = f"f{deps[0]}_{i % 2}(k, x)" if deps else "k"
        lines += [
            "",
            f"def f{m}_{i}(x: int, y: int) -> int:",
            f'    """Compute step {i} of module {m}."""',
            "    total = x + y",
            f"    if total > LIMIT{m}:",
            f"        total = {callee}",
            "    for k in range(y % 3):",
            f"        total += {imported}",
            "    return total",
            "",
        ]
    return "\n".join(lines) + "\n"


def ts_module(m: int) -> str:
    """A TypeScript module importing the previous module."""
    prev = m - 1
    lines = [
        f'import {{ f{prev}_0 }} from "../pkg{prev // 50}/mod{prev}";'
        if prev >= 0 and prev % TS_EVERY != TS_EVERY - 1
        else ""
    ]
    lines += [f"export const LIMIT{m} = {m % 97 + 3};", ""]
    lines += [
        f"export interface Item{m} {{",
        "  size: number;",
        "  label: string;",
        "}",
        "",
        f"export class Box{m} {{",
        "  constructor(private size: number) {}",
        "  grow(by: number): number {",
        "    return this.size + by;",
        "  }",
        "  shrink(by: number): number {",
        "    return by > this.size ? 0 : this.size - by;",
        "  }",
        "  fits(other: number): boolean {",
        f"    return other <= this.size && other < LIMIT{m};",
        "  }",
        "}",
    ]
    for i in range(13):
        callee = f"f{m}_{i - 1}(total, y)" if i else "total + 1"
        imported = f"f{prev}_0(k, x)" if lines[0] else "k"
        lines += [
            "",
            f"/** Compute step {i} of module {m}. */",
            f"export function f{m}_{i}(x: number, y: number): number {{",
            "  let total = x + y;",
            f"  if (total > LIMIT{m}) {{",
            f"    total = {callee};",
            "  }",
            "  for (let k = 0; k < y % 3; k++) {",
            f"    total += {imported};",
            "  }",
            "  return total;",
            "}",
        ]
    return "\n".join(lines) + "\n"


def write_codebase(root: Path, atoms: int) -> int:
    """Write enough modules for about ``atoms`` atoms; returns the number of files."""
    modules = max(1, round(atoms / ATOMS_PER_MODULE))
    for m in range(modules):
        folder = root / f"pkg{m // 50}"
        folder.mkdir(parents=True, exist_ok=True)
        if m % TS_EVERY == TS_EVERY - 1:
            (folder / f"mod{m}.ts").write_text(ts_module(m))
        else:
            (folder / f"mod{m}.py").write_text(python_module(m))
    return modules


def measure(root: Path) -> dict[str, Any]:
    """Run the pipeline stages on ``root`` in this process and time each."""
    from mge.atomization.batch import collector_paused

    with collector_paused():  # as `mge atomize` runs: no cyclic GC passes over the atoms
        return _measure(root)


def _measure(root: Path) -> dict[str, Any]:
    from mge.atomization import AtomicityValidator, ContextInjector, RecursiveDecomposer
    from mge.atomization.sources import read_sources_sync
    from mge.graph import DependencyAnalyzer

    c0, t0 = time.process_time(), time.perf_counter()
    files = read_sources_sync([root])
    t1 = time.perf_counter()
    az = RecursiveDecomposer().atomize_existing(files)
    t2 = time.perf_counter()
    atoms = ContextInjector(az).inject()
    reports = AtomicityValidator().check_all(az, atoms)
    t3 = time.perf_counter()
    dg = DependencyAnalyzer().analyze(atoms, az.edges)
    t4, c4 = time.perf_counter(), time.process_time()
    summary = dg.summary()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "files": len(files),
        "atoms": len(az.atoms),
        "edges": len(az.edges),
        "levels": summary.levels,
        "criticalPath": summary.critical_path_length,
        "modules": summary.modules,
        "components": summary.components,
        "fanOutPoints": summary.fanout_points,
        "atomicityPassed": sum(1 for r in reports if r.passed),
        "seconds": {
            "read": round(t1 - t0, 3),
            "atomize": round(t2 - t1, 3),
            "context+validate": round(t3 - t2, 3),
            "graph": round(t4 - t3, 3),
            "atomize+graph": round((t2 - t1) + (t4 - t3), 3),
            "endToEnd": round(t4 - t0, 3),
            "endToEndCpu": round(c4 - c0, 3),
        },
        "peakRssMB": round(rss_kb / 1024, 1),
    }


def run_size(atoms: int) -> dict[str, Any]:
    """Generate a codebase of about ``atoms`` atoms and measure it in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="mge-bench-") as tmp:
        root = Path(tmp) / "code"
        t0 = time.perf_counter()
        write_codebase(root, atoms)
        generated = time.perf_counter() - t0
        load_before = os.getloadavg()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(root)],
            capture_output=True,
            text=True,
            check=True,
        )
        load_after = os.getloadavg()
    result: dict[str, Any] = json.loads(proc.stdout)
    result["requestedAtoms"] = atoms
    result["generateSeconds"] = round(generated, 2)
    result["loadAverage1mBefore"] = round(load_before[0], 2)
    result["loadAverage1mAfter"] = round(load_after[0], 2)
    return result


def baseline_rss_mb() -> float:
    """Peak RSS of a process that only imports the stages (what every run pays)."""
    code = (
        "import resource, mge.atomization, mge.graph;"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(int(out.stdout) / 1024, 1)


def verdicts(result: dict[str, Any]) -> list[str]:
    """Which targets a size meets."""
    notes = []
    n = result["requestedAtoms"]
    if n in TARGETS:
        limit = TARGETS[n]
        took, cpu = result["seconds"]["endToEnd"], result["seconds"]["endToEndCpu"]
        notes.append(
            f"wall {'meets' if took < limit else 'MISSES'} < {limit:g} s ({took:.2f} s), "
            f"CPU {'meets' if cpu < limit else 'MISSES'} ({cpu:.2f} s)"
        )
    if n >= 100_000:
        mb = result["peakRssMB"]
        notes.append(f"{'meets' if mb < MEMORY_TARGET_MB else 'MISSES'} < 2 GB ({mb:.0f} MB)")
    return notes


def write_results(results: list[dict[str, Any]], baseline: float) -> None:
    """benchmarks/results/atomize_scale.json and .md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "baselineRssMB": baseline,
    }
    (RESULTS / "atomize_scale.json").write_text(
        json.dumps({"meta": meta, "runs": results}, indent=2) + "\n"
    )
    rows = [
        "| atoms | files | edges | levels | read s | atomize s | context+validate s | graph s "
        "| end to end s (wall) | CPU s | peak RSS MB | load 1m before/after | targets |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        s = r["seconds"]
        rows.append(
            f"| {r['atoms']:,} | {r['files']:,} | {r['edges']:,} | {r['levels']} | {s['read']} "
            f"| {s['atomize']} | {s['context+validate']} | {s['graph']} | {s['endToEnd']} "
            f"| {s['endToEndCpu']} "
            f"| {r['peakRssMB']} | {r['loadAverage1mBefore']}/{r['loadAverage1mAfter']} "
            f"| {'; '.join(verdicts(r)) or '—'} |"
        )
    text = [
        "# Atomization + dependency graph at scale",
        "",
        f"Run on {meta['date']}: Python {meta['python']}, {meta['cpus']} CPUs ({meta['machine']}), "
        "shared with other work (load averages in the table). One fresh process per size; "
        f"peak RSS includes the {baseline} MB a process needs just to import the stages.",
        "",
        "Reproduce: `.venv/bin/python benchmarks/atomize_scale.py --sizes 800 10000 100000`.",
        "",
        *rows,
        "",
        "Synthetic codebase: Python packages with a TypeScript module every fifth file; per module "
        "a dataclass with methods, constants and 13 typed functions (4–8 lines, a branch, a loop, "
        "calls within the module and into two imported modules). "
        "*end to end* = read + atomize (parse, split, resolve) + context packs and atomicity "
        "criteria + graph (cycles, levels, critical path, boundaries). As `mge atomize` does, the "
        "run keeps Python's cyclic garbage collector paused (`collector_paused`); reference "
        "counting frees memory as usual. *CPU s* is the process's own CPU time: on this shared "
        "machine wall time also counts waiting for a core.",
        "",
    ]
    (RESULTS / "atomize_scale.md").write_text("\n".join(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[800, 10_000])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.stdout.write(json.dumps(measure(args.child)))
        return
    results = []
    for size in args.sizes:
        r = run_size(size)
        results.append(r)
        print(
            f"{r['atoms']:>7} atoms: end to end {r['seconds']['endToEnd']:.2f} s "
            f"(CPU {r['seconds']['endToEndCpu']:.2f} s) "
            f"(atomize {r['seconds']['atomize']:.2f} s, graph {r['seconds']['graph']:.2f} s), "
            f"peak {r['peakRssMB']:.0f} MB  {'; '.join(verdicts(r))}",
            flush=True,
        )
    write_results(results, baseline_rss_mb())


if __name__ == "__main__":
    main()
