"""Store methods for atoms (planned units and their state) and the dependency edges between them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from mge.errors import StoreError
from mge.models import AtomicityReport, AtomicUnit, AtomState, Edge
from mge.store import rows
from mge.store.codec import to_document
from mge.store.records import AtomSaveResult, StoredAtom
from mge.store.repo_core import StoreCore, chunks
from mge.store.rules import duplicates, plan_atom_changes
from mge.store.tables import atoms, attempts, edges, review_items

__all__ = ["AtomsRepo"]


class AtomsRepo(StoreCore):
    """Atoms and edges."""

    async def save_atoms(
        self,
        key: str,
        units: Sequence[AtomicUnit],
        levels: Mapping[str, int] | None = None,
        *,
        prune: bool = True,
    ) -> AtomSaveResult:
        """Save the planned atoms, keeping all work done on atoms that did not change.

        - new atoms start ``pending``;
        - an atom whose unit changed is reset: ``pending``, no code, no atomicity report or
          confidence, and its attempts and review item are deleted;
        - an unchanged atom keeps its state, code, attempts and review item;
        - with ``prune`` (default) ``units`` is the whole plan and stored atoms not in it are
          deleted with their attempts and review items; ``prune=False`` only adds/updates.

        ``levels`` (atom id → dependency level) sets levels; an unchanged atom missing from it
        keeps its level, a new or changed one gets None. See also :meth:`set_levels`.
        """
        dups = duplicates(u.id for u in units)
        if dups:
            raise StoreError(f"save_atoms got atom ids more than once: {', '.join(dups)}")
        levels = levels or {}
        now = self._now()
        planned = {u.id: rows.atom_row(key, u, levels.get(u.id), now) for u in units}
        async with self._write(f"saving atoms of project {key!r}") as conn:
            stored = {
                r.id: r.unit_hash
                for r in await conn.execute(
                    sa.select(atoms.c.id, atoms.c.unit_hash).where(atoms.c.project == key)
                )
            }
            changes = plan_atom_changes(
                stored, ((i, r["unit_hash"]) for i, r in planned.items()), prune=prune
            )
            await self._drop_atom_work(conn, key, changes.reset + changes.remove)
            for chunk in chunks(changes.remove):
                await conn.execute(
                    sa.delete(atoms).where(atoms.c.project == key, atoms.c.id.in_(chunk))
                )
            if changes.insert:
                await conn.execute(
                    sa.insert(atoms),
                    [
                        {
                            **planned[i],
                            "state": AtomState.PENDING.value,
                            "code": None,
                            "atomicity": None,
                            "confidence": None,
                            "created_at": now,
                        }
                        for i in changes.insert
                    ],
                )
            if changes.reset:
                await conn.execute(
                    _by_atom(
                        key,
                        task_id=sa.bindparam("v_task_id"),
                        file=sa.bindparam("v_file"),
                        qualname=sa.bindparam("v_qualname"),
                        level=sa.bindparam("v_level"),
                        unit=sa.bindparam("v_unit"),
                        unit_hash=sa.bindparam("v_unit_hash"),
                        updated_at=sa.bindparam("v_updated_at"),
                        state=AtomState.PENDING.value,
                        code=None,
                        atomicity=None,
                        confidence=None,
                    ),
                    [
                        {"b_id": i, **{f"v_{k}": v for k, v in planned[i].items()}}
                        for i in changes.reset
                    ],
                )
            kept_levels = [
                {"b_id": i, "v_level": levels[i], "v_updated_at": now}
                for i in changes.keep
                if i in levels
            ]
            if kept_levels:
                await conn.execute(
                    _by_atom(
                        key, level=sa.bindparam("v_level"), updated_at=sa.bindparam("v_updated_at")
                    ),
                    kept_levels,
                )
        return AtomSaveResult(
            inserted=changes.insert,
            changed=changes.reset,
            unchanged=changes.keep,
            removed=changes.remove,
        )

    @staticmethod
    async def _drop_atom_work(conn: AsyncConnection, key: str, ids: Sequence[str]) -> None:
        """Delete the attempts and review items of atoms (their work is stale)."""
        for chunk in chunks(ids):
            for table in (attempts, review_items):
                await conn.execute(
                    sa.delete(table).where(table.c.project == key, table.c.atom_id.in_(chunk))
                )

    async def _require_atoms(self, conn: AsyncConnection, key: str, ids: Iterable[str]) -> None:
        wanted = sorted(set(ids))
        found: set[str] = set()
        for chunk in chunks(wanted):
            result = await conn.execute(
                sa.select(atoms.c.id).where(atoms.c.project == key, atoms.c.id.in_(chunk))
            )
            found.update(result.scalars())
        missing = [i for i in wanted if i not in found]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise self._missing(f"atom(s) {shown}", key)

    async def set_levels(self, key: str, levels: Mapping[str, int]) -> None:
        """Set dependency levels (atom id → level) of stored atoms."""
        if not levels:
            return
        now = self._now()
        async with self._write(f"setting levels of project {key!r}") as conn:
            await self._require_atoms(conn, key, levels)
            await conn.execute(
                _by_atom(key, level=sa.bindparam("v_level"), updated_at=sa.bindparam("v_at")),
                [{"b_id": i, "v_level": lv, "v_at": now} for i, lv in levels.items()],
            )

    async def save_atomicity_reports(self, key: str, reports: Sequence[AtomicityReport]) -> None:
        """Attach the atomicity validator's report to each stored atom."""
        if not reports:
            return
        now = self._now()
        async with self._write(f"saving atomicity reports of project {key!r}") as conn:
            await self._require_atoms(conn, key, (r.atom_id for r in reports))
            await conn.execute(
                _by_atom(key, atomicity=sa.bindparam("v_report"), updated_at=sa.bindparam("v_at")),
                [{"b_id": r.atom_id, "v_report": to_document(r), "v_at": now} for r in reports],
            )

    async def set_confidence(self, key: str, atom_id: str, confidence: float) -> None:
        """Record an atom's review confidence score in [0, 1]."""
        if not 0.0 <= confidence <= 1.0:
            raise StoreError(f"confidence {confidence} of atom {atom_id!r} is outside [0, 1]")
        await self._update_atom(key, atom_id, confidence=confidence)

    async def set_atom_state(
        self, key: str, atom_id: str, state: AtomState, code: str | None = None
    ) -> None:
        """Move an atom to ``state``; with ``code``, also set its accepted code."""
        values: dict[str, Any] = {"state": AtomState(state).value}
        if code is not None:
            values["code"] = code
        await self._update_atom(key, atom_id, **values)

    async def _update_atom(self, key: str, atom_id: str, **values: Any) -> None:
        async with self._write(f"updating atom {atom_id!r} of project {key!r}") as conn:
            result = await conn.execute(
                sa.update(atoms)
                .where(atoms.c.project == key, atoms.c.id == atom_id)
                .values(updated_at=self._now(), **values)
            )
            if result.rowcount == 0:
                raise self._missing(f"atom {atom_id!r}", key)

    async def list_atoms(
        self,
        key: str,
        *,
        state: AtomState | None = None,
        level: int | None = None,
        task_id: str | None = None,
    ) -> list[StoredAtom]:
        """The project's atoms by level (unlevelled last), file and name; optionally filtered."""
        query = sa.select(atoms).where(atoms.c.project == key)
        if state is not None:
            query = query.where(atoms.c.state == AtomState(state).value)
        if level is not None:
            query = query.where(atoms.c.level == level)
        if task_id is not None:
            query = query.where(atoms.c.task_id == task_id)
        query = query.order_by(
            atoms.c.level.asc().nulls_last(), atoms.c.file, atoms.c.qualname, atoms.c.id
        )
        async with self._read(f"listing atoms of project {key!r}") as conn:
            return [rows.atom_from_row(r) for r in (await conn.execute(query)).mappings()]

    async def get_atom(self, key: str, atom_id: str) -> StoredAtom | None:
        """One atom, or None."""
        async with self._read(f"reading atom {atom_id!r} of project {key!r}") as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(atoms).where(atoms.c.project == key, atoms.c.id == atom_id)
                    )
                )
                .mappings()
                .one_or_none()
            )
        return None if row is None else rows.atom_from_row(row)

    async def count_atoms(self, key: str) -> dict[AtomState, int]:
        """How many atoms are in each state (every state present, zero included)."""
        counts = dict.fromkeys(AtomState, 0)
        async with self._read(f"counting atoms of project {key!r}") as conn:
            result = await conn.execute(
                sa.select(atoms.c.state, sa.func.count())
                .where(atoms.c.project == key)
                .group_by(atoms.c.state)
            )
            for state, n in result:
                counts[AtomState(state)] = int(n)
        return counts

    async def open_level(self, key: str) -> int | None:
        """The lowest graph level that still has an atom to settle (pending or generating),
        i.e. how many levels are done while execution runs; None when no atom is open."""
        async with self._read(f"finding the open level of project {key!r}") as conn:
            result = await conn.execute(
                sa.select(sa.func.min(atoms.c.level)).where(
                    atoms.c.project == key,
                    atoms.c.state.in_([AtomState.PENDING.value, AtomState.GENERATING.value]),
                    atoms.c.level.is_not(None),
                )
            )
            value = result.scalar()
        return None if value is None else int(value)

    # ---------------------------------------------------------------- edges

    async def save_edges(self, key: str, edge_list: Sequence[Edge]) -> None:
        """Replace the project's dependency edges (repeated edges are stored once)."""
        unique = {(e.src, e.dst, e.kind): e for e in edge_list}
        values = [{"project": key, "src": s, "dst": d, "kind": k} for s, d, k in unique]
        await self._replace_rows(edges, key, values, "edges")

    async def list_edges(self, key: str) -> list[Edge]:
        """The project's edges, sorted by src, dst, kind."""
        async with self._read(f"listing edges of project {key!r}") as conn:
            result = await conn.execute(
                sa.select(edges.c.src, edges.c.dst, edges.c.kind)
                .where(edges.c.project == key)
                .order_by(edges.c.src, edges.c.dst, edges.c.kind)
            )
            return [Edge(src=s, dst=d, kind=k) for s, d, k in result]


def _by_atom(key: str, **values: Any) -> sa.Update:
    """An UPDATE of one atom per parameter set (``b_id``), for executemany."""
    return (
        sa.update(atoms)
        .where(atoms.c.project == key, atoms.c.id == sa.bindparam("b_id"))
        .values(**values)
    )
