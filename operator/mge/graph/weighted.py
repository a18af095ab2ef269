"""The weighted critical path of an atom graph: the true lower bound on a run's makespan.

Each atom costs its own time (for a run: Σ over its attempts of the model's answer delay + the
sandbox run that validated the attempt), and it cannot start before every atom it depends on is
done. Whatever the scheduler, the makespan is then at least the heaviest chain of atoms through
the dependency graph — the *atom-level* critical path. Executing level by level waits for the
slowest atom of each level instead, so its bound (Σ over levels of the level's heaviest atom) is
larger; the gap between the two is what dependency-ready dispatch can win.

Pure: graphs in, numbers out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from mge.errors import GraphCycleError, InputError


@dataclass(frozen=True)
class WeightedPath:
    """The heaviest dependency chain: its total weight and its atoms, dependencies first."""

    length: float
    path: tuple[str, ...]


def _dependency_graph(
    dependencies: Mapping[str, Iterable[str]], weights: Mapping[str, float]
) -> nx.DiGraph:
    graph = nx.DiGraph()
    for atom, weight in weights.items():
        if weight < 0:
            raise InputError(f"atom {atom!r} has a negative weight {weight}; weights are seconds")
        graph.add_node(atom)
    for atom, needs in dependencies.items():
        graph.add_node(atom)
        for need in needs:
            graph.add_edge(need, atom)  # need before atom
    return graph


def weighted_critical_path(
    dependencies: Mapping[str, Iterable[str]], weights: Mapping[str, float]
) -> WeightedPath:
    """The heaviest chain through ``dependencies`` (atom → atoms it needs), each atom weighing
    ``weights[atom]`` (missing: 0). Raises GraphCycleError when the atoms form a cycle."""
    graph = _dependency_graph(dependencies, weights)
    try:
        order = list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:
        cycle = [u for u, _ in nx.find_cycle(graph)]
        raise GraphCycleError(cycle, " -> ".join([*cycle, cycle[0]])) from None
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for atom in order:
        needs = sorted(graph.predecessors(atom))  # sorted: ties break the same way every time
        best = max(needs, key=lambda n: finish[n], default=None)
        start = finish[best] if best is not None else 0.0
        finish[atom] = start + float(weights.get(atom, 0.0))
        via[atom] = best
    if not finish:
        return WeightedPath(0.0, ())
    end = max(sorted(finish), key=lambda a: finish[a])
    path: list[str] = []
    node: str | None = end
    while node is not None:
        path.append(node)
        node = via[node]
    return WeightedPath(finish[end], tuple(reversed(path)))


def level_bound(levels: Iterable[Iterable[str]], weights: Mapping[str, float]) -> float:
    """The level-by-level bound: Σ over levels of the heaviest atom of the level."""
    return sum(max((weights.get(a, 0.0) for a in level), default=0.0) for level in levels)
