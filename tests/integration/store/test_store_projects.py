"""Projects, documents and tasks round-trip through the store on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from store_samples import discovery, masterplan, spec, task

from mge.errors import InputError, StoreError
from mge.models import DiscoveryResult, Masterplan
from mge.store import Store
from mge.store.codec import content_hash


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += timedelta(seconds=1)


async def test_new_project_starts_pending_with_its_spec(store: Store) -> None:
    saved = await store.upsert_project("default/todo-lib", spec(), 1)
    assert saved.key == "default/todo-lib"
    assert saved.spec == spec()
    assert saved.spec_hash == content_hash(spec())
    assert (saved.generation, saved.phase, saved.summary) == (1, "Pending", {})
    assert await store.get_project("default/todo-lib") == saved
    assert await store.get_project("missing") is None


async def test_new_generation_replaces_spec_but_keeps_phase(store_url: str) -> None:
    clock = Clock()
    store = await Store.open(store_url, clock=clock)
    try:
        first = await store.upsert_project("todo", spec("v1"), 1)
        await store.set_phase("todo", "Planning", {"tasks": 3})
        clock.tick()
        same = await store.upsert_project("todo", spec("v1"), 1)
        assert same.updated_at == first.updated_at  # nothing changed, nothing written
        clock.tick()
        second = await store.upsert_project("todo", spec("v2"), 2)
        assert second.spec.requirements == "v2"
        assert (second.generation, second.phase, second.summary) == (2, "Planning", {"tasks": 3})
        assert second.created_at == first.created_at < second.updated_at
    finally:
        await store.close()


async def test_stale_generation_does_not_undo_a_newer_spec(store: Store) -> None:
    await store.upsert_project("todo", spec("new"), 5)
    kept = await store.upsert_project("todo", spec("old"), 4)
    assert (kept.generation, kept.spec.requirements) == (5, "new")


async def test_set_phase_keeps_summary_unless_given(store: Store) -> None:
    await store.upsert_project("todo", spec(), 1)
    await store.set_phase("todo", "Executing", {"atoms": {"validated": 3}, "cost": 0.5})
    await store.set_phase("todo", "Reviewing")
    project = await store.get_project("todo")
    assert project is not None
    assert (project.phase, project.summary) == (
        "Reviewing",
        {"atoms": {"validated": 3}, "cost": 0.5},
    )


async def test_set_phase_of_unknown_project_is_an_error(store: Store) -> None:
    with pytest.raises(StoreError, match="'ghost' is not in the store"):
        await store.set_phase("ghost", "Failed", {})


@pytest.mark.parametrize("key", ["", " padded", "x" * 254])
async def test_bad_project_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(InputError):
        await store.upsert_project(key, spec(), 1)


async def test_list_projects_sorted_by_key(store: Store) -> None:
    for key in ("ns/b", "a", "ns/a"):
        await store.upsert_project(key, spec(), 1)
    assert [p.key for p in await store.list_projects()] == ["a", "ns/a", "ns/b"]


async def test_documents_round_trip_as_models_and_dicts(store: Store) -> None:
    await store.upsert_project("todo", spec(), 1)
    digest = await store.put_document("todo", "discovery", discovery())
    assert digest == content_hash(discovery())
    assert await store.document_hash("todo", "discovery") == digest
    assert await store.get_document_as("todo", "discovery", DiscoveryResult) == discovery()
    assert await store.get_document("todo", "discovery") == discovery().model_dump(
        mode="json", by_alias=True
    )
    await store.put_document("todo", "notes", {"b": [1, 2.5, None], "a": {"ü": True}})
    assert await store.get_document("todo", "notes") == {"b": [1, 2.5, None], "a": {"ü": True}}
    assert await store.get_document("todo", "absent") is None
    assert await store.get_document_as("todo", "absent", Masterplan) is None


async def test_document_is_replaced_and_its_hash_follows(store: Store) -> None:
    await store.upsert_project("todo", spec(), 1)
    first = await store.put_document("todo", "plan", masterplan())
    changed = masterplan().model_copy(update={"patterns_used": ["other"]})
    second = await store.put_document("todo", "plan", changed)
    assert first != second
    assert await store.get_document_as("todo", "plan", Masterplan) == changed


async def test_document_kinds_by_prefix_treat_wildcards_literally(store: Store) -> None:
    await store.upsert_project("todo", spec(), 1)
    for kind in ("skeleton/T-1", "skeleton/T-2", "skeletonXT-3", "skel%", "plan"):
        await store.put_document("todo", kind, {"k": kind})
    assert await store.list_document_kinds("todo", "skeleton/") == ["skeleton/T-1", "skeleton/T-2"]
    assert await store.list_document_kinds("todo", "skel%") == ["skel%"]
    assert len(await store.list_document_kinds("todo")) == 5


async def test_document_of_unknown_project_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="saving document 'plan'"):
        await store.put_document("ghost", "plan", {"x": 1})


async def test_tasks_keep_plan_order_and_are_replaced(store: Store) -> None:
    await store.upsert_project("todo", spec(), 1)
    tasks = [task(3), task(1), task(2, depends_on=("T-1",))]
    await store.save_tasks("todo", tasks)
    assert await store.list_tasks("todo") == tasks
    await store.save_tasks("todo", [task(9)])
    assert await store.list_tasks("todo") == [task(9)]
    await store.save_tasks("todo", [])
    assert await store.list_tasks("todo") == []


async def test_duplicate_task_ids_are_refused(store: Store) -> None:
    await store.upsert_project("todo", spec(), 1)
    with pytest.raises(StoreError, match="T-1"):
        await store.save_tasks("todo", [task(1), task(1)])
