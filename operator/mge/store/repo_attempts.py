"""Store methods for generation attempts (with their cost) and validation results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from mge.models import AtomState, Attempt, ValidationResult
from mge.store import rows
from mge.store.repo_core import StoreCore
from mge.store.tables import atoms, attempts, cost_ledger, validations

__all__ = ["AttemptsRepo"]


class AttemptsRepo(StoreCore):
    """Attempts and validations."""

    async def record_attempt(
        self,
        key: str,
        attempt: Attempt,
        new_state: AtomState,
        final_code: str | None = None,
        *,
        charge: bool = True,
        model: str = "",
        provider: str = "",
        request_key: str | None = None,
    ) -> None:
        """Write one attempt, move its atom to ``new_state`` (and set ``final_code`` if given)
        and charge its cost to the ledger — all in one transaction.

        Recording the same attempt again (same atom, number and prompt hash) replaces the row
        and does not charge twice. Pass ``charge=False`` when the LLM call was already written
        to the ledger (an LLM client given this store as its CostLedger does that), or the
        cost would be counted twice.
        """
        now = self._now()
        values = rows.attempt_row(key, attempt, now)
        ins = self._insert(attempts).values(**values)
        upsert = ins.on_conflict_do_update(
            index_elements=[attempts.c.project, attempts.c.atom_id, attempts.c.number],
            set_={c: ins.excluded[c] for c in values if c not in ("project", "atom_id", "number")},
        )
        atom_values: dict[str, Any] = {"state": AtomState(new_state).value, "updated_at": now}
        if final_code is not None:
            atom_values["code"] = final_code
        what = f"recording attempt {attempt.number} of atom {attempt.atom_id!r} in {key!r}"
        async with self._write(what) as conn:
            result = await conn.execute(
                sa.update(atoms)
                .where(atoms.c.project == key, atoms.c.id == attempt.atom_id)
                .values(**atom_values)
            )
            if result.rowcount == 0:
                raise self._missing(f"atom {attempt.atom_id!r}", key)
            await conn.execute(upsert)
            if charge:
                await self._charge(conn, key, attempt, model, provider, request_key, now)

    async def _charge(
        self,
        conn: AsyncConnection,
        key: str,
        attempt: Attempt,
        model: str,
        provider: str,
        request_key: str | None,
        now: datetime,
    ) -> None:
        row = rows.ledger_row(
            key,
            request_key or f"atom/{attempt.atom_id}/attempt-{attempt.number}",
            model=model,
            provider=provider,
            usage=attempt.usage,
            cost_usd=attempt.cost_usd,
            now=now,
            attempt=rows.attempt_key(attempt),
        )
        ins = self._insert(cost_ledger).values(**row)
        await conn.execute(
            ins.on_conflict_do_update(
                index_elements=[cost_ledger.c.project, cost_ledger.c.attempt_key],
                set_={c: ins.excluded[c] for c in row if c not in ("project", "attempt_key")},
            )
        )

    async def list_attempts(self, key: str, atom_id: str | None = None) -> list[Attempt]:
        """The project's attempts (or one atom's), by atom and number."""
        query = sa.select(attempts).where(attempts.c.project == key)
        if atom_id is not None:
            query = query.where(attempts.c.atom_id == atom_id)
        query = query.order_by(attempts.c.atom_id, attempts.c.number)
        async with self._read(f"listing attempts of project {key!r}") as conn:
            return [rows.attempt_from_row(r) for r in (await conn.execute(query)).mappings()]

    # ---------------------------------------------------------------- validations

    async def add_validation(self, key: str, result: ValidationResult) -> None:
        """Append a validation result (L1 atom … L4 system)."""
        async with self._write(f"saving a {result.level} validation of {key!r}") as conn:
            await conn.execute(
                sa.insert(validations).values(rows.validation_row(key, result, self._now()))
            )

    async def list_validations(
        self, key: str, *, level: str | None = None, subject: str | None = None
    ) -> list[ValidationResult]:
        """Validation results in the order they were added, optionally filtered."""
        query = sa.select(validations).where(validations.c.project == key)
        if level is not None:
            query = query.where(validations.c.level == level)
        if subject is not None:
            query = query.where(validations.c.subject == subject)
        async with self._read(f"listing validations of project {key!r}") as conn:
            result = await conn.execute(query.order_by(validations.c.id))
            return [rows.validation_from_row(r) for r in result.mappings()]
