"""The benchmark harness for TypeScript and JavaScript, run by Node in the sandbox.

The same contract as Python's (:mod:`mge.execution.performance.driver`): a module
``tests/benchmarks/bench_<name>.ts`` (or ``.js``) that exports ``CRITERION``, ``setup(size)``
(not timed) and ``run(state)`` (timed); the same protocol out (one ``MGE-PERF {json}`` line per
benchmark, samples in ms and the project functions that ran with their time). Node ≥ 22.18
imports ``.ts`` with its types stripped, so nothing is compiled first.

Per benchmark: one warm-up run, ``repetitions`` timed runs (``performance.now()``), each on a
fresh ``setup(size)``, then one run under V8's sampling profiler (``node:inspector``, 100 µs
interval, not timed). A sample's time counts for the nearest project function on its stack,
so library and runtime code a function calls counts for it; each function's project caller is
its nearest project ancestor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mge.execution.performance.driver import PERF_MARKER, PROFILE_TOP

NODE_DRIVER = r"""
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { Session } from "node:inspector/promises";
import * as path from "node:path";

const MARK = __MARK__;
const TOP = __TOP__;
const root = process.cwd();
const config = JSON.parse(process.argv[process.argv.length - 1]);

function projectPath(url) {
  if (!url || !url.startsWith("file://")) return null;
  const file = decodeURIComponent(new URL(url).pathname);
  if (!file.startsWith(root + path.sep) || file.includes("node_modules")) return null;
  return path.relative(root, file);
}

async function timed(mod, size) {
  const state = await mod.setup(size);
  const start = performance.now();
  await mod.run(state);
  return performance.now() - start;
}

async function profile(mod, size) {
  const state = await mod.setup(size);
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  await mod.run(state);
  const { profile: prof } = await session.post("Profiler.stop");
  session.disconnect();
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const key = (n) => {
    const p = projectPath(n.callFrame.url);
    if (p === null) return null;
    return [p, n.callFrame.lineNumber + 1, n.callFrame.functionName || "(anonymous)"];
  };
  const owner = (id) => {
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur));
      if (k !== null) return [cur, k];
    }
    return null;
  };
  const own = new Map();
  const callers = new Map();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = (prof.timeDeltas[i] || 0) / 1e6;
    const found = owner(id);
    if (found === null) return;
    const [nodeId, k] = found;
    const name = JSON.stringify(k);
    own.set(name, (own.get(name) || 0) + dt);
    total += dt;
    const up = owner(parent.get(nodeId));
    const list = callers.get(name) || [];
    const seen = list.some((c) => JSON.stringify(c) === JSON.stringify(up && up[1]));
    if (up !== null && !seen) list.push(up[1]);
    callers.set(name, list);
  });
  const top = [...own.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  return [total, top.map(([name, seconds]) => {
    const [p, line, fn] = JSON.parse(name);
    return { path: p, line, name: fn, seconds, callers: (callers.get(name) || []).slice(0, 8) };
  })];
}

for (const bench of config.benchmarks) {
  const out = { criterion: bench.criterion, samples_ms: [], profile: [], total_s: 0 };
  try {
    const mod = await import(pathToFileURL(path.join(root, bench.module)).href);
    await timed(mod, bench.size);
    for (let i = 0; i < bench.repetitions; i++) out.samples_ms.push(await timed(mod, bench.size));
    if (bench.profile !== false) [out.total_s, out.profile] = await profile(mod, bench.size);
  } catch (e) {
    out.error = String((e && e.stack) || e).slice(-3000);
  }
  console.log(MARK + JSON.stringify(out));
}
"""


def node_driver_command(benchmarks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The argv of the sandbox item that runs ``benchmarks`` with Node (``module`` is the
    benchmark file's path)."""
    source = NODE_DRIVER.replace("__MARK__", json.dumps(PERF_MARKER)).replace(
        "__TOP__", str(PROFILE_TOP)
    )
    config = json.dumps({"benchmarks": list(benchmarks)})
    return ["node", "--input-type=module", "-e", source, config]
