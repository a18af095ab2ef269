"""The scripted provider and the recording format it reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_support import NOTE, WriteRecording

from mge.errors import InputError, RecordingMissing
from mge.llm.base import LLMRequest
from mge.llm.pricing import cost_usd
from mge.llm.recordings import parse_recording
from mge.llm.scripted import ScriptedProvider
from mge.models.execution import Usage


def req(key: str) -> LLMRequest:
    return LLMRequest(key=key, prompt="anything")


async def test_a_recorded_key_is_replayed_with_its_usage(write_recording: WriteRecording) -> None:
    folder = write_recording(
        [
            {
                "key": "discovery",
                "usage": {"input_tokens": 1850, "output_tokens": 1400, "cache_read_tokens": 7},
                "response": '{"contexts": []}\n',
            }
        ]
    )
    provider = ScriptedProvider(folder)
    r = await provider.complete(req("discovery"))
    assert r.text == '{"contexts": []}\n'
    assert (r.provider, r.model, r.recorded, r.from_cache) == ("scripted", "recording", True, False)
    assert r.usage == Usage(input_tokens=1850, output_tokens=1400, cache_read_tokens=7)
    assert r.cost_usd == 0.0


async def test_priced_as_turns_recorded_usage_into_a_cost(write_recording: WriteRecording) -> None:
    folder = write_recording(
        [{"key": "plan", "usage": {"input_tokens": 1000, "output_tokens": 500}, "response": "x"}]
    )
    r = await ScriptedProvider(folder, priced_as="claude-sonnet-4-5").complete(req("plan"))
    assert r.cost_usd == pytest.approx(cost_usd("claude-sonnet-4-5", r.usage))
    assert r.cost_usd == pytest.approx((1000 * 3 + 500 * 15) / 1e6)


async def test_a_missing_key_names_the_key_and_the_folder(write_recording: WriteRecording) -> None:
    folder = write_recording([{"key": "plan", "response": "x"}])
    with pytest.raises(RecordingMissing) as info:
        await ScriptedProvider(folder).complete(req("skeleton/T-3"))
    text = str(info.value)
    assert "'skeleton/T-3'" in text
    assert str(folder) in text
    assert "never invents" in text
    assert info.value.key == "skeleton/T-3"


async def test_a_key_listed_twice_gives_successive_responses_then_runs_out(
    write_recording: WriteRecording,
) -> None:
    folder = write_recording(
        [
            {"key": "atom/a1", "response": "first"},
            {"key": "other", "response": "unrelated"},
            {"key": "atom/a1", "response": "second"},
        ]
    )
    provider = ScriptedProvider(folder)
    assert (await provider.complete(req("atom/a1"))).text == "first"
    assert (await provider.complete(req("atom/a1"))).text == "second"
    assert provider.unserved() == {"other": 1}
    with pytest.raises(RecordingMissing, match="recording exhausted") as info:
        await provider.complete(req("atom/a1"))
    assert "2 response(s) recorded" in str(info.value)


async def test_responses_from_several_files_are_merged(write_recording: WriteRecording) -> None:
    write_recording([{"key": "discovery", "response": "d"}], name="a.yaml")
    folder = write_recording([{"key": "plan", "response": "p"}], name="b.yaml")
    (folder / "README.md").write_text("not a recording, not read")
    provider = ScriptedProvider(folder)
    assert provider.keys() == ["discovery", "plan"]
    assert (await provider.complete(req("plan"))).text == "p"


async def test_a_key_in_two_files_is_refused(write_recording: WriteRecording) -> None:
    write_recording([{"key": "plan", "response": "1"}], name="a.yaml")
    folder = write_recording([{"key": "plan", "response": "2"}], name="b.yaml")
    with pytest.raises(InputError, match=r"'plan' appears in both .*a\.yaml and .*b\.yaml"):
        await ScriptedProvider(folder).complete(req("plan"))


async def test_a_file_without_the_recording_header_is_refused(
    write_recording: WriteRecording,
) -> None:
    folder = write_recording([{"key": "plan", "response": "x"}], name="stray.yaml", header=False)
    with pytest.raises(InputError, match=r"stray\.yaml is not a recording"):
        await ScriptedProvider(folder).complete(req("plan"))


def test_recording_false_is_refused_too() -> None:
    with pytest.raises(InputError, match="not a recording"):
        parse_recording("recording: false\nresponses: []\n", "f.yaml")


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("responses:\n  - key: plan\n", "responses.0.response"),
        ("responses:\n  - response: x\n", "responses.0.key"),
        ("responses:\n  - {key: p, response: x, usage: {input_tokens: -1}}\n", "input_tokens"),
        ("responses:\n  - {key: p, response: x, usage: {tokens: 3}}\n", "usage.tokens"),
        ("responses:\n  - {key: p, response: x, delay_seconds: -1}\n", "delay_seconds"),
        ("responses: [\n", "not valid YAML"),
    ],
)
def test_a_malformed_recording_names_the_file_and_the_field(body: str, complaint: str) -> None:
    with pytest.raises(InputError) as info:
        parse_recording(f"recording: true\nnote: {NOTE}\n{body}", "rec/x.yaml")
    assert "rec/x.yaml" in str(info.value)
    assert complaint in str(info.value)


async def test_a_recorded_delay_is_waited_before_the_answer(
    write_recording: WriteRecording, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_recording(
        [
            {"key": "atom/a/attempt-1", "delay_seconds": 2.5, "response": "x"},
            {"key": "atom/b/attempt-1", "response": "y"},
        ]
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("mge.llm.scripted.asyncio.sleep", sleep)
    provider = ScriptedProvider(folder)
    assert (await provider.complete(req("atom/a/attempt-1"))).recorded
    assert slept == [2.5]
    await provider.complete(req("atom/b/attempt-1"))
    assert slept == [2.5], "an entry without delay_seconds answers at once"


async def test_loading_is_lazy(tmp_path: Path) -> None:
    provider = ScriptedProvider(tmp_path / "not-there")  # no error yet
    with pytest.raises(InputError, match="does not exist"):
        await provider.complete(req("plan"))


async def test_thousands_of_responses_load_and_the_last_is_found(
    write_recording: WriteRecording,
) -> None:
    body = "def f(x):\n    return x + 1\n" * 5
    folder = write_recording([{"key": f"atom/a{i}", "response": body} for i in range(3000)])
    provider = ScriptedProvider(folder)
    # No time bound here (a unit test is no benchmark): 0.3-0.6 s on the shared 2-core machine.
    assert (await provider.complete(req("atom/a2999"))).text == body
    assert (await provider.complete(req("atom/a0"))).text == body
