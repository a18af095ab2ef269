"""The pure parts of benchmarks/learned_examples.py: a report.json summary and its table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[3]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bench = load("learned_examples")


def report(first_try: tuple[bool, bool], shown: dict[str, list[str]]) -> dict[str, Any]:
    """A report.json as `mge run` writes it (the keys the summary reads, plus others)."""
    return {
        "project": "tiny-lib",
        "status": "completed",
        "provider": "llamacpp",
        "model": "SmolLM2-135M-Instruct",
        "attempts": 4,
        "firstTryPassRate": sum(first_try) / 2,
        "passRateAfterRetries": 1.0,
        "atomList": [
            {"id": "add-1", "qualname": "add", "state": "validated", "attempts": 1 if first_try[0]
             else 3, "firstTry": first_try[0], "file": "t.py", "level": 0},
            {"id": "even-2", "qualname": "is_even", "state": "in_review", "attempts": 1
             if first_try[1] else 3, "firstTry": first_try[1], "file": "t.py", "level": 0},
        ],
        "retrieval": {"planning": ["py-x"], "generation": shown, "learned": [], "notes": []},
    }  # fmt: skip


def test_summary_counts_first_try_passes_and_the_examples_each_atom_was_shown() -> None:
    s = bench.summarise_report(
        report((True, False), {"even-2": ["inv-a-1", "inv-b-2"], "ghost": ["inv-a-1"]})
    )
    assert (s["atoms"], s["passedFirstTry"], s["firstTryPassRate"]) == (2, 1, 0.5)
    assert [a["shownExamples"] for a in s["atomList"]] == [[], ["inv-a-1", "inv-b-2"]]
    # an id in `generation` that is no atom of the report is not counted as shown
    assert (s["atomsShownExamples"], s["distinctExamplesShown"]) == (1, ["inv-a-1", "inv-b-2"])
    assert s["planningRetrieved"] == ["py-x"]


def test_summary_of_a_report_without_retrieval_shows_no_examples() -> None:
    r = report((False, False), {})
    del r["retrieval"]
    s = bench.summarise_report(r)
    assert (s["passedFirstTry"], s["atomsShownExamples"], s["distinctExamplesShown"]) == (0, 0, [])


def test_markdown_puts_both_conditions_and_each_atoms_examples_side_by_side() -> None:
    def cond(first_try: tuple[bool, bool], shown: dict[str, list[str]]) -> dict[str, Any]:
        summary = bench.summarise_report(report(first_try, shown))
        return {"wallSeconds": 61.2, "loadBefore": [3.5, 4, 5], "loadAfter": [4.31, 4, 5],
                "summary": summary}  # fmt: skip

    payload = {
        "meta": {"date": "2026-12-06T18:00:00+00:00", "cpus": 2, "kernel": "k", "python": "3"},
        "target": "tiny-lib",
        "teacherProject": "inventory-lib",
        "teacher": {"status": "completed", "reviewApproved": 5, "learnedCount": 29,
                    "learnStep": ["learning: 29 new, 0 already known (of 29 atoms)"]},
        "conditionA": cond((False, False), {}),
        "conditionB": cond((True, False), {"add-1": ["inv-a-1"]}),
    }  # fmt: skip
    md = bench.render_markdown(payload)
    assert "| A: no learned examples | 2 | 0 | 0% |" in md
    assert "| B: learned from teacher | 2 | 1 | 50% |" in md
    assert "| `add` | no | validated (3) | yes | validated (1) | `inv-a-1` |" in md
    assert "| `is_even` | no | in_review (3) | no | in_review (3) | (none) |" in md
    assert "learning: 29 new" in md and "29 entries" in md and "3.5 → 4.3" in md


def test_nearest_rows_flag_what_clears_the_prompt_threshold() -> None:
    rows = bench.nearest_rows([("a-1", "Inventory.apply", 0.3512), ("b-2", "sku", 0.349)], 0.35)
    assert rows == [
        {"atom": "a-1", "title": "Inventory.apply", "score": 0.351, "clears": True},
        {"atom": "b-2", "title": "sku", "score": 0.349, "clears": False},
    ]


def test_markdown_lists_the_nearest_learned_entries_marking_those_below_threshold() -> None:
    summary = bench.summarise_report(report((False, False), {}))
    cond = {"wallSeconds": 1.0, "loadBefore": [1, 1, 1], "loadAfter": [1, 1, 1], "summary": summary}
    payload = {
        "meta": {"date": "d", "cpus": 2, "kernel": "k", "python": "3"},
        "target": "tiny-lib",
        "teacherProject": "inventory-lib",
        "teacher": {"status": "completed", "reviewApproved": 0, "learnedCount": 1, "learnStep": []},
        "conditionA": cond,
        "conditionB": {
            **cond,
            "nearestLearned": {"add-1": bench.nearest_rows([("x", "Product.sku", 0.2)], 0.35)},
        },
    }
    md = bench.render_markdown(payload)
    assert "| `add` | `Product.sku` 0.200 (below) |" in md
