"""Store methods for the LLM response cache (content-hash keyed) and the cost ledger."""

from __future__ import annotations

import sqlalchemy as sa

from mge.llm.base import LLMResponse
from mge.models import Usage
from mge.store import rows
from mge.store.records import UsageTotals
from mge.store.repo_core import StoreCore
from mge.store.tables import cost_ledger, llm_cache

__all__ = ["LedgerRepo"]


class LedgerRepo(StoreCore):
    """Implements the ResponseCache and CostLedger protocols of mge.llm.base."""

    async def get_response(self, content_hash: str) -> LLMResponse | None:
        """ResponseCache: the cached response for a request's content hash, or None.

        The response comes back with ``from_cache=True``.
        """
        async with self._read("reading the LLM response cache") as conn:
            doc = (
                await conn.execute(
                    sa.select(llm_cache.c.response).where(llm_cache.c.content_hash == content_hash)
                )
            ).scalar_one_or_none()
        if doc is None:
            return None
        return LLMResponse.model_validate({**doc, "from_cache": True})

    async def put_response(
        self, content_hash: str, request_key: str, response: LLMResponse
    ) -> None:
        """ResponseCache: remember a response; the first one stored for a hash wins."""
        doc = response.model_dump(mode="json")
        doc["from_cache"] = False
        stmt = (
            self._insert(llm_cache)
            .values(
                content_hash=content_hash,
                request_key=request_key,
                response=doc,
                created_at=self._now(),
            )
            .on_conflict_do_nothing(index_elements=[llm_cache.c.content_hash])
        )
        async with self._write(f"caching the response to {request_key!r}") as conn:
            await conn.execute(stmt)

    async def record_cost(
        self, project: str | None, request_key: str, response: LLMResponse
    ) -> None:
        """CostLedger: append one row for a model call (project may be None)."""
        row = rows.ledger_row(
            project,
            request_key,
            model=response.model,
            provider=response.provider,
            usage=response.usage,
            cost_usd=response.cost_usd,
            now=self._now(),
        )
        async with self._write(f"recording the cost of {request_key!r}") as conn:
            await conn.execute(sa.insert(cost_ledger).values(**row))

    async def total_cost(self, key: str) -> float:
        """USD spent on the project so far (sum of its ledger)."""
        return (await self.usage_totals(key)).cost_usd

    async def usage_totals(self, key: str) -> UsageTotals:
        """Token, cost and call sums over the project's ledger."""
        c = cost_ledger.c
        query = sa.select(
            sa.func.coalesce(sa.func.sum(c.input_tokens), 0),
            sa.func.coalesce(sa.func.sum(c.output_tokens), 0),
            sa.func.coalesce(sa.func.sum(c.cache_read_tokens), 0),
            sa.func.coalesce(sa.func.sum(c.cache_write_tokens), 0),
            sa.func.coalesce(sa.func.sum(c.cost_usd), 0.0),
            sa.func.count(),
        ).where(c.project == key)
        async with self._read(f"summing the cost of project {key!r}") as conn:
            i, o, cr, cw, cost, calls = (await conn.execute(query)).one()
        return UsageTotals(
            usage=Usage(
                input_tokens=int(i),
                output_tokens=int(o),
                cache_read_tokens=int(cr),
                cache_write_tokens=int(cw),
            ),
            cost_usd=float(cost),
            calls=int(calls),
        )
