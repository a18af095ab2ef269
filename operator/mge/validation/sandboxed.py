"""TestRunner over the sandbox batch format (mge.models.sandbox): jobs → one SandboxBatch.

Each :class:`~mge.validation.runner.TestJob` becomes one :class:`SandboxItem` (its own folder;
files every job of the batch shares with the same content go into ``sharedFiles`` once). The
item runs a small Python driver: import the job's modules (an import failure is reported as
such, with its traceback), then pytest on the job's test node ids with a JUnit report. The
runner that executes the batch is injected — locally the process sandbox, in the cluster a
Kubernetes Job running ``mge sandbox run``.

JavaScript and TypeScript jobs run ``node --test`` on their tests' files (no driver: Node
writes a JUnit report, and TypeScript runs with its types stripped); each test id
(``path::name``) is matched with the report's case of that name. A job whose tests are in
several languages (the L4 run of a Python + TypeScript project) runs as one item per language
and its outcome is the merge of theirs.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
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
from mge.sandbox.toolchains import PYTEST_OPTIONS
from mge.validation.codebase import TEST_ID_SEPARATOR, language_of
from mge.validation.runner import TestJob, TestOutcome
from mge.validation.source import SourceLanguage

BatchRunner = Callable[[SandboxBatch], Awaitable[SandboxResult]]
"""Runs a SandboxBatch in isolation (e.g. the local sandbox runner)."""

IMPORT_MARKER = "MGE-IMPORT-ERROR"
RESULTS_MARKER = "MGE-RESULTS "
MESSAGE_BUDGET = 5000
"""Characters of failure text the driver reports for all tests together (the sandbox keeps
only the last TAIL_BYTES (64 KiB) of stderr)."""
PYTEST_ARGS: tuple[str, ...] = (*PYTEST_OPTIONS, "--rootdir=.")

# The driver every Python item runs (python -s -c). It is the only code MGE adds to what runs
# in the sandbox: import the modules, run pytest on the node ids with a small plugin that
# collects each test's outcome, and print them as one JSON line at the end of stderr.
DRIVER = """\
import importlib, json, os, sys, traceback
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
class Collect:
    def __init__(self):
        self.results = {{}}
    def pytest_runtest_logreport(self, report):
        if report.failed or (report.when == "call" and report.nodeid not in self.results):
            self.results[report.nodeid] = [report.outcome, report.longreprtext[-{limit}:]]
    def pytest_collectreport(self, report):
        if report.failed:
            key = report.nodeid or "<collection>"
            self.results[key] = ["error", report.longreprtext[-{limit}:]]
collect = Collect()
code = pytest.main([*{args!r}, "--", *tests], plugins=[collect])
sys.stderr.write("\\n{results}" + json.dumps(collect.results) + "\\n")
sys.exit(code)
"""

_FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (\S+?)(?: - .*)?$", re.M)
MAX_ID_CHARS = 128
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_batch_numbers = count(1)


def driver_command(modules: Sequence[str], tests: Sequence[str]) -> list[str]:
    """The argv of one Python item: import ``modules``, then pytest ``tests`` (pure)."""
    limit = max(200, MESSAGE_BUDGET // max(1, len(tests)))
    script = DRIVER.format(
        modules=tuple(modules),
        tests=tuple(tests),
        args=PYTEST_ARGS,
        marker=IMPORT_MARKER,
        results=RESULTS_MARKER,
        limit=limit,
    )
    return ["python", "-s", "-c", script]


def item_id(job_id: str) -> str:
    """A sandbox-safe item id for a job id (``NAME_PATTERN``)."""
    safe = (_SAFE.sub("-", job_id).strip("-.") or "job")[:MAX_ID_CHARS]
    if not re.match(NAME_PATTERN, safe):
        safe = ("j" + safe)[:MAX_ID_CHARS]
    return safe


def split_shared(jobs: Sequence[TestJob]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Files shared once and each job's own files, so that shared + own = the job's files (pure).

    A path every job has is shared in its most common version (the first job's on a tie); a job
    whose version differs carries it as its own, and the sandbox writes it over the shared one.
    Sharing only files identical in every job would copy each module a batch touches into every
    item (every item has its own candidate in one module and the base version of the others):
    items × modules touched × module size, past the 1 MiB ConfigMap limit at a few hundred atoms.
    """
    if not jobs:
        return {}, []
    shared: dict[str, str] = {}
    for path in jobs[0].files:
        versions = [j.files.get(path) for j in jobs]
        if any(v is None for v in versions):
            continue
        # most_common keeps first-seen order among equal counts: the first job's on a tie
        shared[path] = Counter(v for v in versions if v is not None).most_common(1)[0][0]
    own = [{p: t for p, t in j.files.items() if shared.get(p) != t} for j in jobs]
    return shared, own


