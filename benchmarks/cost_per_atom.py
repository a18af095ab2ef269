"""Tokens and cost per atom on the scripted examples, and what a re-run costs.

For each example (examples/inventory-lib, examples/tasks-api) it runs ``mge run`` in a fresh
work folder, then reads the store's cost ledger (every paid call: discovery, plan, skeletons,
atom attempts, review suggestions) and attempts table, and reports per atom: input, cache-read,
cache-write and output tokens, and the cost at the list prices of the model the manifest names
(mge.llm.pricing) — as recorded (with prompt caching: cache reads billed at the cache-read
price) and repriced as if prompt caching were off (cache reads billed as input). Then it runs
the same command again in the same work folder (the re-run: stage checkpoints and the response
cache answer, so new ledger rows and cost should be 0) and reports what that second run paid.

The scripted provider replays **hand-written recordings** whose token counts were written
with the recordings, not measured on a model: the per-atom figures are what those recordings
say, and the 800-atom figure is an extrapolation (per-atom cost × 800), to set beside the
original design's estimate of $180–330 per 800-atom project.

    .venv/bin/python benchmarks/cost_per_atom.py [--examples inventory-lib tasks-api]

Results: benchmarks/results/cost_per_atom.{json,md} and cost_breakdown.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mge.llm.pricing import PRICES_AS_OF, price_for
from mge.models.execution import Usage

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
EXAMPLES = ("inventory-lib", "tasks-api")
PROJECT_ATOMS = 800
"""The original design's project size for its cost estimate."""
DESIGN_ESTIMATE_USD = (180.0, 330.0)
"""The original design's cost per 800-atom project."""
MGE = [str(Path(sys.executable).parent / "mge")]
"""The venv's `mge` command."""
RUN_TIMEOUT_S = 1200
TOKEN_KINDS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")


def stage_of(request_key: str) -> str:
    """The pipeline stage of a ledger row by its logical key (``atom/ID/attempt-2`` → atom)."""
    return request_key.split("/", 1)[0]


def ledger_rows(db: Path, project: str) -> list[dict[str, Any]]:
    """Every cost-ledger row of ``project`` (read-only)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        cur = con.execute(
            "SELECT request_key, model, input_tokens, output_tokens, cache_read_tokens, "
            "cache_write_tokens, cost_usd FROM cost_ledger WHERE project = ? ORDER BY id",
            (project,),
        )
        return [dict(r) for r in cur]
    finally:
        con.close()


def count_atoms(db: Path, project: str) -> int:
    """Atoms the store holds for ``project``."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT count(*) FROM atoms WHERE project = ?", (project,)).fetchone()
        return int(row[0])
    finally:
        con.close()


def summarise(rows: list[dict[str, Any]], model: str, atoms: int) -> dict[str, Any]:
    """Tokens and cost by stage, per atom, with and without prompt caching (pure)."""
    price = price_for(model)
    if price is None:
        raise SystemExit(f"no list price for {model!r} in mge.llm.pricing")
    by_stage: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        s = by_stage[stage_of(r["request_key"])]
        s["calls"] += 1
        for k in TOKEN_KINDS:
            s[k] += r[k]
        s["cost_recorded"] += r["cost_usd"]
        usage = Usage(**{k: int(r[k]) for k in TOKEN_KINDS})
        s["cost_list"] += price.cost(usage)
        no_cache = Usage(
            input_tokens=usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
            output_tokens=usage.output_tokens,
        )
        s["cost_no_prompt_cache"] += price.cost(no_cache)
    total: dict[str, float] = defaultdict(float)
    for s in by_stage.values():
        for k, v in s.items():
            total[k] += v
    atom = by_stage.get("atom", {})

    def per_atom(d: Mapping[str, float]) -> dict[str, float]:
        return {k: round(v / atoms, 6) for k, v in d.items()}

    return {
        "model": model,
        "atoms": atoms,
        "byStage": {k: {m: round(v, 6) for m, v in s.items()} for k, s in by_stage.items()},
        "total": {k: round(v, 6) for k, v in total.items()},
        "perAtomAllIn": per_atom(total),
        "perAtomGenerationOnly": per_atom(atom),
        "extrapolated800": {
            "allInWithPromptCache": round(total["cost_list"] / atoms * PROJECT_ATOMS, 2),
            "allInWithoutPromptCache": round(
                total["cost_no_prompt_cache"] / atoms * PROJECT_ATOMS, 2
            ),
            "generationOnly": round(atom.get("cost_list", 0.0) / atoms * PROJECT_ATOMS, 2),
        },
    }


def run_mge(example: str, workdir: Path, out: Path) -> tuple[float, dict[str, Any]]:
    """``mge run`` on the example; wall seconds and its report.json."""
    folder = ROOT / "examples" / example
    env = {**os.environ, "MGE_WORKDIR": str(workdir)}
    cmd = [*MGE, "run", str(folder / "project.yaml"), "-o", str(out)]
    if (folder / "answers.yaml").exists():
        cmd += ["--answers", str(folder / "answers.yaml")]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"mge run {example} failed with {proc.returncode}")
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    return took, report


