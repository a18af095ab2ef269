"""Makespan vs the critical path: how close execution gets to the wall-time lower bound.

A synthetic project (N atoms in three realistic dependency shapes: wide fan-out utilities that
everything calls, layered services where each layer calls the one below, and deep chains of
pipeline steps) runs through the real :class:`~mge.execution.DependencyAwareGenerator` with the
real :class:`~mge.llm.LLMClient` (concurrency limit, leaky-bucket rate limit) and a real SQLite
store as the journal. Only the two outside services are simulated:

* the model: lognormal latency around 3 s; occasional 429 (rate limited: wait ``retry-after``,
  try again) and 529 (overloaded: back off, try again), each simulated as the delay the SDK's
  own retry would add; usage at realistic token counts so the ledger has rows;
* the sandbox: a per-batch latency (start-up + a share per atom), and a first attempt that fails
  validation now and then, so retries happen as they do in real runs.

Every delay is drawn from a generator seeded by the call's logical key (atom + attempt) or the
batch's content, so a run's *work* does not depend on how it was scheduled. All simulated
seconds are multiplied by ``--time-scale`` (default 0.05: 3 s becomes 150 ms) so a run takes
seconds; the ratio is what matters. Orchestration CPU is not scaled, so a smaller scale
overstates its share (the script runs two scales to show that).

Two bounds, per atom weighing Σ over its attempts of (LLM latency + validation latency):

* level bound = Σ over levels of the level's heaviest atom: the limit of level-by-level
  execution. Target (issue 8): makespan / level bound ≤ 1.10 locally, 800 atoms, concurrency 100.
* atom-level critical path = the heaviest dependency chain of atoms
  (:func:`mge.graph.weighted.weighted_critical_path`): the limit of any scheduler, since an
  atom can start as soon as its own dependencies are validated. Target (issue 21): ≤ 1.10.

The same run measures orchestration overhead per atom (item 2 of the issue, local part): the
process CPU time (the simulated services only sleep, so nearly all of it is orchestration), the
wall time of store writes, and the gap between the makespan and the simulated waits.

    .venv/bin/python benchmarks/makespan.py                      # 800 atoms + the N sweep
    .venv/bin/python benchmarks/makespan.py --sizes 800 --scales 0.05

Results: benchmarks/results/makespan.{json,md} and makespan_vs_n.png, overhead.png.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mge.errors import LLMError
from mge.execution import DependencyAwareGenerator, StoreJournal
from mge.execution.executor import BATCH_LINGER_SECONDS
from mge.execution.generator import Dispatch
from mge.graph import DependencyAnalyzer
from mge.graph.weighted import weighted_critical_path
from mge.llm import LLMClient
from mge.llm.base import LLMRequest, LLMResponse
from mge.models.atoms import AtomicUnit, AtomState
from mge.models.execution import Attempt, CheckResult, Usage, ValidationResult
from mge.models.project import BudgetSpec, ExecutionSpec, ProjectSpec
from mge.store import Store
from mge.validation.batch import Candidate, Workspace
from mge.validation.codebase import Codebase

RESULTS = Path(__file__).resolve().parent / "results"

# --- the simulated world (seconds are simulated seconds, before --time-scale) --------------
LATENCY_MEDIAN_S = 3.0
"""Median model latency of one atom answer (~10 lines of code, ~2-3k prompt tokens)."""
LATENCY_SIGMA = 0.4
"""Lognormal shape: p50 3 s, p99 ≈ 7.6 s."""
P_429 = 0.03
"""Share of calls rejected once with 429 (rate limited) before succeeding."""
RETRY_AFTER_S = (1.0, 3.0)
"""retry-after of a 429, uniform in this range."""
P_529 = 0.01
"""Share of calls that meet 529 (overloaded) once."""
BACKOFF_529_S = (2.0, 6.0)
"""Back-off after a 529, uniform in this range."""
P_FIRST_ATTEMPT_FAILS = 0.10
"""Share of first attempts that fail validation (later attempts fail at a third of that)."""
VALIDATION_BASE_S = 1.5
"""Per-batch start-up (process sandbox + interpreter + pytest collection)."""
VALIDATION_PER_ATOM_S = 0.1
"""Per atom in a batch (tests run concurrently inside the batch)."""
VALIDATION_SIGMA = 0.2
"""Lognormal jitter of a batch's start-up."""
REQUESTS_PER_MINUTE = 4000
"""Client-side rate limit in real minutes (an Anthropic tier-4-like limit); scaled with time."""
CONCURRENCY = 100
DEFAULT_SIZES = (100, 200, 400, 800)
DEFAULT_SCALES = (0.05, 0.1)
DEFAULT_SEED = 8
TARGET_RATIO = 1.10
DEFAULT_DISPATCH: tuple[Dispatch, ...] = ("level", "ready")
INPUT_TOKENS = 2400
OUTPUT_TOKENS = 90
PROJECT = "bench-makespan"

