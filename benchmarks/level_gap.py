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

Usage: ``python benchmarks/level_gap.py DIR JSON`` (JSON: benchmarks/results/<run>.json).
"""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def level_gaps(keep: Path, pods: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Per level (from the second one): the parts of its start-up wait, seconds."""
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
    out: list[dict[str, float]] = []
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
        out.append(
            {
                "level": level,
                "llm": round(first_answer - end, 2),
                "toBatch": round(batch_start - first_answer, 2),
                "batchOverhead": round(validation - pod, 2),
                "pod": round(pod, 2),
                "total": round(settled - end, 2),
            }
        )
    return out


def main() -> None:
    keep, result = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    gaps = level_gaps(keep, result["runs"][0]["pods"])
    for g in gaps:
        print(g)
    parts = ["llm", "toBatch", "batchOverhead", "pod", "total"]
    print("median:", {p: round(statistics.median(g[p] for g in gaps), 2) for p in parts})
    print("mean:  ", {p: round(statistics.mean(g[p] for g in gaps), 2) for p in parts})


if __name__ == "__main__":
    main()
