"""Do learned examples help a real model? SmolLM2's first-try pass rate without and with them.

Issue 19, point 4. Two conditions, each in a fresh work folder (its own SQLite store and its
own embedded Chroma, so nothing leaks between them):

- **A (no learned examples)**: ``mge run`` of the target project (default ``examples/tiny-lib``:
  atoms written by SmolLM2-135M-Instruct in-process through llama-cpp-python, temperature 0,
  fixed seed; planning from the example's recordings).
- **B (learned examples)**: first ``mge run`` of a *different* project with the scripted
  provider (default ``examples/inventory-lib``, its recordings and answers). It completes with
  no review pending, so its learn step stores the atoms that passed every level in the learned
  collection (namespace ``local``). Then the same target run as in A, in that work folder.

Both target runs retrieve (``--patterns``): the pattern library is the same in both, so the
runs differ only by what the learned collection holds. Each atom's prompt shows the learned
examples that clear ``fit_examples``'s similarity threshold; the report's ``retrieval`` section
says which. Recorded per condition: first-try pass rate, each atom's state and attempts, the
learned examples each atom was shown, how many entries were learned, wall time and the load
average. No set is tuned to the result: the target and teacher are fixed before any run.

Writes ``benchmarks/results/learned_examples.{json,md}``. Needs the ``local`` extra
(``bash scripts/install-local-models.sh``). Run:
``PYTHONPATH=$PWD/operator .venv/bin/python benchmarks/learned_examples.py
[--target tiny-lib --teacher inventory-lib]``; about 5-20 min on 2 busy cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
MGE = [sys.executable, "-c", "from mge.cli import main; main()"]
RUN_TIMEOUT_S = 3600
EXIT_NOT_READY = 4
"""``mge run``'s exit status when the code was written but L4 readiness checks fail."""


def summarise_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of one run's report.json this benchmark compares (pure)."""
    shown: Mapping[str, list[str]] = report.get("retrieval", {}).get("generation", {})
    atoms = [
        {
            "id": a["id"],
            "qualname": a["qualname"],
            "state": a["state"],
            "attempts": a["attempts"],
            "firstTry": bool(a["firstTry"]),
            "shownExamples": list(shown.get(a["id"], [])),
        }
        for a in report.get("atomList", [])
    ]
    distinct = sorted({e for a in atoms for e in a["shownExamples"]})
    return {
        "project": report.get("project"),
        "status": report.get("status"),
        "exitCode": report.get("exitCode"),
        "provider": report.get("provider"),
        "model": report.get("model"),
        "atoms": len(atoms),
        "passedFirstTry": sum(a["firstTry"] for a in atoms),
        "firstTryPassRate": report.get("firstTryPassRate"),
        "passRateAfterRetries": report.get("passRateAfterRetries"),
        "attempts": report.get("attempts"),
        "atomsShownExamples": sum(bool(a["shownExamples"]) for a in atoms),
        "distinctExamplesShown": distinct,
        "planningRetrieved": list(report.get("retrieval", {}).get("planning", [])),
        "retrievalNotes": list(report.get("retrieval", {}).get("notes", [])),
        "atomList": atoms,
    }


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.0f}%"


