"""The DependencyAnalyzer: atoms and typed edges → an ordered, levelled networkx graph.

Input: AtomicUnits and Edges (``src`` needs ``dst``; kinds import/call/type/data), as the
atomization stage produces them and as the store keeps them. Output: a
:class:`DependencyGraph` — cycles merged or rejected (:mod:`mge.graph.cycles`), a topological
order with dependencies first, levels (level 0 needs nothing; level k needs only levels < k,
from ``networkx.topological_generations``), the critical path, and the module, component and
fan-out boundaries (:mod:`mge.graph.boundaries`). Pure: nothing is read or written here.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from mge.graph.boundaries import (
    Boundary,
    Sizes,
    component_boundaries,
    fanout_points,
    module_boundaries,
)
from mge.graph.cycles import KIND_PRIORITY, CyclePolicy, edges_of, resolve_cycles
from mge.models.atoms import AtomicUnit, Edge, EdgeKind

DEFAULT_EDGE_KIND: EdgeKind = "call"
"""Kind given to a dependency listed on an atom that no Edge describes."""


@dataclass(frozen=True)
class GraphSummary:
    """What ``mge graph`` prints: sizes, levels, widths, critical path, boundaries."""

    atoms: int
    edges: int
    edges_by_kind: dict[str, int]
    levels: int
    widths: list[int]
    critical_path_length: int
    critical_path: list[str]
    modules: int
    components: int
    fanout_points: int
    merged_units: int
    merged_atoms: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "atoms": self.atoms,
            "edges": self.edges,
            "edgesByKind": self.edges_by_kind,
            "levels": self.levels,
            "widths": self.widths,
            "maxWidth": max(self.widths, default=0),
            "criticalPathLength": self.critical_path_length,
            "criticalPath": self.critical_path,
            "modules": self.modules,
            "components": self.components,
            "fanOutPoints": self.fanout_points,
            "mergedUnits": self.merged_units,
            "mergedAtoms": self.merged_atoms,
        }


@dataclass(frozen=True)
class DependencyGraph:
    """The analysed graph. Edges point from an atom to what it needs."""

    graph: nx.DiGraph = field(repr=False)
    atoms: dict[str, AtomicUnit] = field(repr=False)
    order: list[str] = field(repr=False)
    """Topological order: every atom after all its dependencies."""
    levels: list[list[str]] = field(repr=False)
    level_of: dict[str, int] = field(repr=False)
    critical_path: list[str]
    """The longest dependency chain, from its level-0 end to its last atom."""
    merged: dict[str, list[str]]
    """Merged unit id → ids of the mutually recursive atoms it stands for."""
    modules: list[Boundary] = field(repr=False)
    components: list[Boundary] = field(repr=False)
    fanout: list[Boundary] = field(repr=False)

    @property
    def edges(self) -> list[Edge]:
        """Edges as models, for the store's edges table."""
        return edges_of(self.graph)

    def atoms_with_dependencies(self) -> list[AtomicUnit]:
        """Atoms in topological order with ``dependencies`` matching the graph."""
        return [
            self.atoms[n].model_copy(update={"dependencies": sorted(self.graph.successors(n))})
            for n in self.order
        ]

    def summary(self) -> GraphSummary:
        """Counts, levels, widths, critical path and boundary counts."""
        kinds = Counter(k for _, _, k in self.graph.edges(data="kind"))
        return GraphSummary(
            atoms=self.graph.number_of_nodes(),
            edges=self.graph.number_of_edges(),
            edges_by_kind=dict(sorted(kinds.items())),
            levels=len(self.levels),
            widths=[len(level) for level in self.levels],
            critical_path_length=len(self.critical_path),
            critical_path=list(self.critical_path),
            modules=len(self.modules),
            components=len(self.components),
            fanout_points=len(self.fanout),
            merged_units=len(self.merged),
            merged_atoms=sum(len(v) for v in self.merged.values()),
        )


