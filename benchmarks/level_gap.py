"""Where the time between two levels goes, from a kept operator_makespan run (issue 21, point 3).

Reads the store of a run kept with ``operator_makespan.py --keep DIR`` (DIR/operator/operator.db:
each LLM answer's arrival is its cache row's ``created_at``, each attempt's settle is its row's
``created_at`` and ``duration_s`` = LLM time + validation time, the module and integration checks
are ``validations`` rows), the recorded answer delays (DIR/projects/*/recordings/atoms.yaml) and
the run's pod timings (``pods`` in the benchmark's JSON), and splits, per level, the wait from the
previous level's end (its last settle or the last check after it, whichever is later) to the
level's first settled attempt:

- ``llm``: previous end → first answer of the level (the model's recorded delay plus prompt
  building and the LLM client);
- ``toBatch``: first answer → its batch starts (waiting for the wave or the linger, and for a
  sandbox slot);
- ``batchOverhead``: batch start → settle minus the first pod's own run time: in-process checks
  (parse, signature, mypy), ConfigMap and Job creation, scheduling, pod start, the Job poll that
  sees it done, reading the result and the journal write (not separable from these figures);
- ``pod``: the level's first sandbox pod's run time (the harness's measurement).

Where the operator log has ``job-timing`` lines (``mge.kube.job_timing``: one per sandbox Job,
operator wall clock, exact) and the JSON has the harness's clock origin ``t0``, the level's first
settled attempt's Job is found (same level and attempt, the last Job whose result was read before
the settle) and ``toBatch`` + ``batchOverhead`` are split further, each part the time from the
previous mark to this one:

- ``toChecks``: first answer → the batch's in-process checks start (linger, sandbox slot);
- ``checks``: → checks done, the sandbox run begins (parse, signature, mypy subprocess);
- ``configMap``: → the ConfigMap create call returns (fingerprint, JSON, the call);
- ``jobCreate``: → the Job create call returns;
- ``toPodRun``: → the harness starts the pod's run (Job controller creates the pod, scheduler
  binds it, kwok marks it Running, the harness's watch sees it and reads the ConfigMap); the
  API's own times of that stretch (pod created, scheduled, container started; one-second
  resolution) are printed beside, relative to the Job create's return;
- ``pod``: the harness's run of the sandbox entry point;
- ``toNotice``: → the operator notices the Job finished (the harness writes the log and marks
  the pod done, kwok ends it, the Job controller marks the Job Complete, the operator's
  poll or watch sees it); the API's pod finish and Job completion times are printed beside;
- ``result``: → the pod list and the pod log are read;
- ``settle``: → the attempt row is written (outcome checks, the journal).

Usage: ``python benchmarks/level_gap.py DIR JSON`` (JSON: benchmarks/results/<run>.json; DIR:
the ``--keep`` folder of that run, its ``harness`` subfolder for runs kept since it has one).
"""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mge.kube.job_timing import parse_line


def _ts(text: str) -> float:
    """Epoch seconds of a store timestamp (naive ones are UTC, as the store writes them)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def job_timings(keep: Path) -> list[dict[str, Any]]:
    """The ``job-timing`` records of the kept operator log (none for runs before they existed)."""
    path = keep / "operator" / "operator.log"
    if not path.exists():
        return []
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for line in path.read_text(errors="replace").splitlines():
        record = parse_line(line)
        # kopf's and mge's handlers may both print a record: keep one per Job and read
        if record is not None and f"{record['job']}/{record['result_read']}" not in seen:
            seen.add(f"{record['job']}/{record['result_read']}")
            out.append(record)
    return out


JOB_PARTS = [
    "toChecks",
    "checks",
    "configMap",
    "jobCreate",
    "toPodRun",
    "pod",
    "toNotice",
    "result",
    "settle",
]


def job_split(
    timing: dict[str, Any],
    harness: dict[str, Any] | None,
    t0: float,
    first_answer: float,
    settled: float,
) -> dict[str, float | None]:
    """The parts of one batch's wait (see the module text), seconds; None when not known."""

    def gap(a: float | None, b: float | None) -> float | None:
        return round(b - a, 2) if a is not None and b is not None else None

    run_start = t0 + float(harness["at"]) if harness else None
    run_end = run_start + float(harness["seconds"]) if run_start is not None and harness else None
    marks = [
        first_answer,
        timing.get("checks_started_at"),
        timing["run_started"],
        timing.get("configmap_done"),
        timing.get("job_done"),
        run_start,
        run_end,
        timing.get("noticed"),
        timing.get("result_read"),
        settled,
    ]
    parts: dict[str, float | None] = {
        name: gap(a, b) for name, a, b in zip(JOB_PARTS, marks, marks[1:], strict=False)
    }
    pod = timing.get("pod") or {}
    done = timing.get("job_done")
    for key in ("pod_created", "pod_scheduled", "pod_started", "pod_finished"):
        parts[f"api:{key}"] = gap(done, pod.get(key))
    parts["api:job_completed"] = gap(done, timing.get("job_completed"))
    return parts


