"""Run report figures, its rendering, and the output writer (real files, real git)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rich.console import Console

from mge.errors import InputError
from mge.execution.output import REPORT_FILE, render_readme, write_output
from mge.execution.report import compute_report, critical_path, latest_checks, render_report
from mge.execution.state import ExecutionResult, ExecutionState
from mge.models.atoms import AtomicUnit, AtomState
from mge.models.execution import Attempt, Usage, ValidationLevel, ValidationResult
from mge.models.review import ConfidenceParts, ReviewItem


def _atom(name: str, deps: list[str] = ()) -> AtomicUnit:  # type: ignore[assignment]
    return AtomicUnit(
        id=name,
        file="m.py",
        language="python",
        kind="function",
        qualname=name,
        signature=f"def {name}()",
        estimated_loc=1,
        complexity=1,
        dependencies=list(deps),
    )


ATOMS = {
    a.id: a
    for a in (_atom("a"), _atom("b", ["a"]), _atom("c", ["b"]), _atom("d", ["a"]), _atom("e"))
}


def _attempt(atom: str, n: int, ok: bool, cost: float = 0.01) -> Attempt:
    return Attempt(
        atom_id=atom,
        number=n,
        temperature=0.7,
        prompt_hash="h",
        code="x",
        validation=ValidationResult(level="L1", subject=atom, passed=ok),
        usage=Usage(input_tokens=100, output_tokens=10, cache_read_tokens=5),
        cost_usd=cost,
    )


def _state() -> ExecutionState:
    attempts = [
        _attempt("a", 1, True),
        _attempt("b", 1, False),
        _attempt("b", 2, True),
        _attempt("c", 1, False),
        _attempt("c", 2, False),
        _attempt("c", 3, False),
        _attempt("d", 1, True),
    ]
    return ExecutionState.resume(
        list(ATOMS),
        attempts,
        states={
            "a": AtomState.VALIDATED,
            "b": AtomState.VALIDATED,
            "c": AtomState.FAILED,
            "d": AtomState.VALIDATED,
        },
        codes={"a": "x", "b": "x", "d": "x"},
    )


def test_critical_path_is_the_longest_chain() -> None:
    assert critical_path(ATOMS) == ["a", "b", "c"]
    assert critical_path({}) == []


def _check(level: ValidationLevel, subject: str, passed: bool) -> ValidationResult:
    return ValidationResult(level=level, subject=subject, passed=passed)


def test_without_stored_checks_the_result_s_own_are_listed_once() -> None:
    result = ExecutionResult(
        status="completed",
        state=_state(),
        modules=[_check("L2", "m.py", True), _check("L2", "n.py", False)],
        integration=[_check("L3", "component", True)],
    )
    report = compute_report("shop", ATOMS, _state(), result=result)
    assert [(c.level, c.subject) for c in report.validations] == [
        ("L2", "m.py"),
        ("L2", "n.py"),
        ("L3", "component"),
    ]


def test_a_rerun_lists_every_check_the_codebase_stands_on_once() -> None:
    # The store after a first run and a re-run: the re-run checked the modules and the
    # system again (n.py now passes) but made no integration checkpoint.
    stored = [
        _check("L2", "integration/1", True),
        _check("L2", "m.py", True),
        _check("L2", "n.py", False),
        _check("L4", "system", True),
        _check("L1", "atom-a", True),
        _check("L2", "m.py", True),
        _check("L2", "n.py", True),
        _check("L4", "system", True),
    ]
    rerun = ExecutionResult(
        status="completed", state=_state(), modules=[_check("L2", "m.py", True)]
    )
    report = compute_report(
        "shop", ATOMS, _state(), result=rerun, validations=latest_checks(stored)
    )
    assert [(c.level, c.subject, c.passed) for c in report.validations] == [
        ("L2", "integration/1", True),
        ("L2", "m.py", True),
        ("L2", "n.py", True),
        ("L4", "system", True),
    ]


def test_compute_report_figures() -> None:
    state = _state()
    result = ExecutionResult(
        status="completed",
        state=state,
        levels=3,
        levels_done=3,
        cache_hits=2,
        llm_calls=7,
        wall_s=1.5,
    )
    item = ReviewItem(
        atom_id="c",
        reason="failed",
        code="x",
        confidence=ConfidenceParts(validation=0, attempts=0, complexity=1, integration=0.5),
    )
    report = compute_report(
        "shop",
        ATOMS,
        state,
        result=result,
        levels=[["a", "e"], ["b", "d"], ["c"]],
        review=[item],
        provider="scripted",
        model="recording",
        recorded=True,
    )
    assert (report.atoms, report.attempted, report.validated, report.failed) == (5, 4, 3, 1)
    assert report.exhausted == 1 and report.pending == 1
    assert report.attempts == 7 and report.retries == 3
    assert report.first_try_pass_rate == 0.5  # a, d of a, b, c, d
    assert report.pass_rate_after_retries == 0.75  # a, b, d
    assert report.usage == Usage(input_tokens=700, output_tokens=70, cache_read_tokens=35)
    assert report.cost_usd == pytest.approx(0.07)
    assert report.cache_hits == 2 and report.llm_calls == 7 and report.wall_s == 1.5
    assert report.critical_path == ["a", "b", "c"]
    assert [line.id for line in report.atom_list] == ["a", "e", "b", "d", "c"]
    assert report.review[0].score == item.confidence.score
    wire = report.wire()
    assert wire["firstTryPassRate"] == 0.5 and wire["recorded"] is True

    console = Console(record=True, width=120)
    console.print(render_report(report))
    text = console.export_text()
    assert "first-try pass rate" in text and "50.0%" in text and "75.0%" in text
    assert "scripted recording" in text and "Review queue" in text


async def _git(folder: Path, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "git", "-C", str(folder), *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode().strip()


def _report():  # type: ignore[no-untyped-def]
    return compute_report(
        "shop", ATOMS, _state(), provider="scripted", model="recording", recorded=True
    )


def test_readme_says_plainly_when_it_was_a_recording() -> None:
    text = render_readme(_report(), language="python", missing=["m.py::c"])
    assert "Made from a scripted recording" in text and "No language model ran" in text
    assert "python -m pytest -q" in text and "- `m.py::c`" in text
    real = _report().model_copy(
        update={"recorded": False, "provider": "anthropic", "model": "claude-x"}
    )
    assert "Written by the model `claude-x` through the `anthropic` provider" in render_readme(
        real, language="python"
    )


async def test_write_output_replaces_its_own_files_and_commits(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = {"src/m.py": "A = 1\n", "tests/test_m.py": "def test_a(): pass\n"}
    written = await write_output(out, files, _report(), git_branch="mge/generated")
    assert sorted(written.files) == [
        "README.md",
        "pyproject.toml",
        "report.json",
        "src/m.py",
        "tests/test_m.py",
    ]
    report = json.loads((out / REPORT_FILE).read_text())
    assert report["files"] == written.files and report["project"] == "shop"
    assert written.commit is not None and len(written.commit) == 40
    branch = await _git(out, "branch", "--show-current")
    assert branch == "mge/generated"

    # A second run without the test file: the stale file is gone, a user file stays.
    (out / "NOTES.txt").write_text("mine")
    again = await write_output(out, {"src/m.py": "A = 2\n"}, _report(), git_branch="mge/generated")
    assert not (out / "tests/test_m.py").exists()
    assert (out / "NOTES.txt").read_text() == "mine"
    assert (out / "src/m.py").read_text() == "A = 2\n"
    assert again.commit != written.commit
    log = (await _git(out, "log", "--oneline")).splitlines()
    assert len(log) == 2


async def test_write_output_refuses_foreign_folders_and_escaping_paths(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("do not touch")
    with pytest.raises(InputError, match="not empty"):
        await write_output(tmp_path, {"a.py": ""}, _report())
    with pytest.raises(InputError, match="inside the folder"):
        await write_output(tmp_path / "new", {"../evil.py": ""}, _report())
    assert not (tmp_path / "evil.py").exists()


def test_the_report_names_the_planner_and_says_when_it_was_a_recording() -> None:
    report = compute_report(
        "tiny",
        ATOMS,
        _state(),
        provider="llamacpp",
        model="SmolLM2-135M-Instruct",
        planner="scripted/recording",
    )
    assert report.wire()["planner"] == "scripted/recording" and report.recorded is False
    console = Console(record=True, width=160)
    console.print(render_report(report))
    text = console.export_text()
    assert "atoms: llamacpp/SmolLM2-135M-Instruct; planning: scripted/recording" in text
    assert "no model planned" in text and "what they would have cost" in text
