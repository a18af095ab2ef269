"""Atoms and edges: round trips, and save_atoms keeping the work of unchanged atoms."""

from __future__ import annotations

import pytest
from store_samples import atomicity, attempt, review_item, spec, unit

from mge.errors import StoreError
from mge.models import AtomState, Edge
from mge.store import Store

KEY = "default/todo"


@pytest.fixture
async def project(store: Store) -> Store:
    await store.upsert_project(KEY, spec(), 1)
    return store


async def test_atoms_round_trip_with_levels(project: Store) -> None:
    units = [unit("a"), unit("b", deps=(unit("a").id,)), unit("c", file="todo/other.py")]
    result = await project.save_atoms(KEY, units, {units[0].id: 0, units[1].id: 1})
    assert result.inserted == [u.id for u in units]
    assert (result.changed, result.unchanged, result.removed) == ([], [], [])
    stored = {a.id: a for a in await project.list_atoms(KEY)}
    assert {i: a.unit for i, a in stored.items()} == {u.id: u for u in units}
    assert {i: a.level for i, a in stored.items()} == {
        units[0].id: 0,
        units[1].id: 1,
        units[2].id: None,
    }
    assert all(a.state is AtomState.PENDING and a.code is None for a in stored.values())
    assert await project.get_atom(KEY, units[1].id) == stored[units[1].id]
    assert await project.get_atom(KEY, "nope") is None


async def test_list_atoms_orders_by_level_then_unlevelled_last(project: Store) -> None:
    a, b, c = unit("a"), unit("b"), unit("c")
    await project.save_atoms(KEY, [a, b, c], {b.id: 1, c.id: 0})
    assert [x.id for x in await project.list_atoms(KEY)] == [c.id, b.id, a.id]


async def test_list_atoms_filters(project: Store) -> None:
    a, b = unit("a"), unit("b", file="todo/x.py")
    await project.save_atoms(KEY, [a, b], {a.id: 0, b.id: 0})
    await project.set_atom_state(KEY, b.id, AtomState.FAILED)
    assert [x.id for x in await project.list_atoms(KEY, state=AtomState.FAILED)] == [b.id]
    assert len(await project.list_atoms(KEY, level=0)) == 2
    assert await project.list_atoms(KEY, level=1) == []
    assert len(await project.list_atoms(KEY, task_id="T-1")) == 2


async def test_state_code_confidence_and_report_are_kept(project: Store) -> None:
    a = unit("a")
    await project.save_atoms(KEY, [a])
    await project.set_atom_state(KEY, a.id, AtomState.GENERATING)
    await project.set_atom_state(KEY, a.id, AtomState.VALIDATED, code="def a():\n    return 0\n")
    await project.set_atom_state(KEY, a.id, AtomState.IN_REVIEW)  # code=None keeps the code
    await project.set_confidence(KEY, a.id, 0.42)
    await project.save_atomicity_reports(KEY, [atomicity(a.id)])
    stored = await project.get_atom(KEY, a.id)
    assert stored is not None
    assert stored.state is AtomState.IN_REVIEW
    assert stored.code == "def a():\n    return 0\n"
    assert stored.confidence == pytest.approx(0.42)
    assert stored.atomicity == atomicity(a.id)
    counts = await project.count_atoms(KEY)
    assert counts[AtomState.IN_REVIEW] == 1
    assert sum(counts.values()) == 1


async def test_open_level_is_the_lowest_level_with_an_atom_to_settle(project: Store) -> None:
    a, b, c, d = unit("a"), unit("b"), unit("c"), unit("d")
    await project.save_atoms(KEY, [a, b, c, d], {a.id: 0, b.id: 1, c.id: 1, d.id: 2})
    assert await project.open_level(KEY) == 0
    await project.set_atom_state(KEY, a.id, AtomState.VALIDATED, code="x = 1\n")
    await project.set_atom_state(KEY, b.id, AtomState.FAILED)
    await project.set_atom_state(KEY, c.id, AtomState.GENERATING)
    assert await project.open_level(KEY) == 1
    await project.set_atom_state(KEY, c.id, AtomState.IN_REVIEW)
    assert await project.open_level(KEY) == 2
    await project.set_atom_state(KEY, d.id, AtomState.VALIDATED, code="y = 2\n")
    assert await project.open_level(KEY) is None