# --- shapes of the synthetic project ----------------------------------------------------
UTILITY_SHARE = 0.06
"""Atoms with no dependencies that many others call (wide fan-out)."""
CHAIN_SHARE = 0.15
"""Atoms in deep chains (pipeline steps: step k calls step k-1)."""
CHAINS = 3
SERVICE_LAYERS = 6
"""models → validators → repositories → services → handlers → routes."""
ATOMS_PER_FILE = 20


def _rng(*parts: object) -> random.Random:
    """A generator seeded by ``parts``: the same draws whatever the scheduling."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# --- the synthetic project (pure) ---------------------------------------------------------


def synthetic_dependencies(n: int, seed: int) -> dict[str, list[str]]:
    """Atom id → ids it depends on, for ``n`` atoms in the three shapes (pure, seeded)."""
    rng = random.Random(seed)
    ids = [f"a{i:05d}" for i in range(n)]
    n_util = max(1, round(n * UTILITY_SHARE))
    n_chain = round(n * CHAIN_SHARE)
    utilities, rest = ids[:n_util], ids[n_util:]
    chained, services = rest[:n_chain], rest[n_chain:]
    deps: dict[str, list[str]] = {u: [] for u in utilities}
    # Deep chains: each starts from a utility; step k needs step k-1.
    per_chain = max(1, math.ceil(len(chained) / CHAINS))
    for c in range(0, len(chained), per_chain):
        chain = chained[c : c + per_chain]
        for k, atom in enumerate(chain):
            deps[atom] = [chain[k - 1]] if k else [rng.choice(utilities)]
    # Layered services: 1-3 atoms of the layer below plus a utility (fan-out on utilities).
    layers = [services[i::SERVICE_LAYERS] for i in range(SERVICE_LAYERS)]
    for k, layer in enumerate(layers):
        for atom in layer:
            below = layers[k - 1] if k else []
            picks = rng.sample(below, min(len(below), rng.randint(1, 3))) if below else []
            deps[atom] = sorted({*picks, rng.choice(utilities)})
    return {a: deps[a] for a in ids}


def synthetic_codebase(deps: Mapping[str, Sequence[str]]) -> Codebase:
    """Skeleton files (``def fN(x: int) -> int`` with an empty body) and their atoms."""
    ids = sorted(deps)
    files: dict[str, str] = {}
    atoms: dict[str, AtomicUnit] = {}
    for start in range(0, len(ids), ATOMS_PER_FILE):
        path = f"pkg/mod{start // ATOMS_PER_FILE}.py"
        chunk = ids[start : start + ATOMS_PER_FILE]
        lines = [f'"""Synthetic module {path}."""', ""]
        for atom_id in chunk:
            name = f"f_{atom_id}"
            signature = f"def {name}(x: int) -> int:"
            lines += ["", signature, f'    """Step {atom_id}."""', "    ...", ""]
            atoms[atom_id] = AtomicUnit(
                id=atom_id,
                file=path,
                language="python",
                kind="function",
                qualname=name,
                signature=signature,
                spec=f"Step {atom_id}: add one to the result of its dependencies.",
                estimated_loc=4,
                complexity=1,
                dependencies=list(deps[atom_id]),
            )
        files[path] = "\n".join(lines) + "\n"
    return Codebase(files, atoms)


# --- the simulated services ---------------------------------------------------------------

_ATOM_KEY = re.compile(r"atom/([^/]+)/")


@dataclass
class CallRecord:
    """One simulated model call: its latency and the retry delays it met (simulated s)."""

    latency_s: float
    penalty_s: float
    errors: list[str]


def draw_call(seed: int, key: str) -> CallRecord:
    """Latency and retry delays (simulated s) of the model call with logical key ``key``."""
    rng = _rng(seed, "llm", key)
    latency = rng.lognormvariate(math.log(LATENCY_MEDIAN_S), LATENCY_SIGMA)
    penalty, errors = 0.0, []
    if rng.random() < P_429:
        penalty += rng.uniform(*RETRY_AFTER_S)
        errors.append("429")
    if rng.random() < P_529:
        penalty += rng.uniform(*BACKOFF_529_S)
        errors.append("529")
    return CallRecord(latency, penalty, errors)


def fails_validation(seed: int, atom_id: str, attempt: int) -> bool:
    """Whether this attempt's code fails validation (seeded; later attempts at a third)."""
    p_fail = P_FIRST_ATTEMPT_FAILS / (1 if attempt == 1 else 3)
    return _rng(seed, "valid", atom_id, attempt).random() < p_fail