def render_markdown(payload: Mapping[str, Any]) -> str:
    """benchmarks/results/learned_examples.md from the JSON payload (pure)."""
    meta, a, b = payload["meta"], payload["conditionA"], payload["conditionB"]
    teacher = payload["teacher"]
    lines = [
        "# Learned examples and a real model's first-try pass rate (issue 19, point 4)",
        "",
        f"Recorded {meta['date']} on {meta['cpus']} CPUs ({meta['kernel']}, Python "
        f"{meta['python']}), shared with a CI run and other sessions. Command: "
        "`PYTHONPATH=$PWD/operator .venv/bin/python benchmarks/learned_examples.py "
        f"--target {payload['target']} --teacher {payload['teacherProject']}`.",
        "",
        f"Target: `examples/{payload['target']}`, atoms by {a['summary']['provider']}/"
        f"{a['summary']['model']} (temperature from the manifest, fixed seed), planning from "
        f"recordings. Teacher (condition B only): `examples/{payload['teacherProject']}` with "
        f"the scripted provider; its run ended `{teacher['status']}` with "
        f"{teacher['reviewApproved']} review items, all approved with `mge review approve` "
        f"(a person vouching for recorded code), which completed it and ran its learn step "
        f"({'; '.join(teacher['learnStep']) or 'no learn line'}); learned collection "
        f"afterwards: {teacher['learnedCount']} entries, namespace `local`.",
        "",
        "| condition | atoms | passed first try | first-try pass rate | after retries "
        "| attempts | atoms shown learned examples | distinct examples | wall s | load avg "
        "before → after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, c in (("A: no learned examples", a), ("B: learned from teacher", b)):
        s = c["summary"]
        lines.append(
            f"| {name} | {s['atoms']} | {s['passedFirstTry']} | {_pct(s['firstTryPassRate'])} "
            f"| {_pct(s['passRateAfterRetries'])} | {s['attempts']} | {s['atomsShownExamples']} "
            f"| {len(s['distinctExamplesShown'])} | {c['wallSeconds']:.0f} "
            f"| {c['loadBefore'][0]:.1f} → {c['loadAfter'][0]:.1f} |"
        )
    lines += [
        "",
        "Per atom:",
        "",
        "| atom | A: first try | A: state (attempts) | B: first try | B: state (attempts) "
        "| B: learned examples shown |",
        "|---|---|---|---|---|---|",
    ]
    b_atoms = {x["id"]: x for x in b["summary"]["atomList"]}
    for x in a["summary"]["atomList"]:
        y = b_atoms.get(x["id"])
        shown = ", ".join(f"`{e}`" for e in y["shownExamples"]) if y else ""
        lines.append(
            f"| `{x['qualname']}` | {'yes' if x['firstTry'] else 'no'} | {x['state']} "
            f"({x['attempts']}) | "
            + (
                f"{'yes' if y['firstTry'] else 'no'} | {y['state']} ({y['attempts']}) "
                f"| {shown or '(none)'} |"
                if y
                else "– | – | – |"
            )
        )
    nearest = b.get("nearestLearned", {})
    if nearest:
        lines += [
            "",
            "Closest learned entries to each atom in condition B (searched after the run as the "
            "prompt's examples are: the atom's qualname, signature and spec; same language; "
            "learned code only; shown only at cosine similarity ≥ 0.35):",
            "",
            "| atom | nearest learned entries (score) |",
            "|---|---|",
        ]
        names = {x["id"]: x["qualname"] for x in b["summary"]["atomList"]}
        for atom_id, hits in nearest.items():
            cells = ", ".join(
                f"`{h['title']}` {h['score']:.3f}{'' if h['clears'] else ' (below)'}" for h in hits
            )
            lines.append(f"| `{names.get(atom_id, atom_id)}` | {cells or '(none)'} |")
    notes = sorted(set(a["summary"]["retrievalNotes"]) | set(b["summary"]["retrievalNotes"]))
    if notes:
        lines += ["", "Retrieval notes from the reports: " + "; ".join(notes)]
    return "\n".join(lines) + "\n"


def run_mge(
    args: list[str], workdir: Path, ok: tuple[int, ...] = (0,)
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """One ``mge`` command in ``workdir``; wall seconds and the finished process (exit status
    in ``ok``, else the benchmark stops)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MGE_")}
    env["PYTHONPATH"] = str(REPO / "operator")
    env["COLUMNS"] = "240"
    start = time.perf_counter()
    proc = subprocess.run(
        [*MGE, "--workdir", str(workdir), *args],
        env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    took = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"mge {' '.join(args[:2])} failed with {proc.returncode}")
    return took, proc


def run_project(example: str, workdir: Path, out: Path) -> tuple[float, dict[str, Any]]:
    """``mge run`` of an example with retrieval on; wall seconds and its report.json."""
    folder = REPO / "examples" / example
    args = ["run", str(folder / "project.yaml"), "--patterns", "-o", str(out)]
    if (folder / "answers.yaml").exists():
        args += ["--answers", str(folder / "answers.yaml")]
    # a run whose readiness checks fail still wrote its report: that is a result, not an error
    took, proc = run_mge(args, workdir, ok=(0, EXIT_NOT_READY))
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    report["exitCode"] = proc.returncode
    return took, report


def target_run(example: str, workdir: Path, out: Path) -> dict[str, Any]:
    """The measured run: its summary, wall time and the load around it."""
    before = os.getloadavg()
    took, report = run_project(example, workdir, out)
    return {
        "wallSeconds": round(took, 1),
        "loadBefore": [round(x, 2) for x in before],
        "loadAfter": [round(x, 2) for x in os.getloadavg()],
        "summary": summarise_report(report),
    }


def learned_count(workdir: Path) -> int:
    """Entries in the work folder's learned collection, from ``mge rag count``."""
    _, proc = run_mge(["rag", "count"], workdir)
    for line in proc.stdout.splitlines():
        words = line.split()
        if words and words[0].strip("│|:") == "learned":
            return int(words[-1].strip("│|"))
    raise SystemExit(f"no 'learned' line in `mge rag count`:\n{proc.stdout}")


def nearest_rows(hits: list[tuple[str, str, float]], min_score: float) -> list[dict[str, Any]]:
    """Learned hits of one atom as recorded: id, title, score, and whether it clears the
    similarity threshold below which a prompt never shows an example (pure)."""
    return [
        {"atom": atom, "title": title, "score": round(score, 3), "clears": score >= min_score}
        for atom, title, score in hits
    ]


def nearest_learned(workdir: Path, project: str) -> dict[str, list[dict[str, Any]]]:
    """For each atom of ``project`` in ``workdir``: the closest learned entries, searched as the
    atom's examples are (``example_query``, same language, learned code only, namespace
    ``local``), with their scores, whether or not they cleared the threshold."""
    from mge.config import load_settings
    from mge.execution.prompting import EXAMPLE_MIN_SCORE, EXAMPLES_PER_ATOM, example_query
    from mge.models import AtomicUnit
    from mge.rag import Retriever

    with sqlite3.connect(workdir / "mge.db") as db:
        units = [
            AtomicUnit.model_validate_json(row[0])
            for row in db.execute(
                "select unit from atoms where project = ? order by id", (project,)
            )
        ]

    async def search() -> dict[str, list[dict[str, Any]]]:
        retriever = await Retriever.open(load_settings(None, workdir=workdir))
        found = {}
        for unit in units:
            hits = await retriever.search(
                example_query(unit), EXAMPLES_PER_ATOM, unit.language,
                include_patterns=False, namespaces=["local"],
            )  # fmt: skip
            rows = [(h.pattern_id, h.title, h.score) for h in hits]
            found[unit.id] = nearest_rows(rows, EXAMPLE_MIN_SCORE)
        return found

    return asyncio.run(search())


def approve_all(project: str, workdir: Path) -> list[str]:
    """Approve every pending review item of ``project`` (a person vouching for the recorded
    code), which completes it and runs its learn step; the ``mge review approve`` lines."""
    _, proc = run_mge(["review", "list", project, "--json"], workdir)
    lines = []
    for item in json.loads(proc.stdout):
        _, done = run_mge(["review", "approve", project, item["atomId"], "--by", "bench"], workdir)
        lines += [ln for ln in done.stdout.splitlines() if ln.strip()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="tiny-lib", help="example whose atoms SmolLM2 writes")
    parser.add_argument("--teacher", default="inventory-lib", help="example learned first (B)")
    parser.add_argument("--keep", type=Path, help="keep the work folders here (default: temp)")
    opts = parser.parse_args()
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
    }
    with tempfile.TemporaryDirectory(prefix="mge-learned-examples-") as tmp_name:
        tmp = opts.keep or Path(tmp_name)
        print(f"A: {opts.target} in a fresh work folder", flush=True)
        cond_a = target_run(opts.target, tmp / "a" / "work", tmp / "a" / "out")
        print(f"B: {opts.teacher} (scripted), then {opts.target}", flush=True)
        teacher_s, teacher_report = run_project(
            opts.teacher, tmp / "b" / "work", tmp / "b" / "teacher-out"
        )
        approvals = approve_all(teacher_report["project"], tmp / "b" / "work")
        teacher = {
            "status": teacher_report.get("status"),
            "wallSeconds": round(teacher_s, 1),
            "reviewApproved": sum(ln.startswith("approved ") for ln in approvals),
            "learnStep": [ln for ln in approvals if ln.startswith("learning:")],
            "learnedCount": learned_count(tmp / "b" / "work"),
            "notes": teacher_report.get("retrieval", {}).get("notes", []),
        }
        cond_b = target_run(opts.target, tmp / "b" / "work", tmp / "b" / "out")
        cond_b["nearestLearned"] = nearest_learned(tmp / "b" / "work", cond_b["summary"]["project"])
    payload = {
        "meta": meta,
        "target": opts.target,
        "teacherProject": opts.teacher,
        "teacher": teacher,
        "conditionA": cond_a,
        "conditionB": cond_b,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "learned_examples.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / "learned_examples.md").write_text(render_markdown(payload))
    print(render_markdown(payload))


if __name__ == "__main__":
    main()
