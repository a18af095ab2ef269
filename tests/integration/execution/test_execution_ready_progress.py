"""Dispatch ``ready``: levels overlap, yet the progress level only moves forward.

Cart.add depends on nothing, so it is generated and validated beside the pricing atoms of level
0 while it is labelled level 2: reporting the level of whatever batch just settled showed
``level 2`` before ``level 1``. Progress now shows the first level whose work is not done.
Real parts: the shop project, the local sandbox, mypy and a SQLite store (execution_rig).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from execution_rig import make_rig, plan, with_dispatch
from shop_project import ADD, CHECKOUT, DISCOUNT, SUBTOTAL, TOTAL, spec

from mge.execution.executor import Progress
from mge.store import Store

LEVELS = [[SUBTOTAL.id, DISCOUNT.id], [TOTAL.id], [ADD.id], [CHECKOUT.id]]
"""Cart.add (no dependencies) placed late, so dispatch ``ready`` runs it beside level 0."""


@pytest.mark.slow
async def test_the_progress_level_never_goes_back(tmp_path: Path) -> None:
    project = with_dispatch(spec(), "ready")
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    try:
        await plan(store, project)
        seen: list[Progress] = []
        rig = await make_rig(store, tmp_path, project, progress=seen.append)
        assert rig.generator.dispatch == "ready"
        result = await rig.generator.run(LEVELS)
    finally:
        await store.close()

    assert result.status == "completed" and result.levels_done == len(LEVELS)
    levels = [p.level for p in seen]
    assert levels == sorted(levels), f"the progress level went back: {levels}"
    assert all(p.levels == len(LEVELS) for p in seen)
    assert seen[-1].settled == seen[-1].total
