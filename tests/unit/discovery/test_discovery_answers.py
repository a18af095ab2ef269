"""Answers: file shapes, unknown ids, defaults recorded as assumptions, interactive intake."""

from __future__ import annotations

from pathlib import Path

import pytest
from discovery_support import EXAMPLES, example_discovery

from mge.discovery import (
    answers_from_spec,
    apply_answers,
    ask_questions,
    default_assumption,
    load_answers,
    open_questions,
    parse_answers,
    resolve_answers,
    spec_answers,
)
from mge.errors import InputError
from mge.models.domain import Question
from mge.models.project import Answer, DiscoverySpec


def test_mapping_list_and_wrapped_shapes_parse_the_same() -> None:
    expected = {"Q-1": "per SKU", "Q-2": "once"}
    assert parse_answers({"Q-1": "per SKU", "Q-2": " once "}) == expected
    assert (
        parse_answers([{"id": "Q-1", "answer": "per SKU"}, {"id": "Q-2", "answer": "once"}])
        == expected
    )
    assert parse_answers({"answers": {"Q-1": "per SKU", "Q-2": "once"}}) == expected
    assert parse_answers(None) == {}


def test_yaml_scalars_become_text_and_blank_means_default() -> None:
    assert parse_answers({"Q-1": 20, "Q-2": True, "Q-3": None, "Q-4": "  "}) == {
        "Q-1": "20",
        "Q-2": "yes",
    }


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("just text", "expected a mapping"),
        ([{"id": "Q-1", "answer": "a"}, {"id": "Q-1", "answer": "b"}], "Q-1 is answered twice"),
        ([{"question": "Q-1"}], "entry 1 must be a mapping with keys id and answer"),
        ({1: "x"}, "question ids are text"),
        ({"Q-1": ["a", "b"]}, "must be text, got list"),
        ({"Q-1": "x" * 4001}, "answer to Q-1 is not usable"),
    ],
)
def test_malformed_answers_are_input_errors(data: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_answers(data, source="answers file a.yaml")


def test_answers_files_load_and_fail_clearly(tmp_path: Path) -> None:
    assert load_answers(EXAMPLES / "inventory-lib" / "answers.yaml").keys() == {"Q-1", "Q-2"}
    assert load_answers(EXAMPLES / "tasks-api" / "answers.yaml").keys() == {"Q-1", "Q-3"}
    with pytest.raises(InputError, match="does not exist"):
        load_answers(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("Q-1: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_answers(broken)


def test_unknown_ids_are_named_with_the_known_ones() -> None:
    with pytest.raises(InputError) as caught:
        apply_answers(example_discovery(), {"Q-1": "a", "Q-7": "b", "Q-9": "c"})
    assert "unknown question id(s) Q-7, Q-9" in str(caught.value)
    assert "the questions are: Q-1, Q-2, Q-3" in str(caught.value)


def test_unanswered_questions_become_assumptions_with_their_defaults() -> None:
    result = example_discovery()
    q2 = result.questions[1]
    answered = apply_answers(result, {"Q-1": "per order", "Q-3": "yes"})
    assert [q.answer for q in answered.questions] == ["per order", None, "yes"]
    assert answered.assumptions == [*result.assumptions, default_assumption(q2)]
    assert answered.assumptions[-1] == f"Q-2: {q2.text} → default: {q2.default}"
    assert open_questions(answered) == [answered.questions[1]]
    assert result.questions[0].answer is None  # the input is not changed


def test_applying_in_steps_equals_applying_at_once_and_is_idempotent() -> None:
    result = example_discovery()
    at_once = apply_answers(result, {"Q-1": "a", "Q-2": "b"})
    stepwise = apply_answers(apply_answers(result, {"Q-1": "a"}), {"Q-1": "a", "Q-2": "b"})
    assert stepwise == at_once
    assert apply_answers(at_once, {"Q-1": "a", "Q-2": "b"}) == at_once
    defaults = apply_answers(result, {})
    assert apply_answers(defaults, {}) == defaults
    assert len(defaults.assumptions) == len(result.assumptions) + len(result.questions)


def test_spec_answers_round_trip() -> None:
    spec = DiscoverySpec(answers=[Answer(id="Q-2", answer="once")])
    answered = apply_answers(example_discovery(), answers_from_spec(spec.answers))
    assert spec_answers(answered) == spec.answers


def test_interactive_intake_asks_only_open_questions_and_blank_keeps_default() -> None:
    asked: list[str] = []
    replies = {"Q-2": "every change", "Q-3": "  "}

    def ask(q: Question) -> str:
        asked.append(q.id)
        return replies[q.id]

    result = resolve_answers(example_discovery(), {"Q-1": "from spec"}, ask=ask)
    assert asked == ["Q-2", "Q-3"]
    assert [q.answer for q in result.questions] == ["from spec", "every change", None]
    assert result.assumptions[-1].startswith("Q-3: ")
    assert ask_questions(result, ask) == {}  # only Q-3 is open, and its reply is blank


def test_later_sources_win_and_unknown_ids_fail_before_asking() -> None:
    result = resolve_answers(example_discovery(), {"Q-1": "spec"}, {"Q-1": "file"})
    assert result.questions[0].answer == "file"

    def never(q: Question) -> str:
        raise AssertionError("asked although the answers were invalid")

    with pytest.raises(InputError, match="Q-5"):
        resolve_answers(example_discovery(), {"Q-5": "x"}, ask=never)