def level_gaps(
    keep: Path, pods: list[dict[str, Any]], t0: float | None = None
) -> list[dict[str, Any]]:
    """Per level (from the second one): the parts of its start-up wait, seconds."""
    timings = job_timings(keep)
    pod_of = {p["job"]: p for p in pods}
    db = sqlite3.connect(keep / "operator" / "operator.db")
    level_of = {a: int(k) for a, k in db.execute("select id, level from atoms")}
    answers: dict[tuple[str, int], float] = {}
    for key, at in db.execute("select request_key, created_at from llm_cache"):
        m = re.fullmatch(r"atom/(.+)/attempt-(\d+)", key)
        if m:
            answers[(m.group(1), int(m.group(2)))] = _ts(at)
    settles = [
        (level_of[a], _ts(at), a, int(n), float(d))
        for a, n, at, d in db.execute(
            "select atom_id, number, created_at, duration_s from attempts"
        )
    ]
    checks = [_ts(at) for (at,) in db.execute("select created_at from validations")]
    delays: dict[tuple[str, int], float] = {}
    for path in (keep / "projects").glob("*/recordings/atoms.yaml"):
        for r in yaml.safe_load(path.read_text())["responses"]:
            m = re.fullmatch(r"atom/(.+)/attempt-(\d+)", r["key"])
            if m:
                delays[(m.group(1), int(m.group(2)))] = float(r["delay_seconds"])
    first_pod: dict[int, float] = {}
    for p in sorted(pods, key=lambda p: p["at"]):
        m = re.search(r"-l(\d+)-a\d+-", p["job"])
        if m and int(m.group(1)) not in first_pod:
            first_pod[int(m.group(1))] = float(p["seconds"])
    out: list[dict[str, Any]] = []
    for level in range(1, max(level_of.values()) + 1):
        before = [t for k, t, *_ in settles if k == level - 1]
        mine = sorted((s for s in settles if s[0] == level), key=lambda s: s[1])
        if not before or not mine:
            continue
        first_answer = min(t for (a, _), t in answers.items() if level_of.get(a) == level)
        end = max([max(before), *(c for c in checks if max(before) <= c <= first_answer)])
        _, settled, atom, number, duration = mine[0]
        llm_took = delays.get((atom, number), 0.0)
        validation = max(0.0, duration - llm_took)
        batch_start = settled - validation
        pod = first_pod.get(level, 0.0)
        row: dict[str, Any] = {
            "level": level,
            "llm": round(first_answer - end, 2),
            "toBatch": round(batch_start - first_answer, 2),
            "batchOverhead": round(validation - pod, 2),
            "pod": round(pod, 2),
            "total": round(settled - end, 2),
        }
        mine_jobs = [
            j
            for j in timings
            if j["level"] == level
            and j["attempt"] == number
            and j.get("result_read") is not None
            and j["result_read"] <= settled
        ]
        if mine_jobs and t0 is not None:
            timing = max(mine_jobs, key=lambda j: j["result_read"])
            row["job"] = timing["job"]
            row["parts"] = job_split(timing, pod_of.get(timing["job"]), t0, first_answer, settled)
        out.append(row)
    return out


def main() -> None:
    keep, result = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    run = result["runs"][-1]
    gaps = level_gaps(keep, run["pods"], run.get("t0"))
    for g in gaps:
        print(g)
    parts = ["llm", "toBatch", "batchOverhead", "pod", "total"]
    print("median:", {p: round(statistics.median(g[p] for g in gaps), 2) for p in parts})
    print("mean:  ", {p: round(statistics.mean(g[p] for g in gaps), 2) for p in parts})
    split = [g["parts"] for g in gaps if "parts" in g]
    if split:
        names = [*JOB_PARTS, *(k for k in split[0] if k.startswith("api:"))]
        median = {}
        for name in names:
            known = [s[name] for s in split if s.get(name) is not None]
            median[name] = round(statistics.median(known), 2) if known else None
        print(f"batch parts, median over {len(split)} levels:", median)
    timings = job_timings(keep)
    if timings:
        # every Job of the run, not just each level's first: create → noticed, noticed → read
        def med(values: list[float]) -> float:
            return round(statistics.median(values), 2) if values else float("nan")

        print(
            f"all {len(timings)} Jobs, median s:",
            {
                "checks": med(
                    [
                        j["run_started"] - j["checks_started_at"]
                        for j in timings
                        if j.get("checks_started_at")
                    ]
                ),
                "configMap+jobCreate": med(
                    [j["job_done"] - j["run_started"] for j in timings if j.get("job_done")]
                ),
                "jobCreated→noticed": med(
                    [j["noticed"] - j["job_done"] for j in timings if j.get("noticed")]
                ),
                "apiCompleted→noticed": med(
                    [j["noticed"] - j["job_completed"] for j in timings if j.get("job_completed")]
                ),
                "noticed→read": med(
                    [j["result_read"] - j["noticed"] for j in timings if j.get("result_read")]
                ),
            },
        )
        ends: dict[str, int] = {}
        for j in timings:
            for how, n in (j.get("watch_ends") or {}).items():
                ends[how] = ends.get(how, 0) + n
        if ends:
            print("how the Jobs' watches ended:", ends)


if __name__ == "__main__":
    main()
