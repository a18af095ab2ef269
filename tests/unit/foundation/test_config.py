"""Settings: precedence flags > env > file > defaults, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge.config import OperatorSettings, load_settings
from mge.errors import ConfigError


def test_defaults_work_without_any_input(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(__import__("os").environ):
        if k.startswith("MGE_"):
            monkeypatch.delenv(k)
    s = load_settings()
    assert s.llm_concurrency == 100
    assert s.resolved_database_url().startswith("sqlite+aiosqlite:///")
    assert s.resolved_database_url().endswith("/.mge/mge.db")


def test_precedence_flag_over_env_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "mge.yaml"
    cfg.write_text("llm-concurrency: 7\nlog_level: DEBUG\nllm_timeout_seconds: 5\n")
    monkeypatch.setenv("MGE_LLM_CONCURRENCY", "9")
    s = load_settings(cfg)
    assert s.llm_concurrency == 9  # env beats file
    assert s.log_level == "DEBUG"  # file beats default
    s = load_settings(cfg, llm_concurrency=11)
    assert s.llm_concurrency == 11  # flag beats env


@pytest.mark.parametrize(
    ("env", "value", "field", "hint"),
    [
        ("MGE_LLM_CONCURRENCY", "0", "llm_concurrency", "greater than or equal to 1"),
        ("MGE_LLM_CONCURRENCY", "many", "llm_concurrency", "valid integer"),
        ("MGE_SANDBOX", "docker", "sandbox", "'auto', 'bwrap', 'unshare' or 'unsandboxed'"),
        ("MGE_LOG_LEVEL", "LOUD", "log_level", "'DEBUG'"),
    ],
)
def test_bad_env_value_names_field_and_range(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, field: str, hint: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as e:
        load_settings()
    assert field in str(e.value)
    assert hint in str(e.value)
    assert repr(value) in str(e.value)


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "mge.yaml"
    cfg.write_text("llm_concurency: 3\n")
    with pytest.raises(ConfigError, match="llm_concurency"):
        load_settings(cfg)


def test_missing_and_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(bad)


def test_relative_workdir_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(workdir=Path("state"))
    assert s.workdir == tmp_path / "state"


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for k in list(os.environ):
        if k.startswith("MGE_") or k == "KUBECONFIG":
            monkeypatch.delenv(k)


def test_operator_section_defaults_and_the_one_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clean_env(monkeypatch)
    s = load_settings()
    assert s.operator == OperatorSettings()
    assert s.operator.reconcile_interval_seconds == 30.0
    assert s.operator.job_poll_max_seconds == 5.0
    assert s.operator.metrics_port == 0
    monkeypatch.setenv("MGE_DATABASE_URL", "sqlite:///op.db")  # one field for CLI and operator
    assert load_settings().resolved_database_url() == "sqlite:///op.db"


OPERATOR_ENV_CASES = [
    # env variable, value, field, parsed
    ("MGE_RECONCILE_INTERVAL", "1", "reconcile_interval_seconds", 1.0),
    ("MGE_RECONCILE_INTERVAL", "2.5", "reconcile_interval_seconds", 2.5),
    ("MGE_JOB_POLL_MAX_SECONDS", "1", "job_poll_max_seconds", 1.0),
    ("MGE_METRICS_PORT", "9090", "metrics_port", 9090),
    ("MGE_METRICS_PORT", "", "metrics_port", 0),  # empty = unset, as a chart's value: ""
    ("MGE_RECORDINGS_ROOT", "/recordings", "recordings_root", Path("/recordings")),
    ("MGE_OPERATOR_NAMESPACE", "mge-system", "namespace", "mge-system"),
    ("KUBECONFIG", "/k/config", "kubeconfig", Path("/k/config")),
]


@pytest.mark.parametrize(("env", "value", "field", "parsed"), OPERATOR_ENV_CASES)
def test_operator_section_reads_the_chart_env_names(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, field: str, parsed: object
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv(env, value)
    assert getattr(load_settings().operator, field) == parsed
    assert getattr(OperatorSettings.from_env({env: value}), field) == parsed


OPERATOR_ERROR_CASES = [
    # env variable, value, what the message must hold
    ("MGE_RECONCILE_INTERVAL", "soon", "valid number"),
    ("MGE_RECONCILE_INTERVAL", "0", "greater than 0"),
    ("MGE_JOB_POLL_MAX_SECONDS", "-1", "greater than 0"),
    ("MGE_METRICS_PORT", "http", "valid integer"),
    ("MGE_METRICS_PORT", "70000", "1..65535"),
]


@pytest.mark.parametrize(("env", "value", "hint"), OPERATOR_ERROR_CASES)
def test_bad_operator_value_names_section_field_env_and_range(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, hint: str
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as e:
        load_settings()
    with pytest.raises(ConfigError) as direct:
        OperatorSettings.from_env({env: value})
    assert str(e.value) == str(direct.value)  # the same message on every path
    assert "operator." in str(e.value) and f"({env})" in str(e.value)
    assert hint in str(e.value) and repr(value) in str(e.value)


def test_bad_top_level_value_names_its_env_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("MGE_LLM_TIMEOUT_SECONDS", "never")
    with pytest.raises(ConfigError, match=r"llm_timeout_seconds \(MGE_LLM_TIMEOUT_SECONDS\)"):
        load_settings()


def test_operator_precedence_flag_over_env_over_file_per_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_env(monkeypatch)
    cfg = tmp_path / "mge.yaml"
    cfg.write_text(
        "operator:\n  reconcile-interval-seconds: 7\n  job_poll_max_seconds: 3\n"
        "  metrics_port: 9100\n"
    )
    s = load_settings(cfg)
    assert (s.operator.reconcile_interval_seconds, s.operator.job_poll_max_seconds) == (7, 3)
    monkeypatch.setenv("MGE_RECONCILE_INTERVAL", "9")
    s = load_settings(cfg)
    assert s.operator.reconcile_interval_seconds == 9  # env beats file
    assert s.operator.job_poll_max_seconds == 3  # the file's other fields stay
    s = load_settings(cfg, operator={"reconcile_interval_seconds": 11, "metrics_port": None})
    assert s.operator.reconcile_interval_seconds == 11  # flag beats env
    assert s.operator.metrics_port == 9100  # an unset flag is no flag


def test_unknown_operator_key_in_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "mge.yaml"
    cfg.write_text("operator:\n  reconcile_intervall: 3\n")
    with pytest.raises(ConfigError, match=r"operator\.reconcile_intervall"):
        load_settings(cfg)


def test_the_operator_runs_with_the_settings_the_cli_hands_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mge.kube import settings as kube_settings

    _clean_env(monkeypatch)
    monkeypatch.setattr(kube_settings, "_chosen", None)
    monkeypatch.setenv("MGE_RECONCILE_INTERVAL", "4")
    assert kube_settings.startup_settings().operator.reconcile_interval_seconds == 4
    chosen = load_settings(operator={"reconcile_interval_seconds": 2})
    kube_settings.use(chosen)
    assert kube_settings.startup_settings() is chosen
