"""``status.cost`` is one reading of the store's cost ledger: USD and tokens agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mge.kube.observe import observe
from mge.kube.stages import StageRunner
from mge.kube.worker import WorkerRegistry
from mge.llm.base import LLMResponse
from mge.models import Usage
from mge.models.project import ProjectSpec
from mge.store import Store

KEY = "team/inventory-lib"


class NoReviews:
    """The one KubeClient call observe() makes: no AtomReviews yet."""

    async def list(self, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        return []


async def test_status_cost_tokens_and_usd_come_from_the_same_ledger(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        await store.upsert_project(KEY, ProjectSpec(requirements="x"), 1)
        for i, (tokens_in, tokens_out, cached, usd) in enumerate(
            [(50_000, 4_000, 1_000, 0.30), (29_452, 2_500, 0, 0.17)]
        ):
            usage = Usage(
                input_tokens=tokens_in, output_tokens=tokens_out, cache_read_tokens=cached
            )
            response = LLMResponse(
                text="ok", usage=usage, cost_usd=usd, model="m", provider="scripted"
            )
            await store.record_cost(KEY, f"call-{i}", response)
        body = {
            "metadata": {"namespace": "team", "name": "inventory-lib", "uid": "u1", "generation": 1}
        }
        observed = await observe(
            body=body,
            store=store,
            kube=NoReviews(),  # type: ignore[arg-type]
            workers=WorkerRegistry(runner=StageRunner(store)),
        )
        totals = await store.usage_totals(KEY)
    finally:
        await store.close()
    assert observed.cost.usd == "0.47"
    assert observed.cost.input_tokens == 79_452 == totals.usage.input_tokens
    assert observed.cost.output_tokens == 6_500
    assert observed.cost.cache_read_tokens == 1_000
    assert observed.spent_usd == totals.cost_usd
