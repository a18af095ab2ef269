"""Guard: the hand-written recordings of each example build a codebase whose own tests pass.

For every example: every task has a skeleton writing exactly the plan's files; every atom the
atomizer finds in those skeletons has attempts 1..n recorded and nothing else is recorded; the
skeleton with each atom's LAST attempt spliced in passes plain pytest and mypy; every earlier
attempt really fails (its L1 unit tests or the type check), so the recordings keep exercising
the retry path; each example has an atom fixed on attempt 2 and one that needs attempt 3, and
the latter has a review suggestion.
"""

from __future__ import annotations

import asyncio
import sys
from functools import cache
from pathlib import Path

import pytest
from recordings_assembly import (
    ATOM_KEY,
    EXAMPLE_NAMES,
    OTHER_KEYS,
    REVIEW_KEY,
    SKELETON_KEY,
    ExampleRecordings,
    attempt_numbers,
    load_example,
    run_pytest,
    write_tree,
)

from mge.execution.readiness.parse import BANDIT_TEMPLATE, parse_bandit
from mge.validation.codebase import stub_failures
from mge.validation.typecheck import MypyChecker, TypeIssue

MAX_ATTEMPTS = 3
"""The pipeline's default attempt limit: no atom may need more."""


@cache
def example(name: str) -> ExampleRecordings:
    """Each example is read and atomized once per test session."""
    return load_example(name)


@pytest.fixture(scope="session")
def mypy(tmp_path_factory: pytest.TempPathFactory) -> MypyChecker:
    """The pipeline's own mypy checker, with one cache for the session."""
    return MypyChecker(cache_dir=tmp_path_factory.mktemp("mypy-cache"))


def python_sources(files: dict[str, str]) -> list[str]:
    """The non-test Python files of a codebase (what the type check covers)."""
    return sorted(p for p in files if p.endswith(".py") and not p.startswith("tests/"))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_task_has_a_skeleton_writing_exactly_its_files(name: str) -> None:
    ex = example(name)
    assert sorted(ex.skeletons) == sorted(ex.tasks)
    for task, files in ex.tasks.items():
        assert sorted(ex.skeletons[task]) == sorted(files), task


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_atom_has_attempts_one_to_n_and_nothing_else_is_recorded(name: str) -> None:
    ex = example(name)
    assert ex.atoms, "the skeletons hold no atoms"
    for atom_id in ex.atoms:
        numbers = attempt_numbers(ex, atom_id)
        assert numbers == list(range(1, len(numbers) + 1)), atom_id
        assert 1 <= len(numbers) <= MAX_ATTEMPTS, atom_id
    for key in ex.responses:
        m = ATOM_KEY.match(key) or REVIEW_KEY.match(key)
        if m is not None:
            assert m["atom"] in ex.atoms, f"{key} names no atom of the skeletons"
        else:
            assert key in OTHER_KEYS or SKELETON_KEY.match(key), key
        assert len(ex.responses[key]) == 1, f"{key} is recorded more than once"


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_usage_figures_are_plausible(name: str) -> None:
    for key, (recorded,) in example(name).responses.items():
        usage = recorded.usage
        assert usage.input_tokens > 0 and usage.output_tokens > 0, key
        # an answer of n characters is roughly n/4 tokens; allow a wide band
        assert len(recorded.text) / 8 <= usage.output_tokens <= len(recorded.text) / 2 + 50, key
        m = ATOM_KEY.match(key)
        if m is not None and int(m["number"]) > 1:
            assert usage.cache_read_tokens > 0, f"{key}: a retry re-sends the cached context"


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
async def test_the_assembled_example_passes_its_own_tests(
    name: str, tmp_path: Path, mypy: MypyChecker
) -> None:
    ex = example(name)
    files = ex.codebase.render(ex.final_codes())
    write_tree(tmp_path, files)
    run = await run_pytest(tmp_path)
    assert run.passed, run.output[-4000:]
    assert run.count("passed") >= len(ex.codebase.all_tests)
    assert run.count("failed") == 0
    issues = await mypy.check(files, python_sources(files))
    assert issues == [], "\n".join(map(str, issues))


