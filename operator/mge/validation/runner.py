"""The seam to the sandbox: jobs that run generated code and tests, and what came back.

Validation never runs generated code itself. It describes each run as a :class:`TestJob`
(a file tree, modules to import, test node ids) and hands a list of them to a
:class:`TestRunner`. Locally the runner is the process sandbox (mge.sandbox); in the cluster
the operator turns the same jobs into one Kubernetes Job per batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mge.validation.source import SourceLanguage


@dataclass(frozen=True)
class TestJob:
    """One isolated run: write ``files`` into a fresh folder, import ``imports``, run ``tests``.

    ``tests`` are node ids (``path::name``); an empty tuple runs no test (import check only).
    """

    __test__ = False  # not a pytest class

    id: str
    files: Mapping[str, str]
    tests: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    language: SourceLanguage = "python"


@dataclass(frozen=True)
class TestOutcome:
    """What one job did: per-test verdicts, the import verdict and the (capped) output."""

    __test__ = False

    id: str
    passed: bool
    import_error: str = ""
    failed_tests: tuple[str, ...] = ()
    passed_tests: tuple[str, ...] = ()
    output: str = ""
    timed_out: bool = False
    error: str = ""
    """Why the run as a whole failed (limit hit, crash), beyond test failures."""
    details: Mapping[str, str] = field(default_factory=dict)
    """Failure text per failing test id."""


class TestRunner(Protocol):
    """Runs jobs in isolation; one failing or runaway job never affects another."""

    async def run(self, jobs: Sequence[TestJob]) -> dict[str, TestOutcome]:
        """An outcome for every job id."""
        ...
