"""Dependency-ready dispatch: the pure decision of which atoms start now."""

from __future__ import annotations

from mge.execution.dispatch import levels_settled, ready_atoms

#   a   b        level 0
#   |  / \
#   c    d       level 1
#   |
#   e            level 2     (f: level 0, no dependencies, unrelated)
DEPS = {"a": [], "b": [], "c": ["a", "b"], "d": ["b"], "e": ["c"], "f": []}
ORDER = ["a", "b", "f", "c", "d", "e"]
LEVELS = [["a", "b", "f"], ["c", "d"], ["e"]]


def test_at_the_start_only_atoms_without_dependencies_start() -> None:
    assert ready_atoms(ORDER, DEPS, settled=set(), active=set()) == ["a", "b", "f"]


def test_an_atom_starts_when_its_own_dependencies_are_settled_not_its_level() -> None:
    # b is validated, a is still being generated: d (needs b) starts, c (needs a too) waits,
    # although level 0 is not finished.
    assert ready_atoms(ORDER, DEPS, settled={"b"}, active={"a", "f"}) == ["d"]


def test_a_chain_runs_ahead_of_a_slow_wide_level() -> None:
    # f (level 0) is slow; a, b, c are done: e (level 2) starts before level 0 ends.
    ready = ready_atoms(ORDER, DEPS, settled={"a", "b", "c"}, active={"f", "d"})
    assert ready == ["e"]


def test_active_and_settled_atoms_are_not_started_again() -> None:
    assert ready_atoms(ORDER, DEPS, settled={"a", "b", "f"}, active={"c"}) == ["d"]


def test_a_failed_attempt_or_a_requeued_atom_starts_again_when_not_active() -> None:
    # c was validated, then sent back by an integration check: it is unsettled and idle, so
    # it starts again; e, which needs c, waits for c's new code.
    settled = {"a", "b", "f", "d"}
    assert ready_atoms(ORDER, DEPS, settled=settled, active=set()) == ["c"]


def test_a_flagged_dependency_counts_as_settled() -> None:
    # Settled means validated or flagged for review (the caller's set holds both).
    assert ready_atoms(["x", "y"], {"y": ["x"]}, settled={"x"}, active=set()) == ["y"]


def test_dependencies_outside_the_run_do_not_hold_an_atom_back() -> None:
    assert ready_atoms(["y"], {"y": ["elsewhere"]}, settled=set(), active=set()) == ["y"]


def test_the_result_follows_the_given_order() -> None:
    assert ready_atoms(["f", "b", "a"], DEPS, settled=set(), active=set()) == ["f", "b", "a"]


def test_levels_settled_counts_leading_levels_only() -> None:
    assert levels_settled(LEVELS, set()) == 0
    assert levels_settled(LEVELS, {"a", "b"}) == 0
    assert levels_settled(LEVELS, {"a", "b", "f", "c"}) == 1
    # e is settled but level 1 is not: only the leading levels count.
    assert levels_settled(LEVELS, {"a", "b", "f", "c", "e"}) == 1
    assert levels_settled(LEVELS, set(ORDER)) == 3
    assert levels_settled([[], ["a"]], set()) == 1
