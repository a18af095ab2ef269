"""Dependency cycles: name them, or merge mutually recursive atoms into one unit.

A cycle means no atom in it can be generated with *validated* dependency context. Two cases:

* mutual recursion inside one file where some member has no test of its own (``is_even`` /
  ``is_odd``, a recursive-descent parser's helpers): the members cannot be validated apart, so
  they become ONE unit — generated, validated and reviewed together;
* anything else (a cycle across files, or between atoms that each have tests): that is a design
  fault the planner must fix, and :class:`~mge.errors.GraphCycleError` names it as
  ``a (file:line) → b (file:line) → a (file:line)``.

The policy is a parameter: ``merge-untested`` (the default, as above), ``error`` (never merge)
or ``merge`` (merge every cycle, also across files — for analysing existing code only; such a
unit fails the ``one_file`` atomicity criterion).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import networkx as nx

from mge.errors import GraphCycleError
from mge.models.atoms import AtomicUnit, Edge, EdgeKind, Span, atom_id

CyclePolicy = Literal["merge-untested", "merge", "error"]
CYCLE_POLICIES: tuple[CyclePolicy, ...] = ("merge-untested", "merge", "error")
MERGE_SEPARATOR = "+"
"""Joins the qualified names of merged atoms (``is_even+is_odd``)."""

KIND_PRIORITY: dict[EdgeKind, int] = {"call": 4, "data": 3, "type": 2, "import": 1}


def describe(atom: AtomicUnit) -> str:
    """``qualname (file:line)`` for messages."""
    line = atom.span.start_line if atom.span else "?"
    return f"{atom.qualname} ({atom.file}:{line})"


def render_cycle(cycle: list[str], atoms: Mapping[str, AtomicUnit]) -> str:
    """``a (f:1) → b (f:9) → a (f:1)``."""
    names = [describe(atoms[n]) if n in atoms else n for n in cycle]
    return " → ".join([*names, names[0]])


def cycle_in(graph: nx.DiGraph, nodes: Iterable[str]) -> list[str]:
    """One cycle through the strongly connected ``nodes``, in dependency order."""
    sub = graph.subgraph(nodes)
    edges = nx.find_cycle(sub)
    return [str(u) for u, _v, *_ in edges]


def merged_unit(members: list[AtomicUnit]) -> AtomicUnit:
    """One atom standing for mutually recursive ``members`` (ordered by position)."""
    members = sorted(members, key=lambda a: (a.file, a.span.start_line if a.span else 0))
    first = members[0]
    qualname = MERGE_SEPARATOR.join(a.qualname for a in members)
    same_file = all(a.file == first.file for a in members)
    spans = [a.span for a in members if a.span is not None]
    span = (
        Span(start_line=min(s.start_line for s in spans), end_line=max(s.end_line for s in spans))
        if same_file and spans
        else None
    )
    return AtomicUnit(
        id=atom_id(first.file, qualname),
        task_id=first.task_id,
        file=first.file if same_file else ", ".join(sorted({a.file for a in members})),
        language=first.language,
        kind=first.kind,
        qualname=qualname,
        signature="\n".join(a.signature for a in members if a.signature),
        spec="\n\n".join(f"{a.qualname}: {a.spec}" for a in members if a.spec),
        preconditions=[p for a in members for p in a.preconditions],
        postconditions=[p for a in members for p in a.postconditions],
        test_cases=sorted({t for a in members for t in a.test_cases}),
        estimated_loc=sum(a.estimated_loc for a in members),
        complexity=sum(a.complexity for a in members) - (len(members) - 1),
        dependencies=[],
        span=span,
        parent=None,
    )


def resolve_cycles(
    graph: nx.DiGraph,
    atoms: dict[str, AtomicUnit],
    policy: CyclePolicy = "merge-untested",
) -> dict[str, list[str]]:
    """Merge or reject every cycle of ``graph`` in place; returns merged id → member ids.

    ``graph`` has an edge src → dst when src needs dst, with a ``kind`` attribute; ``atoms`` is
    updated with the merged units (members removed). Raises GraphCycleError per the policy.
    """
    merged: dict[str, list[str]] = {}
    sccs = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    for scc in sorted(sccs, key=lambda c: sorted(c)):
        members = [atoms[n] for n in scc]
        files = {a.file for a in members}
        untested = any(not a.test_cases for a in members)
        allowed = policy == "merge" or (policy == "merge-untested" and untested and len(files) == 1)
        if not allowed:
            cycle = cycle_in(graph, scc)
            raise GraphCycleError(cycle, render_cycle(cycle, atoms))
        unit = merged_unit(members)
        _contract(graph, scc, unit.id)
        for n in scc:
            del atoms[n]
        atoms[unit.id] = unit
        merged[unit.id] = sorted(scc)
    return merged


def _contract(graph: nx.DiGraph, scc: set[str], new: str) -> None:
    """Replace the nodes of ``scc`` by ``new``, keeping the strongest kind of parallel edges."""
    graph.add_node(new)
    for n in scc:
        for _, dst, kind in list(graph.out_edges(n, data="kind")):
            if dst not in scc:
                add_strongest_edge(graph, new, dst, kind)
        for src, _, kind in list(graph.in_edges(n, data="kind")):
            if src not in scc:
                add_strongest_edge(graph, src, new, kind)
    graph.remove_nodes_from(scc)


def add_strongest_edge(graph: nx.DiGraph, src: str, dst: str, kind: EdgeKind) -> None:
    """Add src → dst, or upgrade an existing edge to ``kind`` when that is stronger."""
    old = graph.get_edge_data(src, dst)
    if old is None or KIND_PRIORITY[kind] > KIND_PRIORITY[old["kind"]]:
        graph.add_edge(src, dst, kind=kind)


def edges_of(graph: nx.DiGraph) -> list[Edge]:
    """The graph's edges as models (what the store's edges table holds)."""
    return [Edge.model_construct(src=u, dst=v, kind=k) for u, v, k in graph.edges(data="kind")]
