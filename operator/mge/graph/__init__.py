"""Dependency graph: atoms and typed edges → order, levels, critical path and boundaries.

Pure analysis on models (:class:`~mge.models.AtomicUnit`, :class:`~mge.models.Edge`); the
caller persists ``DependencyGraph.edges`` and the atoms. Cycles are merged or named per
:mod:`mge.graph.cycles`. DOT and PNG pictures in :mod:`mge.graph.render`.
"""

from mge.graph.analyze import (
    DependencyAnalyzer,
    DependencyGraph,
    GraphSummary,
    build_graph,
    import_cycles,
    levels_of,
    module_graph,
)
from mge.graph.boundaries import Boundary, Sizes
from mge.graph.cycles import CYCLE_POLICIES, CyclePolicy, render_cycle, resolve_cycles
from mge.graph.render import render_png, to_dot, write_dot

__all__ = [
    "CYCLE_POLICIES",
    "Boundary",
    "CyclePolicy",
    "DependencyAnalyzer",
    "DependencyGraph",
    "GraphSummary",
    "Sizes",
    "build_graph",
    "import_cycles",
    "levels_of",
    "module_graph",
    "render_cycle",
    "render_png",
    "resolve_cycles",
    "to_dot",
    "write_dot",
]
