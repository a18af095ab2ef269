"""TestRunner over the sandbox batch format (mge.models.sandbox): jobs → one SandboxBatch.

Each :class:`~mge.validation.runner.TestJob` becomes one :class:`SandboxItem` (its own folder;
files every job of the batch shares with the same content go into ``sharedFiles`` once). The
item runs a small Python driver: import the job's modules (an import failure is reported as
such, with its traceback), then pytest on the job's test node ids with a JUnit report. The
runner that executes the batch is injected — locally the process sandbox, in the cluster a
Kubernetes Job running ``mge sandbox run``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from itertools import count

from mge.models.sandbox import (
    NAME_PATTERN,
    AtomOutcome,
    AtomStatus,
    SandboxBatch,
    SandboxItem,
    SandboxLimits,
    SandboxResult,
)
from mge.validation.codebase import TEST_ID_SEPARATOR
from mge.validation.runner import TestJob, TestOutcome

BatchRunner = Callable[[SandboxBatch], Awaitable[SandboxResult]]
"""Runs a SandboxBatch in isolation (e.g. the local sandbox runner)."""

IMPORT_MARKER = "MGE-IMPORT-ERROR"
JUNIT_FILE = ".mge-junit.xml"
PYTEST_ARGS: tuple[str, ...] = (
    "-q",
    "--no-header",
    "-p",
    "no:cacheprovider",
    "--tb=short",
    "-rfE",
    f"--junitxml={JUNIT_FILE}",
)

# The driver every Python item runs (python -c). Kept tiny: it is the only code MGE adds to
# what runs in the sandbox.
DRIVER = """\
import importlib, os, sys, traceback
sys.path[:0] = [p for p in ("src", ".") if os.path.isdir(p)]
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except BaseException:
        print("{marker} " + name, flush=True)
        traceback.print_exc()
        sys.exit(3)
tests = {tests!r}
if not tests:
    sys.exit(0)
import pytest
sys.exit(pytest.main([*{args!r}, "--", *tests]))
"""

_FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (\S+?)(?: - .*)?$", re.M)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_batch_numbers = count(1)


def driver_command(modules: Sequence[str], tests: Sequence[str]) -> list[str]:
    """The argv of one Python item: import ``modules``, then pytest ``tests`` (pure)."""
    script = DRIVER.format(
        modules=tuple(modules), tests=tuple(tests), args=PYTEST_ARGS, marker=IMPORT_MARKER
    )
    return ["python", "-c", script]


def item_id(job_id: str) -> str:
    """A sandbox-safe item id for a job id (``NAME_PATTERN``)."""
    safe = _SAFE.sub("-", job_id).strip("-.") or "job"
    if not re.match(NAME_PATTERN, safe):
        safe = ("j" + safe)[:128]
    return safe[:128]


def split_shared(jobs: Sequence[TestJob]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Files identical in every job (shared once) and each job's remaining files (pure)."""
    if not jobs:
        return {}, []
    first = jobs[0].files
    shared = {
        path: text
        for path, text in first.items()
        if all(j.files.get(path) == text for j in jobs[1:])
    }
    own = [{p: t for p, t in j.files.items() if shared.get(p) != t} for j in jobs]
    return shared, own


def build_batch(
    jobs: Sequence[TestJob], limits: SandboxLimits, batch_id: str
) -> tuple[SandboxBatch, dict[str, str]]:
    """The SandboxBatch for Python ``jobs`` and the item id → job id map (pure)."""
    shared, own = split_shared(jobs)
    ids: dict[str, str] = {}
    items = []
    for job, files in zip(jobs, own, strict=True):
        iid = item_id(job.id)
        n = 2
        while iid in ids:
            iid = item_id(f"{job.id}-{n}")
            n += 1
        ids[iid] = job.id
        items.append(
            SandboxItem(
                atom_id=iid,
                files=files,
                command=driver_command(job.imports, job.tests),
            )
        )
    batch = SandboxBatch(
        batch_id=item_id(batch_id),
        language="python",
        limits=limits,
        shared_files=shared,
        items=items,
    )
    return batch, ids


def _junit_key(test_id: str) -> tuple[str, str]:
    """(classname, name) pytest writes in JUnit for a node id."""
    path, *rest = test_id.split(TEST_ID_SEPARATOR)
    module = path.removesuffix(".py").replace("/", ".")
    if module.startswith("src."):
        module = module[len("src.") :]
    classes, name = rest[:-1], rest[-1] if rest else ""
    return ".".join([module, *classes]), name


def outcome_of(job: TestJob, atom: AtomOutcome) -> TestOutcome:
    """A TestOutcome for ``job`` from the sandbox's AtomOutcome (pure)."""
    stdout, stderr = atom.stdout_tail, atom.stderr_tail
    if IMPORT_MARKER in stdout:
        module = stdout.split(IMPORT_MARKER, 1)[1].strip().splitlines()[0]
        return TestOutcome(
            id=job.id,
            passed=False,
            import_error=f"importing {module} failed:\n{stderr.strip()}",
            output=stdout + stderr,
        )
    by_key = {_junit_key(t): t for t in job.tests}
    failed: list[str] = []
    passed: list[str] = []
    details: dict[str, str] = {}
    for case in atom.cases:
        test_id = by_key.get((case.classname, case.name))
        if test_id is None:
            continue
        if case.status in ("failed", "error"):
            failed.append(test_id)
            details[test_id] = case.message
        elif case.status == "passed":
            passed.append(test_id)
    if not atom.cases:
        failed = [m for m in _FAILED_LINE.findall(stdout) if m in job.tests]
    timed_out = atom.status in (AtomStatus.TIMEOUT, AtomStatus.CPU_LIMIT)
    ok = atom.passed and not failed
    return TestOutcome(
        id=job.id,
        passed=ok,
        failed_tests=tuple(failed),
        passed_tests=tuple(passed),
        output=(stdout + ("\n" + stderr if stderr else "")).strip(),
        timed_out=timed_out,
        error="" if ok else atom.detail,
        details=details,
    )


class SandboxTestRunner:
    """Runs TestJobs as one SandboxBatch through ``run_batch``."""

    def __init__(
        self,
        run_batch: BatchRunner,
        limits: SandboxLimits | None = None,
        prefix: str = "mge",
    ) -> None:
        self.run_batch = run_batch
        self.limits = limits or SandboxLimits()
        self.prefix = prefix

    async def run(self, jobs: Sequence[TestJob]) -> dict[str, TestOutcome]:
        """An outcome per job id (Python jobs; other languages are reported unsupported)."""
        outcomes: dict[str, TestOutcome] = {}
        python = [j for j in jobs if j.language == "python"]
        for j in jobs:
            if j.language != "python":
                outcomes[j.id] = TestOutcome(
                    j.id, passed=False, error=f"running {j.language} tests is not supported yet"
                )
        if not python:
            return outcomes
        batch, ids = build_batch(python, self.limits, f"{self.prefix}-{next(_batch_numbers)}")
        result = await self.run_batch(batch)
        by_job = {j.id: j for j in python}
        for atom in result.outcomes:
            job_id = ids.get(atom.atom_id)
            if job_id is not None:
                outcomes[job_id] = outcome_of(by_job[job_id], atom)
        for j in python:
            outcomes.setdefault(
                j.id, TestOutcome(j.id, passed=False, error="the sandbox returned no outcome")
            )
        return outcomes
