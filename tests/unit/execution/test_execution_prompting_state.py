"""Prompts (stable context first), level checks, and resuming state."""

from __future__ import annotations

import pytest

from mge.execution.generator import level_problems
from mge.execution.prompting import AtomContext, build_request, dependency_blocks, prompt_hash
from mge.execution.retry import plan_attempt
from mge.execution.state import ExecutionState
from mge.models.atoms import AtomicUnit, AtomState, ContextPack, atom_id
from mge.models.execution import Attempt, CheckResult, ValidationResult
from mge.validation.codebase import Codebase

SKELETON = (
    'def base(x: int) -> int:\n    """Double."""\n    ...\n\n\ndef top(x: int) -> int:\n'
    '    """base plus one."""\n    ...\n\n\ndef side(x: int) -> int:\n    ...\n'
)


def _atom(name: str, deps: list[str] = ()) -> AtomicUnit:  # type: ignore[assignment]
    return AtomicUnit(
        id=atom_id("m.py", name),
        file="m.py",
        language="python",
        kind="function",
        qualname=name,
        signature=f"def {name}(x: int) -> int",
        spec=f"{name} spec",
        preconditions=["x >= 0"],
        estimated_loc=2,
        complexity=1,
        test_cases=[f"test_{name}"],
        dependencies=list(deps),
        context=ContextPack(tests=[f"def test_{name}():\n    assert {name}(1) == 2\n"]),
    )


BASE = _atom("base")
SIDE = _atom("side")
TOP = _atom("top", [BASE.id, SIDE.id])
CB = Codebase({"m.py": SKELETON}, {a.id: a for a in (BASE, SIDE, TOP)})


def test_dependency_blocks_show_validated_code_else_signature() -> None:
    blocks = dependency_blocks(TOP, CB, {BASE.id: "def base(x: int) -> int:\n    return 2 * x\n"})
    assert "(validated)" in blocks[0] and "return 2 * x" in blocks[0]
    assert "(signature only" in blocks[1] and "def side(x: int) -> int" in blocks[1]


def test_request_puts_stable_context_first_and_the_atom_last() -> None:
    ctx = AtomContext(TOP, SKELETON, dependency_blocks(TOP, CB, {}), ("pattern P",), "be nice")
    req = build_request(ctx, plan_attempt(TOP.id, [], 0.7))
    assert req.key == f"atom/{TOP.id}/attempt-1"
    assert req.temperature == 0.7
    assert len(req.system) == 3
    assert "be nice" in req.system[0] and "Rules:" in req.system[0]
    assert SKELETON.strip() in req.system[1]
    assert "`base`" in req.system[2] and "`side`" in req.system[2]
    assert "Write the body of `top`" in req.prompt
    assert "- x >= 0" in req.prompt and "pattern P" in req.prompt
    assert "assert top(1) == 2" in req.prompt
    # The system blocks of every atom in the file start the same (cacheable prefix).
    other = build_request(
        AtomContext(BASE, SKELETON, (), (), "be nice"), plan_attempt(BASE.id, [], 0.7)
    )
    assert other.system[0] == req.system[0] and other.system[1] == req.system[1]


def test_retry_prompt_adds_previous_code_and_analysis_but_keeps_the_system_part() -> None:
    failed = Attempt(
        atom_id=TOP.id,
        number=1,
        temperature=0.7,
        prompt_hash="h",
        code="def top(x):\n    return x\n",
        validation=ValidationResult(
            level="L1",
            subject=TOP.id,
            passed=False,
            checks=[CheckResult(name="tests", passed=False, detail="E   assert 1 == 2")],
        ),
    )
    ctx = AtomContext(TOP, SKELETON, ())
    first = build_request(ctx, plan_attempt(TOP.id, [], 0.7))
    second = build_request(ctx, plan_attempt(TOP.id, [failed], 0.7))
    assert second.key == f"atom/{TOP.id}/attempt-2" and second.temperature == 0.5
    assert second.system == first.system
    assert second.prompt.startswith(first.prompt)
    assert "This is attempt 2" in second.prompt and "assert 1 == 2" in second.prompt
    assert prompt_hash(first) != prompt_hash(second)


@pytest.mark.parametrize(
    ("levels", "problem"),
    [
        ([[BASE.id, SIDE.id], [TOP.id]], None),
        ([[BASE.id, SIDE.id, TOP.id]], "depends on"),
        ([[TOP.id], [BASE.id, SIDE.id]], "depends on"),
        ([[BASE.id], [BASE.id, SIDE.id], [TOP.id]], "is in levels 0 and 1"),
        ([["ghost"]], "unknown atom"),
    ],
    ids=["ok", "same-level", "wrong-order", "twice", "unknown"],
)
def test_level_problems(levels: list[list[str]], problem: str | None) -> None:
    found = level_problems(levels, CB.atoms)
    if problem is None:
        assert found == []
    else:
        assert any(problem in p for p in found), found


def _attempt(atom: str, n: int, ok: bool) -> Attempt:
    return Attempt(
        atom_id=atom,
        number=n,
        temperature=0.7,
        prompt_hash="h",
        code=f"code{n}",
        validation=ValidationResult(level="L1", subject=atom, passed=ok),
    )


def test_resume_trusts_stored_states_and_infers_without_them() -> None:
    attempts = [
        _attempt("a", 1, False),
        _attempt("a", 2, True),
        _attempt("b", 1, True),
        _attempt("c", 1, False),
        _attempt("d", 1, True),
    ]
    stored = ExecutionState.resume(
        ["a", "b", "c", "d", "e"],
        attempts,
        states={
            "a": AtomState.VALIDATED,
            "b": AtomState.PENDING,
            "c": AtomState.FAILED,
            "d": AtomState.IN_REVIEW,
        },
        codes={"a": "code2", "d": "code1"},
    )
    assert stored.atoms["a"].state is AtomState.VALIDATED and stored.atoms["a"].code == "code2"
    assert stored.atoms["b"].state is AtomState.PENDING  # sent back by integration: not redone
    assert stored.atoms["c"].state is AtomState.FAILED and stored.atoms["c"].settled
    assert stored.atoms["e"].state is AtomState.PENDING and not stored.atoms["e"].attempts
    assert stored.validated_codes() == {"a": "code2", "d": "code1"}
    inferred = ExecutionState.resume(["a", "b", "c"], attempts)
    assert [inferred.atoms[x].state for x in "abc"] == [
        AtomState.VALIDATED,
        AtomState.VALIDATED,
        AtomState.PENDING,
    ]
    assert inferred.atoms["a"].attempts[-1].number == 2
    assert not inferred.atoms["a"].first_try_passed and inferred.atoms["b"].first_try_passed
