"""Sandbox validation on Kubernetes: one Job per batch per level, results from the pod log.

The cluster runs the same sandbox batch format as ``mge run``: a
:class:`~mge.validation.sandboxed.SandboxTestRunner` turns validation's test jobs into one
:class:`~mge.models.sandbox.SandboxBatch` (the same driver, the same result parsing as locally),
and :class:`KubeJobRunner` runs that batch as one Kubernetes Job: input in a ConfigMap
(``batch.json``), the pod runs ``mge sandbox run /input/batch.json --isolation=pod`` and prints
one :class:`~mge.models.sandbox.SandboxResult` JSON document as the last JSON line of its log;
the operator reads at most :data:`MAX_LOG_BYTES` of it.

- :class:`KubeBatchValidator` is the operator's :class:`~mge.validation.batch.BatchValidator`
  (L1): static checks and the type check in the operator as locally, the batch's tests as the
  Job of (level, batch, highest attempt number in the batch).
- :meth:`KubeJobRunner.suite_runner` is the TestRunner for module, integration and system
  validation (L2–L4): one Job per suite run, so no generated code runs in the operator process.

Idempotence: a Job's name is deterministic — (project, generation, level, batch, highest
attempt in the batch) or ``suite`` — plus a fingerprint of the batch's content; AlreadyExists
reads the Job that is there and a finished Job's result is read, never re-run. A restarted
operator therefore creates no second Job for the same work.

Failures of the pod itself (OOMKilled, DeadlineExceeded, Evicted, image pull errors, a missing
or unreadable result) become failures of every atom of the batch with that reason — they feed the
retry loop like a failing test; a Project is never stuck on a dead pod.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from mge import metrics
from mge.kube import children
from mge.kube.client import KubeClient
from mge.kube.job_timing import JobTiming, checks_started
from mge.models.execution import ValidationResult
from mge.models.project import API_GROUP, ExecutionSpec
from mge.models.sandbox import AtomOutcome, AtomStatus, SandboxBatch, SandboxResult
from mge.validation.batch import Candidate, LocalBatchValidator, Workspace
from mge.validation.local import sandbox_limits
from mge.validation.sandboxed import BatchRunner, SandboxTestRunner
from mge.validation.typecheck import TypeChecker

log = logging.getLogger("mge.operator.jobs")

MAX_LOG_BYTES = 4 * 1024 * 1024
"""Most bytes of a sandbox pod's log the operator reads (the result is the last line)."""
MAX_CONFIGMAP_BYTES = 900 * 1024
"""A ConfigMap holds at most 1 MiB; a batch document larger than this is refused."""
POLL_FIRST_SECONDS = 0.5
POLL_MAX_SECONDS = 5.0
"""The operator watches a Job's pod (then, once the pod failed, the Job); each watch request
ends after a timeout that backs off from the first to the max interval (doubling), and the Job
and its pods are read again then (a bounded fallback poll: a lost event, a stuck pod or the
deadline are seen within one interval)."""
FINGERPRINT_CHARS = 10
"""Hex characters of the content fingerprint in a Job name (different content, different Job)."""
SUITE_SLOT = "suite"
"""Name part of the Jobs of module / integration / system runs (L2–L4)."""
ANNOTATION_FINGERPRINT = f"{API_GROUP}/batch-fingerprint"

IMAGE_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
"""Container waiting reasons that mean the sandbox image cannot be had."""
CONFIG_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError"})


# ---------------------------------------------------------------------------- pure: batch in


def canonical_batch(batch: SandboxBatch) -> SandboxBatch:
    """``batch`` with positional item ids (``i0``, ``i1``, …) and no batch id of its own.

    Callers number their batches and jobs with in-process counters (``hierarchy-7``), which a
    restarted operator counts afresh; the Job's content must depend only on the work itself.
    """
    items = [i.model_copy(update={"atom_id": f"i{k}"}) for k, i in enumerate(batch.items)]
    return batch.model_copy(update={"batch_id": "batch", "items": items})