def measure(example: str, tmp: Path) -> dict[str, Any]:
    """Fresh run, then the re-run in the same work folder."""
    manifest = yaml.safe_load((ROOT / "examples" / example / "project.yaml").read_text())
    project = manifest["metadata"]["name"]
    model = manifest["spec"].get("llm", {}).get("model", "claude-sonnet-4-6")
    workdir = tmp / example / "work"
    db = workdir / "mge.db"
    wall1, report1 = run_mge(example, workdir, tmp / example / "out1")
    rows1 = ledger_rows(db, project)
    atoms = count_atoms(db, project)
    wall2, report2 = run_mge(example, workdir, tmp / example / "out2")
    rows2 = ledger_rows(db, project)
    return {
        "example": example,
        "project": project,
        "firstRun": {
            "wallSeconds": round(wall1, 1),
            "report": {k: report1.get(k) for k in ("atoms", "attempts", "llmCalls", "costUsd")},
            **summarise(rows1, model, atoms),
        },
        "reRun": {
            "wallSeconds": round(wall2, 1),
            "newLedgerRows": len(rows2) - len(rows1),
            "newCostUsd": round(sum(r["cost_usd"] for r in rows2[len(rows1) :]), 6),
            "report": {
                k: report2.get(k) for k in ("atoms", "attempts", "llmCalls", "cacheHits", "costUsd")
            },
        },
    }


def machine() -> dict[str, Any]:
    """Where and when."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "pricesAsOf": PRICES_AS_OF,
    }


def render_markdown(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """benchmarks/results/cost_per_atom.md."""
    lo, hi = DESIGN_ESTIMATE_USD
    head = [
        "| example | model | atoms | calls | input tok/atom | cache-read tok/atom "
        "| output tok/atom | $/atom (prompt cache) | $/atom (no prompt cache) "
        "| ×800 extrapolated | design $180–330 | re-run: new calls, $ |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    stage_rows = [
        "| example | stage | calls | input tok | cache-read tok | output tok | $ |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        f = r["firstRun"]
        pa = f["perAtomAllIn"]
        x = f["extrapolated800"]["allInWithPromptCache"]
        ratio = f"{x / hi:.1%}–{x / lo:.1%} of it" if x else "—"
        re_run = r["reRun"]
        head.append(
            f"| {r['example']} | {f['model']} | {f['atoms']} | {int(f['total']['calls'])} "
            f"| {pa['input_tokens']:.0f} | {pa['cache_read_tokens']:.0f} "
            f"| {pa['output_tokens']:.0f} | {pa['cost_list']:.4f} "
            f"| {pa['cost_no_prompt_cache']:.4f} | ${x:.2f} | {ratio} "
            f"| {re_run['newLedgerRows']}, ${re_run['newCostUsd']:.4f} |"
        )
        for stage, s in sorted(f["byStage"].items()):
            stage_rows.append(
                f"| {r['example']} | {stage} | {int(s['calls'])} | {int(s['input_tokens'])} "
                f"| {int(s['cache_read_tokens'])} | {int(s['output_tokens'])} "
                f"| {s['cost_list']:.4f} |"
            )
    text = [
        "# Tokens and cost per atom (scripted examples)",
        "",
        f"Recorded {meta['date']} on {meta['cpus']} CPUs (Python {meta['python']}); list prices "
        f"as of {meta['pricesAsOf']} from mge.llm.pricing. Produced by "
        "`.venv/bin/python benchmarks/cost_per_atom.py`.",
        "",
        "**The token counts come from the hand-written recordings the scripted provider "
        "replays, not from model runs**; the ×800 column is an extrapolation (all-in cost per "
        "atom, i.e. discovery + plan + skeletons + attempts + review suggestions divided by the "
        "atoms, × 800), set beside the original design's estimate of "
        f"${lo:.0f}–{hi:.0f} per 800-atom project. *No prompt cache* reprices cache-read "
        "tokens as input. The re-run is the same command in the same work folder: stage "
        "checkpoints and the response cache answer, so it should add no ledger rows and cost 0.",
        "",
        *head,
        "",
        "## By stage (first run)",
        "",
        *stage_rows,
        "",
        "![cost breakdown](cost_breakdown.png)",
        "",
    ]
    return "\n".join(text)


def plot(runs: list[dict[str, Any]]) -> list[str]:
    """cost_breakdown.png: cost per stage per example (matplotlib, when installed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plots", file=sys.stderr)
        return []
    stages = sorted({s for r in runs for s in r["firstRun"]["byStage"]})
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    bottoms = [0.0] * len(runs)
    names = [r["example"] for r in runs]
    for stage in stages:
        values = [r["firstRun"]["byStage"].get(stage, {}).get("cost_list", 0.0) for r in runs]
        ax.bar(names, values, bottom=bottoms, label=stage)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_ylabel("USD (list price, first run)")
    ax.set_title("Cost by stage (recorded token counts)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "cost_breakdown.png", dpi=110)
    plt.close(fig)
    return ["cost_breakdown.png"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--examples", nargs="+", default=list(EXAMPLES))
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="mge-cost-") as t:
        for example in args.examples:
            r = measure(example, Path(t))
            runs.append(r)
            f = r["firstRun"]
            print(
                f"{example}: {f['atoms']} atoms, ${f['perAtomAllIn']['cost_list']:.4f}/atom "
                f"all-in, ×800 ≈ ${f['extrapolated800']['allInWithPromptCache']:.2f}; "
                f"re-run {r['reRun']['newLedgerRows']} new calls, ${r['reRun']['newCostUsd']}",
                flush=True,
            )
    meta = machine()
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "runs": runs}
    (RESULTS / "cost_per_atom.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / "cost_per_atom.md").write_text(render_markdown(meta, runs))
    print("wrote", ["cost_per_atom.json", "cost_per_atom.md", *plot(runs)])


if __name__ == "__main__":
    main()
