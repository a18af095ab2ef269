"""The store's pure decisions, tested without a database.

- :func:`plan_atom_changes` — what :meth:`~mge.store.Store.save_atoms` inserts, resets, keeps
  and removes. A new spec generation re-plans and re-atomizes; only atoms whose unit really
  changed may lose their work.
- :func:`check_decision` — what a review decision must carry.
- :func:`check_project_key` — what a project key may look like.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mge.errors import InputError

__all__ = [
    "DECISIONS",
    "AtomChanges",
    "check_decision",
    "check_project_key",
    "duplicates",
    "plan_atom_changes",
]

DECISIONS = ("approve", "edit", "regenerate")
"""Decisions a reviewer can take (``pending`` is the absence of one)."""
MAX_KEY_CHARS = 253
"""Longest project key (a Kubernetes ``namespace/name`` fits)."""


@dataclass(frozen=True)
class AtomChanges:
    """Atom ids by what happens to them, each list in incoming (or stored) order."""

    insert: list[str] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)


def duplicates(ids: Iterable[str]) -> list[str]:
    """Ids that occur more than once, sorted."""
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def plan_atom_changes(
    stored: Mapping[str, str], incoming: Iterable[tuple[str, str]], *, prune: bool
) -> AtomChanges:
    """Compare stored ``{id: unit_hash}`` with incoming ``(id, unit_hash)`` pairs.

    - an id not stored is inserted;
    - a stored id with another hash is reset (its attempts and review item are stale);
    - a stored id with the same hash is kept as it is;
    - a stored id not incoming is removed when ``prune`` (the incoming list is the whole plan),
      and left alone otherwise (the incoming list adds to it).

    Incoming ids must be unique (the caller checks with :func:`duplicates`).
    """
    changes = AtomChanges()
    seen: set[str] = set()
    for atom_id, unit_hash in incoming:
        seen.add(atom_id)
        old = stored.get(atom_id)
        if old is None:
            changes.insert.append(atom_id)
        elif old != unit_hash:
            changes.reset.append(atom_id)
        else:
            changes.keep.append(atom_id)
    if prune:
        changes.remove.extend(i for i in stored if i not in seen)
    return changes


def check_decision(decision: str, code: str | None) -> None:
    """Raise InputError unless ``decision`` is a real decision and ``edit`` comes with code."""
    if decision not in DECISIONS:
        raise InputError(f"review decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if decision == "edit" and not (code and code.strip()):
        raise InputError("review decision 'edit' needs the edited code")


def check_project_key(key: str) -> None:
    """Raise InputError for an empty, too long or whitespace-padded project key."""
    if not key or key != key.strip():
        raise InputError(f"project key {key!r} must be non-empty without surrounding spaces")
    if len(key) > MAX_KEY_CHARS:
        raise InputError(f"project key is {len(key)} characters; at most {MAX_KEY_CHARS}")
