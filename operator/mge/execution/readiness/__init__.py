"""L4 production readiness: the tools a team's CI runs, in the sandbox, findings by atom."""

from mge.execution.readiness.checks import READINESS_TOOLS, ToolCheck, checks_for
from mge.execution.readiness.gate import ReadinessGate
from mge.execution.readiness.render import render_readiness
from mge.execution.readiness.verdict import attribute, check_result, retry_feedback

__all__ = [
    "READINESS_TOOLS",
    "ReadinessGate",
    "ToolCheck",
    "attribute",
    "check_result",
    "checks_for",
    "render_readiness",
    "retry_feedback",
]