class SimulatedModel:
    """A Provider whose answers are correct code after a lognormal latency (see module doc)."""

    name = "simulated"
    model = "simulated-3s"

    def __init__(self, codebase: Codebase, scale: float, seed: int) -> None:
        self.codebase = codebase
        self.scale = scale
        self.seed = seed
        self.calls: dict[str, CallRecord] = {}

    def draw(self, key: str) -> CallRecord:
        """Latency and retry delays of the call with logical key ``key`` (pure in the key)."""
        return draw_call(self.seed, key)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Sleep the scaled latency (+ retry delays), answer with a valid body."""
        match = _ATOM_KEY.match(request.key)
        if match is None:
            raise LLMError(f"unexpected request {request.key!r}")
        atom = self.codebase.atoms[match.group(1)]
        record = self.draw(request.key)
        self.calls[request.key] = record
        await asyncio.sleep((record.latency_s + record.penalty_s) * self.scale)
        body = " + ".join(f"f_{d}(x)" for d in atom.dependencies) or "x"
        text = f"```python\n{atom.signature}\n    return {body} + 1\n```\n"
        prompt_chars = sum(map(len, request.system)) + len(request.prompt)
        usage = Usage(
            input_tokens=max(1, prompt_chars // 4 - INPUT_TOKENS // 2),
            cache_read_tokens=INPUT_TOKENS // 2,
            output_tokens=OUTPUT_TOKENS,
        )
        return LLMResponse(text=text, usage=usage, model=self.model, provider=self.name)

    async def aclose(self) -> None:
        """Nothing to release."""


@dataclass
class BatchRecord:
    """One simulated validation batch."""

    level: int
    index: int
    members: list[tuple[str, int]]
    seconds: float
    started: float
    ended: float


class SimulatedSandbox:
    """A BatchValidator: per-batch latency, a seeded share of failed first attempts."""

    def __init__(self, scale: float, seed: int, t0: float) -> None:
        self.scale = scale
        self.seed = seed
        self.t0 = t0
        self.batches: list[BatchRecord] = []

    async def validate(
        self,
        level: int,
        batch_index: int,
        candidates: list[Candidate],
        visible: Mapping[str, str] | None = None,
    ) -> dict[str, ValidationResult]:
        """Sleep the batch's scaled latency; pass or fail each candidate by its seeded draw."""
        members = sorted((c.atom_id, c.attempt) for c in candidates)
        jitter = _rng(self.seed, "batch", members).lognormvariate(0.0, VALIDATION_SIGMA)
        seconds = VALIDATION_BASE_S * jitter + VALIDATION_PER_ATOM_S * len(candidates)
        started = time.perf_counter() - self.t0
        await asyncio.sleep(seconds * self.scale)
        ended = time.perf_counter() - self.t0
        self.batches.append(BatchRecord(level, batch_index, members, seconds, started, ended))
        results = {}
        for c in candidates:
            ok = not fails_validation(self.seed, c.atom_id, c.attempt)
            check = CheckResult(name="tests", passed=ok, detail="" if ok else "assert 2 == 3")
            results[c.atom_id] = ValidationResult(
                level="L1", subject=c.atom_id, passed=ok, checks=[check]
            )
        return results


