"""Makespan through the operator vs the critical path (issue 8, measurement 1, operator part).

The synthetic project of ``benchmarks/makespan.py`` (N atoms: wide fan-out utilities, layered
services, deep chains), written as a Project with recordings by
``benchmarks/synthetic_project.py``: every atom answer waits its ``delay_seconds`` (lognormal
around 3 s plus the retry-after of a 429 / back-off of a 529 the call meets, drawn by the same
model as the local benchmark) and a seeded tenth of first attempts is wrong, so it is retried
with the error fed back. The Project goes through ``mge operator run`` on the test control plane
(real etcd, kube-apiserver, controller manager and scheduler; kwok as the node; the pod harness
runs each sandbox pod with the real sandbox entry point), as in ``benchmarks/operator_scale.py``.

Nothing is time-scaled: simulated seconds are seconds.

Makespan = the time the Project spends in phase ``Executing`` (status polled every 0.5 s).

Lower bound = Σ over graph levels of the max over the level's atoms of Σ over the atom's attempts
of (its recorded delay + the run time of the sandbox pod that validated that attempt), with the
attempts the operator actually made (from its store) and the pod run times measured around the
harness's call of the sandbox entry point. Left out of the bound, so counted as overhead: the
operator's in-process checks (parse, signature, mypy), Job and pod creation, scheduling, the
Job polls, the integration Jobs (module tests) the executor runs between levels, and the store.
The bound is therefore on the low side and the ratio on the high side.

    .venv/bin/python benchmarks/operator_makespan.py                  # 800 atoms
    .venv/bin/python benchmarks/operator_makespan.py --atoms 100      # a quick look

Needs the control-plane binaries (docs/control-plane.md). Results:
benchmarks/results/operator_makespan.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sqlite3
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

import operator_scale as scale  # noqa: E402  (sibling scripts, not a package)
import real_node_bench  # noqa: E402
from makespan import draw_call, fails_validation, synthetic_dependencies  # noqa: E402
from synthetic_project import layout, levels_of, write_project  # noqa: E402

from mge.graph.weighted import weighted_critical_path  # noqa: E402

G, V = scale.G, scale.V
TARGET_RATIO = 1.25
NAME = "synthetic"
NAMESPACE = "bench-makespan"
REQUESTS_PER_MINUTE = 4000
"""The local benchmark's client-side rate limit (MGE_LLM_REQUESTS_PER_MINUTE)."""
ATOM_TIMEOUT_SECONDS = 120


# ------------------------------------------------------------------------------- pure parts


@dataclass(frozen=True)
class PodRun:
    """One sandbox pod the harness ran: its Job, the atom ids of its batch, its run time."""

    job: str
    atoms: tuple[str, ...]
    seconds: float
    started: float
    tests: tuple[str, ...] = ()


def batch_tests(config_map_data: Mapping[str, str]) -> tuple[str, ...]:
    """Names of the test functions the sandbox batch in a Job's ConfigMap runs.

    The shipped batch numbers its items (``i0``, ``i1``…: the Job name must not depend on atom
    ids), so atoms are recognised by their tests: an L1 item runs the atom's own tests only.
    """
    names: list[str] = []
    for text in config_map_data.values():
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                names += _TEST_NAME.findall(json.dumps(item.get("command") or []))
    return tuple(names)


_TEST_NAME = re.compile(r"::(test_[A-Za-z0-9_]+)")


def atom_seconds(
    level_of: Mapping[str, int],
    attempts: Mapping[str, int],
    delay: Callable[[str, int], float],
    pods: Sequence[PodRun],
    l1_job: Callable[[str], bool],
) -> dict[str, float]:
    """Per atom: Σ attempts (delay) + Σ run times of the L1 pods whose batch held the atom."""
    per_atom: dict[str, float] = defaultdict(float)
    for atom, n in attempts.items():
        per_atom[atom] += sum(delay(atom, k) for k in range(1, n + 1))
    for pod in pods:
        if l1_job(pod.job):
            for atom in pod.atoms:
                if atom in level_of:
                    per_atom[atom] += pod.seconds
    return dict(per_atom)


