"""Prometheus metrics of MGE: what the stages and the operator record, and how it is served.

One :class:`Metrics` object owns every metric on one ``CollectorRegistry`` (tests make a fresh
one; the process uses :data:`METRICS` on prometheus-client's default registry). The stages and
the operator call the small ``record_*`` / ``observe_*`` / ``set_*`` functions below; none of them
does I/O, and this module imports neither kopf nor a Kubernetes client, so any layer may call it.

Names follow the Prometheus conventions: an ``mge_`` prefix, base units in the name (``_seconds``,
``_usd``), ``_total`` on counters (added by prometheus-client), and labels with bounded values
(phases, states, levels, models, outcomes; a free-text failure reason is cut to its first word by
:func:`reason_label`). Ratios such as the validation pass rate per level are computed in queries
from the ``passed``/``failed`` counters (see the Grafana dashboard in charts/mge-operator), not
stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

from mge.config import OperatorSettings

__all__ = [
    "DEFAULT_METRICS_ADDRESS",
    "DEFAULT_METRICS_PORT",
    "METRICS",
    "Metrics",
    "forget_project",
    "observe_llm_request",
    "observe_reconcile",
    "observe_sandbox_job",
    "reason_label",
    "record_attempt",
    "record_validation",
    "render",
    "serve",
    "set_atoms_by_state",
    "set_leader",
    "set_projects_by_phase",
    "start_from_env",
    "start_metrics_server",
    "time_reconcile",
]

DEFAULT_METRICS_PORT = 9090
"""Port of the operator's /metrics endpoint (the chart's metrics Service targets it)."""
DEFAULT_METRICS_ADDRESS = "0.0.0.0"
"""Listen address of the /metrics endpoint (all interfaces: the Service reaches the pod IP)."""

RECONCILE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Reconcile durations, seconds: a handler should take milliseconds (long work is in workers)."""
SANDBOX_JOB_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
"""Sandbox Job durations, seconds: from a few atoms (seconds) to a big level (many minutes)."""
MAX_REASON_CHARS = 40
"""Longest failure-reason label value; longer reasons are cut (labels must stay bounded)."""
UNKNOWN = "unknown"

TokenKind = Literal["input", "output", "cache_read", "cache_write"]
AttemptOutcome = Literal["passed", "failed", "error"]
SandboxOutcome = Literal["succeeded", "failed"]


@dataclass
class Metrics:
    """Every MGE metric, registered on ``registry``."""

    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        r = self.registry
        self.projects = Gauge(
            "mge_projects",
            "Projects by phase (as the operator last saw them).",
            ["phase"],
            registry=r,
        )
        self.atoms = Gauge(
            "mge_atoms", "Atoms of a project by state.", ["project", "state"], registry=r
        )
        self.leader = Gauge(
            "mge_operator_leader",
            "1 while this replica holds the leader-election Lease (handles Projects), 0 standby.",
            registry=r,
        )
        self.attempts = Counter(
            "mge_atom_attempts", "Atom generation attempts by outcome.", ["outcome"], registry=r
        )
        self.retries = Counter(
            "mge_atom_retries", "Attempts after the first one for an atom (retries).", registry=r
        )
        self.validations = Counter(
            "mge_validations",
            "Validation runs by level (1 atom, 2 module, 3 component, 4 system) and result.",
            ["level", "result"],
            registry=r,
        )
        self.llm_requests = Counter(
            "mge_llm_requests",
            "LLM requests by model; cache=hit when the response cache answered (no call made).",
            ["model", "cache"],
            registry=r,
        )
        self.llm_tokens = Counter(
            "mge_llm_tokens",
            "LLM tokens by model and kind (input, output, cache_read, cache_write).",
            ["model", "kind"],
            registry=r,
        )
        self.llm_cost = Counter(
            "mge_llm_cost_usd", "LLM spend by model, US dollars.", ["model"], registry=r
        )
        self.sandbox_jobs = Histogram(
            "mge_sandbox_job_duration_seconds",
            "Wall-clock time of sandbox Jobs (create to finish), by outcome.",
            ["outcome"],
            buckets=SANDBOX_JOB_BUCKETS,
            registry=r,
        )
        self.sandbox_failures = Counter(
            "mge_sandbox_job_failures",
            "Sandbox Jobs whose pod failed, by reason (OOMKilled, DeadlineExceeded, ...).",
            ["reason"],
            registry=r,
        )
        self.reconciles = Histogram(
            "mge_reconcile_duration_seconds",
            "Duration of one reconcile of a resource kind, by outcome.",
            ["kind", "outcome"],
            buckets=RECONCILE_BUCKETS,
            registry=r,
        )


METRICS = Metrics(REGISTRY)
"""The process's metrics, on prometheus-client's default registry (with process metrics)."""


def reason_label(reason: str | None) -> str:
    """A bounded label value for a free-text failure reason: its first word, at most 40 chars.

    ``"Error: exit 3"`` → ``"Error"``, ``"ImagePull: not found"`` → ``"ImagePull"``.
    """
    if not reason:
        return UNKNOWN
    word = reason.strip().split(None, 1)[0] if reason.strip() else ""
    word = word.rstrip(":,;.")
    return word[:MAX_REASON_CHARS] or UNKNOWN


