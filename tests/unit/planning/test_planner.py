"""make_plan through the real LLM client and scripted provider: accept, repair once, reject."""

from __future__ import annotations

from pathlib import Path

import pytest
from planning_support import clean_plan, plan_of, small_discovery, task, write_recordings

from mge.errors import PlanInvalid
from mge.llm import LLMClient, ScriptedProvider
from mge.planning import (
    PLAN_KEY,
    REPAIR_KEY,
    PatternRef,
    build_plan_request,
    build_repair_request,
    make_plan,
    validate_plan,
)

PATTERNS = [PatternRef("py-service-layer", "Service layer", "class Service: ...")]


def cyclic_plan() -> str:
    plan = plan_of(
        task("T-1", covers=["E1", "Money"], acceptance=["AC-1"], after=["T-2"], title="core"),
        task("T-2", covers=["Shop", "Sold"], acceptance=["AC-2"], after=["T-1"], title="shop"),
    )
    return plan.model_dump_json(by_alias=True)


def client_for(folder: Path) -> tuple[LLMClient, ScriptedProvider]:
    provider = ScriptedProvider(folder)
    return LLMClient(provider), provider


def test_plan_request_carries_schema_budget_patterns_and_answers() -> None:
    d = small_discovery()
    request = build_plan_request(d, PATTERNS)
    assert request.key == PLAN_KEY
    (system,) = request.system
    assert '"dependsOn"' in system  # the Masterplan JSON schema, camelCase
    assert "$schema" not in system and "$min_tasks" not in system
    assert "Plan size: 1 to 11 tasks." in request.prompt
    assert build_plan_request(small_discovery(entities=30), PATTERNS).system == request.system
    assert "- py-service-layer: Service layer" in request.prompt
    assert '"E1"' in request.prompt  # the domain model travels as JSON


def test_repair_request_shares_the_cached_system_part_and_shows_findings() -> None:
    d = small_discovery()
    bad = plan_of(task("T-1", after=["T-1"]))
    findings = validate_plan(bad, d)
    request = build_repair_request(d, PATTERNS, bad, findings)
    assert request.key == REPAIR_KEY
    assert request.system == build_plan_request(d, PATTERNS).system
    assert "[self-dependency]" in request.prompt and "[uncovered-element]" in request.prompt
    assert '"T-1"' in request.prompt


async def test_a_valid_plan_is_returned_as_is(tmp_path: Path) -> None:
    good = clean_plan().model_copy(update={"patterns_used": ["py-service-layer"]})
    client, provider = client_for(
        write_recordings(tmp_path, [(PLAN_KEY, good.model_dump_json(by_alias=True))])
    )
    plan = await make_plan(small_discovery(), PATTERNS, client)
    assert plan == good
    assert provider.unserved() == {}
    assert client.totals.calls == 1


async def test_an_invalid_plan_gets_one_repair_round(tmp_path: Path) -> None:
    fixed = clean_plan().model_dump_json(by_alias=True)
    folder = write_recordings(tmp_path, [(PLAN_KEY, cyclic_plan()), (REPAIR_KEY, fixed)])
    client, provider = client_for(folder)
    plan = await make_plan(small_discovery(), PATTERNS, client)
    assert plan == clean_plan()
    assert provider.unserved() == {}
    assert client.totals.calls == 2


async def test_a_plan_still_invalid_after_repair_is_rejected_with_a_report(tmp_path: Path) -> None:
    folder = write_recordings(tmp_path, [(PLAN_KEY, cyclic_plan()), (REPAIR_KEY, cyclic_plan())])
    client, _ = client_for(folder)
    with pytest.raises(PlanInvalid) as caught:
        await make_plan(small_discovery(), PATTERNS, client)
    assert len(caught.value.findings) == 1
    message = str(caught.value)
    assert "[dependency-cycle]" in message and "T-1 'core' → T-2 'shop' → T-1 'core'" in message
    assert "after one repair round" in message
    assert client.totals.calls == 2
