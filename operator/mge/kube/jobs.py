"""Sandbox validation on Kubernetes: one Job per batch per level, results from the pod log.

:class:`KubeBatchValidator` is the operator's :class:`~mge.validation.batch.BatchValidator`: it
runs the same static checks and type check as the local validator and ships the batch's test
runs as one Job (input in a ConfigMap, ``batch.json``). The Job's pod runs
``mge sandbox run /input/batch.json --isolation=pod`` and prints one
:class:`~mge.models.sandbox.SandboxResult` JSON document as the last line of its log; the
operator reads at most :data:`MAX_LOG_BYTES` of it.

Idempotence: the Job name is deterministic (project, generation, level, batch, attempt round) and
carries the batch fingerprint as an annotation; AlreadyExists reads the Job that is there, and a
finished Job's results are read, never re-run. A restarted operator therefore creates no second
Job for the same batch.

Failures of the pod itself (OOMKilled, DeadlineExceeded, Evicted, image pull errors, a missing
or unreadable result) become failures of every atom of the batch with that reason — they feed the
retry loop like a failing test; a Project is never stuck on a dead pod.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from mge.kube import children
from mge.kube.client import KubeClient
from mge.models.execution import ValidationResult
from mge.models.project import API_GROUP, ExecutionSpec
from mge.models.sandbox import (
    AtomOutcome,
    AtomStatus,
    SandboxBatch,
    SandboxItem,
    SandboxLimits,
    SandboxResult,
)
from mge.validation.batch import Candidate, LocalBatchValidator, Workspace, batch_fingerprint
from mge.validation.runner import TestJob, TestOutcome
from mge.validation.typecheck import TypeChecker

MAX_LOG_BYTES = 4 * 1024 * 1024
"""Most bytes of a sandbox pod's log the operator reads (the result is the last line)."""
MAX_CONFIGMAP_BYTES = 900 * 1024
"""A ConfigMap holds at most 1 MiB; a batch document larger than this is refused."""
POLL_FIRST_SECONDS = 0.5
POLL_MAX_SECONDS = 5.0
"""Polling a Job backs off from the first to the max interval (doubling)."""
ANNOTATION_FINGERPRINT = f"{API_GROUP}/batch-fingerprint"

IMAGE_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
"""Container waiting reasons that mean the sandbox image cannot be had."""
CONFIG_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError"})


# ---------------------------------------------------------------------------- pure: batch in