async def failure_of(
    ex: ExampleRecordings, atom_id: str, code: str, folder: Path, mypy: MypyChecker
) -> str | None:
    """Why L1 rejects ``code`` for the atom (its tests, then mypy), or None.

    Like the pipeline's L1: the atoms of earlier levels have their final code, the others a
    marked stub; a failing test counts only if it failed without reaching a stub.
    """
    codes = ex.l1_codes(atom_id, code)
    files = ex.codebase.render(codes, stub_missing=True)
    tests = ex.l1_tests(atom_id)
    if tests:
        write_tree(folder, files)
        run = await run_pytest(folder, tests)
        real = [t for t, message in run.failures.items() if not stub_failures(message)]
        if not run.passed and (real or not run.failures):
            return f"tests: {len(real)} failed"
    atom = ex.atoms[atom_id]
    issues: list[TypeIssue] = await mypy.check(files, [atom.file])
    span = ex.codebase.render_file(atom.file, codes, stub_missing=True).spans[atom.qualname]
    own = [i for i in issues if i.path == atom.file and span[0] <= i.line <= span[1]]
    return f"types: {own[0]}" if own else None


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
async def test_every_superseded_attempt_fails_l1(
    name: str, tmp_path: Path, mypy: MypyChecker
) -> None:
    ex = example(name)
    retried = {a: codes for a, codes in ex.attempts.items() if len(codes) > 1}
    passed_wrongly = []
    for atom_id, codes in sorted(retried.items()):
        for number, code in enumerate(codes[:-1], start=1):
            key = f"atom/{atom_id}/attempt-{number}"
            if key in CAUGHT_AFTER_L1.get(name, {}) or key in SLOW_AFTER_L1.get(name, {}):
                continue
            folder = tmp_path / f"{atom_id}-{number}"
            if await failure_of(ex, atom_id, code, folder, mypy) is None:
                passed_wrongly.append(f"atom/{atom_id}/attempt-{number}")
    assert passed_wrongly == [], "these attempts were meant to fail L1 but pass it"


CAUGHT_AFTER_L1: dict[str, dict[str, str]] = {
    "bookmarks-sql": {"atom/bookmarkstore-list-by-tag-851ed61eee/attempt-1": "B608"},
    "tasks-api": {"atom/task-apply-50d0775f64/attempt-1": "B307"},
}
"""Attempts written to pass L1 (tests, types) and be caught by an L4 readiness check: the
bandit rule that must flag them inside the atom's span."""

SLOW_AFTER_L1: dict[str, dict[str, str]] = {
    "tasks-api": {"atom/inmemorytaskrepository-add-c62e89333c/attempt-1": "AC-10"},
}
"""Attempts written to pass L1 and miss an L3 performance budget (quadratic): the criterion
whose benchmark must miss (tests/e2e/local_run/test_readiness_run.py runs it)."""


@pytest.mark.parametrize(
    ("name", "key"),
    [(n, k) for n, keys in SLOW_AFTER_L1.items() for k in keys],
)
async def test_performance_defects_pass_l1(
    name: str, key: str, tmp_path: Path, mypy: MypyChecker
) -> None:
    ex = example(name)
    atom_id, number = key.split("/")[1], int(key.rsplit("-", 1)[1])
    assert await failure_of(ex, atom_id, ex.attempts[atom_id][number - 1], tmp_path, mypy) is None


@pytest.mark.parametrize(
    ("name", "key"),
    [(n, k) for n, keys in CAUGHT_AFTER_L1.items() for k in keys],
)
async def test_readiness_defects_pass_l1_and_bandit_flags_them(
    name: str, key: str, tmp_path: Path, mypy: MypyChecker
) -> None:
    ex = example(name)
    atom_id, number = key.split("/")[1], int(key.rsplit("-", 1)[1])
    code = ex.attempts[atom_id][number - 1]
    assert await failure_of(ex, atom_id, code, tmp_path / "l1", mypy) is None
    atom = ex.atoms[atom_id]
    codes = ex.l1_codes(atom_id, code)
    assembled = ex.codebase.render_file(atom.file, codes, stub_missing=True)
    target = tmp_path / "bandit" / atom.file
    target.parent.mkdir(parents=True)
    target.write_text(assembled.source)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bandit",
        "-q",
        "-f",
        "custom",
        "--msg-template",
        BANDIT_TEMPLATE,
        str(target),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    found = parse_bandit(out.decode(), [atom.file])
    first, last = assembled.spans[atom.qualname]
    rule = CAUGHT_AFTER_L1[name][key]
    assert [f.rule for f in found if f.line is not None and first <= f.line <= last] == [rule]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_the_retry_path_and_the_review_queue_are_exercised(name: str) -> None:
    ex = example(name)
    counts = {a: len(codes) for a, codes in ex.attempts.items()}
    assert 2 in counts.values(), "no atom is fixed on its second attempt"
    assert 3 in counts.values(), "no atom needs three attempts"
    for atom_id, n in counts.items():
        if n >= MAX_ATTEMPTS:
            assert atom_id in ex.reviews, f"{atom_id} will be in review but has no suggestion"
    for atom_id, text in ex.reviews.items():
        assert text.startswith("Risk:") and "\nFix:" in text, atom_id
