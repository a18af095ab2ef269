"""kstatus-compatible conditions (Ready, Reconciling, Stalled), computed purely.

Rules (as cert-manager and Kueue do it): a condition's ``lastTransitionTime`` moves only when its
``status`` flips; messages are truncated; every condition carries the ``observedGeneration`` it
was computed for. Flux reads health from these through kstatus with no configuration:
Reconciling=True → Progressing, Stalled=True → Degraded, Ready=True → Healthy (checked with the
real kstatus library in tests/integration/kube/test_kstatus_health.py). Argo CD has no generic
kstatus reader: it needs the Lua health check shipped in examples/argocd/argocd-cm-health.yaml,
merged into its ``argocd-cm``, to read the same conditions. A Project the operator has not seen
yet reads as in progress in both: the CRD defaults ``status`` (``observedGeneration: 0``).

The shape of one condition is :class:`mge.models.project.Condition`, part of the Project's
status; this module holds only the rules.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from mge.models.project import Condition

MAX_MESSAGE = 1024
"""Longest condition message kept; longer ones are cut with a marker."""

ConditionType = Literal["Ready", "Reconciling", "Stalled"]


def truncate(message: str, limit: int = MAX_MESSAGE) -> str:
    """Cut ``message`` to ``limit`` characters, marking the cut."""
    if len(message) <= limit:
        return message
    marker = "…(truncated)"
    return message[: limit - len(marker)] + marker


def now_rfc3339(now: datetime | None = None) -> str:
    """Kubernetes time format, seconds precision, UTC."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    existing: list[Condition],
    new: Condition,
    now: datetime | None = None,
) -> list[Condition]:
    """``existing`` with ``new`` merged in; lastTransitionTime moves only if status flipped."""
    new = new.model_copy(update={"message": truncate(new.message)})
    out: list[Condition] = []
    found = False
    for c in existing:
        if c.type != new.type:
            out.append(c)
            continue
        found = True
        flipped = c.status != new.status
        stamp = now_rfc3339(now) if flipped or not c.lastTransitionTime else c.lastTransitionTime
        out.append(new.model_copy(update={"lastTransitionTime": stamp}))
    if not found:
        out.append(new.model_copy(update={"lastTransitionTime": now_rfc3339(now)}))
    return sorted(out, key=lambda c: c.type)


def health_conditions(
    *,
    generation: int,
    ready: bool,
    reconciling: bool,
    stalled: bool,
    reason: str,
    message: str,
) -> list[Condition]:
    """The three kstatus conditions for one state of the world (not yet merged)."""

    def cond(t: str, on: bool) -> Condition:
        return Condition(
            type=t,
            status="True" if on else "False",
            reason=reason,
            message=message,
            observedGeneration=generation,
        )

    return [cond("Ready", ready), cond("Reconciling", reconciling), cond("Stalled", stalled)]