def _test_files(tests: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for node in tests:
        path = node.split("::", 1)[0]
        if path not in seen:
            seen.append(path)
    return seen


def sandbox_item(job: TestJob) -> SandboxItem:
    """The sandbox runner's item for one validation TestJob (files, tests or an import)."""
    files = dict(job.files)
    if job.tests:
        return SandboxItem(atom_id=job.id, files=files, test_files=_test_files(job.tests))
    if job.imports and job.language == "python":
        command = ["python", "-c", "import " + ", ".join(job.imports)]
    else:
        command = ["python", "-c", "pass"] if job.language == "python" else ["node", "-e", ""]
    return SandboxItem(atom_id=job.id, files=files, command=command)


def sandbox_batch(batch_id: str, jobs: Sequence[TestJob], execution: ExecutionSpec) -> SandboxBatch:
    """One SandboxBatch for the jobs of one Kubernetes Job (one language per batch)."""
    language = jobs[0].language if jobs else "python"
    limits = SandboxLimits(timeout_seconds=float(execution.atom_timeout_seconds))
    return SandboxBatch(
        batch_id=batch_id,
        language=language,
        limits=limits,
        items=[sandbox_item(j) for j in jobs],
    )


# ---------------------------------------------------------------------------- pure: results out


def parse_result(log: str) -> SandboxResult | None:
    """The SandboxResult printed as the last JSON line of a pod log; None if there is none."""
    for line in reversed(log.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            return SandboxResult.model_validate(json.loads(line))
        except (ValueError, ValidationError):
            continue
    return None


def test_outcome(job: TestJob, outcome: AtomOutcome) -> TestOutcome:
    """Validation's view of one atom's sandbox outcome."""
    failed = outcome.failures()
    passed_cases = [c for c in outcome.cases if c.status == "passed"]

    def node(name: str, classname: str) -> str:
        return f"{classname}::{name}" if classname else name

    output = (outcome.stdout_tail + "\n" + outcome.stderr_tail).strip()
    import_error = ""
    if outcome.status is AtomStatus.ERROR and not outcome.cases and job.imports:
        import_error = outcome.detail or output or "import failed"
    error = ""
    if outcome.status not in (AtomStatus.PASSED, AtomStatus.FAILED) and not import_error:
        error = f"{outcome.status.value}: {outcome.detail}".rstrip(": ")
    return TestOutcome(
        id=job.id,
        passed=outcome.passed,
        import_error=import_error,
        failed_tests=tuple(node(c.name, c.classname) for c in failed),
        passed_tests=tuple(node(c.name, c.classname) for c in passed_cases),
        output=output,
        timed_out=outcome.status is AtomStatus.TIMEOUT,
        error=error,
        details={node(c.name, c.classname): c.message for c in failed},
    )


def failed_outcomes(jobs: Sequence[TestJob], reason: str) -> dict[str, TestOutcome]:
    """Every job of a batch failed for one reason (the pod died, no result came back)."""
    return {
        j.id: TestOutcome(
            id=j.id, passed=False, error=reason, timed_out=reason.startswith("DeadlineExceeded")
        )
        for j in jobs
    }


def outcomes_from_result(jobs: Sequence[TestJob], result: SandboxResult) -> dict[str, TestOutcome]:
    """Per-job outcomes from a batch result; an atom missing from it failed with a reason."""
    out: dict[str, TestOutcome] = {}
    for j in jobs:
        try:
            out[j.id] = test_outcome(j, result.outcome(j.id))
        except KeyError:
            out[j.id] = TestOutcome(
                id=j.id, passed=False, error="NoResult: the sandbox reported nothing for it"
            )
    return out


def job_finished(job: Mapping[str, Any]) -> str | None:
    """'Complete', 'Failed' or None (still running) from a Job's conditions."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed"):
            return str(c["type"])
    return None


def pod_failure(pod: Mapping[str, Any]) -> str | None:
    """Why a sandbox pod failed, as ``Reason: message`` — None if nothing says it failed."""
    status = pod.get("status") or {}
    if status.get("reason") == "Evicted":
        return f"Evicted: {status.get('message', 'the pod was evicted')}"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in IMAGE_REASONS:
            return f"ImagePull: {waiting['reason']}: {waiting.get('message', '')}".rstrip(": ")
        if waiting.get("reason") in CONFIG_REASONS:
            return f"{waiting['reason']}: {waiting.get('message', '')}".rstrip(": ")
        term = state.get("terminated") or {}
        if term and term.get("exitCode", 0) != 0:
            reason = term.get("reason") or "Error"
            if reason == "OOMKilled":
                return "OOMKilled: the sandbox pod exceeded its memory limit"
            msg = term.get("message") or f"exit code {term.get('exitCode')}"
            return f"{reason}: {msg}"
    if status.get("phase") == "Failed":
        return f"PodFailed: {status.get('reason') or status.get('message') or 'unknown'}"
    return None


def job_failure(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> str:
    """The reason a failed Job failed: a pod's own reason first, else the Job condition's."""
    for pod in pods:
        reason = pod_failure(pod)
        if reason:
            return reason
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Failed" and c.get("status") == "True":
            reason = c.get("reason") or "JobFailed"
            if reason == "DeadlineExceeded":
                return "DeadlineExceeded: the batch ran past activeDeadlineSeconds"
            return f"{reason}: {c.get('message', '')}".rstrip(": ")
    return "JobFailed: the sandbox Job failed without a reason"


def stuck_pod(pods: Sequence[Mapping[str, Any]]) -> str | None:
    """A reason when a still-running Job's pod can never succeed (image pull, bad config)."""
    for pod in pods:
        reason = pod_failure(pod)
        if reason and reason.split(":", 1)[0] in ("ImagePull", *CONFIG_REASONS, "Evicted"):
            return reason
    return None


# ---------------------------------------------------------------------------- I/O


@dataclass(frozen=True)
class JobTarget:
    """Where and for whom sandbox Jobs are made."""

    namespace: str
    project: str
    owner: dict[str, Any]
    """The Project body (for the owner reference)."""
    generation: int
    execution: ExecutionSpec


class KubeJobRunner:
    """Runs the test jobs of one batch as one Kubernetes Job and reads the result back."""

    def __init__(
        self,
        kube: KubeClient,
        target: JobTarget,
        *,
        poll_first: float = POLL_FIRST_SECONDS,
        poll_max: float = POLL_MAX_SECONDS,
    ) -> None:
        self.kube = kube
        self.target = target
        self.poll_first = poll_first
        self.poll_max = poll_max
        self.jobs_created = 0
        """Jobs this runner created (AlreadyExists does not count)."""

    def job_name(self, level: int, batch: int, attempt: int, fingerprint: str) -> str:
        """Deterministic Job/ConfigMap name; the fingerprint keeps different contents apart."""
        t = self.target
        base = children.batch_name(t.project, t.generation, level, batch, attempt)
        return children.child_name(base, fingerprint[:6])

    async def run_batch(
        self, level: int, batch: int, attempt: int, jobs: Sequence[TestJob]
    ) -> dict[str, TestOutcome]:
        """An outcome for every job: from the pod's result, or the pod's failure reason."""
        if not jobs:
            return {}
        t = self.target
        fingerprint = _jobs_fingerprint(jobs)
        name = self.job_name(level, batch, attempt, fingerprint)
        document = sandbox_batch(name, jobs, t.execution).model_dump_json(by_alias=True)
        if len(document.encode()) > MAX_CONFIGMAP_BYTES:
            return failed_outcomes(
                jobs, f"BatchTooLarge: {len(document)} bytes exceed the ConfigMap limit"
            )
        cm = children.batch_configmap(
            name=name, namespace=t.namespace, project=t.project, owner=t.owner, batch_json=document
        )
        await self.kube.create_or_get(cm)
        body = children.sandbox_job(
            name=name,
            namespace=t.namespace,
            project=t.project,
            owner=t.owner,
            level=level,
            batch=batch,
            atoms=len(jobs),
            execution=t.execution,
        )
        body["metadata"]["annotations"] = {ANNOTATION_FINGERPRINT: fingerprint}
        job, created = await self.kube.create_or_get(body)
        self.jobs_created += int(created)
        job = await self._wait(name)
        pods = await self.kube.list("Pod", t.namespace, f"job-name={name}")
        if job_finished(job) != "Complete":
            return failed_outcomes(jobs, job_failure(job, pods))
        return await self._read(jobs, pods)

    async def _wait(self, name: str) -> dict[str, Any]:
        t = self.target
        deadline = time.monotonic() + (
            t.execution.atom_timeout_seconds * 10 + children.JOB_SLACK_SECONDS * 2
        )
        delay = self.poll_first
        while True:
            job = await self.kube.get("Job", t.namespace, name)
            if job is None:
                return {"status": {"conditions": [_failed("JobGone", "the Job was deleted")]}}
            if job_finished(job):
                return job
            pods = await self.kube.list("Pod", t.namespace, f"job-name={name}")
            stuck = stuck_pod(pods)
            if stuck:
                return {**job, "status": {"conditions": [_failed("PodStuck", stuck)]}}
            if time.monotonic() > deadline:
                return {**job, "status": {"conditions": [_failed("DeadlineExceeded", "")]}}
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.poll_max)

    async def _read(
        self, jobs: Sequence[TestJob], pods: Sequence[Mapping[str, Any]]
    ) -> dict[str, TestOutcome]:
        succeeded = [p for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"]
        if not succeeded:
            return failed_outcomes(jobs, "NoResult: the Job's pod is gone")
        pod = succeeded[0]["metadata"]
        log = await self.kube.pod_log(self.target.namespace, pod["name"], MAX_LOG_BYTES)
        result = parse_result(log)
        if result is None:
            return failed_outcomes(jobs, "NoResult: the pod log held no sandbox result")
        return outcomes_from_result(jobs, result)


def _failed(reason: str, message: str) -> dict[str, str]:
    return {"type": "Failed", "status": "True", "reason": reason, "message": message}


def _jobs_fingerprint(jobs: Sequence[TestJob]) -> str:
    blob = json.dumps(
        [[j.id, sorted(j.files.items()), list(j.tests), list(j.imports)] for j in jobs],
        sort_keys=True,
    )
    return batch_fingerprint([Candidate(atom_id="batch", attempt=0, code=blob)])


class _BoundRunner:
    """A TestRunner bound to one (level, batch, attempt) of a KubeJobRunner."""

    def __init__(self, runner: KubeJobRunner, level: int, batch: int, attempt: int) -> None:
        self._runner, self._level, self._batch, self._attempt = runner, level, batch, attempt

    async def run(self, jobs: Sequence[TestJob]) -> dict[str, TestOutcome]:
        return await self._runner.run_batch(self._level, self._batch, self._attempt, jobs)


class KubeBatchValidator:
    """BatchValidator running each batch's sandbox work as one Kubernetes Job."""

    def __init__(
        self, workspace: Workspace, runner: KubeJobRunner, typechecker: TypeChecker | None = None
    ) -> None:
        self.workspace = workspace
        self.runner = runner
        self.typechecker = typechecker

    async def validate(
        self, level: int, batch_index: int, candidates: list[Candidate]
    ) -> dict[str, ValidationResult]:
        """L1 results; the batch's tests ran in the Job for (level, batch, attempt round)."""
        attempt = max((c.attempt for c in candidates), default=1)
        bound = _BoundRunner(self.runner, level, batch_index, attempt)
        local = LocalBatchValidator(self.workspace, bound, self.typechecker)
        return await local.validate(level, batch_index, candidates)
