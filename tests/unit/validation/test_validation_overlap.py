"""The type check and the sandbox run of one batch overlap; a type error still decides the result.

The checker and the runner here are stand-ins for mypy and the sandbox (their own tests use the
real ones): the checker waits until the sandbox run has begun, which only happens when the two
run side by side; run one after the other, the checker's wait runs out and the test fails.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from shop_codebase import DISCOUNT, GOOD, SUBTOTAL, codebase

from mge.models.execution import ValidationResult
from mge.validation.batch import Candidate, LocalBatchValidator, Workspace
from mge.validation.runner import TestJob, TestOutcome
from mge.validation.typecheck import TypeIssue

WAIT_FOR_THE_SANDBOX_S = 10.0
"""Bounds the failure case only: side by side, the sandbox run has begun before the wait."""


class _Sandbox:
    """Records the jobs it is given; every test passes."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.jobs: list[TestJob] = []

    async def run(self, jobs: Sequence[TestJob]) -> dict[str, TestOutcome]:
        self.started.set()
        self.jobs.extend(jobs)
        await asyncio.sleep(0)
        return {j.id: TestOutcome(id=j.id, passed=True, passed_tests=j.tests) for j in jobs}


class _Checker:
    """Finds a type error on subtotal's body, once the sandbox run has begun."""

    available = True
    languages = ("python",)

    def __init__(self, sandbox: _Sandbox) -> None:
        self.sandbox = sandbox

    async def check(self, files: Mapping[str, str], targets: Sequence[str]) -> list[TypeIssue]:
        await asyncio.wait_for(self.sandbox.started.wait(), WAIT_FOR_THE_SANDBOX_S)
        lines = files["src/shop/pricing.py"].splitlines()
        line = next(i for i, text in enumerate(lines, 1) if "sum(prices)" in text)
        return [TypeIssue("src/shop/pricing.py", line, "Incompatible return value [return-value]")]


async def _validate_subtotal_and_discount(sandbox: _Sandbox) -> dict[str, ValidationResult]:
    validator = LocalBatchValidator(Workspace(codebase()), sandbox, _Checker(sandbox))
    candidates = [
        Candidate(SUBTOTAL.id, 1, GOOD[SUBTOTAL.id]),
        Candidate(DISCOUNT.id, 1, GOOD[DISCOUNT.id]),
    ]
    return await validator.validate(1, 0, candidates)


async def test_the_sandbox_run_starts_before_the_type_check_ends() -> None:
    sandbox = _Sandbox()
    results = await _validate_subtotal_and_discount(sandbox)

    assert {j.id for j in sandbox.jobs} == {SUBTOTAL.id, DISCOUNT.id}
    assert results[DISCOUNT.id].passed
    assert [c.name for c in results[DISCOUNT.id].checks][-1] == "tests"
    failed = results[SUBTOTAL.id]
    assert not failed.passed
    # the sandbox passed its tests, but a type error ends the result at ``types``
    assert [(c.name, c.passed) for c in failed.checks][-1] == ("types", False)
    assert "tests" not in [c.name for c in failed.checks]


async def test_parsing_and_rendering_run_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # For 800 atoms on a busy machine a batch's parsing and rendering held the operator's event
    # loop for seconds (its Lease renewal too): they run in worker threads.
    import mge.validation.codebase as module

    threads: set[int] = set()
    real = module._assembled

    def recording(*args: Any) -> Any:
        threads.add(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(module, "_assembled", recording)
    results = await _validate_subtotal_and_discount(_Sandbox())
    assert results[DISCOUNT.id].passed
    assert threads and threading.get_ident() not in threads
