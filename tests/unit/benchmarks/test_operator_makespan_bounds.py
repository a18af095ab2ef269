"""The bounds of benchmarks/operator_makespan.py: the atom-level critical path it reports."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "operator_makespan", REPO / "benchmarks" / "operator_makespan.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["operator_makespan"] = module
    spec.loader.exec_module(module)
    return module


def test_with_unit_weights_the_critical_path_crosses_every_level() -> None:
    m = load()
    deps = m.store_dependencies(60, 8)
    levels = 1 + max(m.levels_of(m.synthetic_dependencies(60, 8)).values())
    path = m.weighted_critical_path(deps, dict.fromkeys(deps, 1.0))
    assert len(deps) == 60
    assert path.length == levels == len(path.path)


def _recorded_run(m: ModuleType, n: int, pod_seconds: float) -> dict[str, object]:
    deps = m.synthetic_dependencies(n, 8)
    attempts = sum(2 if m.fails_validation(8, s, 1) else 1 for s in deps)
    levels = 1 + max(m.levels_of(deps).values())
    pods = [
        {"job": f"p-g1-l{lv}-a{a}-0123456789", "atoms": 1, "seconds": pod_seconds}
        for lv in range(levels)
        for a in (1, 2)
    ]
    return {"atoms": n, "attempts": attempts, "pods": pods}


def test_a_rebuilt_range_closes_when_every_pod_took_as_long() -> None:
    m = load()
    rebuilt = m.recorded_critical_path(_recorded_run(m, 60, 0.5), 8)
    assert rebuilt["lowSeconds"] == rebuilt["highSeconds"] > 0


def test_a_run_whose_attempts_do_not_match_the_seeded_project_is_refused() -> None:
    m = load()
    run = _recorded_run(m, 60, 0.5)
    run["attempts"] = int(str(run["attempts"])) + 1
    with pytest.raises(ValueError, match="cannot be rebuilt"):
        m.recorded_critical_path(run, 8)