def test_file(test_id: str) -> str:
    """The file of a test id (``path::name`` → ``path``)."""
    return test_id.split(TEST_ID_SEPARATOR, 1)[0]


def _item_for(job: TestJob, iid: str, files: dict[str, str]) -> SandboxItem:
    if job.language == "python":
        return SandboxItem(atom_id=iid, files=files, command=driver_command(job.imports, job.tests))
    paths = sorted({test_file(t) for t in job.tests})
    if not paths:  # nothing to run: check that the job's files load at all
        sources = sorted(p for p in job.files if language_of(p) == job.language)
        load = "".join(f"await import({('./' + p)!r});" for p in sources)
        return SandboxItem(
            atom_id=iid, files=files, command=["node", "--input-type=module", "-e", load]
        )
    return SandboxItem(atom_id=iid, files=files, test_files=paths)


def build_batch(
    jobs: Sequence[TestJob], limits: SandboxLimits, batch_id: str
) -> tuple[SandboxBatch, dict[str, str]]:
    """The SandboxBatch for ``jobs`` (all of one language) and the item id → job id map (pure)."""
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
        items.append(_item_for(job, iid, files))
    batch = SandboxBatch(
        batch_id=item_id(batch_id),
        language=jobs[0].language if jobs else "python",
        limits=limits,
        shared_files=shared,
        items=items,
    )
    return batch, ids


def parse_results(stderr: str) -> dict[str, tuple[str, str]]:
    """The driver's per-test results (node id → (outcome, failure text)) from stderr."""
    at = stderr.rfind(RESULTS_MARKER)
    if at < 0:
        return {}
    line = stderr[at + len(RESULTS_MARKER) :].split("\n", 1)[0]
    try:
        data = json.loads(line)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, tuple[str, str]] = {}
    for key, value in data.items():
        if isinstance(value, list) and len(value) == 2:
            out[str(key)] = (str(value[0]), str(value[1]))
    return out


def strip_results(text: str) -> str:
    """``text`` without the driver's results line (it is machine-read, not for people)."""
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith(RESULTS_MARKER))


def _same_test(key: str, test_id: str) -> bool:
    """True when a reported node id is ``test_id`` or one of its parametrized cases
    (``test_id[...]``), allowing for a different rootdir prefix."""
    base = key.split("[", 1)[0] if key.endswith("]") else key
    return base == test_id or base.endswith("/" + test_id) or test_id.endswith("/" + base)


def _lookup(reported: dict[str, tuple[str, str]], test_id: str) -> tuple[str, str] | None:
    """The outcome of ``test_id``: its own, or the worst of its parametrized cases."""
    cases = [v for k, v in reported.items() if _same_test(k, test_id)]
    if not cases:
        return None
    bad = [v for v in cases if v[0] != "passed"]
    if not bad:
        return "passed", ""
    return bad[0][0], "\n".join(message for _, message in bad)


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
    reported = parse_results(stderr)
    failed: list[str] = []
    passed: list[str] = []
    details: dict[str, str] = {}
    for test_id in job.tests:
        found = _lookup(reported, test_id)
        if found is None:
            continue
        status, message = found
        if status == "passed":
            passed.append(test_id)
        else:
            failed.append(test_id)
            details[test_id] = message
    collection = [m for k, (st, m) in reported.items() if st == "error" and "::" not in k]
    if not reported:
        failed = [m for m in _FAILED_LINE.findall(stdout) if m in job.tests]
    elif collection and not failed:
        failed = list(job.tests)
        details = dict.fromkeys(failed, "\n".join(collection))
    timed_out = atom.status in (AtomStatus.TIMEOUT, AtomStatus.CPU_LIMIT)
    ok = atom.passed and not failed
    return TestOutcome(
        id=job.id,
        passed=ok,
        failed_tests=tuple(failed),
        passed_tests=tuple(passed),
        output=strip_results(stdout + ("\n" + stderr if stderr else "")).strip(),
        timed_out=timed_out,
        error="" if ok or (failed and details) else strip_results(atom.detail),
        details=details,
    )


_NODE_NOISE = re.compile(
    r"^\s*(at .*\(node:.*\)|at (async )?(Promise\.all|node:).*|code: 'ERR_|failureType: |"
    r"generatedMessage: |diff: |exitCode: |signal: |[}\]]\s*$|\] \{$)"
)


def trim_node_failure(text: str) -> str:
    """A ``node --test`` failure cut to what the atom's author needs: the assertion, actual and
    expected, and the stack frames in the project's files (Node's own frames and the runner's
    error wrapper go; pure)."""
    head, sep, cause = text.partition("cause: ")
    first = head.strip().splitlines()[0] if head.strip() else ""
    body = cause if sep else head
    kept = [ln.strip() for ln in body.splitlines() if not _NODE_NOISE.match(ln)]
    lines = [first] if sep and first else []
    for ln in kept:
        if ln or (lines and lines[-1]):
            lines.append(ln)
    return "\n".join(lines).strip()


