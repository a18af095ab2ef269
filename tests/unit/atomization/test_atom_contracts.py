"""The docstring contract convention: Pre/Post/Uses lines, sections, JSDoc tags, estimates."""

from __future__ import annotations

from mge.atomization import estimate_stub, parse_contract
from mge.atomization.contracts import STUB_BASE_LOC


def test_one_line_tags_in_any_spelling() -> None:
    c = parse_contract(
        "Reserve units.\n\nPre: quantity > 0\nrequires: level is valid\n"
        "Post: result.reserved grows\nEnsures: on_hand unchanged\nUses: check, Stock.take"
    )
    assert c.description == "Reserve units."
    assert c.preconditions == ("quantity > 0", "level is valid")
    assert c.postconditions == ("result.reserved grows", "on_hand unchanged")
    assert c.uses == ("check", "Stock.take")


def test_sections_with_bullets_and_continuations() -> None:
    c = parse_contract(
        "Ship a reservation.\n\n"
        "Requires:\n    - quantity > 0\n    - quantity <= reserved\n"
        "Ensures:\n    - on_hand drops by quantity\n      and reserved drops too\n\n"
        "Returns:\n    The new level.\n"
    )
    assert c.preconditions == ("quantity > 0", "quantity <= reserved")
    assert c.postconditions == ("on_hand drops by quantity and reserved drops too",)
    assert "Returns:" in c.description and "The new level." in c.description


def test_jsdoc_tags() -> None:
    c = parse_contract(
        "Total.\n@param {Line[]} lines the lines\n"
        "@pre lines.length > 0\n@post result >= 0\n@uses lineTotal"
    )
    assert c.preconditions == ("lines.length > 0",)
    assert c.postconditions == ("result >= 0",)
    assert c.uses == ("lineTotal",)
    assert "@param" in c.description


def test_words_that_only_look_like_tags_stay_in_the_description() -> None:
    c = parse_contract("Post-processing happens later.\nPrecondition checks are the caller's.")
    assert c.preconditions == () and c.postconditions == ()
    assert c.summary == "Post-processing happens later."


def test_estimate_grows_with_steps_and_branches() -> None:
    small = estimate_stub(parse_contract("Return the sum."))
    assert small == (STUB_BASE_LOC, 1)
    big = parse_contract(
        "Apply a discount.\n\n- look up the rate\n- scale the price\n- round to cents\n"
        "If the code is unknown, raise. When the total is zero, return zero. "
        "Otherwise apply it to each line.\n"
    )
    loc, complexity = estimate_stub(big)
    assert complexity == 1 + 4  # if, when, otherwise, each
    assert loc == STUB_BASE_LOC + 3 + 2 * 4
