"""What a page may post as a decision (pure): each bad field is named."""

from __future__ import annotations

import pytest

from mge.errors import InputError
from mge.web.service import MAX_CODE_CHARS, parse_decision


def test_a_good_edit_becomes_a_review_decision_by_the_server_user() -> None:
    request, version = parse_decision(
        "a", {"decision": "edit", "version": "v1", "code": "x = 1", "feedback": "ignored"}, "ann"
    )
    assert (request.atom, request.decision, request.code, request.feedback, request.by) == (
        "a",
        "edit",
        "x = 1",
        None,
        "ann",
    )
    assert version == "v1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "delete", "version": "v"}, "'decision'"),
        ({"decision": "approve"}, "'version'"),
        ({"decision": "edit", "version": "v", "code": "  "}, "'code'"),
        ({"decision": "regenerate", "version": "v"}, "'feedback'"),
        ({"decision": "edit", "version": "v", "code": "x" * (MAX_CODE_CHARS + 1)}, "'code'"),
    ],
)
def test_bad_input_names_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(InputError, match=field):
        parse_decision("a", body, None)
