"""Cycles: an error naming `a (file:line) → b (file:line) → a (file:line)`, or — for mutual
recursion inside one file where an atom lacks tests — one merged unit."""

from __future__ import annotations

import pytest
from graph_support import atom

from mge.errors import GraphCycleError, MGEError
from mge.graph import DependencyAnalyzer
from mge.models import atom_id


def test_a_cycle_between_tested_atoms_is_an_error_that_names_it() -> None:
    atoms = [
        atom("a", ["b"], line=3, tests=["t::a"]),
        atom("b", ["c"], line=10, tests=["t::b"]),
        atom("c", ["a"], line=20, tests=["t::c"]),
        atom("d", ["a"], line=30),
    ]
    with pytest.raises(GraphCycleError) as info:
        DependencyAnalyzer().analyze(atoms)
    err = info.value
    assert isinstance(err, MGEError)
    assert str(err) == (
        "dependency cycle: a (pkg/mod.py:3) → b (pkg/mod.py:10) → c (pkg/mod.py:20) → "
        "a (pkg/mod.py:3)"
    )
    assert err.cycle == ["a", "b", "c"]


def test_a_cycle_across_files_is_an_error_even_without_tests() -> None:
    atoms = [atom("f", ["g"], file="a.py"), atom("g", ["f"], file="b.py", line=7)]
    with pytest.raises(GraphCycleError, match=r"g \(b\.py:7\)"):
        DependencyAnalyzer().analyze(atoms)


def test_mutual_recursion_without_tests_becomes_one_unit() -> None:
    atoms = [
        atom("is_even", ["is_odd"], line=1, loc=3, complexity=2, tests=["t::even"]),
        atom("is_odd", ["is_even"], line=6, loc=3, complexity=2),
        atom("caller", ["is_even"], line=12),
        atom("helper", [], line=20),
        atom("is_odd_user", ["is_odd", "helper"], line=25),
    ]
    dg = DependencyAnalyzer().analyze(atoms)
    merged_id = atom_id("pkg/mod.py", "is_even+is_odd")
    assert dg.merged == {merged_id: ["is_even", "is_odd"]}
    unit = dg.atoms[merged_id]
    assert unit.qualname == "is_even+is_odd"
    assert (unit.estimated_loc, unit.complexity) == (6, 3)  # sizes add, decision points add
    assert unit.test_cases == ["t::even"]
    assert unit.span is not None and (unit.span.start_line, unit.span.end_line) == (1, 9)
    assert set(dg.graph.successors("caller")) == {merged_id}
    assert set(dg.graph.successors("is_odd_user")) == {merged_id, "helper"}
    assert "is_even" not in dg.graph and dg.levels[0] == sorted([merged_id, "helper"])


def test_policy_error_refuses_even_untested_recursion() -> None:
    atoms = [atom("x", ["y"]), atom("y", ["x"])]
    with pytest.raises(GraphCycleError):
        DependencyAnalyzer(cycles="error").analyze(atoms)


def test_policy_merge_merges_across_files_for_analysis() -> None:
    atoms = [atom("f", ["g"], file="a.py", tests=["t"]), atom("g", ["f"], file="b.py")]
    dg = DependencyAnalyzer(cycles="merge").analyze(atoms)
    (unit,) = dg.atoms.values()
    assert unit.file == "a.py, b.py" and unit.span is None
