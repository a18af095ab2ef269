"""Boundaries: modules of 10–20 atoms along files, components of 50–100, fan-out points;
each knows after which level it can be validated."""

from __future__ import annotations

from graph_support import atom
from hypothesis import given, settings
from hypothesis import strategies as st

from mge.graph import DependencyAnalyzer, Sizes
from mge.models import AtomicUnit


def files_with(counts: dict[str, int]) -> list[AtomicUnit]:
    atoms = []
    for path, n in counts.items():
        stem = path.replace("/", "_").replace(".", "_")
        atoms += [atom(f"{stem}_{i}", file=path, line=i * 5 + 1) for i in range(n)]
    return atoms


def test_a_big_file_is_cut_into_balanced_modules() -> None:
    dg = DependencyAnalyzer().analyze(files_with({"pkg/big.py": 45}))
    assert [len(m.atoms) for m in dg.modules] == [15, 15, 15]
    assert [m.name for m in dg.modules] == [f"pkg/big.py [{i}/3]" for i in (1, 2, 3)]


def test_small_files_of_a_folder_are_pooled() -> None:
    dg = DependencyAnalyzer().analyze(
        files_with({"pkg/a.py": 4, "pkg/b.py": 4, "pkg/c.py": 4, "pkg/d.py": 3, "other/x.py": 2})
    )
    sizes = {m.name: len(m.atoms) for m in dg.modules}
    # a, b, c reach the minimum together; the 3 left over join them rather than stand alone
    assert sizes == {"pkg/ (4 files)": 15, "other/x.py": 2}
    assert all(len(m.atoms) <= 20 for m in dg.modules)


def test_ready_after_level_is_the_last_level_of_the_boundary() -> None:
    atoms = [atom("a"), atom("b", ["a"]), atom("c", ["b"], file="lib/other.py")]
    dg = DependencyAnalyzer().analyze(atoms)
    by_file = {m.files[0]: m for m in dg.modules}
    assert by_file["pkg/mod.py"].ready_after_level == 1
    assert by_file["lib/other.py"].ready_after_level == 2


def test_fan_out_points_are_atoms_many_depend_on() -> None:
    atoms = (
        [atom("core")]
        + [atom(f"user{i}", ["core"]) for i in range(6)]
        + [
            atom("minor"),
            atom("m1", ["minor"]),
        ]
    )
    dg = DependencyAnalyzer().analyze(atoms)
    assert [(b.name, b.dependents) for b in dg.fanout] == [("core", 6)]
    dg = DependencyAnalyzer(sizes=Sizes(fanout_min=1)).analyze(atoms)
    assert [b.name for b in dg.fanout] == ["core", "minor"]


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([f"p{i}/f{j}.py" for i in range(4) for j in range(6)]),
        st.integers(1, 45),
        min_size=1,
    )
)
def test_every_atom_is_in_exactly_one_module_and_one_component(counts: dict[str, int]) -> None:
    atoms = files_with(counts)
    dg = DependencyAnalyzer().analyze(atoms)
    ids = sorted(a.id for a in atoms)
    assert sorted(a for m in dg.modules for a in m.atoms) == ids
    assert sorted(a for c in dg.components for a in c.atoms) == ids
    for m in dg.modules:
        assert len(m.atoms) <= 20
        assert len({a.split("_")[0] for a in m.atoms}) == 1  # one folder per module
    for c in dg.components:
        assert len(c.atoms) <= 100
    # a component below 50 only when there was not more to pool
    if len(atoms) >= 100:
        assert sum(1 for c in dg.components if len(c.atoms) < 50) <= 1
