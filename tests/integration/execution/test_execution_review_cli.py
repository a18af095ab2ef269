"""`mge review` against a real store after a real (recorded) run of the shop project."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from execution_rig import PROJECT, make_rig, plan
from shop_project import CHECKOUT, DISCOUNT, FILES, LEVELS, RECORDINGS, spec
from typer.testing import CliRunner

from mge.cli.app import _register, app
from mge.execution.journal import SKELETON_DOC
from mge.models.atoms import AtomState
from mge.review.queue import ReviewQueue, save_review
from mge.store import Store


async def _prepare(url: str, tmp_path: Path) -> None:
    store = await Store.open(url)
    try:
        project_spec = spec()
        await plan(store, project_spec)
        await store.put_document(PROJECT, SKELETON_DOC, FILES)
        rig = await make_rig(store, tmp_path, project_spec)
        result = await rig.generator.run(LEVELS)
        queue = ReviewQueue(rig.workspace.codebase, llm=rig.client, project=PROJECT)
        scores = queue.scores(result.state)
        items = await queue.build(result.state, scores=scores)
        await save_review(store, PROJECT, items, scores)
    finally:
        await store.close()


async def _state(url: str, atom: str) -> tuple[AtomState, str | None, str]:
    store = await Store.open(url)
    try:
        stored = await store.get_atom(PROJECT, atom)
        item = await store.get_review_item(PROJECT, atom)
        assert stored is not None and item is not None
        return stored.state, stored.code, item.decision
    finally:
        await store.close()


@pytest.mark.slow
def test_review_commands(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mge.db'}"
    asyncio.run(_prepare(url, tmp_path))
    _register()
    cli = CliRunner()
    base = ["--database-url", url, "--workdir", str(tmp_path / "work")]

    listed = cli.invoke(app, [*base, "review", "list", PROJECT, "--json"])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)
    assert [(i["atomId"], i["reason"]) for i in items] == [
        (CHECKOUT.id, "failed"),
        (DISCOUNT.id, "low_confidence"),
    ]
    table = cli.invoke(app, [*base, "review", "list", PROJECT])
    assert CHECKOUT.id in table.output and "failed" in table.output
    shown = cli.invoke(app, [*base, "review", "show", PROJECT, CHECKOUT.id])
    assert "passes 0 as the discount" in shown.output and "confidence" in shown.output

    bad = tmp_path / "bad.py"
    bad.write_text("def discount(amount: float, percent: float) -> float:\n    return 'x'\n")
    refused = cli.invoke(app, [*base, "review", "edit", PROJECT, DISCOUNT.id, "--file", str(bad)])
    assert refused.exit_code == 1 and "NOT accepted" in refused.output
    assert "types:" in refused.output and "[return-value]" in refused.output
    assert asyncio.run(_state(url, DISCOUNT.id))[2] == "pending"

    good = tmp_path / "good.py"
    good.write_text(
        "def discount(amount: float, percent: float) -> float:\n"
        "    return round(amount * (1 - percent / 100), 2)\n"
    )
    accepted = cli.invoke(app, [*base, "review", "edit", PROJECT, DISCOUNT.id, "--file", str(good)])
    assert accepted.exit_code == 0, accepted.output
    state, code, decision = asyncio.run(_state(url, DISCOUNT.id))
    assert (state, decision) == (AtomState.APPROVED, "edit") and code == good.read_text()

    regen = cli.invoke(
        app,
        [
            *base,
            "review",
            "regenerate",
            PROJECT,
            CHECKOUT.id,
            "--feedback",
            "Pass the percent through.",
            "--recordings",
            str(RECORDINGS),
        ],
    )
    assert regen.exit_code == 0, regen.output
    state, code, decision = asyncio.run(_state(url, CHECKOUT.id))
    assert (state, decision) == (AtomState.VALIDATED, "regenerate")
    assert code is not None and "total(self.prices, percent)" in code

    left = cli.invoke(app, [*base, "review", "list", PROJECT, "--json"])
    assert json.loads(left.stdout) == []
    again = cli.invoke(app, [*base, "review", "approve", PROJECT, "nope"])
    assert again.exit_code != 0
