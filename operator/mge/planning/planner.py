"""Phase 2, the masterplan: discovery + retrieved patterns → a validated plan.

One LLM call writes the plan; :func:`~mge.planning.validate.validate_plan` checks it; a plan with
errors gets exactly one repair call (key ``plan/repair``) that is shown the findings; if the
repaired plan still has errors, :class:`~mge.errors.PlanInvalid` carries a readable report.
The plan is returned, not stored: persisting is the caller's job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from mge.errors import PlanInvalid
from mge.llm.base import LLMRequest
from mge.llm.client import LLMClient
from mge.models.domain import DiscoveryResult
from mge.models.plan import Masterplan
from mge.planning.findings import Finding, blocking, render_report
from mge.planning.patterns import PatternLike, render_patterns
from mge.planning.sizing import task_budget
from mge.planning.validate import validate_plan
from mge.prompts import load

__all__ = [
    "PLAN_KEY",
    "PLAN_MAX_TOKENS",
    "PLAN_TEMPERATURE",
    "REPAIR_KEY",
    "build_plan_request",
    "build_repair_request",
    "make_plan",
]

log = logging.getLogger(__name__)

PLAN_KEY = "plan"
"""Logical key of the planning call."""

REPAIR_KEY = "plan/repair"
"""Logical key of the one repair call."""

PLAN_TEMPERATURE = 0.2
"""Low: a plan is structure, not prose."""

PLAN_MAX_TOKENS = 32_000
"""Room for a 100-task plan (about 250 tokens per task)."""


def _plan_values(discovery: DiscoveryResult, patterns: Sequence[PatternLike]) -> dict[str, object]:
    budget = task_budget(discovery)
    return {
        "schema": json.dumps(Masterplan.model_json_schema(by_alias=True), indent=1),
        "language": discovery.stack.language,
        "framework": discovery.stack.framework or "none",
        "min_tasks": budget.minimum,
        "max_tasks": budget.maximum,
        "discovery": discovery.model_dump_json(by_alias=True, exclude_none=True, indent=1),
        "patterns": render_patterns(patterns),
    }


def build_plan_request(discovery: DiscoveryResult, patterns: Sequence[PatternLike]) -> LLMRequest:
    """The planning request (pure): rules and schema first (cached), then model and patterns."""
    system, prompt = load("plan").render(**_plan_values(discovery, patterns))
    return LLMRequest(
        key=PLAN_KEY,
        system=(system,),
        prompt=prompt,
        temperature=PLAN_TEMPERATURE,
        max_tokens=PLAN_MAX_TOKENS,
    )


def build_repair_request(
    discovery: DiscoveryResult,
    patterns: Sequence[PatternLike],
    plan: Masterplan,
    findings: Sequence[Finding],
) -> LLMRequest:
    """The repair request (pure): the planning system part (a cache hit), then the findings and
    the failed plan."""
    values = _plan_values(discovery, patterns)
    system, _ = load("plan").render(**values)
    _, prompt = load("plan_repair").render(
        **values,
        findings=render_report(findings),
        plan=plan.model_dump_json(by_alias=True, exclude_none=True, indent=1),
    )
    return LLMRequest(
        key=REPAIR_KEY,
        system=(system,),
        prompt=prompt,
        temperature=PLAN_TEMPERATURE,
        max_tokens=PLAN_MAX_TOKENS,
    )


async def make_plan(
    discovery: DiscoveryResult,
    patterns: Sequence[PatternLike],
    llm: LLMClient,
    *,
    project: str | None = None,
) -> Masterplan:
    """Write, validate and (once, if needed) repair the masterplan for ``discovery``.

    ``patterns`` are the retrieved patterns offered to the planner; the plan's
    ``patterns_used`` should cite only their ids (others are reported as warnings and kept).
    Raises PlanInvalid when the repaired plan still has errors, and the LLM client's errors
    (StructuredOutputError, LLMUnavailable, RecordingMissing…) when a call fails.
    """
    offered = [p.pattern_id for p in patterns]
    plan, _ = await llm.complete_structured(
        build_plan_request(discovery, patterns), Masterplan, project=project
    )
    findings = validate_plan(plan, discovery, offered_patterns=offered)
    errors = blocking(findings)
    if not errors:
        _log_warnings(findings)
        return plan
    log.info("masterplan has %d error(s); asking for one repair round", len(errors))
    repaired, _ = await llm.complete_structured(
        build_repair_request(discovery, patterns, plan, findings), Masterplan, project=project
    )
    after = validate_plan(repaired, discovery, offered_patterns=offered)
    remaining = blocking(after)
    if remaining:
        raise PlanInvalid([f"{f} (still failing after one repair round)" for f in remaining])
    _log_warnings(after)
    return repaired


def _log_warnings(findings: Sequence[Finding]) -> None:
    """Warnings go to the log at INFO: callers that show them run validate_plan themselves."""
    for f in findings:
        log.info("masterplan warning: %s", f)
