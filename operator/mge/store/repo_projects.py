"""Store methods for projects, their stage documents and their planned tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel

from mge.errors import StoreError
from mge.models import ProjectSpec, Task
from mge.store import rows
from mge.store.codec import content_hash, to_document
from mge.store.records import INITIAL_PHASE, StoredProject
from mge.store.repo_core import StoreCore
from mge.store.rules import check_project_key, duplicates
from mge.store.tables import documents, project_scoped_tables, projects, tasks

__all__ = ["ProjectsRepo"]

M = TypeVar("M", bound=BaseModel)


class ProjectsRepo(StoreCore):
    """Projects (spec, phase, summary), documents (stage outputs) and tasks."""

    async def upsert_project(self, key: str, spec: ProjectSpec, generation: int) -> StoredProject:
        """Create the project or give it a new spec; phase and summary are kept.

        A write with an older ``generation`` than the stored one is ignored (a stale reconcile
        must not undo a newer spec); the stored project is returned either way.
        """
        check_project_key(key)
        now = self._now()
        doc = to_document(spec)
        spec_hash = content_hash(doc)
        ins = self._insert(projects).values(
            key=key,
            spec=doc,
            spec_hash=spec_hash,
            generation=generation,
            phase=INITIAL_PHASE,
            summary={},
            created_at=now,
            updated_at=now,
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[projects.c.key],
            set_={
                "spec": ins.excluded.spec,
                "spec_hash": ins.excluded.spec_hash,
                "generation": ins.excluded.generation,
                "updated_at": ins.excluded.updated_at,
            },
            where=sa.and_(
                projects.c.generation <= ins.excluded.generation,
                sa.or_(
                    projects.c.spec_hash != ins.excluded.spec_hash,
                    projects.c.generation != ins.excluded.generation,
                ),
            ),
        )
        async with self._write(f"saving project {key!r}") as conn:
            await conn.execute(stmt)
            row = (
                (await conn.execute(sa.select(projects).where(projects.c.key == key)))
                .mappings()
                .one()
            )
        return rows.project_from_row(row)

    async def get_project(self, key: str) -> StoredProject | None:
        """The project, or None."""
        async with self._read(f"reading project {key!r}") as conn:
            row = (
                (await conn.execute(sa.select(projects).where(projects.c.key == key)))
                .mappings()
                .one_or_none()
            )
        return None if row is None else rows.project_from_row(row)

    async def list_projects(self) -> list[StoredProject]:
        """Every project, by key."""
        async with self._read("listing projects") as conn:
            result = await conn.execute(sa.select(projects).order_by(projects.c.key))
            return [rows.project_from_row(r) for r in result.mappings()]

    async def set_phase(
        self, key: str, phase: str, summary: Mapping[str, Any] | None = None
    ) -> None:
        """Record the project's phase (a ``Phase`` value) and, if given, its summary."""
        values: dict[str, Any] = {"phase": str(phase), "updated_at": self._now()}
        if summary is not None:
            values["summary"] = to_document(summary)
        async with self._write(f"setting the phase of project {key!r}") as conn:
            result = await conn.execute(
                sa.update(projects).where(projects.c.key == key).values(**values)
            )
            if result.rowcount == 0:
                raise StoreError(f"project {key!r} is not in the store")

    async def delete_project(self, key: str) -> bool:
        """Remove the project and every row of it in every table. False if it was not there.

        The shared LLM response cache is kept (it is keyed by content, not by project).
        """
        async with self._write(f"deleting project {key!r}") as conn:
            for table in project_scoped_tables():
                await conn.execute(sa.delete(table).where(table.c.project == key))
            result = await conn.execute(sa.delete(projects).where(projects.c.key == key))
            return bool(result.rowcount)

    # ---------------------------------------------------------------- documents

    async def put_document(
        self, key: str, kind: str, content: BaseModel | Mapping[str, Any]
    ) -> str:
        """Store a stage output (a model or a JSON-able mapping) under ``kind``; replaces.

        Returns the content hash, so a caller can tell whether an output changed.
        """
        doc = to_document(content)
        digest = content_hash(doc)
        ins = self._insert(documents).values(
            project=key, kind=kind, content=doc, content_hash=digest, updated_at=self._now()
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[documents.c.project, documents.c.kind],
            set_={
                "content": ins.excluded.content,
                "content_hash": ins.excluded.content_hash,
                "updated_at": ins.excluded.updated_at,
            },
        )
        async with self._write(f"saving document {kind!r} of project {key!r}") as conn:
            await conn.execute(stmt)
        return digest

    async def get_document(self, key: str, kind: str) -> dict[str, Any] | None:
        """The stored document (camelCase JSON), or None."""
        async with self._read(f"reading document {kind!r} of project {key!r}") as conn:
            content = (
                await conn.execute(
                    sa.select(documents.c.content).where(
                        documents.c.project == key, documents.c.kind == kind
                    )
                )
            ).scalar_one_or_none()
        return None if content is None else dict(content)

    async def get_document_as(self, key: str, kind: str, model: type[M]) -> M | None:
        """The stored document validated into ``model``, or None."""
        doc = await self.get_document(key, kind)
        return None if doc is None else model.model_validate(doc)

    async def document_hash(self, key: str, kind: str) -> str | None:
        """The content hash of a stored document, or None (cheap change check)."""
        async with self._read(f"reading document {kind!r} of project {key!r}") as conn:
            return (
                await conn.execute(
                    sa.select(documents.c.content_hash).where(
                        documents.c.project == key, documents.c.kind == kind
                    )
                )
            ).scalar_one_or_none()

    async def list_document_kinds(self, key: str, prefix: str = "") -> list[str]:
        """Kinds stored for the project, sorted, optionally only those starting with ``prefix``."""
        query = sa.select(documents.c.kind).where(documents.c.project == key)
        if prefix:
            query = query.where(documents.c.kind.startswith(prefix, autoescape=True))
        async with self._read(f"listing documents of project {key!r}") as conn:
            return list((await conn.execute(query.order_by(documents.c.kind))).scalars())

    # ---------------------------------------------------------------- tasks

    async def save_tasks(self, key: str, task_list: Sequence[Task]) -> None:
        """Replace the project's tasks with ``task_list`` (its order is kept)."""
        dups = duplicates(t.id for t in task_list)
        if dups:
            raise StoreError(f"save_tasks got task ids more than once: {', '.join(dups)}")
        now = self._now()
        values = [rows.task_row(key, i, t, now) for i, t in enumerate(task_list)]
        await self._replace_rows(tasks, key, values, "tasks")

    async def list_tasks(self, key: str) -> list[Task]:
        """The project's tasks in plan order."""
        async with self._read(f"listing tasks of project {key!r}") as conn:
            result = await conn.execute(
                sa.select(tasks.c.data).where(tasks.c.project == key).order_by(tasks.c.position)
            )
            return [Task.model_validate(d) for d in result.scalars()]
