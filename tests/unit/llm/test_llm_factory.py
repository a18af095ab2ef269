"""make_provider and the API key: where it comes from and where it never shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from mge.config import Settings
from mge.errors import ConfigError
from mge.llm import make_provider
from mge.llm.credentials import load_api_key
from mge.llm.scripted import ScriptedProvider
from mge.models.project import LLMSpec

SECRET = "sk-ant-factory-0123456789abcdef"


def test_scripted_uses_the_given_folder_and_prices_as_the_spec_model(tmp_path: Path) -> None:
    p = make_provider(LLMSpec(provider="scripted", model="claude-sonnet-5-5"), Settings(), tmp_path)
    assert isinstance(p, ScriptedProvider)
    assert (p.recordings_dir, p.priced_as, p.name) == (tmp_path, "claude-sonnet-5-5", "scripted")


def test_scripted_falls_back_to_spec_recordings(tmp_path: Path) -> None:
    spec = LLMSpec(provider="scripted", recordings=str(tmp_path))
    p = make_provider(spec, Settings())
    assert isinstance(p, ScriptedProvider) and p.recordings_dir == tmp_path


def test_scripted_without_recordings_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"spec\.llm\.recordings"):
        make_provider(LLMSpec(provider="scripted"), Settings())


async def test_openai_compatible_provider_is_built_from_the_spec() -> None:
    # Was "not available yet" until issue 9; tests/unit/llm/test_openai_provider.py covers it.
    spec = LLMSpec(provider="openai-compatible", model="qwen", base_url="http://127.0.0.1:9/v1")
    p = make_provider(spec, Settings())
    assert (p.name, p.model) == ("openai-compatible", "qwen")
    await p.aclose()


def test_llamacpp_with_a_missing_gguf_is_a_config_error(tmp_path: Path) -> None:
    spec = LLMSpec(provider="llamacpp", model=str(tmp_path / "absent.gguf"))
    with pytest.raises(ConfigError, match="no GGUF file"):
        make_provider(spec, Settings())


def test_llamacpp_answer_cap_comes_from_settings(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")  # never loaded: the model loads on the first request
    spec = LLMSpec(provider="llamacpp", model=str(gguf))
    assert vars(make_provider(spec, Settings()))["max_output_tokens"] is None
    capped = make_provider(spec, Settings(llamacpp_max_output_tokens=256))
    assert vars(capped)["max_output_tokens"] == 256


def test_llamacpp_answer_cap_below_16_tokens_is_refused() -> None:
    with pytest.raises(ValueError, match="llamacpp_max_output_tokens"):
        Settings(llamacpp_max_output_tokens=8)


async def test_anthropic_provider_takes_spec_and_settings_and_hides_the_key() -> None:
    spec = LLMSpec(provider="anthropic", model="claude-haiku-4-5", base_url="http://127.0.0.1:9")
    settings = Settings(llm_max_retries=2, llm_timeout_seconds=5)
    p = make_provider(spec, settings, api_key=SecretStr(SECRET))
    try:
        assert (p.name, p.model) == ("anthropic", "claude-haiku-4-5")
        assert vars(p)["base_url"] == "http://127.0.0.1:9"
        assert SECRET not in repr(p) and SECRET not in str(p)
        assert SECRET not in repr(vars(p).get("_api_key"))
    finally:
        await p.aclose()


def test_key_from_a_file_wins_over_the_env(tmp_path: Path) -> None:
    f = tmp_path / "key"
    f.write_text(f"  {SECRET}\n")
    key = load_api_key(Settings(anthropic_api_key_file=f), env={"ANTHROPIC_API_KEY": "other"})
    assert key.get_secret_value() == SECRET
    assert SECRET not in repr(key) and SECRET not in str(key)


def test_key_from_the_env() -> None:
    key = load_api_key(Settings(), env={"ANTHROPIC_API_KEY": SECRET})
    assert key.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "ANTHROPIC_API_KEY"),
        ("missing-file", "cannot read"),
        ("empty-file", "is empty"),
    ],
)
def test_no_usable_key_is_a_config_error(tmp_path: Path, setup: str, message: str) -> None:
    f = tmp_path / "key"
    if setup == "empty-file":
        f.write_text("\n")
    settings = Settings(anthropic_api_key_file=None if setup == "none" else f)
    with pytest.raises(ConfigError, match=message):
        load_api_key(settings, env={})
