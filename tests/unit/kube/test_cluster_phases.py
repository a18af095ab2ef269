"""The cluster driver's pure parts: which budget limit stopped execution; tools are required."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mge.errors import InputError
from mge.execution.budget import BudgetLimit
from mge.kube.decide import Observed, decide
from mge.models.project import Phase, ProjectSpec, ProjectStatus
from mge.pipeline.cluster import BUDGET_ATOMS, BUDGET_COST, budget_error, run_cluster_phase
from mge.pipeline.context import RunContext

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def ctx(**budget: Any) -> RunContext:
    spec = ProjectSpec.model_validate({"requirements": "x", "budget": budget})
    return RunContext(
        key="ns/p",
        spec=spec,
        store=None,  # type: ignore[arg-type]
        llm=None,  # type: ignore[arg-type]
        patterns=None,
        reporter=None,  # type: ignore[arg-type]
        workdir=Path("."),
    )


@pytest.mark.parametrize(
    ("stopped_by", "what", "limit"),
    [
        (BudgetLimit.ATOMS, BUDGET_ATOMS, 20),
        (BudgetLimit.COST, BUDGET_COST, 1.5),
        (None, BUDGET_COST, 1.5),  # a result that names no limit: the cost limit
    ],
)
def test_budget_error_names_the_limit_decide_resumes_on(
    stopped_by: BudgetLimit | None, what: str, limit: float
) -> None:
    err = budget_error(stopped_by, ctx(maxAtoms=20, maxCostUSD=1.5), 1.52)
    assert (err.what, err.limit) == (what, limit)
    assert what in (BUDGET_ATOMS, BUDGET_COST)
    # The reconcile resumes only once that same limit is raised.
    status = ProjectStatus(phase="Executing", observed_generation=1)
    stopped = Observed(
        generation=1,
        worker="budget",
        budget_limit=(BudgetLimit(err.what), err.limit),
        spent_usd=1.0,
    )
    raised = {"maxAtoms": 40, "maxCostUSD": 1.5} if what == BUDGET_ATOMS else {"maxCostUSD": 3}
    spec = ProjectSpec.model_validate({"requirements": "x", "budget": raised})
    resumed = decide(spec, status, stopped, NOW)
    assert not any(
        c.reason == "BudgetExceeded" and c.status == "True" for c in resumed.status.conditions
    )
    assert resumed.status.phase == "Executing"
    same = ProjectSpec.model_validate(
        {"requirements": "x", "budget": {"maxAtoms": 20, "maxCostUSD": 1.5}}
    )
    stalled = decide(same, status, stopped, NOW).status
    assert any(c.reason == "BudgetExceeded" and c.status == "True" for c in stalled.conditions)


async def test_phases_that_run_code_refuse_to_run_without_sandbox_tools() -> None:
    for phase in (Phase.EXECUTING, Phase.INTEGRATING):
        with pytest.raises(InputError, match="sandbox"):
            await run_cluster_phase(ctx(), phase, None)
    assert await run_cluster_phase(ctx(), Phase.PENDING, None) == Phase.DISCOVERING
    assert await run_cluster_phase(ctx(), Phase.REVIEWING, None) == Phase.REVIEWING
