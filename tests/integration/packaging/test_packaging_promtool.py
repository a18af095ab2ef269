"""The /metrics endpoint as served over HTTP passes `promtool check metrics` (Prometheus's own
linter: naming conventions, units, HELP/TYPE), with every metric family holding samples."""

from __future__ import annotations

import shutil
import socket
import subprocess
import urllib.request

import pytest

from mge import metrics as mm

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> str:
    """A populated registry served by start_from_env on a free port; returns the page."""
    m = mm.Metrics()
    mm.set_projects_by_phase({"Executing": 2, "Reviewing": 1}, m=m)
    mm.set_atoms_by_state("inventory-lib", {"passed": 40, "failed": 2, "review": 6}, m=m)
    mm.record_attempt(1, "failed", m=m)
    mm.record_attempt(2, "passed", m=m)
    for level in (1, 2, 3, 4):
        mm.record_validation(level, True, m=m)
    mm.observe_llm_request(
        "claude-sonnet-4-5",
        cached=False,
        input_tokens=900,
        output_tokens=120,
        cache_read_tokens=4000,
        cost_usd=0.004,
        m=m,
    )
    mm.observe_llm_request("claude-sonnet-4-5", cached=True, m=m)
    mm.observe_sandbox_job(14.2, m=m)
    mm.observe_sandbox_job(3.0, failed_reason="OOMKilled", m=m)
    with mm.time_reconcile("project", m=m):
        pass
    port = free_port()
    assert mm.start_from_env({"MGE_METRICS_PORT": str(port)}, m=m) == port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return str(r.read().decode())


def test_promtool_check_metrics_passes(served: str) -> None:
    proc = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=served, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stdout + proc.stderr


def test_every_metric_family_is_served(served: str) -> None:
    for name in (
        "mge_projects",
        "mge_atoms",
        "mge_atom_attempts_total",
        "mge_atom_retries_total",
        "mge_validations_total",
        "mge_llm_requests_total",
        "mge_llm_tokens_total",
        "mge_llm_cost_usd_total",
        "mge_sandbox_job_duration_seconds_bucket",
        "mge_sandbox_job_failures_total",
        "mge_reconcile_duration_seconds_bucket",
    ):
        assert f"\n{name}{{" in served or f"\n{name} " in served, name


def test_promtool_would_catch_a_bad_name() -> None:
    bad = "# HELP mge_bad_counter x\n# TYPE mge_bad_counter counter\nmge_bad_counter 1\n"
    proc = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=bad, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and "_total" in proc.stdout + proc.stderr
