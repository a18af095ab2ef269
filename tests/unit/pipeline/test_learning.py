"""What a completed project teaches the learned collection, and who may read it (pure rules)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mge.execution.prompting import (
    AtomContext,
    Example,
    build_request,
    example_blocks,
    example_query,
    fit_examples,
)
from mge.execution.retry import plan_attempt
from mge.models.atoms import AtomicUnit, AtomState, atom_id
from mge.models.execution import ValidationResult
from mge.models.review import ConfidenceParts, Decision, ReviewItem
from mge.pipeline.learning import (
    AtomRecord,
    learned_scope,
    select_learnable,
    visible_namespaces,
)


def _unit(name: str, file: str = "app/m.py") -> AtomicUnit:
    return AtomicUnit(
        id=atom_id(file, name),
        file=file,
        language="python",
        kind="function",
        qualname=name,
        signature=f"def {name}(x: int) -> int",
        spec=f"{name}: what it does",
        estimated_loc=2,
        complexity=1,
    )


def _v(level: str, subject: str, passed: bool) -> ValidationResult:
    return ValidationResult(level=level, subject=subject, passed=passed)  # type: ignore[arg-type]


def _review(atom: str, decision: Decision) -> ReviewItem:
    parts = ConfidenceParts(validation=1, attempts=1, complexity=1, integration=1)
    return ReviewItem(
        atom_id=atom, reason="low_confidence", code="x", confidence=parts, decision=decision
    )


A = _unit("a")
B = _unit("b", "app/other.py")


@pytest.mark.parametrize(
    ("state", "code", "validations", "reviews", "expected"),
    [
        # validated, no level ran beyond L1: learned
        (AtomState.VALIDATED, "def a(x): return x", [], [], "validated"),
        # validated, every level passed: learned
        (
            AtomState.VALIDATED,
            "def a(x): return x",
            [_v("L2", "app/m.py", True), _v("L3", "core", True), _v("L4", "system", True)],
            [],
            "validated",
        ),
        # its module failed L2: not learned
        (AtomState.VALIDATED, "def a(x): return x", [_v("L2", "app/m.py", False)], [], None),
        # another module failed L2: still learned (the failure is not its module's)
        (
            AtomState.VALIDATED,
            "def a(x): return x",
            [_v("L2", "app/other.py", False)],
            [],
            "validated",
        ),
        # the latest L2 of its module passed after an earlier failure: learned
        (
            AtomState.VALIDATED,
            "def a(x): return x",
            [_v("L2", "app/m.py", False), _v("L2", "app/m.py", True)],
            [],
            "validated",
        ),
        # a component failed L3: not learned
        (AtomState.VALIDATED, "def a(x): return x", [_v("L3", "core", False)], [], None),
        # the system failed L4: not learned
        (AtomState.VALIDATED, "def a(x): return x", [_v("L4", "system", False)], [], None),
        # failed, in review (pending), pending atoms: never learned
        (AtomState.FAILED, "def a(x): return x", [], [], None),
        (AtomState.IN_REVIEW, "def a(x): return x", [], [_review(A.id, "pending")], None),
        (AtomState.PENDING, None, [], [], None),
        # validated but held by a pending review: not learned
        (AtomState.VALIDATED, "def a(x): return x", [], [_review(A.id, "pending")], None),
        # no code: not learned
        (AtomState.VALIDATED, "   ", [], [], None),
        # a reviewer approved / edited / regenerated and the atom is approved: learned even
        # when a level failed (a person vouched for it)
        (
            AtomState.APPROVED,
            "def a(x): return x",
            [_v("L4", "system", False)],
            [_review(A.id, "approve")],
            "reviewed",
        ),
        (AtomState.APPROVED, "def a(x): return 2", [], [_review(A.id, "edit")], "reviewed"),
        (AtomState.APPROVED, "def a(x): return 3", [], [_review(A.id, "regenerate")], "reviewed"),
        # a regeneration the executor validated again leaves the atom validated: learned
        (AtomState.VALIDATED, "def a(x): return 4", [], [_review(A.id, "regenerate")], "reviewed"),
        # a decision recorded but not accepted (the edit failed validation): not learned
        (AtomState.IN_REVIEW, "def a(x): return 2", [], [_review(A.id, "edit")], None),
    ],
)
def test_select_learnable(
    state: AtomState,
    code: str | None,
    validations: Sequence[ValidationResult],
    reviews: Sequence[ReviewItem],
    expected: str | None,
) -> None:
    entries = select_learnable(
        [AtomRecord(A, state, code)], validations, reviews, project="shop", namespace="team-a"
    )
    assert [e.reason for e in entries] == ([expected] if expected else [])


def test_learn_entries_carry_the_labels_retrieval_filters_on() -> None:
    (entry,) = select_learnable(
        [AtomRecord(A, AtomState.VALIDATED, "def a(x):\n    return x\n")],
        [],
        [],
        project="shop",
        namespace="team-a",
        framework="fastapi",
    )
    assert entry.atom_id == A.id
    assert entry.language == "python"
    assert dict(entry.metadata) == {
        "title": "a",
        "qualname": "a",
        "description": "a: what it does",
        "framework": "fastapi",
        "kind": "learned",
        "file": "app/m.py",
        "project": "shop",
        "namespace": "team-a",
        "learned_because": "validated",
    }


def test_select_learnable_keeps_atom_order_and_judges_each_by_its_module() -> None:
    entries = select_learnable(
        [AtomRecord(A, AtomState.VALIDATED, "a"), AtomRecord(B, AtomState.VALIDATED, "b")],
        [_v("L2", "app/m.py", False), _v("L2", "app/other.py", True)],
        [],
        project="p",
        namespace="n",
    )
    assert [e.atom_id for e in entries] == [B.id]


def test_learned_scope_separates_projects_and_namespaces() -> None:
    assert learned_scope("team-a", "shop") == "team-a/shop"
    assert learned_scope("team-a", "shop") != learned_scope("team-b", "shop")


@pytest.mark.parametrize(
    ("own", "shared", "expected"),
    [
        ("team-a", [], ["team-a"]),
        ("team-a", ["team-b"], ["team-a", "team-b"]),
        ("team-a", ["team-a", "team-b"], ["team-a", "team-b"]),
        ("team-a", "all", None),
    ],
)
def test_visible_namespaces(own: str, shared: list[str] | str, expected: list[str] | None) -> None:
    assert visible_namespaces(own, shared) == expected  # type: ignore[arg-type]


def _ex(entry: str, score: float, code: str) -> Example:
    return Example(entry_id=entry, title=entry, code=code, language="python", score=score)


@pytest.mark.parametrize(
    ("examples", "max_chars", "kept"),
    [
        ([], 100, []),
        # best first, whatever order they came in
        ([_ex("a", 0.5, "x" * 10), _ex("b", 0.9, "y" * 10)], 100, ["b", "a"]),
        # too dissimilar: left out
        ([_ex("a", 0.2, "x" * 10)], 100, []),
        # the budget: an example that does not fit is left out whole, a smaller later one fits
        (
            [_ex("a", 0.9, "x" * 60), _ex("b", 0.8, "y" * 60), _ex("c", 0.7, "z" * 30)],
            100,
            ["a", "c"],
        ),
        # the same code twice (two projects learned it): shown once
        ([_ex("a", 0.9, "same"), _ex("b", 0.8, "same")], 100, ["a"]),
    ],
)
def test_fit_examples(examples: list[Example], max_chars: int, kept: list[str]) -> None:
    assert [e.entry_id for e in fit_examples(examples, max_chars)] == kept


def test_examples_fill_the_patterns_slot_and_none_leaves_the_prompt_unchanged() -> None:
    plan = plan_attempt(A.id, [], 0.2)
    bare = build_request(AtomContext(atom=A, skeleton="", dependencies=()), plan)
    shown = example_blocks([_ex("team-a/shop:x", 0.9, "def double(x):\n    return 2 * x\n")])
    with_examples = build_request(
        AtomContext(atom=A, skeleton="", dependencies=(), patterns=shown), plan
    )
    assert "(none)" in bare.prompt.split("Patterns that worked before")[1]
    assert "return 2 * x" in with_examples.prompt
    assert with_examples.system == bare.system  # stable blocks untouched: caching still works
    assert example_query(A) == "a\ndef a(x: int) -> int\na: what it does"
