"""Execution: generate atoms level by level with validated context, retry, integrate, report.

Entry points for the drivers: :func:`execute_levels` (or :class:`DependencyAwareGenerator`),
:class:`ProgressiveIntegrationTester`, :class:`StoreJournal` / :func:`load_state` for
checkpoints, :func:`compute_report` / :func:`render_report`, and :func:`write_output`.
"""

from mge.execution.budget import Budget
from mge.execution.executor import (
    AtomExecutorWithRetry,
    Completer,
    IntegrationHook,
    LevelOutcome,
    Progress,
    Requeue,
)
from mge.execution.generator import (
    DependencyAwareGenerator,
    budget_from_state,
    execute_levels,
    level_problems,
)
from mge.execution.integration import ProgressiveIntegrationTester, find_culprits
from mge.execution.journal import (
    SKELETON_DOC,
    StoreJournal,
    accepted_codes,
    load_codebase,
    load_state,
)
from mge.execution.output import Written, commit_to_branch, render_readme, write_output
from mge.execution.prompting import AtomContext, build_request
from mge.execution.report import RunReport, compute_report, critical_path, render_report
from mge.execution.retry import AttemptPlan, plan_attempt, plan_regeneration, temperature_for
from mge.execution.state import (
    AtomProgress,
    ExecutionResult,
    ExecutionState,
    Journal,
    MemoryJournal,
)

__all__ = [
    "SKELETON_DOC",
    "AtomContext",
    "AtomExecutorWithRetry",
    "AtomProgress",
    "AttemptPlan",
    "Budget",
    "Completer",
    "DependencyAwareGenerator",
    "ExecutionResult",
    "ExecutionState",
    "IntegrationHook",
    "Journal",
    "LevelOutcome",
    "MemoryJournal",
    "Progress",
    "ProgressiveIntegrationTester",
    "Requeue",
    "RunReport",
    "StoreJournal",
    "Written",
    "accepted_codes",
    "budget_from_state",
    "build_request",
    "commit_to_branch",
    "compute_report",
    "critical_path",
    "execute_levels",
    "find_culprits",
    "level_problems",
    "load_codebase",
    "load_state",
    "plan_attempt",
    "plan_regeneration",
    "render_readme",
    "render_report",
    "temperature_for",
    "write_output",
]
