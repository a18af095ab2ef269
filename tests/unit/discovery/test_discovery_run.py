"""discover() through the real LLM client and scripted provider, and its consistency checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from discovery_support import EXAMPLES, example_discovery, write_recordings

from mge.discovery import build_discovery_request, discover, discovery_problems
from mge.errors import StructuredOutputError
from mge.llm import LLMClient, ScriptedProvider
from mge.models.domain import Aggregate, DiscoveryResult, Question
from mge.models.project import Hints, ProjectManifest

REQUIREMENTS = "A small library that keeps stock levels of products in one warehouse."


def test_request_puts_stable_schema_first_and_requirements_last() -> None:
    hints = Hints(language="python", framework="fastapi", constraints=["pydantic v2"])
    request = build_discovery_request(REQUIREMENTS, hints)
    assert request.key == "discovery"
    (system,) = request.system
    assert '"valueObjects"' in system and REQUIREMENTS not in system
    assert "Target language: python" in request.prompt
    assert "Framework hint: fastapi" in request.prompt
    assert "- pydantic v2" in request.prompt
    assert request.prompt.rstrip().endswith(f"{REQUIREMENTS}\n>>>")


@pytest.mark.parametrize("name", ["inventory-lib", "tasks-api"])
async def test_examples_discover_through_their_recordings(name: str) -> None:
    import yaml

    manifest = ProjectManifest.model_validate(
        yaml.safe_load((EXAMPLES / name / "project.yaml").read_text())
    )
    provider = ScriptedProvider(EXAMPLES / name / manifest.spec.llm.recordings)  # type: ignore[operator]
    client = LLMClient(provider)
    result = await discover(manifest.spec.requirements, manifest.spec.hints, client, project=name)
    assert result == example_discovery(name)
    assert len(result.questions) >= 2 and all(q.answer is None for q in result.questions)
    assert provider.unserved().get("discovery") is None


async def test_inconsistent_answer_is_a_structured_output_error(tmp_path: Path) -> None:
    good = example_discovery()
    questions = [*good.questions, Question(id="Q-1", text="again?", default="no")]
    ctx = good.domain.contexts[0]
    broken_ctx = ctx.model_copy(
        update={"aggregates": [Aggregate(name="Ghosts", root="Ghost", members=["Product"])]}
    )
    bad = good.model_copy(
        update={
            "questions": questions,
            "domain": good.domain.model_copy(update={"contexts": [broken_ctx]}),
        }
    )
    client = LLMClient(
        ScriptedProvider(
            write_recordings(tmp_path, [("discovery", bad.model_dump_json(by_alias=True))])
        )
    )
    with pytest.raises(StructuredOutputError) as caught:
        await discover(REQUIREMENTS, Hints(), client)
    message = str(caught.value)
    assert "duplicate question id(s): Q-1" in message
    assert "aggregate Ghosts refers to unknown entities or value objects: Ghost" in message


def test_language_must_match_an_explicit_hint_only() -> None:
    result: DiscoveryResult = example_discovery()
    assert discovery_problems(result, Hints()) == []  # default hint: not a stated wish
    assert discovery_problems(result, Hints(language="python")) == []
    assert discovery_problems(result, Hints(language="typescript")) == [
        "stack language is python but the hints ask for typescript"
    ]
