"""Settings: precedence flags > env > file > defaults, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge.config import load_settings
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
