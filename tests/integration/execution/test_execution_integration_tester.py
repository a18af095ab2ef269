"""ProgressiveIntegrationTester with the real sandbox: checkpoints, bisection, requeue."""

from __future__ import annotations

from pathlib import Path

from shop_project import ADD, DISCOUNT, SUBTOTAL, TOTAL, codebase

from mge.execution.integration import ProgressiveIntegrationTester
from mge.execution.state import ExecutionState, MemoryJournal
from mge.sandbox import LocalSandbox, RunnerOptions
from mge.validation.batch import Workspace
from mge.validation.hierarchy import Component, HierarchicalValidator
from mge.validation.sandboxed import SandboxTestRunner

GOOD = {
    SUBTOTAL.id: "def subtotal(prices: list[float]) -> float:\n    return float(sum(prices))\n",
    DISCOUNT.id: "def discount(amount: float, percent: float) -> float:\n"
    "    return round(amount * (100 - percent) / 100, 2)\n",
    ADD.id: "def add(self, price: float) -> None:\n    if price < 0:\n        raise ValueError()\n"
    "    self.prices.append(price)\n",
    TOTAL.id: "def total(prices: list[float], percent: float) -> float:\n"
    "    return discount(subtotal(prices), percent)\n",
}
# A regenerated discount that adds a fee: breaks test_discount (9.5, not 8.5) and total.
BROKEN_DISCOUNT = (
    "def discount(amount: float, percent: float) -> float:\n"
    "    return round(amount * (100 - percent) / 100, 2) + 1.0\n"
)


async def test_checkpoint_bisects_a_regression_to_its_culprit(tmp_path: Path) -> None:
    workspace = Workspace(codebase())
    runner = SandboxTestRunner(LocalSandbox(RunnerOptions(scratch_dir=tmp_path)).run)
    state = ExecutionState.fresh(workspace.codebase.atoms)
    journal = MemoryJournal()
    tester = ProgressiveIntegrationTester(workspace, runner, state=state, journal=journal, every=3)

    # Checkpoint 1: three good atoms; their four ready module tests pass.
    for a in (SUBTOTAL.id, DISCOUNT.id, ADD.id):
        workspace.validated[a] = GOOD[a]
    assert await tester.observe(0, [SUBTOTAL.id, DISCOUNT.id]) == []  # fewer than 3: no run
    assert await tester.observe(0, [ADD.id]) == []
    first = tester.checkpoints[-1]
    assert len(first.tests) == 4 and first.failed == ()
    assert state.atoms[DISCOUNT.id].integration_runs == 1
    assert state.atoms[DISCOUNT.id].integration_passes == 1

    # Checkpoint 2: total arrives, and discount comes back regenerated — and broken.
    workspace.validated[TOTAL.id] = GOOD[TOTAL.id]
    workspace.validated[DISCOUNT.id] = BROKEN_DISCOUNT
    requeues = await tester.observe(1, [TOTAL.id, DISCOUNT.id, SUBTOTAL.id])
    second = tester.checkpoints[-1]
    assert "tests/test_shop.py::test_discount" in second.failed
    assert "tests/test_shop.py::test_total_AC_1" in second.failed  # new, but explained upstream
    assert [r.atom_id for r in requeues] == [DISCOUNT.id]  # total is not blamed
    assert "test_discount" in requeues[0].feedback and "9.5 == 8.5" in requeues[0].feedback
    # 1 run for the checkpoint + bisection over [total, discount, subtotal].
    assert second.runs - first.runs <= 1 + 4
    assert [r.passed for r in journal.validations] == [True, False]
    assert state.atoms[DISCOUNT.id].integration_passes == 1
    assert state.atoms[DISCOUNT.id].integration_runs == 2


async def test_module_and_component_checks(tmp_path: Path) -> None:
    cb = codebase()
    runner = SandboxTestRunner(LocalSandbox(RunnerOptions(scratch_dir=tmp_path)).run)
    hierarchy = HierarchicalValidator(cb, runner)
    pricing = await hierarchy.module("src/shop/pricing.py", GOOD)
    assert pricing.passed, pricing.checks
    assert [c.name for c in pricing.checks] == ["parse", "api", "complete", "import", "tests"]
    cart = await hierarchy.module("src/shop/cart.py", GOOD)  # checkout has no code
    failing = {c.name for c in cart.checks if not c.passed}
    assert failing == {"complete", "tests"}
    component = Component("shop", ("src/shop/pricing.py",))
    result = await hierarchy.component(component, GOOD, contexts={"src/shop": "Shop"})
    assert result.passed and result.level == "L3", result.checks
