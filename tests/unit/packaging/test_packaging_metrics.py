"""mge.metrics: each recording function moves the right series, on a fresh registry per test."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from mge import metrics as mm


@pytest.fixture
def m() -> mm.Metrics:
    return mm.Metrics()


def value(m: mm.Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_projects_by_phase_sets_and_zeroes_phases_that_went_away(m: mm.Metrics) -> None:
    mm.set_projects_by_phase({"Executing": 2, "Reviewing": 1}, m=m)
    mm.set_projects_by_phase({"Completed": 3}, m=m)
    assert value(m, "mge_projects", phase="Completed") == 3
    assert value(m, "mge_projects", phase="Executing") == 0
    assert value(m, "mge_projects", phase="Reviewing") == 0


def test_atoms_by_state_per_project_and_forget(m: mm.Metrics) -> None:
    mm.set_atoms_by_state("a", {"passed": 5, "failed": 1}, m=m)
    mm.set_atoms_by_state("b", {"passed": 7}, m=m)
    mm.set_atoms_by_state("a", {"passed": 6}, m=m)
    assert value(m, "mge_atoms", project="a", state="passed") == 6
    assert value(m, "mge_atoms", project="a", state="failed") == 0
    mm.forget_project("a", m=m)
    assert value(m, "mge_atoms", project="a", state="passed") is None
    assert value(m, "mge_atoms", project="b", state="passed") == 7


def test_attempts_count_retries_from_the_second_attempt(m: mm.Metrics) -> None:
    for number, outcome in [(1, "failed"), (2, "failed"), (3, "passed"), (1, "passed")]:
        mm.record_attempt(number, outcome, m=m)  # type: ignore[arg-type]
    assert value(m, "mge_atom_attempts_total", outcome="failed") == 2
    assert value(m, "mge_atom_attempts_total", outcome="passed") == 2
    assert value(m, "mge_atom_retries_total") == 2


def test_validation_pass_rate_per_level_comes_from_the_counters(m: mm.Metrics) -> None:
    for passed in (True, True, True, False):
        mm.record_validation(1, passed, m=m)
    mm.record_validation(4, False, m=m)
    ok = value(m, "mge_validations_total", level="1", result="passed") or 0
    bad = value(m, "mge_validations_total", level="1", result="failed") or 0
    assert ok / (ok + bad) == 0.75
    assert value(m, "mge_validations_total", level="4", result="failed") == 1


def test_llm_requests_tokens_and_cost_by_model(m: mm.Metrics) -> None:
    mm.observe_llm_request(
        "sonnet",
        cached=False,
        input_tokens=100,
        output_tokens=20,
        cache_read_tokens=50,
        cost_usd=0.01,
        m=m,
    )
    mm.observe_llm_request("sonnet", cached=True, m=m)
    assert value(m, "mge_llm_requests_total", model="sonnet", cache="miss") == 1
    assert value(m, "mge_llm_requests_total", model="sonnet", cache="hit") == 1
    assert value(m, "mge_llm_tokens_total", model="sonnet", kind="input") == 100
    assert value(m, "mge_llm_tokens_total", model="sonnet", kind="cache_read") == 50
    assert value(m, "mge_llm_tokens_total", model="sonnet", kind="cache_write") is None
    assert value(m, "mge_llm_cost_usd_total", model="sonnet") == pytest.approx(0.01)


def test_sandbox_jobs_duration_and_failure_reasons(m: mm.Metrics) -> None:
    mm.observe_sandbox_job(12.0, m=m)
    mm.observe_sandbox_job(3.0, failed_reason="OOMKilled", m=m)
    mm.observe_sandbox_job(4.0, failed_reason="Error: exit code 3 in container", m=m)
    assert value(m, "mge_sandbox_job_duration_seconds_count", outcome="succeeded") == 1
    assert value(m, "mge_sandbox_job_duration_seconds_sum", outcome="failed") == 7.0
    assert value(m, "mge_sandbox_job_failures_total", reason="OOMKilled") == 1
    assert value(m, "mge_sandbox_job_failures_total", reason="Error") == 1


def test_time_reconcile_counts_an_exception_as_error(m: mm.Metrics) -> None:
    with mm.time_reconcile("project", m=m):
        pass
    with pytest.raises(RuntimeError), mm.time_reconcile("project", m=m):
        raise RuntimeError("boom")
    assert value(m, "mge_reconcile_duration_seconds_count", kind="project", outcome="ok") == 1
    assert value(m, "mge_reconcile_duration_seconds_count", kind="project", outcome="error") == 1


@given(st.text(max_size=200))
def test_reason_labels_are_bounded_single_words(reason: str) -> None:
    label = mm.reason_label(reason)
    assert 0 < len(label) <= mm.MAX_REASON_CHARS
    assert not any(c.isspace() for c in label)


def test_the_exposition_parses_and_names_follow_conventions(m: mm.Metrics) -> None:
    mm.record_attempt(1, "passed", m=m)
    mm.observe_llm_request("m", cached=False, cost_usd=1.0, m=m)
    families = {f.name: f for f in text_string_to_metric_families(mm.render(m).decode())}
    assert all(name.startswith("mge_") for name in families)
    assert families["mge_atom_attempts"].type == "counter"
    assert families["mge_reconcile_duration_seconds"].type == "histogram"
    assert families["mge_llm_cost_usd"].type == "counter"


def test_the_module_stays_free_of_kubernetes_imports() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mge.metrics, mge.logs; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('kopf', 'kubernetes', 'chromadb')]; "
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_start_from_env_is_off_unless_a_port_is_set(m: mm.Metrics) -> None:
    from mge.errors import ConfigError

    assert mm.start_from_env({}, m=m) is None
    assert mm.start_from_env({"MGE_METRICS_PORT": "0"}, m=m) is None
    with pytest.raises(ConfigError, match="MGE_METRICS_PORT"):
        mm.start_from_env({"MGE_METRICS_PORT": "http"}, m=m)
    with pytest.raises(ConfigError, match=r"1\.\.65535"):
        mm.start_from_env({"MGE_METRICS_PORT": "70000"}, m=m)
