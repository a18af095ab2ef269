"""End to end on both examples: manifest → discovery → answers → (retrieval) → plan.

Everything is real: the manifest model, the provider factory, the scripted provider replaying the
examples' hand-written recordings, the LLM client, and (in the slow test) the Chroma retriever
over the shipped pattern library.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from planning_support import EXAMPLES

from mge.config import Settings
from mge.discovery import answers_from_spec, discover, load_answers, resolve_answers
from mge.llm import LLMClient, ScriptedProvider, make_provider
from mge.models.project import ProjectManifest
from mge.planning import PatternRef, gather_patterns, make_plan, task_budget, validate_plan

EXAMPLE_NAMES = ["inventory-lib", "tasks-api"]


def manifest(name: str) -> ProjectManifest:
    return ProjectManifest.model_validate(
        yaml.safe_load((EXAMPLES / name / "project.yaml").read_text(encoding="utf-8"))
    )


def scripted_client(name: str, settings: Settings) -> tuple[LLMClient, ScriptedProvider]:
    spec = manifest(name).spec
    assert spec.llm.provider == "scripted" and spec.llm.recordings == "recordings"
    provider = make_provider(spec.llm, settings, EXAMPLES / name / spec.llm.recordings)
    assert isinstance(provider, ScriptedProvider)
    return LLMClient(provider), provider


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
async def test_example_plans_end_to_end_without_retrieval(name: str, tmp_path: Path) -> None:
    settings = Settings(workdir=tmp_path)
    client, provider = scripted_client(name, settings)
    spec = manifest(name).spec
    found = await discover(spec.requirements, spec.hints, client, project=name)
    answers = load_answers(EXAMPLES / name / "answers.yaml")
    answered = resolve_answers(found, answers_from_spec(spec.discovery.answers), answers)
    plan = await make_plan(answered, [], client, project=name)

    # Every recording of phases 0–2 was used; what is left belongs to later phases.
    later = ("skeleton/", "atom/", "review/")
    assert {k: n for k, n in provider.unserved().items() if not k.startswith(later)} == {}
    assert client.totals.calls == 2  # discovery and plan; no repair was needed
    # Answered questions carry their answers; the rest became assumptions.
    for q in answered.questions:
        assert (q.answer is not None) == (q.id in answers)
        assert any(a.startswith(f"{q.id}: ") for a in answered.assumptions) == (q.id not in answers)
    # The plan is clean except that it cites patterns nobody offered here.
    findings = validate_plan(plan, answered, offered_patterns=[])
    assert {f.rule for f in findings} <= {"unknown-pattern"}
    assert task_budget(answered).admits(len(plan.tasks()))
    # File layout: small and clean, tests under tests/.
    files = [f for t in plan.tasks() for f in t.files]
    assert len(files) == len(set(files))
    assert all(f.endswith(".py") for f in files)
    assert any(f.startswith("tests/test_") for f in files)


def test_example_sizes_follow_the_brief() -> None:
    sizes = {}
    for name in EXAMPLE_NAMES:
        folder = EXAMPLES / name / "recordings"
        from mge.llm.recordings import load_folder
        from mge.models.plan import Masterplan

        (entry,) = load_folder(folder)["plan"]
        sizes[name] = len(Masterplan.model_validate_json(entry.text).tasks())
    assert 4 <= sizes["inventory-lib"] <= 6
    assert 6 <= sizes["tasks-api"] <= 10


def test_recorded_patterns_exist_in_the_pattern_library() -> None:
    """The one place recorded pattern ids are aligned with the shipped library."""
    from mge.llm.recordings import load_folder
    from mge.models.plan import Masterplan
    from mge.rag import PatternLibrary, default_patterns_dir

    library = {p.id for p in PatternLibrary.load(default_patterns_dir())}
    for name in EXAMPLE_NAMES:
        (entry,) = load_folder(EXAMPLES / name / "recordings")["plan"]
        cited = Masterplan.model_validate_json(entry.text).patterns_used
        assert cited and set(cited) <= library, f"{name} cites {set(cited) - library}"


@pytest.mark.slow
async def test_examples_plan_with_patterns_retrieved_from_the_library(tmp_path: Path) -> None:
    """Real retrieval: every pattern a recorded plan cites was actually offered to it."""
    from mge.rag import PatternLibrary, Retriever, default_patterns_dir

    settings = Settings(workdir=tmp_path)
    retriever = await Retriever.open(settings)
    # Both examples are Python and search filters by language: index the Python patterns only.
    python = [p for p in PatternLibrary.load(default_patterns_dir()) if p.language == "python"]
    await retriever.index(python)
    for name in EXAMPLE_NAMES:
        client, _ = scripted_client(name, settings)
        spec = manifest(name).spec
        found = resolve_answers(await discover(spec.requirements, spec.hints, client), {})

        async def source(query: str, language: str = found.stack.language) -> list[PatternRef]:
            hits = await retriever.search(query, 3, language, include_learned=False)
            return [PatternRef(h.pattern_id, h.title, h.snippet) for h in hits]

        patterns = await gather_patterns(found, source)
        plan = await make_plan(found, patterns, client)
        offered = [p.pattern_id for p in patterns]
        assert validate_plan(plan, found, offered_patterns=offered) == [], name
        assert set(plan.patterns_used) <= set(offered)
