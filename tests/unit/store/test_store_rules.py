"""The store's pure decisions: what save_atoms does to each atom, decisions, project keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mge.errors import InputError
from mge.store.rules import (
    check_decision,
    check_project_key,
    duplicates,
    plan_atom_changes,
)

ids = st.text(alphabet="abcdef", min_size=1, max_size=3)
hashes = st.sampled_from(["h1", "h2", "h3"])


@given(
    stored=st.dictionaries(ids, hashes, max_size=12),
    incoming=st.dictionaries(ids, hashes, max_size=12),
    prune=st.booleans(),
)
def test_every_atom_gets_exactly_the_right_fate(
    stored: dict[str, str], incoming: dict[str, str], prune: bool
) -> None:
    changes = plan_atom_changes(stored, incoming.items(), prune=prune)
    assert changes.insert == [i for i in incoming if i not in stored]
    assert changes.reset == [i for i in incoming if i in stored and stored[i] != incoming[i]]
    assert changes.keep == [i for i in incoming if i in stored and stored[i] == incoming[i]]
    assert changes.remove == ([i for i in stored if i not in incoming] if prune else [])
    fates = changes.insert + changes.reset + changes.keep
    assert sorted(fates) == sorted(incoming)  # each incoming atom exactly once


def test_a_re_run_with_the_same_plan_keeps_everything() -> None:
    plan = {"a": "h1", "b": "h2"}
    changes = plan_atom_changes(plan, plan.items(), prune=True)
    assert (changes.insert, changes.reset, changes.remove) == ([], [], [])
    assert changes.keep == ["a", "b"]


def test_duplicates_are_listed_once_sorted() -> None:
    assert duplicates(["b", "a", "b", "c", "a", "b"]) == ["a", "b"]
    assert duplicates([]) == []


@pytest.mark.parametrize(
    ("decision", "code"),
    [("approve", None), ("regenerate", None), ("edit", "def f():\n    return 1\n")],
)
def test_valid_decisions_pass(decision: str, code: str | None) -> None:
    check_decision(decision, code)


@pytest.mark.parametrize(
    ("decision", "code", "message"),
    [
        ("edit", None, "needs the edited code"),
        ("edit", "   \n", "needs the edited code"),
        ("pending", None, "not one of approve, edit, regenerate"),
        ("APPROVE", None, "not one of"),
    ],
)
def test_invalid_decisions_fail_with_a_reason(
    decision: str, code: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        check_decision(decision, code)


@pytest.mark.parametrize("key", ["todo-lib", "default/todo-lib", "a" * 253])
def test_good_project_keys(key: str) -> None:
    check_project_key(key)


@pytest.mark.parametrize("key", ["", " todo", "todo\n", "a" * 254])
def test_bad_project_keys(key: str) -> None:
    with pytest.raises(InputError):
        check_project_key(key)
