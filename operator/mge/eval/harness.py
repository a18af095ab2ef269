"""Run HumanEval through MGE's own atom executor and sandbox, then score on hidden tests.

The flow per chunk of problems (chunks keep progress visible and bound memory):

1. :class:`~mge.execution.AtomExecutorWithRetry` generates each problem's atom, validates it
   with the ordinary :class:`~mge.validation.batch.LocalBatchValidator` (parse, signature,
   compile, import, the *visible* example tests — in the sandbox) and retries failures with the
   executor's own feedback, which therefore only ever quotes the visible examples;
2. after the loop, :func:`~mge.eval.scoring.score_hidden` runs the first attempt's code and the
   final code against the hidden tests, in the sandbox.

Collaborators (the LLM client, the sandbox runner, the clock) are passed in, like everywhere
else in MGE, so tests drive the harness with recorded answers and the real sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mge.eval.problems import HumanEvalProblem
from mge.eval.report import ProblemResult
from mge.eval.scoring import score_hidden, score_key
from mge.eval.suite import EvalSuite, build_suite
from mge.execution import AtomExecutorWithRetry, Budget, Completer, ExecutionState, MemoryJournal
from mge.llm.base import LLMRequest, LLMResponse
from mge.models.atoms import AtomState
from mge.models.execution import Attempt, Usage
from mge.models.project import ExecutionSpec
from mge.validation.batch import LocalBatchValidator, Workspace
from mge.validation.runner import TestRunner

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_MAX_TOKENS",
    "CappedCompleter",
    "EvalOptions",
    "classify_attempt",
    "run_humaneval",
]

DEFAULT_MAX_TOKENS = 512
"""Answer cap per attempt: a HumanEval solution fits easily; a rambling small model stops."""

DEFAULT_CHUNK = 16
"""Problems per executor run: results are checkpointed after each chunk."""

DEFAULT_TIMEOUT_SECONDS = 10
"""Sandbox time limit per candidate (the reference harness allows 3 s for the hidden tests)."""

NO_CODE = "the answer held no code"
"""The executor's error for an answer with no code in it (mge.execution.executor)."""

UNLIMITED_COST_USD = 100_000.0


@dataclass(frozen=True)
class EvalOptions:
    """How one evaluation runs."""

    max_attempts: int = 3
    temperature: float = 0.0
    max_tokens: int = DEFAULT_MAX_TOKENS
    chunk: int = DEFAULT_CHUNK
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    batch_size: int = 20
    parallelism: int = 2
    concurrency: int = 8
    max_cost_usd: float = UNLIMITED_COST_USD

    def execution_spec(self) -> ExecutionSpec:
        """The executor's settings for these options."""
        return ExecutionSpec(
            batch_size=self.batch_size,
            parallelism=self.parallelism,
            concurrency=self.concurrency,
            max_attempts=self.max_attempts,
            atom_timeout_seconds=self.timeout_seconds,
        )


class CappedCompleter:
    """A Completer that caps every request's ``max_tokens`` before passing it on."""

    def __init__(self, inner: Completer, max_tokens: int) -> None:
        self.inner = inner
        self.max_tokens = max_tokens

    async def complete(self, request: LLMRequest, project: str | None = None) -> LLMResponse:
        """The inner completer's answer to the capped request."""
        capped = request.model_copy(update={"max_tokens": min(request.max_tokens, self.max_tokens)})
        return await self.inner.complete(capped, project)


def classify_attempt(attempt: Attempt) -> str:
    """``ok``, ``unparseable`` (no code, or code that does not parse), ``llm_error`` (the model
    call failed) or ``failed`` (code that parsed but did not pass) — pure."""
    if attempt.error == NO_CODE:
        return "unparseable"
    if attempt.error and not attempt.code.strip():
        return "llm_error"
    checks = attempt.validation.checks if attempt.validation else []
    if any(c.name == "parse" and not c.passed for c in checks):
        return "unparseable"
    if attempt.validation is not None and attempt.validation.passed:
        return "ok"
    return "failed"


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


async def _execute(
    suite: EvalSuite, ids: list[str], llm: Completer, runner: TestRunner, options: EvalOptions
) -> ExecutionState:
    workspace = Workspace(suite.codebase)
    state = ExecutionState.fresh(ids)
    executor = AtomExecutorWithRetry(
        llm=CappedCompleter(llm, options.max_tokens),
        validator=LocalBatchValidator(workspace, runner, typechecker=None),
        workspace=workspace,
        state=state,
        journal=MemoryJournal(),
        budget=Budget(options.max_cost_usd, max_atoms=len(ids)),
        spec=options.execution_spec(),
        base_temperature=options.temperature,
        project="eval-humaneval",
    )
    await executor.run_level(0, ids)
    return state


def _final_code(state: ExecutionState, atom_id: str) -> str:
    progress = state.atoms[atom_id]
    if progress.state == AtomState.VALIDATED and progress.code is not None:
        return progress.code
    return progress.attempts[-1].code if progress.attempts else ""


def _row(
    suite: EvalSuite,
    state: ExecutionState,
    atom_id: str,
    first: bool,
    final: bool,
    final_detail: str,
) -> ProblemResult:
    entry = suite.entries[atom_id]
    attempts = state.atoms[atom_id].attempts
    kinds = [classify_attempt(a) for a in attempts]
    usage = Usage()
    for a in attempts:
        usage = usage + a.usage
    return ProblemResult(
        task_id=entry.problem.task_id,
        visible_examples=entry.examples,
        attempts=len(attempts),
        validated=state.atoms[atom_id].state == AtomState.VALIDATED,
        first_hidden_passed=first,
        final_hidden_passed=final,
        unparseable_answers=kinds.count("unparseable"),
        llm_errors=kinds.count("llm_error"),
        usage=usage,
        cost_usd=round(sum(a.cost_usd for a in attempts), 6),
        seconds=round(sum(a.duration_s for a in attempts), 3),
        final_detail="" if final else final_detail,
    )


async def run_humaneval(
    problems: Sequence[HumanEvalProblem],
    llm: Completer,
    runner: TestRunner,
    options: EvalOptions | None = None,
    *,
    on_chunk: Callable[[list[ProblemResult]], None] | None = None,
) -> list[ProblemResult]:
    """One ProblemResult per problem, in order. ``on_chunk`` gets the rows so far after each
    chunk (for checkpoints and progress). LLM errors that stop a run (bad credentials, a
    provider down after every retry) propagate."""
    opts = options or EvalOptions()
    suite = build_suite(problems)
    results: list[ProblemResult] = []
    for ids in _chunks(suite.atom_ids, opts.chunk):
        state = await _execute(suite, ids, llm, runner, opts)
        codes: dict[str, str] = {}
        for atom_id in ids:
            attempts = state.atoms[atom_id].attempts
            codes[score_key(atom_id, "first")] = attempts[0].code if attempts else ""
            codes[score_key(atom_id, "final")] = _final_code(state, atom_id)
        verdicts = await score_hidden(suite, codes, runner)
        for atom_id in ids:
            first = verdicts[score_key(atom_id, "first")]
            final = verdicts[score_key(atom_id, "final")]
            results.append(_row(suite, state, atom_id, first.passed, final.passed, final.detail))
        if on_chunk is not None:
            on_chunk(list(results))
    return results


def elapsed(start: float, clock: Callable[[], float] = time.monotonic) -> float:
    """Seconds since ``start`` on ``clock``."""
    return round(clock() - start, 3)
