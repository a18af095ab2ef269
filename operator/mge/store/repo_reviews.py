"""Store methods for the review queue: items, and the decisions reviewers take."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from mge.models import ReviewItem
from mge.store import rows
from mge.store.repo_core import StoreCore
from mge.store.rules import check_decision
from mge.store.tables import projects, review_items

__all__ = ["ReviewsRepo"]


class ReviewsRepo(StoreCore):
    """Review items and decisions."""

    async def upsert_review_item(self, key: str, item: ReviewItem) -> None:
        """Queue an atom for review, or replace its item (decision fields included)."""
        now = self._now()
        values = rows.review_row(key, item, now)
        ins = self._insert(review_items).values(**values, created_at=now)
        stmt = ins.on_conflict_do_update(
            index_elements=[review_items.c.project, review_items.c.atom_id],
            set_={c: ins.excluded[c] for c in values if c not in ("project", "atom_id")},
        )
        async with self._write(f"saving review item {item.atom_id!r} of {key!r}") as conn:
            await conn.execute(stmt)

    async def get_review_item(self, key: str, atom_id: str) -> ReviewItem | None:
        """One review item, or None."""
        async with self._read(f"reading review item {atom_id!r} of {key!r}") as conn:
            return await _read_item(conn, key, atom_id)

    async def list_review_items(self, key: str, *, decision: str | None = None) -> list[ReviewItem]:
        """Review items, least confident first; optionally only those with ``decision``."""
        query = sa.select(review_items).where(review_items.c.project == key)
        if decision is not None:
            query = query.where(review_items.c.decision == decision)
        query = query.order_by(review_items.c.confidence_score, review_items.c.atom_id)
        async with self._read(f"listing review items of project {key!r}") as conn:
            return [rows.review_from_row(r) for r in (await conn.execute(query)).mappings()]

    async def review_marks(self) -> dict[str, str]:
        """A cheap fingerprint per project of its row and its review items (phase, counts of
        items and decided items, newest change): it differs after any write to either, whoever
        made it (another process, the CLI, the operator). The review web interface polls it
        to push live updates."""
        decided = sa.case((review_items.c.decision != "pending", 1), else_=0)
        item_q = sa.select(
            review_items.c.project,
            sa.func.count(),
            sa.func.sum(decided),
            sa.func.max(review_items.c.updated_at),
        ).group_by(review_items.c.project)
        project_q = sa.select(projects.c.key, projects.c.phase, projects.c.updated_at)
        async with self._read("reading review change marks") as conn:
            items = {r[0]: f"{r[1]}/{r[2]}@{r[3]}" for r in await conn.execute(item_q)}
            return {
                r[0]: f"{r[1]}@{r[2]}|{items.get(r[0], '0')}" for r in await conn.execute(project_q)
            }

    async def decide_review(
        self,
        key: str,
        atom_id: str,
        decision: str,
        code: str | None = None,
        feedback: str | None = None,
        by: str | None = None,
    ) -> ReviewItem:
        """Record a reviewer's decision (approve, edit with ``code``, regenerate with
        ``feedback``), who took it and when; returns the updated item.

        Raises InputError for an unknown decision or an edit without code, StoreError when
        the atom has no review item.
        """
        check_decision(decision, code)
        now = self._now()
        async with self._write(f"deciding review item {atom_id!r} of {key!r}") as conn:
            result = await conn.execute(
                sa.update(review_items)
                .where(review_items.c.project == key, review_items.c.atom_id == atom_id)
                .values(
                    decision=decision,
                    edited_code=code,
                    feedback=feedback,
                    decided_by=by,
                    decided_at=now,
                    updated_at=now,
                )
            )
            item = None if result.rowcount == 0 else await _read_item(conn, key, atom_id)
            if item is None:
                raise self._missing(f"review item {atom_id!r}", key)
        return item


async def _read_item(conn: AsyncConnection, key: str, atom_id: str) -> ReviewItem | None:
    """The review item of ``atom_id`` read on ``conn`` (inside the caller's transaction)."""
    query = sa.select(review_items).where(
        review_items.c.project == key, review_items.c.atom_id == atom_id
    )
    row = (await conn.execute(query)).mappings().one_or_none()
    return None if row is None else rows.review_from_row(row)
