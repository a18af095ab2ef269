"""Bad requirements are refused with a clear message before any LLM call."""

from __future__ import annotations

from pathlib import Path

import pytest
from discovery_support import example_discovery, write_recordings

from mge.discovery import discover, validate_requirements
from mge.errors import InputError
from mge.llm import LLMClient, ScriptedProvider
from mge.models.project import MAX_REQUIREMENTS_CHARS, Hints


@pytest.mark.parametrize("text", [None, "", "   \n\t  "])
def test_empty_requirements_are_refused(text: str | None) -> None:
    with pytest.raises(InputError, match="requirements are empty"):
        validate_requirements(text)


def test_too_long_requirements_name_both_numbers() -> None:
    text = "word " * (MAX_REQUIREMENTS_CHARS // 5 + 10)
    with pytest.raises(InputError) as caught:
        validate_requirements(text)
    message = str(caught.value)
    assert f"{len(text.strip()):,} characters" in message
    assert f"limit is {MAX_REQUIREMENTS_CHARS:,}" in message


def test_exactly_at_the_limit_is_accepted_and_stripped() -> None:
    body = ("abc " * MAX_REQUIREMENTS_CHARS)[: MAX_REQUIREMENTS_CHARS - 1] + "z"
    assert len(body) == MAX_REQUIREMENTS_CHARS
    assert validate_requirements(f"\n  {body}  \n") == body


def test_two_words_are_too_few() -> None:
    with pytest.raises(InputError, match="2 word"):
        validate_requirements("todo app")


async def test_discover_refuses_bad_input_without_calling_the_model(tmp_path: Path) -> None:
    recorded = example_discovery().model_dump_json(by_alias=True)
    provider = ScriptedProvider(write_recordings(tmp_path, [("discovery", recorded)]))
    client = LLMClient(provider)
    for bad in ("", "x" * (MAX_REQUIREMENTS_CHARS + 1)):
        with pytest.raises(InputError):
            await discover(bad, Hints(), client)
    assert provider.unserved() == {"discovery": 1}
    assert client.totals.calls == 0
