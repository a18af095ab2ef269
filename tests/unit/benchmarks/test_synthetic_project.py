"""benchmarks/synthetic_project.py and the lower bound of benchmarks/operator_makespan.py.

The synthetic project must atomize, with the real atomizer, into exactly the atoms and
dependencies the benchmark drew, or the operator makespan would measure some other graph.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from mge.atomization.decompose import atoms_from_skeleton
from mge.graph import DependencyAnalyzer
from mge.llm.recordings import load_folder

REPO = Path(__file__).resolve().parents[3]


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


synthetic = load("synthetic_project")
makespan = load("operator_makespan")


def skeleton_files(folder: Path) -> dict[str, str]:
    """Every file of every skeleton answer (### path + fenced block)."""
    files: dict[str, str] = {}
    for key, responses in load_folder(folder).items():
        if not key.startswith("skeleton/"):
            continue
        for chunk in responses[0].text.split("### ")[1:]:
            path, _, rest = chunk.partition("\n")
            files[path.strip()] = rest.split("```python\n", 1)[1].rsplit("```", 1)[0]
    return files


def test_the_written_project_atomizes_into_the_drawn_graph(tmp_path: Path) -> None:
    summary = synthetic.write_project(tmp_path, 120, 8, "syn")
    deps = synthetic.synthetic_dependencies(120, 8)
    ids = summary["atomIds"]
    atoms = atoms_from_skeleton(skeleton_files(tmp_path / "recordings"), None)
    assert {a.id for a in atoms} == set(ids.values())
    got = {a.id: sorted(a.dependencies) for a in atoms}
    assert got == {ids[s]: sorted(ids[d] for d in ds) for s, ds in deps.items()}
    assert all(a.test_cases for a in atoms), "every atom has its test"
    graph = DependencyAnalyzer().analyze(atoms)
    assert len(graph.levels) == summary["levels"]


def test_modules_import_only_from_earlier_modules() -> None:
    atoms = synthetic.layout(synthetic.synthetic_dependencies(300, 8))
    for a in atoms.values():
        assert all(atoms[d].module <= a.module for d in a.deps), a


def test_expected_values_follow_the_answers() -> None:
    deps = {"u": [], "v": ["u"], "w": ["u", "v"]}
    atoms = synthetic.layout(deps)
    assert [atoms[k].expected for k in ("u", "v", "w")] == [2, 3, 6]
    namespace: dict[str, object] = {}
    for k in ("u", "v", "w"):
        exec(synthetic.answer(atoms[k]), namespace)  # our own generated code, three lines
    assert namespace["f_w"](1) == 6  # type: ignore[operator]
    wrong: dict[str, object] = {}
    exec(synthetic.answer(atoms["u"], wrong=True), wrong)
    assert wrong["f_u"](1) != 2  # type: ignore[operator]


def test_recordings_say_they_are_recordings_with_delays(tmp_path: Path) -> None:
    summary = synthetic.write_project(tmp_path, 40, 8, "syn")
    body = yaml.safe_load((tmp_path / "recordings" / "atoms.yaml").read_text())
    assert body["recording"] is True and "not model output" in body["note"]
    delays = [e["delay_seconds"] for e in body["responses"]]
    assert len(delays) == 40 * 3 and min(delays) > 0
    assert summary["wrongFirstAttempts"] > 0
    project = yaml.safe_load((tmp_path / "project.yaml").read_text())
    assert project["spec"]["llm"] == {"provider": "scripted", "recordings": "recordings"}


def test_lower_bound_sums_level_maxima_of_delays_and_pod_times() -> None:
    level_of = {"a": 0, "b": 0, "c": 1}
    attempts = {"a": 1, "b": 2, "c": 1}
    delays = {("a", 1): 3.0, ("b", 1): 1.0, ("b", 2): 1.5, ("c", 1): 2.0}
    pods = [
        makespan.PodRun("p-g1-l0-a1-x", ("a", "b"), 2.0, 0.0),
        makespan.PodRun("p-g1-l0-a2-y", ("b",), 1.0, 5.0),
        makespan.PodRun("p-g1-l1-a1-z", ("c",), 4.0, 9.0),
        makespan.PodRun("p-g1-suite-q", ("c",), 100.0, 20.0),
    ]
    bound, per_level = makespan.lower_bound(
        level_of, attempts, lambda a, k: delays[(a, k)], pods, lambda job: "-suite-" not in job
    )
    # level 0: a = 3 + 2 = 5; b = 1 + 1.5 + 2 + 1 = 5.5 -> 5.5; level 1: c = 2 + 4 = 6
    assert per_level == [5.5, 6.0]
    assert bound == pytest.approx(11.5)


def test_batch_tests_reads_the_test_names_from_the_config_map() -> None:
    items = [
        {"atomId": "i0", "command": ["python", "-m", "driver", "tests/test_mod0.py::test_f_a1"]},
        {"atomId": "i1", "command": ["python", "t", "tests/t.py::test_f_a2", "t.py::test_f_a3"]},
    ]
    data = {"batch.json": json.dumps({"batchId": "b", "items": items})}
    assert makespan.batch_tests(data) == ("test_f_a1", "test_f_a2", "test_f_a3")
    assert makespan.batch_tests({"other": "not json"}) == ()


def test_phase_span() -> None:
    phases = [("Planning", 1.0), ("Executing", 10.0), ("Integrating", 70.5)]
    assert makespan.phase_span(phases, "Executing") == pytest.approx(60.5)
    assert makespan.phase_span(phases, "Integrating") is None


def test_level_breakdown_splits_each_level_into_three_spans() -> None:
    pods = [
        makespan.PodRun("p-g1-l0-a1-x", (), 1.0, 2.0),  # level 0: first pod at 2, ends 3
        makespan.PodRun("p-g1-l0-a2-y", (), 1.0, 5.0),  # retry ends 6
        makespan.PodRun("p-g1-suite-q", (), 2.0, 6.5),  # integration Job ends 8.5
        makespan.PodRun("p-g1-l1-a1-z", (), 1.0, 10.0),  # level 1: first pod at 10, ends 11
    ]
    parts = makespan.level_breakdown(pods, start=0.0, levels=2)
    # level 0: 2 to the first pod, 4 of L1 span (2 → 6), 2.5 of tail (6 → 8.5)
    # level 1: 1.5 to the first pod (8.5 → 10), 1 of span, no tail
    assert parts == {"toFirstPod": 3.5, "l1Span": 5.0, "integrationTail": 2.5}