def build_graph(atoms: Sequence[AtomicUnit], edges: Sequence[Edge] | None = None) -> nx.DiGraph:
    """A DiGraph of atom ids with ``kind``-labelled edges src → dst ("src needs dst").

    ``edges`` default to the atoms' ``dependencies`` (kind ``call``); dependencies that no edge
    describes are added with that kind too. Edges to unknown atoms and self-loops (direct
    recursion stays inside one atom) are dropped; parallel edges keep the strongest kind.
    """
    ids = {a.id for a in atoms}
    kinds: dict[tuple[str, str], EdgeKind] = {}
    for e in edges or ():
        if e.src != e.dst and e.src in ids and e.dst in ids:
            old = kinds.get((e.src, e.dst))
            if old is None or KIND_PRIORITY[e.kind] > KIND_PRIORITY[old]:
                kinds[(e.src, e.dst)] = e.kind
    for a in atoms:
        for dep in a.dependencies:
            if dep != a.id and dep in ids:
                kinds.setdefault((a.id, dep), DEFAULT_EDGE_KIND)
    graph = nx.DiGraph()
    graph.add_nodes_from(a.id for a in atoms)
    graph.add_edges_from((s, d, {"kind": k}) for (s, d), k in kinds.items())
    return graph


def critical_path(
    graph: nx.DiGraph, levels: list[list[str]], level_of: dict[str, int]
) -> list[str]:
    """A longest dependency chain, level 0 first: from an atom of the last level, step to a
    dependency one level down until level 0 (each level is one more than its deepest need)."""
    if not levels:
        return []
    node = levels[-1][0]
    path = [node]
    while level_of[node] > 0:
        below = level_of[node] - 1
        node = min(d for d in graph.successors(node) if level_of[d] == below)
        path.append(node)
    return path[::-1]


def levels_of(graph: nx.DiGraph) -> list[list[str]]:
    """Level 0 needs nothing; level k needs only atoms of levels < k (sorted within a level)."""
    return [sorted(gen) for gen in nx.topological_generations(graph.reverse(copy=False))]


class DependencyAnalyzer:
    """Orders atoms by dependency and finds the validation boundaries."""

    def __init__(self, cycles: CyclePolicy = "merge-untested", sizes: Sizes | None = None) -> None:
        self.cycles: CyclePolicy = cycles
        self.sizes = sizes or Sizes()

    def analyze(
        self, atoms: Sequence[AtomicUnit], edges: Sequence[Edge] | None = None
    ) -> DependencyGraph:
        """The levelled graph; raises GraphCycleError for a cycle the policy does not merge."""
        # Like mge.atomization.batch: the cyclic collector would walk every live atom on each
        # full collection of this allocation-heavy step; reference counting is enough here.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._analyze(atoms, edges)
        finally:
            if was_enabled:
                gc.enable()

    def _analyze(
        self, atoms: Sequence[AtomicUnit], edges: Sequence[Edge] | None
    ) -> DependencyGraph:
        graph = build_graph(atoms, edges)
        by_id = {a.id: a for a in atoms}
        merged = resolve_cycles(graph, by_id, self.cycles)
        levels = levels_of(graph)
        level_of = {n: i for i, level in enumerate(levels) for n in level}
        order = [n for level in levels for n in level]
        critical = critical_path(graph, levels, level_of)
        modules = module_boundaries(by_id, order, level_of, self.sizes)
        components = component_boundaries(modules, level_of, self.sizes)
        dependents = {n: d for n, d in graph.in_degree()}
        fanout = fanout_points(dependents, by_id, level_of, self.sizes)
        return DependencyGraph(
            graph=graph,
            atoms=by_id,
            order=order,
            levels=levels,
            level_of=level_of,
            critical_path=critical,
            merged=merged,
            modules=modules,
            components=components,
            fanout=fanout,
        )


def module_graph(imports: dict[str, list[str]]) -> nx.DiGraph:
    """File-level import graph (importer → imported)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(imports)
    for src, dsts in imports.items():
        graph.add_edges_from((src, d) for d in dsts if d != src)
    return graph


def import_cycles(imports: dict[str, list[str]]) -> list[list[str]]:
    """Cycles of the file-level import graph (empty when it is acyclic)."""
    graph = module_graph(imports)
    return [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
