"""The learn step and the retrieval-use document, on a real SQLite store.

The learner is the seam to Chroma: here it records what it was handed, or fails the way an
unreachable Chroma does (fault injection); the Chroma side is tested in tests/integration/rag.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mge.errors import RetrievalUnavailable
from mge.models.atoms import AtomicUnit, AtomState, atom_id
from mge.models.execution import ValidationResult
from mge.models.project import ProjectSpec
from mge.pipeline.context import Memory
from mge.pipeline.learning import LearnEntry
from mge.pipeline.memory_stages import (
    learn_stage,
    note_retrieval,
    retrieval_note,
    retrieval_use,
    save_examples_used,
)
from mge.rag.retriever import LearnStats
from mge.store import Store

KEY = "team-a/shop"


def _unit(name: str) -> AtomicUnit:
    return AtomicUnit(
        id=atom_id("app/m.py", name),
        file="app/m.py",
        language="python",
        kind="function",
        qualname=name,
        signature=f"def {name}(x: int) -> int",
        spec=f"{name} spec",
        estimated_loc=2,
        complexity=1,
    )


async def _store(tmp_path: Path) -> Store:
    store = await Store.open(f"sqlite:///{tmp_path / 'mge.db'}")
    await store.upsert_project(KEY, ProjectSpec.model_validate({"requirements": "a shop"}), 1)
    good, bad = _unit("good"), _unit("bad")
    await store.save_atoms(KEY, [good, bad])
    await store.set_atom_state(KEY, good.id, AtomState.VALIDATED, "def good(x):\n    return x\n")
    await store.set_atom_state(KEY, bad.id, AtomState.FAILED, "def bad(x):\n    return 1\n")
    await store.add_validation(KEY, ValidationResult(level="L4", subject="system", passed=True))
    return store


class Learner:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[list[str], str]] = []

    async def __call__(self, entries: Sequence[LearnEntry], scope: str) -> LearnStats:
        if self.fail:
            raise RetrievalUnavailable("searching http://chroma:8000 failed: refused")
        self.calls.append(([e.atom_id for e in entries], scope))
        ids = [f"{scope}:{e.atom_id}-x" for e in entries]
        known = len(self.calls) > 1
        return LearnStats(added=[] if known else ids, unchanged=ids if known else [])


async def test_learn_stage_learns_what_passed_under_the_projects_scope(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        learner = Learner()
        memory = Memory("team-a", "shop", None, learner)
        line = await learn_stage(store, KEY, memory, "fastapi")
        assert learner.calls == [([_unit("good").id], "team-a/shop")]
        assert line == "learning: 1 new, 0 already known (of 1 atoms)"
        assert (await retrieval_use(store, KEY)).learned == [f"team-a/shop:{_unit('good').id}-x"]
        again = await learn_stage(store, KEY, memory, "fastapi")
        assert again == "learning: 0 new, 1 already known (of 1 atoms)"
    finally:
        await store.close()


async def test_an_unavailable_chroma_learns_nothing_and_says_so(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        line = await learn_stage(store, KEY, Memory("team-a", "shop", None, Learner(fail=True)))
        assert line.startswith("learning: unavailable (searching http://chroma:8000 failed")
        use = await retrieval_use(store, KEY)
        assert use.learned == [] and use.notes == [line]
        assert await retrieval_note(store, KEY) == ""  # not a planning note
    finally:
        await store.close()


async def test_retrieval_use_collects_what_each_phase_was_shown(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        await store.put_document(
            KEY, "patterns", {"inputs": "h", "output": [{"pattern_id": "py-retry", "title": "R"}]}
        )
        await save_examples_used(store, KEY, {"a": ["team-a/blog:x-1"]})
        await save_examples_used(store, KEY, {"b": ["team-a/blog:y-2", "team-a/blog:x-1"]})
        note = "retrieval: unavailable (x); planning without patterns"
        await note_retrieval(store, KEY, note)
        await note_retrieval(store, KEY, note)  # kept once
        use = await retrieval_use(store, KEY)
        assert use.planning == ["py-retry"]
        assert use.generation == {
            "a": ["team-a/blog:x-1"],
            "b": ["team-a/blog:y-2", "team-a/blog:x-1"],
        }
        assert use.notes == [note] and await retrieval_note(store, KEY) == note
        await note_retrieval(store, KEY, None)  # retrieval worked later: the note goes
        assert await retrieval_note(store, KEY) == ""
    finally:
        await store.close()
