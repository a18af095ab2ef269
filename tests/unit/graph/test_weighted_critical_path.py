"""The weighted critical path: a table of small graphs whose answer is known by hand."""

from __future__ import annotations

import pytest

from mge.errors import GraphCycleError, InputError
from mge.graph.weighted import WeightedPath, level_bound, weighted_critical_path

CASES = [
    # (name, dependencies, weights, length, path)
    ("empty", {}, {}, 0.0, ()),
    ("one atom", {"a": []}, {"a": 2.5}, 2.5, ("a",)),
    (
        "chain sums",
        {"a": [], "b": ["a"], "c": ["b"]},
        {"a": 1, "b": 2, "c": 3},
        6.0,
        ("a", "b", "c"),
    ),
    (
        "independent atoms: the heaviest alone",
        {"a": [], "b": [], "c": []},
        {"a": 1, "b": 5, "c": 2},
        5.0,
        ("b",),
    ),
    # diamond a -> (b, c) -> d: the heavier middle wins
    (
        "diamond",
        {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]},
        {"a": 1, "b": 4, "c": 2, "d": 1},
        6.0,
        ("a", "b", "d"),
    ),
    # a long light chain beats a short heavy one
    (
        "long light chain",
        {"x": [], "y": ["x"], "z": ["y"], "h": []},
        {"x": 2, "y": 2, "z": 2, "h": 5},
        6.0,
        ("x", "y", "z"),
    ),
    # two chains a(1)->b(4) and c(4)->d(1): each weighs 5, while the level bound is 4 + 4 = 8
    (
        "levels overstate",
        {"a": [], "c": [], "b": ["a"], "d": ["c"]},
        {"a": 1, "b": 4, "c": 4, "d": 1},
        5.0,
        ("a", "b"),
    ),
    ("missing weight counts zero", {"a": [], "b": ["a"]}, {"b": 3}, 3.0, ("a", "b")),
    ("dependency only named as a need", {"b": ["a"]}, {"a": 2, "b": 1}, 3.0, ("a", "b")),
    (
        "tie broken by name",
        {"a": [], "b": [], "c": ["a", "b"]},
        {"a": 1, "b": 1, "c": 1},
        2.0,
        ("a", "c"),
    ),
]


@pytest.mark.parametrize(
    ("deps", "weights", "length", "path"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_weighted_critical_path(
    deps: dict[str, list[str]], weights: dict[str, float], length: float, path: tuple[str, ...]
) -> None:
    assert weighted_critical_path(deps, weights) == WeightedPath(length, path)


def test_level_bound_is_never_below_the_critical_path() -> None:
    deps = {"a": [], "c": [], "b": ["a"], "d": ["c"]}
    weights = {"a": 1.0, "b": 4.0, "c": 4.0, "d": 1.0}
    assert level_bound([["a", "c"], ["b", "d"]], weights) == 8.0
    assert weighted_critical_path(deps, weights).length == 5.0


def test_a_cycle_is_named() -> None:
    with pytest.raises(GraphCycleError) as err:
        weighted_critical_path({"a": ["b"], "b": ["a"]}, {"a": 1, "b": 1})
    assert set(err.value.cycle) == {"a", "b"}


def test_a_negative_weight_is_refused() -> None:
    with pytest.raises(InputError, match="'a'"):
        weighted_critical_path({"a": []}, {"a": -1.0})