async def test_changes_to_unknown_atoms_are_errors(project: Store) -> None:
    with pytest.raises(StoreError, match="atom 'ghost'"):
        await project.set_atom_state(KEY, "ghost", AtomState.FAILED)
    with pytest.raises(StoreError, match="ghost"):
        await project.set_levels(KEY, {"ghost": 1})
    with pytest.raises(StoreError, match="ghost"):
        await project.save_atomicity_reports(KEY, [atomicity("ghost")])
    with pytest.raises(StoreError, match=r"outside \[0, 1\]"):
        await project.set_confidence(KEY, "ghost", 1.5)


async def test_resave_keeps_unchanged_resets_changed_and_prunes_removed(project: Store) -> None:
    keep, change, drop = unit("keep"), unit("change"), unit("drop")
    await project.save_atoms(KEY, [keep, change, drop], {keep.id: 0, change.id: 0, drop.id: 1})
    for a in (keep, change, drop):
        await project.record_attempt(KEY, attempt(a.id), AtomState.VALIDATED, f"# code of {a.id}")
        await project.upsert_review_item(KEY, review_item(a.id))
        await project.set_confidence(KEY, a.id, 0.9)

    changed = unit("change", spec_text="Now it counts something else.")
    new = unit("new")
    result = await project.save_atoms(KEY, [keep, changed, new], {changed.id: 2})

    assert (result.inserted, result.changed) == ([new.id], [changed.id])
    assert (result.unchanged, result.removed) == ([keep.id], [drop.id])
    atoms = {a.id: a for a in await project.list_atoms(KEY)}
    assert set(atoms) == {keep.id, changed.id, new.id}
    kept = atoms[keep.id]
    assert (kept.state, kept.code, kept.level, kept.confidence) == (
        AtomState.VALIDATED,
        f"# code of {keep.id}",
        0,  # not in the new levels: an unchanged atom keeps its level
        0.9,
    )
    reset = atoms[changed.id]
    assert reset.unit == changed
    assert (reset.state, reset.code, reset.level, reset.confidence) == (
        AtomState.PENDING,
        None,
        2,
        None,
    )
    assert {a.atom_id for a in await project.list_attempts(KEY)} == {keep.id}
    assert [r.atom_id for r in await project.list_review_items(KEY)] == [keep.id]


async def test_resave_without_prune_only_adds(project: Store) -> None:
    a, b = unit("a"), unit("b")
    await project.save_atoms(KEY, [a])
    result = await project.save_atoms(KEY, [b], prune=False)
    assert (result.inserted, result.removed) == ([b.id], [])
    assert {x.id for x in await project.list_atoms(KEY)} == {a.id, b.id}


async def test_set_levels_after_analysis(project: Store) -> None:
    a, b = unit("a"), unit("b")
    await project.save_atoms(KEY, [a, b])
    await project.set_levels(KEY, {a.id: 0, b.id: 1})
    assert [(x.id, x.level) for x in await project.list_atoms(KEY)] == [(a.id, 0), (b.id, 1)]


async def test_duplicate_atom_ids_are_refused(project: Store) -> None:
    with pytest.raises(StoreError, match="more than once"):
        await project.save_atoms(KEY, [unit("a"), unit("a")])


async def test_many_atoms_in_one_save(project: Store) -> None:
    units = [unit(f"fn_{i}", file=f"todo/m{i % 7}.py") for i in range(1200)]  # > IN_CHUNK
    await project.save_atoms(KEY, units, {u.id: i % 5 for i, u in enumerate(units)})
    await project.save_atoms(KEY, units[:10])  # prune 1190 in chunks
    assert len(await project.list_atoms(KEY)) == 10


async def test_edges_are_replaced_and_deduplicated(project: Store) -> None:
    edges = [
        Edge(src="b", dst="a", kind="call"),
        Edge(src="b", dst="a", kind="type"),
        Edge(src="c", dst="b", kind="import"),
        Edge(src="b", dst="a", kind="call"),
    ]
    await project.save_edges(KEY, edges)
    assert await project.list_edges(KEY) == [edges[0], edges[1], edges[2]]
    await project.save_edges(KEY, [Edge(src="x", dst="y", kind="data")])
    assert await project.list_edges(KEY) == [Edge(src="x", dst="y", kind="data")]
