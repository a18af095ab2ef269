"""The llamacpp provider's pure parts (no compiled llama-cpp-python needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge.errors import ConfigError
from mge.llm.base import LLMRequest
from mge.llm.llamacpp_provider import (
    LlamaCppProvider,
    chat_messages,
    resolve_model_path,
    stop_reason_of,
)


def test_messages_put_the_joined_system_blocks_first() -> None:
    r = LLMRequest(key="k", system=("a", "b"), prompt="p")
    assert chat_messages(r) == [
        {"role": "system", "content": "a\n\nb"},
        {"role": "user", "content": "p"},
    ]


@pytest.mark.parametrize(
    ("finish", "stop"), [("stop", "end_turn"), ("length", "max_tokens"), ("other", "other")]
)
def test_finish_reasons_are_translated(finish: str, stop: str) -> None:
    assert stop_reason_of(finish) == stop
    assert stop_reason_of(None) is None


def test_a_gguf_path_is_taken_as_is(tmp_path: Path) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    assert resolve_model_path(str(model)) == model
    assert LlamaCppProvider(model).model == "tiny"


def test_a_missing_gguf_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no GGUF file at"):
        resolve_model_path(str(tmp_path / "nope.gguf"))


def test_the_model_is_loaded_lazily_so_a_broken_file_fails_on_first_use(tmp_path: Path) -> None:
    model = tmp_path / "broken.gguf"
    model.write_bytes(b"not a model")
    provider = LlamaCppProvider(model)  # no error yet: nothing is loaded at construction
    assert "broken.gguf" in repr(provider)
