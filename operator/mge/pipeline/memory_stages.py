"""Memory across projects: learned examples while generating, and the learn step at completion.

Both drivers call :func:`learn_stage` when a project completes (`mge run` before it writes the
output folder when no review is pending; the operator when the last review is decided). What to
learn is the pure :func:`~mge.pipeline.learning.select_learnable`; this module reads the store
and hands the entries to the :class:`~mge.pipeline.context.Memory` of the run.

What retrieval gave each phase is kept in the store's ``retrieval-use`` document, so the report
says it whichever process ran the phase (the operator runs one phase per call).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mge.errors import RetrievalUnavailable
from mge.execution.prompting import Example, ExampleSource, fit_examples
from mge.execution.report import RetrievalUse
from mge.models.atoms import AtomicUnit
from mge.pipeline.context import Memory
from mge.pipeline.learning import AtomRecord, learned_scope, select_learnable
from mge.store import Store

__all__ = [
    "RETRIEVAL_USE_DOC",
    "learn_stage",
    "note_retrieval",
    "recording_examples",
    "retrieval_note",
    "retrieval_use",
    "save_examples_used",
]

RETRIEVAL_USE_DOC = "retrieval-use"
"""Document kind: ``{"generation": {atom: [entry ids]}, "learned": [...], "notes": [...]}``."""
RETRIEVAL_NOTE_PREFIX = "retrieval: "
"""Notes starting so are about planning's retrieval (one at most is kept)."""
_PATTERNS_DOC = "patterns"  # planning_stages.PATTERNS_DOC (the retrieval checkpoint)


def recording_examples(source: ExampleSource, used: dict[str, list[str]]) -> ExampleSource:
    """``source`` limited to what the prompt shows, noting the entry ids each atom was shown."""

    async def examples(atom: AtomicUnit) -> Sequence[Example]:
        shown = fit_examples(await source(atom))
        if shown:
            used[atom.id] = [e.entry_id for e in shown]
        else:
            used.pop(atom.id, None)
        return shown

    return examples


async def _use_doc(store: Store, key: str) -> dict[str, Any]:
    doc = await store.get_document(key, RETRIEVAL_USE_DOC)
    return dict(doc) if isinstance(doc, dict) else {}


async def save_examples_used(store: Store, key: str, used: dict[str, list[str]]) -> None:
    """Merge the examples each atom was shown into the project's retrieval-use document."""
    if not used:
        return
    doc = await _use_doc(store, key)
    generation = dict(doc.get("generation") or {})
    generation.update(used)
    doc["generation"] = generation
    await store.put_document(key, RETRIEVAL_USE_DOC, doc)


async def note_retrieval(store: Store, key: str, note: str | None) -> None:
    """Keep ``note`` (retrieval did less, and why) in the retrieval-use document, replacing an
    earlier retrieval note; None clears it (retrieval worked). The operator turns the note into
    a Warning Event and the Project's condition message."""
    doc = await _use_doc(store, key)
    notes = [str(n) for n in doc.get("notes") or []]
    kept = [n for n in notes if not n.startswith(RETRIEVAL_NOTE_PREFIX)]
    if note is not None:
        kept.append(note)
    if kept != notes:
        doc["notes"] = kept
        await store.put_document(key, RETRIEVAL_USE_DOC, doc)


async def retrieval_note(store: Store, key: str) -> str:
    """The project's retrieval note (why planning ran without patterns), or ''."""
    doc = await _use_doc(store, key)
    notes = [str(n) for n in doc.get("notes") or []]
    return next((n for n in notes if n.startswith(RETRIEVAL_NOTE_PREFIX)), "")


async def learn_stage(store: Store, key: str, memory: Memory, framework: str = "none") -> str:
    """Learn the code of the completed project ``key``; returns a one-line account.

    Never raises for an unavailable Chroma: the project is complete either way; the account
    (also kept in the retrieval-use document) says nothing was learned and why.
    """
    atoms = [AtomRecord(a.unit, a.state, a.code) for a in await store.list_atoms(key)]
    entries = select_learnable(
        atoms,
        await store.list_validations(key),
        await store.list_review_items(key),
        project=memory.project,
        namespace=memory.namespace,
        framework=framework,
    )
    doc = await _use_doc(store, key)
    notes = [n for n in doc.get("notes") or [] if not str(n).startswith("learning:")]
    if not entries:
        line = "learning: nothing to learn (no atom passed every level or was accepted)"
        learned: list[str] = []
    else:
        try:
            stats = await memory.learn(entries, learned_scope(memory.namespace, memory.project))
        except RetrievalUnavailable as e:
            line = f"learning: unavailable ({e}); nothing learned"
            learned = []
        else:
            learned = [*stats.added, *stats.unchanged]
            line = (
                f"learning: {len(stats.added)} new, {len(stats.unchanged)} already known "
                f"(of {len(entries)} atoms)"
            )
    if line.startswith("learning: unavailable"):
        notes.append(line)
    doc["learned"] = learned
    doc["notes"] = notes
    await store.put_document(key, RETRIEVAL_USE_DOC, doc)
    return line


async def retrieval_use(store: Store, key: str) -> RetrievalUse:
    """What retrieval gave this project's phases, from the store (for the run report)."""
    doc = await _use_doc(store, key)
    patterns = await store.get_document(key, _PATTERNS_DOC) or {}
    refs = patterns.get("output", [])
    planning = [
        str(r.get("pattern_id", r.get("patternId", "")))
        for r in (refs if isinstance(refs, list) else [])
        if isinstance(r, dict)
    ]
    return RetrievalUse(
        planning=[p for p in planning if p],
        generation={
            str(a): [str(i) for i in ids] for a, ids in (doc.get("generation") or {}).items()
        },
        learned=[str(i) for i in doc.get("learned") or []],
        notes=[str(n) for n in doc.get("notes") or []],
    )
