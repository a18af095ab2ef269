"""Structured output: JSON extraction, validation, one repair round; code extraction."""

from __future__ import annotations

import json

import pytest
from llm_support import ListLedger, WriteRecording

from mge.errors import ParseFailure, StructuredOutputError
from mge.llm.base import LLMRequest
from mge.llm.client import LLMClient
from mge.llm.scripted import ScriptedProvider
from mge.llm.structured import (
    extract_code,
    extract_json,
    parse_structured,
    repair_request,
)
from mge.models import Task

TASK = {"id": "T-1", "title": "Entities", "role": "backend", "files": ["todo/model.py"]}
TASK_JSON = json.dumps(TASK)


@pytest.mark.parametrize(
    "text",
    [
        TASK_JSON,
        f"```json\n{TASK_JSON}\n```",
        f"Here is the task:\n\n```json\n{TASK_JSON}\n```\n\nLet me know if you need more.",
        f"Here is the task:\n```\n{TASK_JSON}\n```",
        f"~~~json\n{TASK_JSON}\n~~~",
        f"Sure. The plan {{as asked}} is: {TASK_JSON} -- hope this helps {{:}}",
        f"```json\n{TASK_JSON}",  # cut off before the closing fence
        f"```python\nprint('x')\n```\n```json\n{TASK_JSON}\n```",
    ],
    ids=["raw", "fenced", "fence+prose", "bare-fence", "tilde", "prose", "unclosed", "2-blocks"],
)
def test_json_is_found_in_fences_and_prose(text: str) -> None:
    assert extract_json(text) == TASK
    assert parse_structured(text, Task).files == ["todo/model.py"]


def test_no_json_at_all_is_a_parse_failure() -> None:
    with pytest.raises(ParseFailure, match="no JSON"):
        extract_json("I cannot help with {that}.")


def test_validation_errors_name_the_field_and_what_was_given() -> None:
    bad = json.dumps({**TASK, "id": "task-1", "role": "wizard"})
    with pytest.raises(ParseFailure) as info:
        parse_structured(bad, Task)
    errors = info.value.errors
    assert any(e.startswith("id:") and '"task-1"' in e for e in errors)
    assert any(e.startswith("role:") and '"wizard"' in e for e in errors)


def test_the_repair_request_shows_errors_answer_and_schema() -> None:
    original = LLMRequest(key="plan", system=("role", "domain"), prompt="Plan it.", temperature=0.7)
    repair = repair_request(original, "{bad answer", ["id: String should match pattern"], Task)
    assert repair.key == "plan/repair"
    assert repair.system == original.system  # the cached stable context is reused
    assert repair.temperature == 0.0
    for part in ("Plan it.", "{bad answer", "- id: String should match pattern", '"dependsOn"'):
        assert part in repair.prompt
    assert "corrected JSON only" in repair.prompt


async def test_a_bad_answer_is_repaired_once(write_recording: WriteRecording) -> None:
    folder = write_recording(
        [
            {
                "key": "task",
                "usage": {"input_tokens": 100, "output_tokens": 50},
                "response": "```json\n" + json.dumps({**TASK, "files": []}) + "\n```",
            },
            {
                "key": "task/repair",
                "usage": {"input_tokens": 300, "output_tokens": 40},
                "response": TASK_JSON,
            },
        ]
    )
    ledger = ListLedger()
    client = LLMClient(ScriptedProvider(folder, priced_as="claude-sonnet-4-5"), ledger=ledger)
    task, response = await client.complete_structured(LLMRequest(key="task", prompt="p"), Task)
    assert task == Task.model_validate(TASK)
    assert response.text == TASK_JSON
    assert response.usage.input_tokens == 400 and response.usage.output_tokens == 90
    assert response.cost_usd == pytest.approx(client.totals.cost_usd)
    assert [k for _, k, _ in ledger.rows] == ["task", "task/repair"]


async def test_a_good_answer_needs_no_repair(write_recording: WriteRecording) -> None:
    folder = write_recording([{"key": "task", "response": f"Done: {TASK_JSON}"}])
    client = LLMClient(ScriptedProvider(folder))
    task, response = await client.complete_structured(LLMRequest(key="task", prompt="p"), Task)
    assert task.id == "T-1" and client.totals.calls == 1
    assert response.text == f"Done: {TASK_JSON}"


async def test_a_failed_repair_raises_with_the_errors(write_recording: WriteRecording) -> None:
    folder = write_recording(
        [
            {"key": "task", "response": "not json at all"},
            {"key": "task/repair", "response": json.dumps({**TASK, "role": "wizard"})},
        ]
    )
    client = LLMClient(ScriptedProvider(folder))
    with pytest.raises(StructuredOutputError) as info:
        await client.complete_structured(LLMRequest(key="task", prompt="p"), Task)
    text = str(info.value)
    assert "task/repair" in text and "Task" in text
    assert "role:" in text and "wizard" in text
    assert client.totals.calls == 2  # exactly one repair round


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```python\ndef f():\n    return 1\n```", "def f():\n    return 1\n"),
        ("Here:\n```py\nx = 1\n```\nUsage:\n```python\nprint(x)\n```", "x = 1\n"),
        ("```bash\npip install x\n```\n```python\ny = 2\n```", "y = 2\n"),
        ("```\nz = 3\n```", "z = 3\n"),
        ("```text\nw = 4\n```", "w = 4\n"),  # mislabelled fence: still the code
        ("def g():\n    pass\n", "def g():\n    pass"),
        ("```python\ndef h():\n    return (", "def h():\n    return ("),  # cut off
    ],
)
def test_extract_code(text: str, expected: str) -> None:
    assert extract_code(text, "python") == expected


def test_extract_code_knows_typescript_aliases() -> None:
    text = "```js\nlet a = 1\n```\n```ts\nconst b: number = 2\n```"
    assert extract_code(text, "typescript") == "const b: number = 2\n"
