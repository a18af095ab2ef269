"""Phase 0, discovery: requirements → DDD model, stack, acceptance criteria, questions; answers.

Pure pipeline code: it takes its LLM client as an argument and returns models; storing them is
the caller's job.
"""

from mge.discovery.answers import (
    answers_from_spec,
    apply_answers,
    default_assumption,
    load_answers,
    open_questions,
    parse_answers,
    spec_answers,
)
from mge.discovery.checks import discovery_problems
from mge.discovery.discover import build_discovery_request, discover
from mge.discovery.intake import Ask, ask_questions, resolve_answers
from mge.discovery.requirements import validate_requirements

__all__ = [
    "Ask",
    "answers_from_spec",
    "apply_answers",
    "ask_questions",
    "build_discovery_request",
    "default_assumption",
    "discover",
    "discovery_problems",
    "load_answers",
    "open_questions",
    "parse_answers",
    "resolve_answers",
    "spec_answers",
    "validate_requirements",
]
