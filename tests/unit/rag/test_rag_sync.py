"""plan_sync: which patterns to embed, delete or keep, decided from content hashes alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mge.rag.patterns import Pattern
from mge.rag.sync import plan_sync


def pattern(pid: str, code: str = "x = 1") -> Pattern:
    return Pattern(
        id=pid,
        title=f"pattern {pid}",
        language="python",
        framework="none",
        kind="testing",
        summary="a summary that is long enough",
        code=code,
    )


def test_empty_index_adds_everything() -> None:
    plan = plan_sync({}, [pattern("aaa"), pattern("bbb")])
    assert (plan.add, plan.update, plan.delete, plan.unchanged) == (("aaa", "bbb"), (), (), ())


def test_changed_removed_unchanged_and_new_are_told_apart() -> None:
    keep, edit, new = pattern("keep"), pattern("edit", "y = 2"), pattern("new")
    indexed = {
        "keep": keep.content_hash,
        "edit": pattern("edit").content_hash,
        "gone": "f" * 64,
        "nohash": None,
    }
    plan = plan_sync(indexed, [keep, edit, new, pattern("nohash")])
    assert plan.add == ("new",)
    assert plan.update == ("edit", "nohash")
    assert plan.delete == ("gone",)
    assert plan.unchanged == ("keep",)
    assert plan.to_embed == ("new", "edit", "nohash")


ids = st.lists(st.sampled_from([f"p{i:02d}" for i in range(12)]), unique=True)


@given(indexed_ids=ids, wanted_ids=ids, changed=st.sets(st.integers(0, 11)))
def test_plan_partitions_ids(
    indexed_ids: list[str], wanted_ids: list[str], changed: set[int]
) -> None:
    wanted = [pattern(i, "changed" if int(i[1:]) in changed else "x = 1") for i in wanted_ids]
    indexed = {i: pattern(i).content_hash for i in indexed_ids}
    plan = plan_sync(indexed, wanted)
    assert set(plan.add) | set(plan.update) | set(plan.unchanged) == set(wanted_ids)
    assert set(plan.delete) == set(indexed_ids) - set(wanted_ids)
    sizes = len(plan.add) + len(plan.update) + len(plan.unchanged)
    assert sizes == len(wanted_ids)
    # a second sync after applying the plan has nothing left to do
    after = {p.id: p.content_hash for p in wanted}
    again = plan_sync(after, wanted)
    assert not (again.add or again.update or again.delete)
