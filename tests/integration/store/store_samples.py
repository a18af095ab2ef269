"""Small, valid domain models for the store tests, and a helper that fills every table."""

from __future__ import annotations

from datetime import UTC, datetime

from mge.llm.base import LLMResponse
from mge.models import (
    AcceptanceCriterion,
    AtomicityReport,
    AtomicUnit,
    Attempt,
    BoundedContext,
    ConfidenceParts,
    ContextPack,
    CriterionResult,
    DiscoveryResult,
    DomainModel,
    Edge,
    Entity,
    FieldDef,
    Masterplan,
    Milestone,
    PlanPhase,
    ProjectSpec,
    ReviewItem,
    Span,
    Task,
    TechStack,
    Usage,
    ValidationResult,
    atom_id,
)
from mge.models.atoms import AtomState
from mge.store import Store

FIXED_NOW = datetime(2026, 11, 24, 12, 30, 45, 123456, tzinfo=UTC)
"""What the ``store`` fixture's clock always says."""


def spec(requirements: str = "A todo library with due dates.") -> ProjectSpec:
    """A valid project spec."""
    return ProjectSpec.model_validate(
        {"requirements": requirements, "hints": {"language": "python"}, "budget": {"maxAtoms": 50}}
    )


def unit(
    name: str, file: str = "todo/core.py", *, spec_text: str = "", deps: tuple[str, ...] = ()
) -> AtomicUnit:
    """An atom with a realistic amount of detail (context, span, tests)."""
    return AtomicUnit(
        id=atom_id(file, name),
        task_id="T-1",
        file=file,
        language="python",
        kind="function",
        qualname=name,
        signature=f"def {name}(items: list[str]) -> int:",
        spec=spec_text or f"Count what {name} counts. Unicode: naïve café ✓",
        preconditions=["items is a list"],
        postconditions=["result >= 0"],
        test_cases=[f"test_{name}"],
        estimated_loc=6,
        complexity=2,
        dependencies=list(deps),
        span=Span(start_line=3, end_line=9),
        context=ContextPack(
            types=["list[str]"],
            dependency_signatures=["def helper() -> None"],
            tests=[f"def test_{name}():\n    assert {name}([]) == 0\n"],
            completeness=0.96,
        ),
    )


def validation(subject: str, passed: bool = True, level: str = "L1") -> ValidationResult:
    """A validation result with two checks."""
    return ValidationResult.model_validate(
        {
            "level": level,
            "subject": subject,
            "passed": passed,
            "checks": [
                {"name": "parse", "passed": True},
                {
                    "name": "tests",
                    "passed": passed,
                    "detail": "" if passed else "AssertionError: 1 != 0",
                },
            ],
        }
    )


def attempt(atom: str, number: int = 1, *, cost: float = 0.125, passed: bool = True) -> Attempt:
    """An attempt with usage, cost and a validation result."""
    return Attempt(
        atom_id=atom,
        number=number,
        temperature=round(0.7 - 0.2 * (number - 1), 2),
        prompt_hash=f"hash-{atom}-{number}",
        code=f"def f():\n    return {number}\n",
        validation=validation(atom, passed),
        usage=Usage(
            input_tokens=100 * number, output_tokens=20, cache_read_tokens=7, cache_write_tokens=3
        ),
        cost_usd=cost,
        duration_s=1.5,
        error="" if passed else "tests failed",
    )


def review_item(atom: str, validation_part: float = 0.5) -> ReviewItem:
    """A pending review item."""
    return ReviewItem(
        atom_id=atom,
        reason="low_confidence",
        code="def f():\n    return 1\n",
        confidence=ConfidenceParts(
            validation=validation_part, attempts=0.5, complexity=1.0, integration=0.0
        ),
        context_summary="counts items",
        suggestion="check the empty case",
    )


def atomicity(atom: str) -> AtomicityReport:
    """A report with one passed and one failed criterion."""
    return AtomicityReport(
        atom_id=atom,
        criteria=[
            CriterionResult(name="loc<=10", passed=True, reason="6 lines"),
            CriterionResult(name="complexity<=3", passed=False, reason="4 branches"),
        ],
    )


def response(text: str = "def f(): ...", cost: float = 0.25) -> LLMResponse:
    """A model response with usage."""
    return LLMResponse(
        text=text,
        usage=Usage(
            input_tokens=1000, output_tokens=200, cache_read_tokens=50, cache_write_tokens=10
        ),
        cost_usd=cost,
        model="claude-sonnet-4-5",
        provider="anthropic",
    )


def discovery() -> DiscoveryResult:
    """A small discovery result."""
    return DiscoveryResult(
        summary="todo library",
        domain=DomainModel(
            contexts=[
                BoundedContext(
                    name="Todo",
                    entities=[Entity(name="Item", fields=[FieldDef(name="title", type="str")])],
                )
            ]
        ),
        stack=TechStack(language="python"),
        acceptance=[AcceptanceCriterion(id="AC-1", text="items can be added")],
    )


def task(n: int, *, depends_on: tuple[str, ...] = ()) -> Task:
    """Task T-n owning one file."""
    return Task(
        id=f"T-{n}",
        title=f"task {n}",
        role="backend",
        files=[f"todo/m{n}.py"],
        depends_on=list(depends_on),
    )


def masterplan() -> Masterplan:
    """A plan of three tasks."""
    return Masterplan(
        phases=[
            PlanPhase(
                id="P-1",
                title="core",
                milestones=[
                    Milestone(
                        id="M-1",
                        title="model",
                        tasks=[task(1), task(2, depends_on=("T-1",)), task(3)],
                    )
                ],
            )
        ],
        patterns_used=["repository-pattern"],
    )


async def populate(store: Store, key: str) -> dict[str, str]:
    """Write one of everything for project ``key``; returns the atom ids used."""
    await store.upsert_project(key, spec(f"requirements of {key}"), 1)
    await store.set_phase(key, "Executing", {"atoms": 2})
    await store.put_document(key, "discovery", discovery())
    await store.put_document(key, "plan", masterplan())
    await store.save_tasks(key, masterplan().tasks())
    a, b = unit("count_items"), unit("sum_items", deps=(atom_id("todo/core.py", "count_items"),))
    await store.save_atoms(key, [a, b], {a.id: 0, b.id: 1})
    await store.save_atomicity_reports(key, [atomicity(a.id)])
    await store.save_edges(key, [Edge(src=b.id, dst=a.id, kind="call")])
    await store.record_attempt(
        key, attempt(a.id, 1), AtomState.VALIDATED, "def f():\n    return 1\n"
    )
    await store.record_attempt(key, attempt(b.id, 1, passed=False), AtomState.FAILED)
    await store.add_validation(key, validation(a.id))
    await store.add_validation(key, validation("todo", level="L2"))
    await store.upsert_review_item(key, review_item(b.id))
    await store.record_cost(key, "discovery", response())
    await store.put_response(f"hash-of-{key}", "discovery", response())
    return {"a": a.id, "b": b.id}
