"""Real code nobody wrote for these tests: atomize this project's own `operator/mge` package as
existing code, check the counts, the complexity against radon, and an acyclic import graph."""

from __future__ import annotations

from collections import Counter

import pytest
from atom_support import PACKAGE
from radon.complexity import cc_visit

from mge.atomization import Atomization, RecursiveDecomposer, read_sources_sync
from mge.atomization.packing import Limits
from mge.graph import DependencyAnalyzer, import_cycles


@pytest.fixture(scope="module")
def package() -> Atomization:
    return RecursiveDecomposer().atomize_existing(read_sources_sync([PACKAGE]))


def test_every_definition_is_an_atom_and_the_counts_are_sensible(package: Atomization) -> None:
    defs: Counter[str] = Counter()
    for pf in package.parsed.values():
        for d in pf.definitions:
            defs[d.kind] += 1
    kinds = Counter(a.kind for a in package.atoms)
    assert len(package.parsed) >= 60
    for kind in ("function", "method", "class", "module", "statements"):
        assert kinds[kind] == defs[kind], kind
    functions = kinds["function"] + kinds["method"]
    assert functions >= 500
    # long bodies become statement groups, but a package of small functions does not explode
    assert kinds["statements"] < 4 * functions
    assert len({a.id for a in package.atoms}) == len(package.atoms)
    within = sum(1 for a in package.atoms if Limits().fits(a.estimated_loc, a.complexity))
    assert within / len(package.atoms) >= 0.9


def test_unsplit_functions_have_radon_complexity(package: Atomization) -> None:
    split = {a.parent for a in package.atoms if a.kind == "statements"}
    compared = 0
    for path, pf in package.parsed.items():
        radon: dict[str, list[int]] = {}
        for block in cc_visit(pf.source):
            for fn in getattr(block, "methods", [block]):
                radon.setdefault(fn.fullname, []).append(fn.complexity)
        for aid, (p, d) in package.definitions.items():
            if p != path or d.kind not in ("function", "method") or aid in split:
                continue
            values = radon.get(d.qualname)
            if values and len(values) == 1:
                compared += 1
                assert d.complexity == values[0], f"{path}:{d.start_line} {d.qualname}"
    assert compared >= 200


def test_the_package_import_graph_is_acyclic(package: Atomization) -> None:
    edges = sum(len(v) for v in package.module_imports.values())
    assert edges >= 150  # mge imports itself a lot: the resolution works
    assert import_cycles(dict(package.module_imports)) == []
    (errors,) = [p for p in package.module_imports if p.endswith("operator/mge/errors.py")]
    assert package.module_imports[errors] == []  # the bottom layer imports nothing of mge
    (config,) = [p for p in package.module_imports if p.endswith("operator/mge/config.py")]
    assert package.module_imports[config] == [errors]


def test_the_atom_graph_levels_respect_every_edge(package: Atomization) -> None:
    dg = DependencyAnalyzer().analyze(package.atoms, package.edges)
    for src, dst in dg.graph.edges():
        assert dg.level_of[src] > dg.level_of[dst]
    assert dg.levels[0] and all(dg.graph.out_degree(n) == 0 for n in dg.levels[0])
    assert len(dg.critical_path) == len(dg.levels)
    kinds = Counter(e.kind for e in package.edges)
    assert all(kinds[k] > 50 for k in ("call", "type", "data", "import")), kinds
    # cycles here are only mutual recursion within one file, merged into single units
    for members in dg.merged.values():
        assert len({package.definitions[m][0] for m in members}) == 1
