"""A batch's view (what it is checked against) recorded with it and read back after a restart."""

from __future__ import annotations

from pathlib import Path

from mge.execution.journal import StoreJournal, batches_document
from mge.execution.views import BatchView, held_for_recheck
from mge.models.execution import CheckResult, ValidationResult
from mge.models.project import ProjectSpec
from mge.store import Store

SCOPE = ["a", "b", "c", "d", "e"]


def test_a_view_is_recorded_as_the_shorter_of_what_it_sees_and_what_it_does_not() -> None:
    few = BatchView.of(["a"], SCOPE)
    most = BatchView.of(["a", "b", "c", "d"], SCOPE)
    assert few == BatchView(frozenset({"a"}))
    assert most == BatchView(frozenset({"e"}), hidden=True)
    for view, seen in ((few, {"a"}), (most, {"a", "b", "c", "d"})):
        assert {x for x in SCOPE if view.sees(x)} == seen


def test_a_recorded_view_picks_the_same_atoms_whatever_was_validated_since() -> None:
    view = BatchView.of(["a", "b"], SCOPE)
    now = {"a": "A", "b": "B", "c": "C (validated after the batch formed)"}
    assert view.pick(now) == {"a": "A", "b": "B"}
    # an atom sent back since is not validated now: it is not picked (its code changed)
    assert view.pick({"a": "A"}) == {"a": "A"}


def test_a_view_survives_the_journal_form() -> None:
    for view in (
        BatchView.of(["a"], SCOPE),
        BatchView.of(["a", "b", "c", "d"], SCOPE),
        BatchView.of(["a"], SCOPE, early=True),
        BatchView.of(["a", "b", "c", "d"], SCOPE, recheck=True),
    ):
        assert BatchView.from_doc(view.to_doc()) == view
    assert BatchView.from_doc(None) is None
    assert BatchView.from_doc({}) is None


async def test_the_store_journal_keeps_each_batch_view_for_a_later_process(
    tmp_path: Path,
) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}")
    try:
        for key in ("default/p", "default/q"):
            await store.upsert_project(key, ProjectSpec(requirements="x"), 1)
        first = StoreJournal(store, "default/p")
        await first.batch(1, [("c", 1), ("d", 1)], BatchView.of(["a"], SCOPE))
        await first.batch(1, [("c", 2)], BatchView.of(["a", "b", "d"], SCOPE))

        later = StoreJournal(store, "default/p")  # a restarted process
        assert await later.planned_batches(1) == [[("c", 1), ("d", 1)], [("c", 2)]]
        assert await later.batch_view(1, [("d", 1), ("c", 1)]) == BatchView.of(["a"], SCOPE)
        assert await later.batch_view(1, [("c", 2)]) == BatchView.of(["a", "b", "d"], SCOPE)
        assert await later.batch_view(1, [("c", 3)]) is None
        assert await later.batch_view(0, [("c", 1), ("d", 1)]) is None

        # a recheck of the same attempts is recorded apart: not formed again as a batch
        await first.batch(1, [("c", 1), ("d", 1)], BatchView.of(SCOPE, SCOPE, recheck=True))
        again = StoreJournal(store, "default/p")
        assert await again.planned_batches(1) == [[("c", 1), ("d", 1)], [("c", 2)]]
        assert await again.batch_view(1, [("c", 1), ("d", 1)]) == BatchView.of(["a"], SCOPE)
        recheck = await again.batch_view(1, [("c", 1), ("d", 1)], recheck=True)
        assert recheck is not None and recheck.recheck and recheck.sees("e")

        # a document written before views were recorded: its batches re-form, with no view
        await store.put_document("default/q", batches_document(0), {"batches": [[["a", 1]]]})
        old = StoreJournal(store, "default/q")
        assert await old.planned_batches(0) == [[("a", 1)]]
        assert await old.batch_view(0, [("a", 1)]) is None
        await old.batch(0, [("a", 1)], BatchView.of(["b"], SCOPE))
        assert await StoreJournal(store, "default/q").batch_view(0, [("a", 1)]) == BatchView.of(
            ["b"], SCOPE
        )
    finally:
        await store.close()


def _result(**checks: bool) -> ValidationResult:
    return ValidationResult(
        level="L1",
        subject="a",
        passed=all(checks.values()),
        checks=[CheckResult(name=name, passed=ok) for name, ok in checks.items()],
    )


def test_only_a_last_attempt_that_failed_on_its_tests_alone_is_held() -> None:
    tests_failed = _result(types=True, tests=False)
    assert held_for_recheck(tests_failed, attempt=3, max_attempts=3)
    assert held_for_recheck(tests_failed, attempt=1, max_attempts=1)
    # attempts left: the failure counts and the atom is retried
    assert not held_for_recheck(tests_failed, attempt=1, max_attempts=3)
    assert not held_for_recheck(tests_failed, attempt=2, max_attempts=3)
    # types read only the atom and the signatures: no lower-level code can be missing there
    assert not held_for_recheck(_result(types=False, tests=False), attempt=3, max_attempts=3)
    assert not held_for_recheck(_result(types=True, tests=True), attempt=3, max_attempts=3)
    assert not held_for_recheck(None, attempt=3, max_attempts=3)