class TimedJournal(StoreJournal):
    """The store journal, timing each write (instrumentation, the writes are real)."""

    def __init__(self, store: Store, project: str) -> None:
        super().__init__(store, project)
        self.write_s = 0.0
        self.writes = 0

    async def attempt(self, attempt: Attempt, state: AtomState, code: str | None) -> None:
        """Store the attempt, timed."""
        start = time.perf_counter()
        await super().attempt(attempt, state, code)
        self.write_s += time.perf_counter() - start
        self.writes += 1


# --- the lower bound (pure) -----------------------------------------------------------------


def atom_seconds(
    calls: Mapping[str, CallRecord], batches: Sequence[BatchRecord]
) -> dict[str, float]:
    """Per atom, in simulated seconds: Σ over its attempts of (LLM latency + retry delays + its
    batch's validation time)."""
    per_atom: dict[str, float] = defaultdict(float)
    for key, record in calls.items():
        match = _ATOM_KEY.match(key)
        if match:
            per_atom[match.group(1)] += record.latency_s + record.penalty_s
    for batch in batches:
        for atom_id, _attempt in batch.members:
            per_atom[atom_id] += batch.seconds
    return dict(per_atom)


def lower_bound(
    levels: Sequence[Sequence[str]],
    calls: Mapping[str, CallRecord],
    batches: Sequence[BatchRecord],
) -> tuple[float, list[float]]:
    """Level bound in simulated seconds: Σ over levels of the max over its atoms of
    :func:`atom_seconds`."""
    per_atom = atom_seconds(calls, batches)
    per_level = [max((per_atom.get(a, 0.0) for a in level), default=0.0) for level in levels]
    return sum(per_level), per_level


# --- one run ---------------------------------------------------------------------------------


async def run_once(
    n: int, scale: float, seed: int, workdir: Path, dispatch: Dispatch = "ready"
) -> dict[str, Any]:
    """Execute a synthetic project of ``n`` atoms; the figures of the run."""
    deps = synthetic_dependencies(n, seed)
    codebase = synthetic_codebase(deps)
    graph = DependencyAnalyzer().analyze(list(codebase.atoms.values()))
    levels = graph.levels
    spec = ProjectSpec(
        requirements="synthetic benchmark project",
        execution=ExecutionSpec(concurrency=CONCURRENCY, dispatch=dispatch),
        budget=BudgetSpec(max_cost_usd=100_000.0, max_atoms=200_000),
    )
    store = await Store.open(f"sqlite+aiosqlite:///{workdir / f'bench-{n}-{scale}-{dispatch}.db'}")
    await store.upsert_project(PROJECT, spec, 1)
    await store.save_atoms(PROJECT, list(codebase.atoms.values()), graph.level_of)
    model = SimulatedModel(codebase, scale, seed)
    client = LLMClient(
        model,
        cache=store,
        ledger=store,
        concurrency=CONCURRENCY,
        requests_per_minute=max(1, round(REQUESTS_PER_MINUTE / scale)),
    )
    journal = TimedJournal(store, PROJECT)
    t0 = time.perf_counter()
    sandbox = SimulatedSandbox(scale, seed, t0)
    generator = DependencyAwareGenerator(
        workspace=Workspace(codebase),
        llm=client,
        validator=sandbox,
        spec=spec,
        journal=journal,
        project=PROJECT,
        batch_linger_s=BATCH_LINGER_SECONDS * scale,
    )
    cpu0 = time.process_time()
    try:
        result = await generator.run(levels)
    finally:
        await store.close()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    bound, per_level = lower_bound(levels, model.calls, sandbox.batches)
    critical = weighted_critical_path(deps, atom_seconds(model.calls, sandbox.batches))
    makespan_sim = wall / scale
    attempts = sum(len(p.attempts) for p in result.state.atoms.values())
    llm_sim = sum(r.latency_s + r.penalty_s for r in model.calls.values())
    widths = [len(level) for level in levels]
    return {
        "atoms": n,
        "timeScale": scale,
        "dispatch": dispatch,
        "levels": len(levels),
        "maxLevelWidth": max(widths),
        "edges": sum(len(d) for d in deps.values()),
        "status": result.status,
        "validated": result.state.count(AtomState.VALIDATED),
        "flagged": result.state.count(AtomState.FAILED),
        "attempts": attempts,
        "llmCalls": len(model.calls),
        "retried429or529": sum(1 for r in model.calls.values() if r.errors),
        "batches": len(sandbox.batches),
        "wallSeconds": round(wall, 3),
        "makespanSimSeconds": round(makespan_sim, 1),
        "lowerBoundSimSeconds": round(bound, 1),
        "ratio": round(makespan_sim / bound, 3),
        "criticalPathSimSeconds": round(critical.length, 1),
        "criticalPathAtoms": len(critical.path),
        "ratioToCriticalPath": round(makespan_sim / critical.length, 3),
        "perLevelBoundSimSeconds": [round(x, 2) for x in per_level],
        "overhead": {
            "cpuSeconds": round(cpu, 3),
            "cpuMsPerAtom": round(1000 * cpu / n, 2),
            "cpuMsPerAttempt": round(1000 * cpu / max(1, attempts), 2),
            "storeWrites": journal.writes,
            "storeWriteMsPerAtom": round(1000 * journal.write_s / n, 2),
            "storeWriteWallSeconds": round(journal.write_s, 3),
            "gapWallSeconds": round(wall - bound * scale, 3),
            "llmSimSecondsTotal": round(llm_sim, 1),
        },
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)),
        "loadAverage1m": round(os.getloadavg()[0], 2),
    }


