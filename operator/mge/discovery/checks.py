"""Consistency checks on a discovery result that the pydantic schema alone cannot express.

Pure: they take a model and return problems as sentences, so they are tested with tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from mge.models.domain import DiscoveryResult
from mge.models.project import Hints

__all__ = ["discovery_problems"]


def _duplicates(values: Iterable[str]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


def discovery_problems(result: DiscoveryResult, hints: Hints | None = None) -> list[str]:
    """Every inconsistency found in ``result``; an empty list means it can be used.

    Checked: question ids, acceptance-criterion ids and DDD element names are unique (answers
    and plan coverage refer to them by name); every aggregate's root and members are entities or
    value objects of the model; and the stack's language is the one the hints asked for, when
    the hints set it explicitly.
    """
    problems: list[str] = []
    for what, values in (
        ("question id", [q.id for q in result.questions]),
        ("acceptance criterion id", [a.id for a in result.acceptance]),
        ("domain element name", result.domain.element_names()),
    ):
        dups = _duplicates(values)
        if dups:
            problems.append(f"duplicate {what}(s): {', '.join(dups)}")
    known = {
        name
        for c in result.domain.contexts
        for name in [e.name for e in c.entities] + [v.name for v in c.value_objects]
    }
    for ctx in result.domain.contexts:
        for agg in ctx.aggregates:
            missing = [m for m in [agg.root, *agg.members] if m not in known]
            if missing:
                problems.append(
                    f"aggregate {agg.name} refers to unknown entities or value objects: "
                    f"{', '.join(missing)}"
                )
    explicit = hints is not None and "language" in hints.model_fields_set
    if explicit and hints is not None and result.stack.language != hints.language:
        problems.append(
            f"stack language is {result.stack.language} but the hints ask for {hints.language}"
        )
    return problems
