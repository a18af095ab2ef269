"""Where a sandbox Job's time goes: one ``job-timing`` log line per Job the operator waited on.

Issue 21 (point 3) asks for the few seconds between a batch starting and its results by part.
:class:`JobTiming` collects, on the operator's wall clock (``time.time()``), when the batch's
in-process checks started (set by the L1 validator through :func:`checks_started`), when the
sandbox run began (the checks are done), when the ConfigMap and Job create calls were sent and
returned, when the operator noticed the Job finished (and how its watches on it ended) and when
the result was read; beside them the times the API server reports for the Job's pod (created,
scheduled, container started and finished, from ``metadata``, ``status.conditions`` and
``status.containerStatuses``) and the Job's ``completionTime``. The API's times have one-second
resolution (RFC 3339 without fractions), the operator's are exact.

The line is ``job-timing {json}`` at INFO on ``mge.operator.jobs``; ``benchmarks/level_gap.py``
reads it from the operator log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("mge.operator.jobs")

PREFIX = "job-timing "
"""What a timing line's message starts with (the JSON object follows)."""

_checks_started: ContextVar[float | None] = ContextVar("mge_checks_started", default=None)


@contextmanager
def checks_started() -> Iterator[None]:
    """Mark, for the sandbox Jobs started inside, when their batch's in-process checks began."""
    token = _checks_started.set(time.time())
    try:
        yield
    finally:
        _checks_started.reset(token)


def api_time(text: object) -> float | None:
    """Epoch seconds of an API server timestamp (``2026-12-06T18:14:57Z``); None if absent."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def pod_times(pods: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """The first pod's times as the API reports them: created, scheduled, started, finished."""
    out: dict[str, float | None] = dict.fromkeys(
        ("pod_created", "pod_scheduled", "pod_started", "pod_finished")
    )
    if not pods:
        return out
    pod = min(pods, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp")))
    status = pod.get("status") or {}
    out["pod_created"] = api_time((pod.get("metadata") or {}).get("creationTimestamp"))
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "True":
            out["pod_scheduled"] = api_time(c.get("lastTransitionTime"))
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        term = state.get("terminated") or {}
        running = state.get("running") or {}
        out["pod_started"] = api_time(term.get("startedAt") or running.get("startedAt"))
        out["pod_finished"] = api_time(term.get("finishedAt"))
        break
    return out


@dataclass
class JobTiming:
    """The timestamps of one sandbox Job (epoch seconds; None: did not happen or not known)."""

    job: str
    level: int
    attempt: int
    items: int
    checks_started_at: float | None = field(default_factory=_checks_started.get)
    run_started: float = field(default_factory=time.time)
    configmap_sent: float | None = None
    configmap_done: float | None = None
    job_sent: float | None = None
    job_done: float | None = None
    created: bool = False
    noticed: float | None = None
    result_read: float | None = None
    job_completed: float | None = None
    """The Job's ``status.completionTime`` (API, one-second resolution)."""
    pod: dict[str, float | None] = field(default_factory=dict)
    watch_ends: dict[str, int] = field(default_factory=dict)
    """How the operator's watches on the Job ended: event, timeout, gone, dropped."""
    outcome: str = ""

    @staticmethod
    def now() -> float:
        """The operator's wall clock (what every operator-side field holds)."""
        return time.time()

    def finish(self, job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> None:
        """Take the API's times from the finished Job and its pods."""
        self.job_completed = api_time((job.get("status") or {}).get("completionTime"))
        self.pod = pod_times(pods)

    def emit(self) -> None:
        """Write the ``job-timing`` line."""
        log.info("%s%s", PREFIX, json.dumps(asdict(self), separators=(",", ":")))


def parse_line(line: str) -> dict[str, Any] | None:
    """The timing record in one log line, or None if the line holds none."""
    at = line.find(PREFIX)
    if at < 0:
        return None
    try:
        record: dict[str, Any] = json.loads(line[at + len(PREFIX) :])
    except ValueError:
        return None
    return record