def world() -> dict[str, Any]:
    """The simulation's parameters, recorded with the results."""
    return {
        "latencyMedianS": LATENCY_MEDIAN_S,
        "latencySigma": LATENCY_SIGMA,
        "p429": P_429,
        "retryAfterS": RETRY_AFTER_S,
        "p529": P_529,
        "backoff529S": BACKOFF_529_S,
        "pFirstAttemptFails": P_FIRST_ATTEMPT_FAILS,
        "validationBaseS": VALIDATION_BASE_S,
        "validationPerAtomS": VALIDATION_PER_ATOM_S,
        "requestsPerMinute": REQUESTS_PER_MINUTE,
        "concurrency": CONCURRENCY,
        "batchSize": ExecutionSpec().batch_size,
        "parallelism": ExecutionSpec().parallelism,
        "maxAttempts": ExecutionSpec().max_attempts,
        "batchLingerS": BATCH_LINGER_SECONDS,
        "shapes": {
            "utilityShare": UTILITY_SHARE,
            "chainShare": CHAIN_SHARE,
            "chains": CHAINS,
            "serviceLayers": SERVICE_LAYERS,
        },
    }


# --- output ------------------------------------------------------------------------------------


@dataclass
class Results:
    """Everything one invocation measured."""

    meta: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)


