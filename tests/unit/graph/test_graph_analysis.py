"""DependencyAnalyzer: graph from atoms and typed edges, topological order, levels (level k
needs only levels < k), widths and the critical path."""

from __future__ import annotations

import networkx as nx
from graph_support import atom, chain_atoms
from hypothesis import given
from hypothesis import strategies as st

from mge.graph import DependencyAnalyzer, build_graph, levels_of
from mge.models import Edge


def test_levels_order_and_critical_path_of_a_diamond() -> None:
    atoms = [
        atom("base"),
        atom("left", deps=["base"]),
        atom("right", deps=["base"]),
        atom("top", deps=["left", "right"]),
        atom("lonely"),
    ]
    dg = DependencyAnalyzer().analyze(atoms)
    assert dg.levels == [["base", "lonely"], ["left", "right"], ["top"]]
    assert dg.order.index("base") < dg.order.index("left") < dg.order.index("top")
    assert dg.critical_path in (["base", "left", "top"], ["base", "right", "top"])
    s = dg.summary()
    assert (s.levels, s.widths, s.critical_path_length) == (3, [2, 2, 1], 3)
    assert s.edges_by_kind == {"call": 4}


def test_edges_carry_their_kind_and_the_strongest_wins() -> None:
    atoms = [atom("a"), atom("b"), atom("c")]
    edges = [
        Edge(src="a", dst="b", kind="import"),
        Edge(src="a", dst="b", kind="call"),
        Edge(src="b", dst="c", kind="type"),
        Edge(src="c", dst="c", kind="call"),  # direct recursion stays inside the atom
        Edge(src="c", dst="gone", kind="data"),  # unknown atoms are dropped
    ]
    g = build_graph(atoms, edges)
    assert sorted(g.edges(data="kind")) == [("a", "b", "call"), ("b", "c", "type")]
    dg = DependencyAnalyzer().analyze(atoms, edges)
    assert {(e.src, e.dst, e.kind) for e in dg.edges} == {("a", "b", "call"), ("b", "c", "type")}
    ordered = dg.atoms_with_dependencies()
    assert [a.id for a in ordered] == ["c", "b", "a"]
    assert ordered[2].dependencies == ["b"]


def test_dependencies_without_an_edge_become_call_edges() -> None:
    g = build_graph([atom("a", deps=["b"]), atom("b")], [])
    assert list(g.edges(data="kind")) == [("a", "b", "call")]


def test_a_long_chain_has_one_atom_per_level() -> None:
    dg = DependencyAnalyzer().analyze(chain_atoms(50))
    assert len(dg.levels) == 50 and dg.summary().widths == [1] * 50
    assert dg.critical_path == [f"n{i}" for i in range(50)]


@given(
    st.integers(2, 40).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
        )
    )
)
def test_levels_respect_every_edge_of_random_dags(spec: tuple[int, list[tuple[int, int]]]) -> None:
    n, pairs = spec
    # orient every pair from the higher to the lower index: always a DAG
    deps: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in pairs:
        if a != b:
            deps[max(a, b)].add(min(a, b))
    atoms = [atom(f"n{i}", deps=[f"n{d}" for d in sorted(deps[i])]) for i in range(n)]
    dg = DependencyAnalyzer().analyze(atoms)
    assert sorted(dg.order) == sorted(a.id for a in atoms)
    for src, dst in dg.graph.edges():
        assert dg.level_of[src] > dg.level_of[dst]
        assert dg.order.index(src) > dg.order.index(dst)
    for node in dg.graph:
        level = dg.level_of[node]
        deps_levels = [dg.level_of[d] for d in dg.graph.successors(node)]
        assert level == (max(deps_levels) + 1 if deps_levels else 0)  # as early as possible
    assert len(dg.critical_path) == len(dg.levels)
    assert (
        nx.is_simple_path(dg.graph.reverse(copy=False), dg.critical_path)
        or len(dg.critical_path) == 1
    )
    assert levels_of(dg.graph) == dg.levels
