"""Answers to clarifying questions: reading them, applying them, and recording defaults.

The same objects serve both drivers: locally an answers file or the terminal supplies them; in
the cluster they come from ``spec.discovery.answers`` (:class:`mge.models.project.Answer`) and the
questions go to ``status.discovery.questions`` (:class:`mge.models.domain.Question`). A question
nobody answers takes its default, and the default is written down as an assumption so that the
plan and the reviewer see what was decided for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from mge.errors import InputError
from mge.models.domain import DiscoveryResult, Question
from mge.models.project import Answer

__all__ = [
    "answers_from_spec",
    "apply_answers",
    "default_assumption",
    "load_answers",
    "open_questions",
    "parse_answers",
    "spec_answers",
]

ASSUMPTION_ARROW = "→ default:"
"""Marks an assumption that stands for an unanswered question (``Q-2: … → default: …``)."""


def default_assumption(question: Question) -> str:
    """The assumption recorded when ``question`` is left unanswered."""
    return f"{question.id}: {question.text} {ASSUMPTION_ARROW} {question.default}"


def _answer_text(qid: str, value: object, source: str) -> str | None:
    """One answer as text; None (use the default) for null or blank; numbers and booleans as
    written in YAML (``20``, ``yes``/``no``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "yes" if value else "no"
    elif isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise InputError(f"{source}: the answer to {qid} must be text, got {type(value).__name__}")
    if not value.strip():
        return None
    try:
        return Answer(id=qid, answer=value.strip()).answer
    except ValidationError as e:
        msg = e.errors()[0]["msg"]
        raise InputError(f"{source}: the answer to {qid} is not usable: {msg}") from e


def parse_answers(data: object, source: str = "answers") -> dict[str, str]:
    """Answers by question id from parsed YAML/JSON.

    Accepted shapes: a mapping ``{Q-1: "…"}``; a list ``[{id: Q-1, answer: "…"}]`` (the shape
    of ``spec.discovery.answers``); or either of them under a top-level ``answers`` key. A null
    or blank answer means "use the default". ``source`` names the input in error messages.
    """
    if isinstance(data, Mapping) and set(data) == {"answers"}:
        data = data["answers"]
    if data is None:
        return {}
    out: dict[str, str] = {}
    if isinstance(data, Mapping):
        items: list[tuple[object, object]] = list(data.items())
    elif isinstance(data, list):
        items = []
        for i, entry in enumerate(data):
            if not isinstance(entry, Mapping) or "id" not in entry or set(entry) - {"id", "answer"}:
                raise InputError(
                    f"{source}: entry {i + 1} must be a mapping with keys id and answer, "
                    f"got {entry!r}"
                )
            if any(qid == entry["id"] for qid, _ in items):
                raise InputError(f"{source}: question {entry['id']} is answered twice")
            items.append((entry["id"], entry.get("answer")))
    else:
        raise InputError(
            f"{source}: expected a mapping of question id to answer (Q-1: ...) or a list of "
            f"{{id, answer}} entries, got {type(data).__name__}"
        )
    for qid, value in items:
        if not isinstance(qid, str):
            raise InputError(f"{source}: question ids are text like Q-1, got {qid!r}")
        text = _answer_text(qid, value, source)
        if text is not None:
            out[qid] = text
    return out


def load_answers(path: Path) -> dict[str, str]:
    """Read an answers file (YAML or JSON) into answers by question id; see parse_answers."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InputError(f"answers file {path} does not exist") from e
    except OSError as e:
        raise InputError(f"answers file {path} cannot be read: {e.strerror}") from e
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise InputError(f"answers file {path} is not valid YAML: {e}") from e
    return parse_answers(data, source=f"answers file {path}")


def answers_from_spec(answers: Sequence[Answer]) -> dict[str, str]:
    """``spec.discovery.answers`` as answers by question id (blank answers are dropped)."""
    return parse_answers([{"id": a.id, "answer": a.answer} for a in answers], "spec.discovery")


def spec_answers(result: DiscoveryResult) -> list[Answer]:
    """The answered questions of ``result`` in the shape of ``spec.discovery.answers``."""
    return [Answer(id=q.id, answer=q.answer) for q in result.questions if q.answer is not None]


def open_questions(result: DiscoveryResult) -> list[Question]:
    """The questions that still have no answer, in order."""
    return [q for q in result.questions if q.answer is None]


def apply_answers(result: DiscoveryResult, answers: Mapping[str, str]) -> DiscoveryResult:
    """A copy of ``result`` with ``answers`` set on its questions and defaults recorded.

    Every question still unanswered afterwards is recorded in ``assumptions`` as
    ``"Q-n: question → default: answer"``. Applying answers again (more answers later, the same
    ones twice) gives the same result as applying them all at once: assumptions that stood for
    questions are rebuilt, never duplicated. An answer to an id that is not a question of
    ``result`` raises InputError naming it and the ids there are.
    """
    known = [q.id for q in result.questions]
    unknown = sorted(set(answers) - set(known))
    if unknown:
        listed = ", ".join(known) if known else "none"
        raise InputError(
            f"answers given for unknown question id(s) {', '.join(unknown)}; "
            f"the questions are: {listed}"
        )
    questions = [
        q.model_copy(update={"answer": answers[q.id]}) if q.id in answers else q
        for q in result.questions
    ]
    prefixes = tuple(f"{qid}: " for qid in known)
    kept = [a for a in result.assumptions if not (a.startswith(prefixes) and ASSUMPTION_ARROW in a)]
    defaults = [default_assumption(q) for q in questions if q.answer is None]
    return result.model_copy(update={"questions": questions, "assumptions": kept + defaults})