def batch_fingerprint(batch: SandboxBatch) -> str:
    """A hash of a batch's content (of its canonical form: ids do not count)."""
    doc = canonical_batch(batch).model_dump(mode="json", by_alias=True)
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def restore_ids(batch: SandboxBatch, result: SandboxResult) -> SandboxResult:
    """The result of a canonical batch with the caller's item ids put back (by position)."""
    names = {f"i{k}": i.atom_id for k, i in enumerate(batch.items)}
    outcomes = [
        o.model_copy(update={"atom_id": names[o.atom_id]})
        for o in result.outcomes
        if o.atom_id in names
    ]
    return result.model_copy(update={"batch_id": batch.batch_id, "outcomes": outcomes})


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


def _status_for(reason: str) -> AtomStatus:
    head = reason.split(":", 1)[0]
    if head == "DeadlineExceeded":
        return AtomStatus.TIMEOUT
    if head == "OOMKilled":
        return AtomStatus.OOM
    return AtomStatus.ERROR


def failed_result(batch: SandboxBatch, reason: str) -> SandboxResult:
    """Every item of a batch failed for one reason (the pod died, no result came back)."""
    status = _status_for(reason)
    return SandboxResult(
        batch_id=batch.batch_id,
        isolation="pod",
        outcomes=[
            AtomOutcome(atom_id=i.atom_id, status=status, passed=False, detail=reason)
            for i in batch.items
        ],
    )


def complete_result(batch: SandboxBatch, result: SandboxResult) -> SandboxResult:
    """``result`` with an outcome for every item: one the pod did not report failed NoResult."""
    reported = {o.atom_id for o in result.outcomes}
    missing = [
        AtomOutcome(
            atom_id=i.atom_id,
            status=AtomStatus.ERROR,
            passed=False,
            detail="NoResult: the sandbox reported nothing for it",
        )
        for i in batch.items
        if i.atom_id not in reported
    ]
    if not missing:
        return result
    return result.model_copy(update={"outcomes": [*result.outcomes, *missing]})


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


def ends_wait(event: str, job: Mapping[str, Any]) -> bool:
    """Whether a watch event on a Job ends the wait: the Job finished, or it was deleted."""
    return event == "DELETED" or job_finished(job) is not None


def pod_ends_wait(event: str, pod: Mapping[str, Any]) -> bool:
    """Whether a watch event on a Job's pod ends the wait on the pod: it ended (Succeeded or
    Failed), it went away, or something says it cannot succeed."""
    phase = (pod.get("status") or {}).get("phase")
    return event == "DELETED" or phase in ("Succeeded", "Failed") or pod_failure(pod) is not None


def wait_verdict(
    job: Mapping[str, Any] | None, pods: Sequence[Mapping[str, Any]], past_deadline: bool
) -> dict[str, Any] | None:
    """The Job to return from a wait (its conditions say how it ended), or None to wait on.

    A deleted Job fails as JobGone, a pod that can never succeed as PodStuck, a wait past the
    runner's deadline as DeadlineExceeded; a finished Job is returned as it is. A Job whose pod
    Succeeded is complete (PodSucceeded): the Job controller, which batches pod updates for
    about a second, will say so too — a sandbox Job has one pod, no retries
    (``backoffLimit: 0``) and one completion, so that pod's success is the Job's.
    """
    if job is None:
        return {"status": {"conditions": [_failed("JobGone", "the Job was deleted")]}}
    if job_finished(job):
        return dict(job)
    if any((p.get("status") or {}).get("phase") == "Succeeded" for p in pods):
        status = dict(job.get("status") or {})
        done = {"type": "Complete", "status": "True", "reason": "PodSucceeded", "message": ""}
        return {**job, "status": {**status, "conditions": [done]}}
    stuck = stuck_pod(pods)
    if stuck:
        return {**job, "status": {"conditions": [_failed("PodStuck", stuck)]}}
    if past_deadline:
        return {**job, "status": {"conditions": [_failed("DeadlineExceeded", "")]}}
    return None


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