def script_outcome_of(job: TestJob, atom: AtomOutcome) -> TestOutcome:
    """A TestOutcome for a JavaScript/TypeScript ``job`` from its ``node --test`` run (pure).

    A test id whose name has no case in the report (its file did not load, or the run was cut
    short) counts as failed with the run's detail; cases of other tests in the same files (other
    atoms' tests, which may reach unwritten code) do not count.
    """
    by_name: dict[str, list[str]] = {}
    for case in atom.cases:
        bucket = by_name.setdefault(case.name, [])
        if case.status in ("failed", "error"):
            bucket.append(trim_node_failure(case.message) or case.status)
        elif not bucket:
            bucket.append("")
    failed: list[str] = []
    passed: list[str] = []
    details: dict[str, str] = {}
    for test_id in job.tests:
        name = test_id.split(TEST_ID_SEPARATOR, 1)[-1]
        messages = [m for m in by_name.get(name, []) if m]
        if name in by_name and not messages:
            passed.append(test_id)
            continue
        failed.append(test_id)
        details[test_id] = "\n".join(messages) if messages else atom.detail
    timed_out = atom.status in (AtomStatus.TIMEOUT, AtomStatus.CPU_LIMIT)
    judged_by_cases = atom.status in (AtomStatus.PASSED, AtomStatus.FAILED) and bool(job.tests)
    ok = not failed and (judged_by_cases or atom.passed)
    return TestOutcome(
        id=job.id,
        passed=ok,
        failed_tests=tuple(failed),
        passed_tests=tuple(passed),
        output=(atom.stdout_tail + ("\n" + atom.stderr_tail if atom.stderr_tail else "")).strip(),
        timed_out=timed_out,
        error="" if ok or (failed and judged_by_cases) else atom.detail,
        details=details,
    )


def split_by_language(job: TestJob) -> list[TestJob]:
    """``job`` as one job per language of its tests (itself when they share one; pure)."""
    groups: dict[SourceLanguage, list[str]] = {}
    for t in job.tests:
        groups.setdefault(language_of(test_file(t)) or job.language, []).append(t)
    if len(groups) <= 1:
        only = next(iter(groups), job.language)
        return [job if only == job.language else replace(job, language=only)]
    return [
        replace(
            job,
            id=f"{job.id}{TEST_ID_SEPARATOR}{lang}",
            tests=tuple(tests),
            imports=job.imports if lang == "python" else (),
            language=lang,
        )
        for lang, tests in groups.items()
    ]


def merge_outcomes(job_id: str, parts: Sequence[TestOutcome]) -> TestOutcome:
    """One outcome from the outcomes of a job's per-language parts (pure)."""
    if len(parts) == 1:
        return replace(parts[0], id=job_id)
    return TestOutcome(
        id=job_id,
        passed=all(p.passed for p in parts),
        import_error="\n".join(p.import_error for p in parts if p.import_error),
        failed_tests=tuple(t for p in parts for t in p.failed_tests),
        passed_tests=tuple(t for p in parts for t in p.passed_tests),
        output="\n".join(p.output for p in parts if p.output),
        timed_out=any(p.timed_out for p in parts),
        error="\n".join(p.error for p in parts if p.error),
        details={k: v for p in parts for k, v in p.details.items()},
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
        """An outcome per job id: one batch per language, run one after the other."""
        parts = {j.id: split_by_language(j) for j in jobs}
        by_language: dict[SourceLanguage, list[TestJob]] = {}
        for part in (p for ps in parts.values() for p in ps):
            by_language.setdefault(part.language, []).append(part)
        results: dict[str, TestOutcome] = {}
        for language, group in by_language.items():
            results.update(await self._run_batch(language, group))
        return {
            job_id: merge_outcomes(job_id, [results[p.id] for p in ps])
            for job_id, ps in parts.items()
        }

    async def _run_batch(
        self, language: SourceLanguage, jobs: list[TestJob]
    ) -> dict[str, TestOutcome]:
        batch, ids = build_batch(jobs, self.limits, f"{self.prefix}-{next(_batch_numbers)}")
        result = await self.run_batch(batch)
        by_job = {j.id: j for j in jobs}
        read = outcome_of if language == "python" else script_outcome_of
        outcomes: dict[str, TestOutcome] = {}
        for atom in result.outcomes:
            job_id = ids.get(atom.atom_id)
            if job_id is not None:
                outcomes[job_id] = read(by_job[job_id], atom)
        for j in jobs:
            outcomes.setdefault(
                j.id, TestOutcome(j.id, passed=False, error="the sandbox returned no outcome")
            )
        return outcomes
