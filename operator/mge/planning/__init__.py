"""Phase 2, the masterplan: phases → milestones → tasks, validated, repaired once if needed.

Pure pipeline code: takes the discovery result, retrieved patterns and an LLM client; returns a
:class:`~mge.models.plan.Masterplan`. Retrieval comes in through :class:`PatternSource`, so
planning does not depend on the vector index.

The skeletons that follow the plan (one per task, bodies empty) are asked for and parsed in
:mod:`mge.planning.skeleton`, beside the planner whose tasks they implement.
"""

from mge.planning.findings import Finding, Severity, blocking, render_report
from mge.planning.patterns import (
    PatternLike,
    PatternRef,
    PatternSource,
    gather_patterns,
    merge_hits,
    pattern_queries,
    render_patterns,
)
from mge.planning.planner import (
    PLAN_KEY,
    REPAIR_KEY,
    build_plan_request,
    build_repair_request,
    make_plan,
)
from mge.planning.rules import dependency_graph
from mge.planning.sizing import TaskBudget, task_budget
from mge.planning.validate import validate_plan

__all__ = [
    "PLAN_KEY",
    "REPAIR_KEY",
    "Finding",
    "PatternLike",
    "PatternRef",
    "PatternSource",
    "Severity",
    "TaskBudget",
    "blocking",
    "build_plan_request",
    "build_repair_request",
    "dependency_graph",
    "gather_patterns",
    "make_plan",
    "merge_hits",
    "pattern_queries",
    "render_patterns",
    "render_report",
    "task_budget",
    "validate_plan",
]