@dataclass(frozen=True)
class Slot:
    """Which Job of a Project a batch is: an L1 batch (level, batch, attempt) or a suite run."""

    level: int = -1
    batch: int = 0
    attempt: int = 0

    @property
    def is_suite(self) -> bool:
        """True for module / integration / system runs."""
        return self.level < 0


class KubeJobRunner:
    """Runs sandbox batches as Kubernetes Jobs (one per batch) and reads the results back."""

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
        self.watch_ends: Counter[str] = Counter()
        """How this runner's Job watches ended: event, timeout, gone (410), dropped."""

    def job_name(self, slot: Slot, fingerprint: str) -> str:
        """Deterministic Job/ConfigMap name; the fingerprint keeps different contents apart."""
        t = self.target
        fp = fingerprint[:FINGERPRINT_CHARS]
        if slot.is_suite:
            return children.child_name(t.project, f"g{t.generation}", SUITE_SLOT, fp)
        # The batch index is a label, not part of the name: the executor numbers batches in
        # the order they start, which a restarted operator may not repeat.
        return children.child_name(
            t.project, f"g{t.generation}", f"l{slot.level}", f"a{slot.attempt}", fp
        )

    def batch_runner(self, slot: Slot) -> BatchRunner:
        """A BatchRunner (SandboxBatch → SandboxResult) bound to ``slot``."""

        async def run(batch: SandboxBatch) -> SandboxResult:
            return await self.run_sandbox(slot, batch)

        return run

    def test_runner(self, slot: Slot) -> SandboxTestRunner:
        """A TestRunner whose every ``run`` is one Job of ``slot``."""
        limits = sandbox_limits(self.target.execution)
        return SandboxTestRunner(self.batch_runner(slot), limits, prefix=self.target.project)

    def suite_runner(self) -> SandboxTestRunner:
        """The TestRunner for module, integration and system runs (one Job per run)."""
        return self.test_runner(Slot())

    async def run_sandbox(self, slot: Slot, batch: SandboxBatch) -> SandboxResult:
        """An outcome for every item: from the pod's result, or the pod's failure reason."""
        t = self.target
        fingerprint = batch_fingerprint(batch)
        name = self.job_name(slot, fingerprint)
        timing = JobTiming(name, slot.level, slot.attempt, len(batch.items))
        shipped = canonical_batch(batch).model_copy(update={"batch_id": name})
        document = shipped.model_dump_json(by_alias=True)
        if len(document.encode()) > MAX_CONFIGMAP_BYTES:
            return failed_result(
                batch, f"BatchTooLarge: {len(document)} bytes exceed the ConfigMap limit"
            )
        cm = children.batch_configmap(
            name=name, namespace=t.namespace, project=t.project, owner=t.owner, batch_json=document
        )
        timing.configmap_sent = timing.now()
        await self.kube.create_or_get(cm)
        timing.configmap_done = timing.now()
        body = children.sandbox_job(
            name=name,
            namespace=t.namespace,
            project=t.project,
            owner=t.owner,
            level=slot.level,
            batch=slot.batch,
            atoms=len(batch.items),
            execution=t.execution,
        )
        body["metadata"]["annotations"] = {ANNOTATION_FINGERPRINT: fingerprint}
        timing.job_sent = timing.now()
        made, created = await self.kube.create_or_get(body)
        timing.job_done = timing.now()
        timing.created = created
        self.jobs_created += int(created)
        waited = time.monotonic()
        job = await self._wait(made, len(batch.items), timing.watch_ends)
        timing.noticed = timing.now()
        pods = await self.kube.list("Pod", t.namespace, f"job-name={name}")
        timing.finish(job, pods)
        if job_finished(job) != "Complete":
            reason = job_failure(job, pods)
            metrics.observe_sandbox_job(time.monotonic() - waited, failed_reason=reason[:60])
            timing.outcome = reason[:60]
            timing.emit()
            return failed_result(batch, reason)
        metrics.observe_sandbox_job(time.monotonic() - waited)
        result = restore_ids(batch, await self._read(shipped, pods))
        timing.result_read = timing.now()
        timing.outcome = "Complete"
        timing.emit()
        return result

    async def _wait(self, made: dict[str, Any], items: int, ends: dict[str, int]) -> dict[str, Any]:
        """Wait (``made``: the Job as created or read) until the Job finishes; see POLL_*_SECONDS.
        ``ends`` counts how this Job's watches ended (as :attr:`watch_ends` does for all).

        The wait watches the Job's pod first: its success is the Job's, a second before the
        Job controller writes it (:func:`wait_verdict`). Once the pod failed or went away, the
        Job's own conditions say how it ended, and the wait watches the Job."""
        t = self.target
        name = made["metadata"]["name"]
        deadline = time.monotonic() + (
            t.execution.atom_timeout_seconds * max(items, 1) + children.JOB_SLACK_SECONDS * 2
        )
        interval = self.poll_first
        job: dict[str, Any] | None = made
        pods: list[dict[str, Any]] = []
        fresh = True  # just created or read: no pod can be stuck yet, watch at once
        pod_over = False  # a pod failed or went away: only the Job says how it ended
        while True:
            if not fresh:
                job = await self.kube.get("Job", t.namespace, name)
                pods = []
                if job is not None and not job_finished(job):
                    pods = await self.kube.list("Pod", t.namespace, f"job-name={name}")
            verdict = wait_verdict(job, pods, time.monotonic() > deadline)
            if verdict is not None:
                return verdict
            pod_over = pod_over or any(pod_ends_wait("MODIFIED", p) for p in pods)
            if pod_over:
                version = str(((job or {}).get("metadata") or {}).get("resourceVersion") or "")
                end = await self.kube.watch_job(t.namespace, name, version, interval, ends_wait)
            else:
                end = await self.kube.watch_pods(
                    t.namespace, f"job-name={name}", interval, pod_ends_wait
                )
            self.watch_ends[end.ended_by] += 1
            ends[end.ended_by] = ends.get(end.ended_by, 0) + 1
            if end.object is not None:
                deleted = end.event == "DELETED"
                if pod_over:
                    ended = wait_verdict(None if deleted else end.object, [], False)
                else:
                    ended = wait_verdict(job, [] if deleted else [end.object], False)
                    pod_over = ended is None
                if ended is not None:
                    return ended
            if end.dropped:
                log.info("watch on Job %s dropped (%s); reading it again", name, end.dropped)
            # a timeout (the fallback poll), 410 Gone, a dropped watch or a pod that failed:
            # read the Job again
            fresh = False
            interval = min(interval * 2, self.poll_max)

    async def _read(self, batch: SandboxBatch, pods: Sequence[Mapping[str, Any]]) -> SandboxResult:
        succeeded = [p for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"]
        if not succeeded:
            return failed_result(batch, "NoResult: the Job's pod is gone")
        pod = succeeded[0]["metadata"]
        log = await self.kube.pod_log(self.target.namespace, pod["name"], MAX_LOG_BYTES)
        result = parse_result(log)
        if result is None:
            return failed_result(batch, "NoResult: the pod log held no sandbox result")
        return complete_result(batch, result)


def _failed(reason: str, message: str) -> dict[str, str]:
    return {"type": "Failed", "status": "True", "reason": reason, "message": message}


class KubeBatchValidator:
    """BatchValidator running each batch's tests as one Kubernetes Job (L1)."""

    def __init__(
        self, workspace: Workspace, runner: KubeJobRunner, typechecker: TypeChecker | None = None
    ) -> None:
        self.workspace = workspace
        self.runner = runner
        self.typechecker = typechecker

    async def validate(
        self,
        level: int,
        batch_index: int,
        candidates: list[Candidate],
        visible: Mapping[str, str] | None = None,
    ) -> dict[str, ValidationResult]:
        """L1 results; the batch's tests ran in the Job for (level, batch, highest attempt)."""
        attempt = max((c.attempt for c in candidates), default=1)
        tests = self.runner.test_runner(Slot(level, batch_index, attempt))
        local = LocalBatchValidator(self.workspace, tests, self.typechecker)
        with checks_started():  # the Job's timing line says when this batch's checks began
            return await local.validate(level, batch_index, candidates, visible)