def render_markdown(res: Results) -> str:
    """benchmarks/results/makespan.md."""
    m, w = res.meta["machine"], res.meta["world"]
    default_command = ".venv/bin/python benchmarks/makespan.py"
    rows = [
        "| atoms | time scale | dispatch | levels | widest level | attempts | 429/529 calls "
        "| batches | makespan (sim s) | level bound (sim s) | ratio "
        "| critical path (sim s) | ratio to it | target | wall s |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in res.runs:
        dispatch = r.get("dispatch", "level")
        # Level by level is held to the level bound (issue 8), dependency-ready dispatch to the
        # critical path (issue 21).
        ready = dispatch == "ready"
        ratio = r["ratioToCriticalPath"] if ready else r["ratio"]
        verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
        target = f"{verdict} ≤ {TARGET_RATIO} of the {'critical path' if ready else 'level bound'}"
        rows.append(
            f"| {r['atoms']} | {r['timeScale']} | {dispatch} | {r['levels']} "
            f"| {r['maxLevelWidth']} | {r['attempts']} | {r['retried429or529']} | {r['batches']} "
            f"| {r['makespanSimSeconds']} | {r['lowerBoundSimSeconds']} | {r['ratio']} "
            f"| {r.get('criticalPathSimSeconds', '–')} | {r.get('ratioToCriticalPath', '–')} "
            f"| {target} | {r['wallSeconds']} |"
        )
    over = [
        "| atoms | time scale | dispatch | CPU ms/atom | CPU ms/attempt | store writes "
        "| store write ms/atom | wall gap over bound s |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in res.runs:
        o = r["overhead"]
        over.append(
            f"| {r['atoms']} | {r['timeScale']} | {r.get('dispatch', 'level')} "
            f"| {o['cpuMsPerAtom']} | {o['cpuMsPerAttempt']} "
            f"| {o['storeWrites']} | {o['storeWriteMsPerAtom']} | {o['gapWallSeconds']} |"
        )
    text = [
        "# Makespan vs critical path (local)",
        "",
        f"Recorded {m['date']} on {m['cpus']} CPUs ({m['machine']}, kernel {m['kernel']}, "
        f"Python {m['python']}), shared with other work (1-minute load {m['loadAverage1m']} "
        f"at the start). Produced by `{res.meta.get('command', default_command)}`.",
        "",
        "Real DependencyAwareGenerator + LLMClient (concurrency "
        f"{w['concurrency']}, {w['requestsPerMinute']} requests/min, scaled) + SQLite store "
        "journal; simulated model (lognormal latency, median "
        f"{w['latencyMedianS']} s, σ {w['latencySigma']}; {w['p429']:.0%} of calls meet a 429 "
        f"(retry-after {w['retryAfterS'][0]}–{w['retryAfterS'][1]} s), {w['p529']:.0%} a 529 "
        f"(back-off {w['backoff529S'][0]}–{w['backoff529S'][1]} s)) and simulated sandbox "
        f"(batch of {w['batchSize']}, {w['parallelism']} at once, {w['validationBaseS']} s + "
        f"{w['validationPerAtomS']} s/atom; {w['pFirstAttemptFails']:.0%} of first attempts "
        "fail; batches streamed within a level, linger "
        f"{w.get('batchLingerS', '–')} s). **Simulated seconds are run at the time scale "
        "shown** (0.05: a 3 s call sleeps 150 ms); makespan (sim s) = wall / scale. "
        "Orchestration CPU is not scaled, so the smaller scale overstates it.",
        "",
        "Each atom weighs Σ over its attempts of (LLM latency + retry delays + the validation "
        "time of the atom's batch). Level bound = Σ over levels of the level's heaviest atom "
        "(the limit of level-by-level execution; target ≤ 1.10 from issue 8). Critical path = "
        "the heaviest chain of atoms through the dependency graph (the limit of any schedule, "
        "`mge.graph.weighted.weighted_critical_path`; issue 21 targets ≤ 1.10 of it, which "
        "level-by-level execution cannot reach when the two bounds differ). Dispatch `level` "
        "starts a level when the previous one and its checks are done (the way before issue "
        "21); `ready` starts each atom when its own dependencies are settled, batches still "
        "labelled with their level, end-of-level checks beside the next atoms "
        "(`mge.execution.graphrun`); both run on the same seed, one after the other.",
        "",
        *rows,
        "",
        "## Orchestration overhead per atom (local)",
        "",
        "CPU = the whole process's CPU time during execution (the simulated services only "
        "sleep, so this is scheduling, prompt building, code extraction, pydantic records, "
        "the store's SQL and the LLM client's cache look-ups and ledger rows). Store write ms "
        "= wall time of the journal's attempt writes (one transaction each). Gap = wall time "
        "above the scaled lower bound.",
        "",
        *over,
        "",
        "![makespan vs N](makespan_vs_n.png) ![overhead](overhead.png)",
        "",
    ]
    return "\n".join(text)


def plot(res: Results) -> list[str]:
    """makespan_vs_n.png and overhead.png (matplotlib, when installed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plots", file=sys.stderr)
        return []
    written = []
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for scale in sorted({r["timeScale"] for r in res.runs}):
        at_scale = [r for r in res.runs if r["timeScale"] == scale]
        for dispatch in sorted({r.get("dispatch", "level") for r in at_scale}):
            runs = sorted(
                (r for r in at_scale if r.get("dispatch", "level") == dispatch),
                key=lambda r: r["atoms"],
            )
            ns = [r["atoms"] for r in runs]
            label = f"makespan ×{scale} ({dispatch})"
            ax.plot(ns, [r["makespanSimSeconds"] for r in runs], "o-", label=label)
        runs = sorted(at_scale, key=lambda r: r["atoms"])
        ns = [r["atoms"] for r in runs]
        ax.plot(ns, [r["lowerBoundSimSeconds"] for r in runs], "x--", label=f"level bound ×{scale}")
        crit = [r["criticalPathSimSeconds"] for r in runs]
        ax.plot(ns, crit, "+:", label=f"critical path ×{scale}")
    ax.set_xlabel("atoms")
    ax.set_ylabel("simulated seconds")
    ax.set_title(f"Makespan vs critical path, concurrency {CONCURRENCY}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "makespan_vs_n.png", dpi=110)
    plt.close(fig)
    written.append("makespan_vs_n.png")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    runs = sorted(res.runs, key=lambda r: (r["timeScale"], r["atoms"]))
    labels = [f"{r['atoms']}\n×{r['timeScale']}\n{r.get('dispatch', 'level')}" for r in runs]
    store_ms = [r["overhead"]["storeWriteMsPerAtom"] for r in runs]
    cpu_ms = [r["overhead"]["cpuMsPerAtom"] for r in runs]
    ax.bar(labels, cpu_ms, label="process CPU ms/atom")
    ax.bar(labels, store_ms, width=0.4, label="store write wall ms/atom")
    ax.set_ylabel("ms per atom")
    ax.set_title("Orchestration overhead per atom (local)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "overhead.png", dpi=110)
    plt.close(fig)
    written.append("overhead.png")
    return written


async def main_async(
    sizes: Sequence[int],
    scales: Sequence[float],
    seed: int,
    dispatches: Sequence[Dispatch] = DEFAULT_DISPATCH,
) -> Results:
    """Run every (size, scale, dispatch), one fresh database each."""
    res = Results(meta={"machine": machine(), "world": world(), "seed": seed})
    with tempfile.TemporaryDirectory(prefix="mge-makespan-") as tmp:
        for scale in scales:
            for n, dispatch in ((n, d) for n in sizes for d in dispatches):
                row = await run_once(n, scale, seed, Path(tmp), dispatch)
                res.runs.append(row)
                print(
                    f"{n:>5} atoms ×{scale} {dispatch}: "
                    f"makespan {row['makespanSimSeconds']} sim s, "
                    f"bound {row['lowerBoundSimSeconds']} → ratio {row['ratio']}, "
                    f"critical path {row['criticalPathSimSeconds']} → "
                    f"{row['ratioToCriticalPath']} "
                    f"({row['levels']} levels, {row['attempts']} attempts, "
                    f"CPU {row['overhead']['cpuMsPerAtom']} ms/atom, wall {row['wallSeconds']} s)",
                    flush=True,
                )
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--scales", type=float, nargs="+", default=list(DEFAULT_SCALES))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--dispatch",
        nargs="+",
        choices=["level", "ready"],
        default=list(DEFAULT_DISPATCH),
        help="level: a level starts when the previous one and its checks are done (before "
        "issue 21); ready: each atom when its own dependencies are settled (default: both, "
        "one after the other, for the side-by-side table)",
    )
    args = parser.parse_args()
    res = asyncio.run(main_async(args.sizes, args.scales, args.seed, args.dispatch))
    res.meta["command"] = " ".join([".venv/bin/python benchmarks/makespan.py", *sys.argv[1:]])
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"meta": res.meta, "runs": res.runs}
    (RESULTS / "makespan.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / "makespan.md").write_text(render_markdown(res))
    print("wrote", ["makespan.json", "makespan.md", *plot(res)])


if __name__ == "__main__":
    main()
