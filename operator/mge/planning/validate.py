"""Plan validation: every rule of rules.py over one plan, as a list of findings (pure)."""

from __future__ import annotations

from collections.abc import Collection

from mge.models.domain import DiscoveryResult
from mge.models.plan import Masterplan
from mge.planning.findings import Finding
from mge.planning.rules import (
    check_coverage,
    check_cycles,
    check_dependencies,
    check_files,
    check_ids,
    check_patterns,
    check_size,
)

__all__ = ["validate_plan"]


def validate_plan(
    plan: Masterplan,
    discovery: DiscoveryResult,
    *,
    offered_patterns: Collection[str] | None = None,
) -> list[Finding]:
    """Everything wrong with ``plan`` for ``discovery``; an empty list means it is clean.

    Errors: duplicate ids, self or unknown dependencies, dependency cycles (named by task id and
    title), DDD elements or acceptance criteria no task covers, files owned by two tasks, paths
    outside the project, and a task count that does not fit the model. Warnings: names and
    criteria the model lacks, files listed twice, very broad tasks, and (when
    ``offered_patterns`` is given) cited patterns that were not offered.
    """
    return [
        *check_ids(plan),
        *check_dependencies(plan),
        *check_cycles(plan),
        *check_coverage(plan, discovery),
        *check_files(plan),
        *check_size(plan, discovery),
        *check_patterns(plan, offered_patterns),
    ]
