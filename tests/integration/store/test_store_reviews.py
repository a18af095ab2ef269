"""Review items: queue, order by confidence, and reviewers' decisions with who and when."""

from __future__ import annotations

import pytest
from store_samples import FIXED_NOW, review_item, spec, unit

from mge.errors import InputError, StoreError
from mge.store import Store

KEY = "default/todo"
A, B, C = unit("a").id, unit("b").id, unit("c").id


@pytest.fixture
async def project(store: Store) -> Store:
    await store.upsert_project(KEY, spec(), 1)
    await store.save_atoms(KEY, [unit("a"), unit("b"), unit("c")])
    return store


async def test_review_items_round_trip_least_confident_first(project: Store) -> None:
    items = [review_item(A, 0.9), review_item(B, 0.1), review_item(C, 0.5)]
    for item in items:
        await project.upsert_review_item(KEY, item)
    assert await project.list_review_items(KEY) == [items[1], items[2], items[0]]
    assert await project.get_review_item(KEY, C) == items[2]
    assert await project.get_review_item(KEY, "nope") is None


async def test_upsert_replaces_the_item(project: Store) -> None:
    await project.upsert_review_item(KEY, review_item(A, 0.2))
    failed = review_item(A, 0.0).model_copy(update={"reason": "failed", "code": "raise"})
    await project.upsert_review_item(KEY, failed)
    assert await project.list_review_items(KEY) == [failed]


@pytest.mark.parametrize(
    ("decision", "code", "feedback"),
    [
        ("approve", None, None),
        ("edit", "def a():\n    return 42\n", None),
        ("regenerate", None, "handle the empty list"),
    ],
)
async def test_decisions_record_what_who_and_when(
    project: Store, decision: str, code: str | None, feedback: str | None
) -> None:
    await project.upsert_review_item(KEY, review_item(A))
    decided = await project.decide_review(KEY, A, decision, code, feedback, by="alice@example.com")
    assert (decided.decision, decided.edited_code, decided.feedback) == (decision, code, feedback)
    assert (decided.decided_by, decided.decided_at) == ("alice@example.com", FIXED_NOW)
    assert await project.get_review_item(KEY, A) == decided
    assert await project.list_review_items(KEY, decision=decision) == [decided]
    assert await project.list_review_items(KEY, decision="pending") == []


async def test_invalid_decisions_are_refused(project: Store) -> None:
    await project.upsert_review_item(KEY, review_item(A))
    with pytest.raises(InputError, match="needs the edited code"):
        await project.decide_review(KEY, A, "edit", None)
    with pytest.raises(InputError, match="not one of"):
        await project.decide_review(KEY, A, "pending")
    with pytest.raises(StoreError, match="review item 'ghost'"):
        await project.decide_review(KEY, "ghost", "approve")
    item = await project.get_review_item(KEY, A)
    assert item is not None and item.decision == "pending"


async def test_review_item_for_unknown_atom_is_refused(project: Store) -> None:
    with pytest.raises(StoreError, match="saving review item 'ghost'"):
        await project.upsert_review_item(KEY, review_item("ghost"))


async def test_review_marks_move_with_every_kind_of_review_change(project: Store) -> None:
    """The review UI's live updates poll these marks; each change below must move them."""
    seen = [await project.review_marks()]
    assert set(seen[0]) == {KEY}

    async def moved() -> None:
        marks = await project.review_marks()
        assert marks[KEY] != seen[-1][KEY]
        seen.append(marks)

    await project.upsert_review_item(KEY, review_item(A, 0.2))
    await moved()  # queued
    await project.upsert_review_item(KEY, review_item(B, 0.3))
    await moved()
    await project.decide_review(KEY, A, "approve", by="alice")
    await moved()  # decided (the store's clock is frozen here: the decided count moves)
    await project.set_phase(KEY, "Completed")
    await moved()  # the project's phase
    assert await project.review_marks() == seen[-1]  # and nothing moves by itself