def lower_bound(
    level_of: Mapping[str, int],
    attempts: Mapping[str, int],
    delay: Callable[[str, int], float],
    pods: Sequence[PodRun],
    l1_job: Callable[[str], bool],
) -> tuple[float, list[float]]:
    """Level bound in seconds (see the module docstring): per level the max over its atoms of
    :func:`atom_seconds`."""
    per_atom = atom_seconds(level_of, attempts, delay, pods, l1_job)
    levels: dict[int, float] = defaultdict(float)
    for atom, level in level_of.items():
        levels[level] = max(levels[level], per_atom.get(atom, 0.0))
    per_level = [levels[k] for k in sorted(levels)]
    return sum(per_level), per_level


def store_dependencies(n: int, seed: int) -> dict[str, list[str]]:
    """The synthetic project's dependencies, keyed by the atom ids the operator stores."""
    deps = synthetic_dependencies(n, seed)
    ids = {short: a.atom_id for short, a in layout(deps).items()}
    return {ids[a]: [ids[d] for d in needs] for a, needs in deps.items()}


def recorded_critical_path(run: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The atom-level critical path of a run recorded before the JSON kept per-atom figures.

    What the JSON lacks: which atoms each pod held and each atom's attempts. Rebuilt from the
    seeded project: delays and wrong first attempts (so 1 or 2 attempts — checked against the
    recorded total); per atom-attempt the pod time is bracketed by the fastest and the slowest L1
    pod of its level and attempt. ``low`` is a true lower bound, ``high`` an upper estimate.
    """
    n = int(run["atoms"])
    deps = synthetic_dependencies(n, seed)
    atoms = layout(deps)
    short_level = levels_of(deps)
    attempts = {s: 2 if fails_validation(seed, s, 1) else 1 for s in deps}
    if sum(attempts.values()) != run["attempts"]:
        raise ValueError(
            f"run made {run['attempts']} attempts, the seeded project predicts "
            f"{sum(attempts.values())}: per-atom attempts cannot be rebuilt"
        )
    pod_times: dict[tuple[int, int], list[float]] = defaultdict(list)
    for pod in run["pods"]:
        m = re.search(r"-l(\d+)-a(\d+)-", pod["job"])
        if m:
            pod_times[(int(m.group(1)), int(m.group(2)))].append(float(pod["seconds"]))
    ids = {s: a.atom_id for s, a in atoms.items()}
    out: dict[str, Any] = {}
    for name, pick in (("low", min), ("high", max)):
        weights = {}
        for s in deps:
            total = 0.0
            for k in range(1, attempts[s] + 1):
                record = draw_call(seed, f"atom/{ids[s]}/attempt-{k}")
                total += round(record.latency_s + record.penalty_s, 3)  # the recorded delay
                total += pick(pod_times.get((short_level[s], k), [0.0]))
            weights[s] = total
        path = weighted_critical_path(deps, weights)
        out[f"{name}Seconds"] = round(path.length, 1)
        out[f"{name}PathAtoms"] = len(path.path)
    return out


def _level_of_job(job: str) -> int | None:
    match = re.search(r"-l(\d+)-a\d+-", job)
    return int(match.group(1)) if match else None


def is_l1_job(job: str) -> bool:
    """An L1 batch Job (``…-l<level>-a<attempt>-…``), not a suite run (``…-suite-…``)."""
    return _level_of_job(job) is not None


def level_breakdown(pods: Sequence[PodRun], start: float, levels: int) -> dict[str, float]:
    """Where each level's wall time went, from the pod timeline, summed over levels (seconds):
    ``toFirstPod`` (previous level's end → its first L1 pod starts: LLM answers, batch linger,
    in-process checks, Job and pod start), ``l1Span`` (first L1 pod starts → last one ends:
    batches, retries and their LLM calls, Job lifecycles) and ``integrationTail`` (last L1 pod
    ends → the last integration Job before the next level ends)."""
    out = {"toFirstPod": 0.0, "l1Span": 0.0, "integrationTail": 0.0}
    previous_end = start
    for level in range(levels):
        l1 = [p for p in pods if _level_of_job(p.job) == level]
        if not l1:
            continue
        first = min(p.started for p in l1)
        last = max(p.started + p.seconds for p in l1)
        following = [p.started for p in pods if _level_of_job(p.job) == level + 1]
        next_first = min(following) if following else float("inf")
        tail = [
            p.started + p.seconds
            for p in pods
            if _level_of_job(p.job) is None and last <= p.started < next_first
        ]
        end = max([last, *tail])
        out["toFirstPod"] += first - previous_end
        out["l1Span"] += last - first
        out["integrationTail"] += end - last
        previous_end = end
    return {k: round(v, 1) for k, v in out.items()}


def phase_span(phases: Sequence[tuple[str, float]], phase: str) -> float | None:
    """Seconds from entering ``phase`` to entering the next one (None if not both seen)."""
    for i, (name, at) in enumerate(phases):
        if name == phase and i + 1 < len(phases):
            return phases[i + 1][1] - at
    return None


# ------------------------------------------------------------------------------- the run


class TimedRunner:
    """Wraps the harness's sandbox runner: times each pod's run, notes its batch's atoms."""

    def __init__(self, inner: Callable[[Any], Any], api: Any) -> None:
        from kubernetes import client

        self.inner = inner
        self.core = client.CoreV1Api(api)
        self.runs: list[PodRun] = []
        self.lock = threading.Lock()
        self.t0 = time.time()

    def __call__(self, pod: Any) -> Any:
        tests: tuple[str, ...] = ()
        for volume in pod.spec.volumes or []:
            if volume.config_map is not None:
                cm = self.core.read_namespaced_config_map(
                    volume.config_map.name, pod.metadata.namespace
                )
                tests += batch_tests(cm.data or {})
        job = (pod.metadata.labels or {}).get("job-name", pod.metadata.name)
        started = time.perf_counter()
        at = time.time() - self.t0
        outcome = self.inner(pod)
        seconds = time.perf_counter() - started
        with self.lock:
            self.runs.append(PodRun(job, (), seconds, at, tests))
        return outcome


def project_manifest(
    project_dir: Path, image: str | None = None, dispatch: str = "level"
) -> dict[str, Any]:
    import yaml

    body: dict[str, Any] = yaml.safe_load((project_dir / "project.yaml").read_text())
    spec = body["spec"]
    spec["llm"]["recordings"] = f"{project_dir.name}/recordings"
    spec["output"] = {}
    spec["execution"]["atomTimeoutSeconds"] = ATOM_TIMEOUT_SECONDS
    spec["execution"]["dispatch"] = dispatch
    if image is not None:  # the real node runs the image imported into its containerd
        spec["execution"]["sandboxImage"] = image
    spec["review"] = {"policy": "autoApprove", "autoApproveAfterSeconds": 0}
    return body


def store_figures(db: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(atom id → graph level, atom id → attempts made) from the operator's SQLite store."""
    with sqlite3.connect(db) as conn:
        levels = {a: int(lv) for a, lv in conn.execute("SELECT id, level FROM atoms")}
        attempts = dict(
            conn.execute("SELECT atom_id, COUNT(*) FROM attempts GROUP BY atom_id").fetchall()
        )
    return levels, {a: int(n) for a, n in attempts.items()}


def run(
    args: argparse.Namespace, tmp: Path, real: bool = False, dispatch: str = "level"
) -> dict[str, Any]:
    """One run of the synthetic Project: sandbox pods run by the harness (kwok node), or with
    ``real`` as real containers on the real node (kubelet + containerd; the kwok node cordoned
    and no harness: ``real_node_bench``); ``dispatch`` is the Project's spec.execution.dispatch."""
    from kubernetes import client
    from tests.integration.controlplane import find_binaries
    from tests.integration.kube.helpers import RESTRICTED, sandbox_entry_point

    from mge.config import LEASE_NAME
    from mge.kube.rbac import OPERATOR_CLUSTER_RULES, lease_rules

    root = tmp / "projects"
    summary = write_project(root / NAME, args.atoms, args.seed, NAME)
    delays: dict[str, float] = summary["delays"]
    print(
        f"synthetic project: {summary['atoms']} atoms, {summary['modules']} modules, "
        f"{summary['levels']} levels, {summary['wrongFirstAttempts']} wrong first attempts",
        flush=True,
    )
    work = tmp / "operator"
    work.mkdir()
    env = {
        **os.environ,
        "MGE_RECORDINGS_ROOT": str(root),
        "MGE_DATABASE_URL": f"sqlite:///{work / 'operator.db'}",
        "MGE_WORKDIR": str(work / "work"),
        "MGE_LLM_REQUESTS_PER_MINUTE": str(args.requests_per_minute),
        "MGE_JOB_POLL_MAX_SECONDS": str(args.job_poll_max),
    }
    phases: list[tuple[str, float]] = []
    final: dict[str, Any] = {}
    node_info: dict[str, Any] = {}
    timer: Any = None
    with scale._control_plane_class()(find_binaries()) as cp, contextlib.ExitStack() as stack:
        print(f"control plane up in {cp.startup_seconds:.1f} s", flush=True)
        scale.install_crds(cp.kubeconfig)
        env["KUBECONFIG"] = str(
            cp.kubeconfig_for_service_account(
                scale.OPERATOR_NAMESPACE,
                scale.OPERATOR_SA,
                OPERATOR_CLUSTER_RULES + lease_rules(LEASE_NAME),  # as the chart grants
                cluster_wide=True,
            )
        )
        cp.create_namespace(NAMESPACE, RESTRICTED)
        if real:
            node_info = stack.enter_context(real_node_bench.real_node(cp))
        load_start = os.getloadavg()[0]
        with cp.connect() as api:
            timed = TimedRunner(sandbox_entry_point(api), api)
            with contextlib.ExitStack() as inner:
                if real:
                    timer = inner.enter_context(
                        real_node_bench.PodTimer(api, NAMESPACE, batch_tests)
                    )
                    harness = None
                else:
                    harness = inner.enter_context(
                        cp.harness(timed, namespace=NAMESPACE, workers=args.harness_workers)
                    )
                proc = inner.enter_context(
                    scale.operator_process(env, NAMESPACE, work / "operator.log")
                )
                custom = client.CustomObjectsApi(api)
                started = time.time()
                timed.t0 = started
                image = real_node_bench.IMAGE if real else None
                custom.create_namespaced_custom_object(
                    G, V, NAMESPACE, "projects", project_manifest(root / NAME, image, dispatch)
                )
                deadline = time.monotonic() + args.timeout
                last_report = 0.0
                while time.monotonic() < deadline and proc.poll() is None:
                    item = custom.get_namespaced_custom_object(G, V, NAMESPACE, "projects", NAME)
                    status = item.get("status") or {}
                    now = time.time() - started
                    phase = status.get("phase")
                    if phase and (not phases or phases[-1][0] != phase):
                        phases.append((phase, now))
                        print(f"   {now:7.1f} s  phase {phase}", flush=True)
                    final = status
                    if phase in scale.FINAL_PHASES:
                        break
                    if now - last_report > 30:
                        last_report = now
                        print(f"   {now:7.1f} s  {status.get('progress', {})}", flush=True)
                    time.sleep(0.5)
                wall = time.time() - started
                harness_errors = list(harness.errors) if harness is not None else []
        load_end = os.getloadavg()[0]
    if timer is not None:  # the real node: container running → finished, as the kubelet said
        timed.runs = [
            PodRun(p.job, (), p.finished - p.running, p.running - started, p.tests)
            for p in timer.pods.values()
            if p.running is not None and p.finished is not None
        ]
    level_of, attempts = store_figures(work / "operator.db")
    atom_of_test = {f"test_f_{short}": aid for short, aid in summary["atomIds"].items()}
    known = atom_of_test.keys()
    pods = [
        replace(p, atoms=tuple(dict.fromkeys(atom_of_test[t] for t in p.tests if t in known)))
        for p in timed.runs
    ]

    def delay(atom: str, k: int) -> float:
        return delays.get(f"atom/{atom}/attempt-{k}", 0.0)

    bound, per_level = lower_bound(level_of, attempts, delay, pods, is_l1_job)
    weights = atom_seconds(level_of, attempts, delay, pods, is_l1_job)
    critical = weighted_critical_path(store_dependencies(args.atoms, args.seed), weights)
    executing = phase_span(phases, "Executing")
    l1_pods = [p for p in pods if is_l1_job(p.job) and set(p.atoms) <= set(level_of)]
    other_pods = [p for p in pods if p not in l1_pods]
    start = dict(phases).get("Executing")
    last_l1 = max((p.started + p.seconds for p in l1_pods), default=None)
    executor = last_l1 - start if last_l1 is not None and start is not None else None
    real_pods = list(timer.pods.values()) if timer is not None else []
    return {
        "node": "real" if real else "harness",
        "dispatch": dispatch,
        "t0": round(started, 3),
        "realNode": {
            **node_info,
            "pods": len(real_pods),
            "podsNotOnTheRealNode": sum(
                1 for p in real_pods if p.node != node_info.get("nodeName")
            ),
            "podsFailed": [p.name for p in real_pods if p.exit_code not in (0, None)][:5],
            "podCreateToRunningSecondsMedian": _median(
                [p.running - p.created for p in real_pods if p.running is not None]
            ),
        }
        if real
        else None,
        "atoms": args.atoms,
        "modules": summary["modules"],
        "levels": summary["levels"],
        "wrongFirstAttempts": summary["wrongFirstAttempts"],
        "phase": final.get("phase"),
        "phases": [(p, round(t, 1)) for p, t in phases],
        "executingSeconds": round(executing, 1) if executing is not None else None,
        "lowerBoundSeconds": round(bound, 1),
        "ratio": round(executing / bound, 3) if executing and bound else None,
        "criticalPathSeconds": round(critical.length, 1),
        "criticalPathAtoms": len(critical.path),
        "ratioToCriticalPath": (
            round(executing / critical.length, 3) if executing and critical.length else None
        ),
        "executorSeconds": round(executor, 1) if executor is not None else None,
        # the split by level assumes levels one after the other; with ``ready`` they overlap
        "breakdownSeconds": (
            level_breakdown(pods, start or 0.0, len(per_level)) if dispatch == "level" else {}
        ),
        "executorRatio": round(executor / bound, 3) if executor and bound else None,
        "perLevelBoundSeconds": [round(x, 2) for x in per_level],
        "attempts": sum(attempts.values()),
        "atomsInStore": len(level_of),
        "llmDelaySecondsTotal": round(
            sum(delay(a, k) for a, n in attempts.items() for k in range(1, n + 1)), 1
        ),
        "l1Pods": len(l1_pods),
        "l1PodSecondsMedian": _median([p.seconds for p in l1_pods]),
        "l1PodSecondsTotal": round(sum(p.seconds for p in l1_pods), 1),
        "otherPods": len(other_pods),
        "otherPodSecondsTotal": round(sum(p.seconds for p in other_pods), 1),
        # The harness runs ``--harness-workers`` pods at once on this machine's CPUs: no
        # schedule ends before every pod's run time, spread over the workers, has passed.
        "capacityBoundSeconds": (
            round(sum(p.seconds for p in pods) / args.harness_workers, 1) if not real else None
        ),
        "wallSeconds": round(wall, 1),
        "harnessErrors": harness_errors[:5],
        "load": [round(load_start, 2), round(load_end, 2)],
        "finalStatus": {k: final.get(k) for k in ("phase", "progress", "conditions") if k in final},
        "pods": [
            {
                "job": p.job,
                "atoms": len(p.atoms),
                "tests": len(p.tests),
                "seconds": round(p.seconds, 3),
                "at": round(p.started, 3),
            }
            for p in pods
        ],
    }


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return round(s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2, 3)


def _critical_cells(r: Mapping[str, Any]) -> tuple[str, str]:
    """(critical path s, makespan / it) for the table: exact, or a rebuilt low–high range."""
    executing = r.get("executingSeconds")
    if r.get("criticalPathSeconds"):
        return str(r["criticalPathSeconds"]), f"**{r.get('ratioToCriticalPath')}**"
    rebuilt = r.get("criticalPathRebuilt")
    if not rebuilt or not executing:
        return "—", "—"
    low, high = rebuilt["lowSeconds"], rebuilt["highSeconds"]
    return f"{low}–{high}", f"**{executing / high:.2f}–{executing / low:.2f}**"


def real_node_lines(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the table cannot say about runs on the real node (``--real-node``)."""
    out = []
    for r in runs:
        n = r.get("realNode")
        load = r.get("load") or ["?", "?"]
        if r.get("node") == "real" and n:
            out.append(
                f"- Real node run ({r['atoms']} atoms, recorded {r['recorded']}): every sandbox "
                f"pod a runc container under the kubelet on the real test node (image "
                f"`{n.get('image')}`, kwok node cordoned, no harness); node up in "
                f"{n.get('upSeconds')} s; {n.get('pods')} sandbox pods, "
                f"{n.get('podsNotOnTheRealNode')} elsewhere, failed: "
                f"{n.get('podsFailed') or 'none'}; pod create → container running median "
                f"{n.get('podCreateToRunningSecondsMedian')} s "
                "(creationTimestamp has 1 s resolution); pod seconds in the bound = container "
                "running → finished as the watch saw it; host left behind after the stop: "
                f"{n.get('leftBehind') or 'nothing'}; 1-minute load {load[0]} at the start, "
                f"{load[1]} at the end."
            )
        elif r.get("node") == "harness" and any(x.get("node") == "real" for x in runs):
            out.append(
                f"- Harness run ({r['atoms']} atoms, recorded {r['recorded']}): 1-minute load "
                f"{load[0]} at the start, {load[1]} at the end."
            )
    return [*out, ""] if out else []


def write_markdown(result: dict[str, Any], path: Path) -> None:
    m = result["machine"]
    rows = []
    for r in result["runs"]:
        verdict = (
            "—"
            if r["ratio"] is None
            else ("meets" if r["ratio"] <= TARGET_RATIO else "MISSES") + f" ≤ {TARGET_RATIO}"
        )
        b = r.get("breakdownSeconds", {})
        split = (
            f"{b.get('toFirstPod')} / {b.get('l1Span')} / {b.get('integrationTail')}"
            if b
            else "— (levels overlap)"
        )
        critical, to_critical = _critical_cells(r)
        rows.append(
            f"| {r['atoms']} | {r.get('node', 'harness')} | {r.get('dispatch', 'level')} | "
            f"{r['settings']['jobPollMaxSeconds']} | "
            f"{r['levels']} | "
            f"{r['attempts']} | {r['l1Pods']} | {r['l1PodSecondsMedian']} | {r['otherPods']} | "
            f"{r['executingSeconds']} | {r['lowerBoundSeconds']} | **{r['ratio']}** | {verdict} | "
            f"{critical} | {to_critical} | "
            f"{split} | "
            f"{r['phase']} |"
        )
    lines = [
        "# Makespan vs critical path (through the operator)",
        "",
        f"Recorded {result['recorded']} on {m['cpus']} CPUs ({m['arch']}, kernel {m['kernel']}, "
        f"Python {m['python']}), shared with other work (1-minute load {m['loadAverage1mAtStart']} "
        "at the start). Commands: "
        + "; ".join(f"`{c}`" for c in dict.fromkeys(r["command"] for r in result["runs"]))
        + ".",
        "",
        "Synthetic project of `benchmarks/makespan.py`'s shapes written as a Project with "
        "recordings (`benchmarks/synthetic_project.py`): each atom answer waits its recorded "
        "`delay_seconds` (lognormal, median 3 s, σ 0.4, plus 429/529 retry delays), a seeded "
        "tenth of first attempts is wrong. `mge operator run` on the test control plane (real "
        "apiserver, etcd, controller manager, scheduler; kwok node; the pod harness runs each "
        "sandbox pod with the real sandbox entry point, 4 at once), concurrency 100, "
        "batchSize 20, parallelism 4, `MGE_LLM_REQUESTS_PER_MINUTE=4000`. Real seconds, no "
        "time scale.",
        "",
        "Makespan = time in phase `Executing` (status polled every 0.5 s; phase changes reach "
        "status at once since the worker annotates the Project). Lower bound = Σ over levels "
        "of the max over the level's atoms of Σ over its attempts of (recorded delay + run time "
        "of the sandbox pod that validated it). Not in the bound (counted as overhead): "
        "in-process checks (parse, signature, mypy), batch linger, Job/pod creation and "
        "scheduling, Job polls, progressive-integration Jobs (module tests), store writes.",
        "",
        "Critical path = the heaviest chain of atoms through the dependency graph, each atom "
        "weighing the same Σ (`mge.graph.weighted.weighted_critical_path`): the limit of any "
        "schedule, where an atom starts as soon as its own dependencies are validated. A range "
        "`low–high` marks a run recorded before the JSON kept which atoms each pod held: rebuilt "
        "from the seeded project (recorded delays, the seeded wrong first attempts — their count "
        "matches the run's attempts), each atom-attempt's pod time bracketed by the fastest and "
        "the slowest L1 pod of its level and attempt (`--recorded-critical-path`); `low` is a "
        "true lower bound.",
        "",
        "| atoms | sandbox pods run by | dispatch | Job poll max s | levels | attempts | L1 pods "
        "| median L1 pod s | other pods "
        "| makespan s | level bound s | ratio | target | critical path s | ratio to it "
        "| to first pod / L1 span / integration tail s | final phase |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|",
        *rows,
        "",
    ]
    lines += real_node_lines(result["runs"])
    if path.stem == "operator_makespan":
        lines += [f"- {n}" for n in NOTES]
    elif path.stem == "operator_makespan_real_node":
        lines += [f"- {n}" for n in REAL_NODE_NOTES]
    else:  # a side run (--out): the notes above are about the recorded 800-atom runs
        lines.append(
            "- A side run (`--out`); the findings and notes of the recorded 800-atom runs are "
            "in operator_makespan.md. Read its ratios with the load it was recorded at."
        )
    path.write_text("\n".join(lines).rstrip() + "\n")


NOTES: list[str] = [
    "**Misses the target by far: 2.19 at the default Job poll (2.10 with polls capped at 1 s).** "
    "The bound is 320 s over 41 levels; the operator spends about 9 s per level above it. "
    "The last column splits each level's wall time (summed over levels): previous level's end "
    "→ its first sandbox pod starts (≈ 5.2 s per level: the first LLM answers, the batch "
    "linger, the in-process checks, then Job creation, scheduling and pod start through the "
    "apiserver, scheduler, kwok and the harness), first → last L1 pod (batches, retries with "
    "their LLM calls, each batch's Job lifecycle) and the integration tail (≈ 3.7 s per level: "
    "the progressive-integration Job over the modules the level completed, awaited before the "
    "next level because a failure there sends atoms of this level back).",
    "Why the levels matter: 34 of the 41 levels are deep-chain levels of 1–3 atoms whose bound "
    "is 4–7 s, so a fixed few seconds per level roughly doubles them; the 7 wide levels "
    "(≈ 100 atoms each) cost 2.3–3.3× their bound because their 11–15 batches each pay a Job "
    "lifecycle with 4 sandbox slots.",
    "Polling is a small part: capping `MGE_JOB_POLL_MAX_SECONDS` at 1 s saved 22 s of 700. "
    "What would close the gap (not done): integration checkpoints off the critical path "
    "(requeue into a later level instead of holding this one), in-process checks overlapped "
    "with Job start, and a Job watch in place of polls.",
    "Found by this benchmark and fixed before the recorded runs: sandbox batches copied every "
    "module a batch touched into every item (800 atoms: 1.1 MB > the 1 MiB ConfigMap limit, "
    "BatchTooLarge failed 40 atoms; items now carry only the files that differ from the shared "
    "version); `status.phase` followed the worker only at the 30 s timer (the worker now "
    "annotates the Project, `worker.mge.dev/state`, which wakes the update handler); "
    "`status.progress.level` stayed 0 during Executing.",
    "The pod harness stands in for the kubelet (no image pull, no container start): a real "
    "node adds per-Job latency, so a real cluster would show a larger ratio, not a smaller "
    "one. The shared codebase in every batch's ConfigMap (≈ 300 KB at 800 atoms here) grows "
    "with the project: a few thousand atoms of real code will reach the 1 MiB limit.",
    "The operator imports the working tree: each run's commit is in the JSON (`runs[].source`): "
    "cd48818 for the first run, e1d3673 (which only adds the progress level) for the second.",
]


REAL_NODE_NOTES: list[str] = [
    "One invocation (`--real-node`): the same seeded 100-atom Project and operator settings, "
    "first with the pod harness on the kwok node, then on the real node (a fresh control plane "
    "each; kwok cordoned, no harness; every sandbox pod a runc container started by the "
    "kubelet, results read from the real pod log). 800 atoms do not fit a 2-core node in the "
    "time here; 100 do.",
    "Makespan 316.9 s (harness) → 355.5 s (real node), +12 %; ratio to the level bound 2.82 → "
    "3.39. The bound uses each run's own pod times (the harness's timed entry point; on the "
    "real node container running → finished as the pod watch saw it), 112.2 vs 104.9 s. The "
    "growth is in the overhead columns: previous level → first pod 68.7 → 81.4 s and the "
    "integration tail 106.5 → 119.6 s over 7 levels, i.e. about 2 s per Job on the critical "
    "path: Job → pod → container start through a real kubelet (pod create → container "
    "running median 1.75 s here, 0.7–0.9 s on a quiet machine, see real_node_latency.md) "
    "where the harness starts its run as soon as it sees the pod. As predicted in "
    "operator_makespan.md: a real node makes the ratio worse, not better.",
    "The machine was busy throughout (1-minute load 11–15 from the CI run and four other "
    "sessions on 2 CPUs; each run's load is above). One run each: the same harness scenario "
    "recorded at load 10.6 took 229.8 s (operator_makespan_100.md), so run-to-run spread under "
    "this load is of the same order as the harness → real-node difference; read the +12 % "
    "as a direction, not a constant.",
    "The real-node run used the sandbox image built from this branch "
    "(`MGE_SANDBOX_IMAGE=localhost/mge-sandbox:i20-limits`): all 47 sandbox pods ran on the "
    "real node and exited 0; the node's stop left nothing on the host.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--atoms", type=int, default=800)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds")
    parser.add_argument("--harness-workers", type=int, default=4)
    parser.add_argument("--requests-per-minute", type=int, default=REQUESTS_PER_MINUTE)
    parser.add_argument(
        "--job-poll-max", type=float, default=5.0, help="MGE_JOB_POLL_MAX_SECONDS (the default)"
    )
    parser.add_argument(
        "--dispatch",
        nargs="+",
        choices=("level", "ready"),
        default=["level"],
        help="the Project's spec.execution.dispatch; several run one after the other, "
        "side by side in one invocation (default: level, the product's default)",
    )
    parser.add_argument("--out", default="operator_makespan")
    parser.add_argument("--append", action="store_true", help="add this run to the recorded ones")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the markdown from the JSON"
    )
    parser.add_argument(
        "--recorded-critical-path",
        action="store_true",
        help="add the atom-level critical path, rebuilt from the seeded project, to recorded "
        "runs that lack it, and rewrite the markdown (no new run)",
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the project, operator log and store in this folder"
    )
    parser.add_argument(
        "--real-node",
        action="store_true",
        help="run twice in one go: first with the pod harness (kwok node), then with every "
        "sandbox pod a real container on the real test node (root, containerd; the image is "
        "MGE_SANDBOX_IMAGE or localhost/mge-sandbox:0.1.0); both runs are recorded",
    )
    args = parser.parse_args()
    path = RESULTS / f"{args.out}.json"
    if args.render or args.recorded_critical_path:
        recorded = json.loads(path.read_text())
        if args.recorded_critical_path:
            for r in recorded["runs"]:
                if "criticalPathSeconds" not in r:
                    seed = r.get("settings", {}).get("seed", args.seed)
                    r["criticalPathRebuilt"] = recorded_critical_path(r, seed)
            path.write_text(json.dumps(recorded, indent=2) + "\n")
        write_markdown(recorded, RESULTS / f"{args.out}.md")
        return
    os.environ.setdefault("PYTHONPATH", str(REPO / "operator"))
    sys.path.insert(0, str(REPO / "operator"))
    sys.path.insert(0, str(REPO))
    info = scale.machine()
    recorded = datetime.now(UTC).isoformat(timespec="seconds")
    new_runs = []
    nodes = (False, True) if args.real_node else (False,)
    for real, dispatch in ((r, d) for r in nodes for d in args.dispatch):
        if args.keep:
            keep = args.keep / ("real-node" if real else "harness")
            if len(args.dispatch) > 1:  # one folder per dispatch when several run
                keep = keep / dispatch
            keep.mkdir(parents=True)
            result_run = run(args, keep, real, dispatch)
        else:
            with tempfile.TemporaryDirectory(prefix="mge-operator-makespan-") as tmp:
                result_run = run(args, Path(tmp), real, dispatch)
        argv = " ".join(sys.argv[1:])
        result_run["command"] = f".venv/bin/python benchmarks/operator_makespan.py {argv}".strip()
        result_run["recorded"] = recorded
        result_run["loadAverage1mAtStart"] = result_run["load"][0]
        result_run["source"] = info["source"]
        result_run["settings"] = {
            "harnessWorkers": args.harness_workers,
            "requestsPerMinute": args.requests_per_minute,
            "jobPollMaxSeconds": args.job_poll_max,
            "atomTimeoutSeconds": ATOM_TIMEOUT_SECONDS,
            "seed": args.seed,
        }
        new_runs.append(result_run)
        print(json.dumps({k: v for k, v in result_run.items() if not isinstance(v, (list, dict))}))
    earlier = json.loads(path.read_text())["runs"] if args.append and path.exists() else []
    result = {"recorded": recorded, "machine": info, "runs": [*earlier, *new_runs]}
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, RESULTS / f"{args.out}.md")


if __name__ == "__main__":
    main()