def set_projects_by_phase(counts: Mapping[str, int], m: Metrics = METRICS) -> None:
    """Set the number of Projects per phase; phases missing from ``counts`` drop to 0."""
    for labels in list(_label_values(m.projects)):
        if labels[0] not in counts:
            m.projects.labels(*labels).set(0)
    for phase, n in counts.items():
        m.projects.labels(phase).set(n)


def set_atoms_by_state(project: str, counts: Mapping[str, int], m: Metrics = METRICS) -> None:
    """Set the number of a project's atoms per state (pending, passed, failed, review, ...)."""
    for labels in list(_label_values(m.atoms)):
        if labels[0] == project and labels[1] not in counts:
            m.atoms.labels(*labels).set(0)
    for state, n in counts.items():
        m.atoms.labels(project, state).set(n)


def set_leader(leading: bool, m: Metrics = METRICS) -> None:
    """Whether this replica is the active one (holds the Lease)."""
    m.leader.set(1 if leading else 0)


def forget_project(project: str, m: Metrics = METRICS) -> None:
    """Drop a deleted project's series (keeps the label set bounded)."""
    for labels in list(_label_values(m.atoms)):
        if labels[0] == project:
            m.atoms.remove(*labels)


def record_attempt(number: int, outcome: AttemptOutcome, m: Metrics = METRICS) -> None:
    """Count one attempt at an atom; attempt ``number`` > 1 also counts as a retry."""
    m.attempts.labels(outcome).inc()
    if number > 1:
        m.retries.inc()


def record_validation(level: int, passed: bool, m: Metrics = METRICS) -> None:
    """Count one validation run at ``level`` (1–4) and whether it passed."""
    m.validations.labels(str(level), "passed" if passed else "failed").inc()


def observe_llm_request(
    model: str,
    *,
    cached: bool,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    cost_usd: float = 0.0,
    m: Metrics = METRICS,
) -> None:
    """Count one LLM request (``cached``: the response cache answered, nothing was paid) with its
    tokens and cost. Give the numbers of a ``mge.models.Usage`` as keyword arguments."""
    model = model or UNKNOWN
    m.llm_requests.labels(model, "hit" if cached else "miss").inc()
    tokens: dict[TokenKind, int] = {
        "input": input_tokens,
        "output": output_tokens,
        "cache_read": cache_read_tokens,
        "cache_write": cache_write_tokens,
    }
    for kind, n in tokens.items():
        if n > 0:
            m.llm_tokens.labels(model, kind).inc(n)
    if cost_usd > 0:
        m.llm_cost.labels(model).inc(cost_usd)


def observe_sandbox_job(
    seconds: float, *, failed_reason: str | None = None, m: Metrics = METRICS
) -> None:
    """Record one finished sandbox Job: its duration and, if its pod failed, why."""
    outcome: SandboxOutcome = "failed" if failed_reason is not None else "succeeded"
    m.sandbox_jobs.labels(outcome).observe(max(seconds, 0.0))
    if failed_reason is not None:
        m.sandbox_failures.labels(reason_label(failed_reason)).inc()


def observe_reconcile(kind: str, seconds: float, *, ok: bool, m: Metrics = METRICS) -> None:
    """Record one reconcile of ``kind`` (project, atomreview) that took ``seconds``."""
    m.reconciles.labels(kind, "ok" if ok else "error").observe(max(seconds, 0.0))


@contextmanager
def time_reconcile(kind: str, m: Metrics = METRICS) -> Iterator[None]:
    """``with time_reconcile("project"): ...`` — times the block; an exception counts as error."""
    start = time.perf_counter()
    ok = False
    try:
        yield
        ok = True
    finally:
        observe_reconcile(kind, time.perf_counter() - start, ok=ok, m=m)


def render(m: Metrics = METRICS) -> bytes:
    """The text exposition of ``m``'s registry (what /metrics serves)."""
    return generate_latest(m.registry)


def start_metrics_server(
    port: int = DEFAULT_METRICS_PORT,
    address: str = DEFAULT_METRICS_ADDRESS,
    m: Metrics = METRICS,
) -> None:
    """Serve ``m``'s registry over HTTP on ``address:port`` (a daemon thread; call once)."""
    start_http_server(port, addr=address, registry=m.registry)


def serve(port: int, m: Metrics = METRICS) -> int | None:
    """Start the /metrics server on ``port`` (``settings.operator.metrics_port``, which the
    chart sets); returns the port, or None when it is 0 (off). The one line the operator's
    startup hook needs."""
    if not port:
        return None
    start_metrics_server(port, m=m)
    return port


def start_from_env(env: Mapping[str, str], m: Metrics = METRICS) -> int | None:
    """:func:`serve` on the ``MGE_METRICS_PORT`` of ``env``, parsed as the settings parse it
    (same ConfigError) — for scripts and tests that are handed an environment."""
    return serve(OperatorSettings.from_env(env).metrics_port, m=m)


def _label_values(metric: Gauge) -> Iterator[tuple[str, ...]]:
    """The label tuples a labelled gauge currently has children for."""
    for sample_metric in metric.collect():
        seen: set[tuple[str, ...]] = set()
        for sample in sample_metric.samples:
            key = tuple(sample.labels[name] for name in metric._labelnames)
            if key not in seen:
                seen.add(key)
                yield key
