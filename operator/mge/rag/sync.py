"""Incremental indexing, decided purely: what to embed, what to drop, what to leave alone.

The index stores each pattern's content hash in its metadata. Comparing those hashes with the
library on disk gives the plan; only added and changed patterns are embedded again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mge.rag.patterns import Pattern

__all__ = ["SyncPlan", "plan_sync"]


@dataclass(frozen=True)
class SyncPlan:
    """Ids to add (new), update (content changed), delete (gone from the library), and keep."""

    add: tuple[str, ...]
    update: tuple[str, ...]
    delete: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def to_embed(self) -> tuple[str, ...]:
        """Ids whose document must be (re-)embedded."""
        return self.add + self.update


def plan_sync(indexed: Mapping[str, str | None], wanted: Sequence[Pattern]) -> SyncPlan:
    """Compare ``indexed`` (id → stored content hash, None if missing) with ``wanted``."""
    want = {p.id: p.content_hash for p in wanted}
    add = sorted(i for i in want if i not in indexed)
    update = sorted(i for i in want if i in indexed and indexed[i] != want[i])
    unchanged = sorted(i for i in want if i in indexed and indexed[i] == want[i])
    delete = sorted(i for i in indexed if i not in want)
    return SyncPlan(tuple(add), tuple(update), tuple(delete), tuple(unchanged))
