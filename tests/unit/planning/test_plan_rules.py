"""Plan validation rules on hand-built plans: each rule can fail, and a clean plan passes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from planning_support import clean_plan, plan_of, small_discovery, task

from mge.planning import Finding, blocking, render_report, task_budget, validate_plan
from mge.planning.sizing import MAX_TASKS


def rules(findings: list[Finding]) -> list[str]:
    return sorted(f.rule for f in findings)


def test_clean_plan_has_no_findings() -> None:
    assert validate_plan(clean_plan(), small_discovery()) == []


def test_cycle_is_reported_once_by_ids_and_titles_in_dependency_order() -> None:
    plan = plan_of(
        task(
            "T-1",
            title="models",
            covers=["E1", "Money", "Shop", "Sold"],
            acceptance=["AC-1", "AC-2"],
            after=["T-3"],
        ),
        task("T-2", title="stock", after=["T-1"]),
        task("T-3", title="service", after=["T-2"]),
    )
    findings = validate_plan(plan, small_discovery())
    assert rules(findings) == ["dependency-cycle"]
    (cycle,) = findings
    # T-1 depends on T-3, which depends on T-2, which depends on T-1.
    assert cycle.message.endswith("T-1 'models' → T-3 'service' → T-2 'stock' → T-1 'models'")
    assert set(cycle.subjects) == {"T-1", "T-2", "T-3"}


def test_two_separate_cycles_give_two_findings_and_a_dag_part_gives_none() -> None:
    plan = plan_of(
        task("T-1", covers=["E1", "Money", "Shop", "Sold"], acceptance=["AC-1", "AC-2"]),
        task("T-2", after=["T-3", "T-1"]),
        task("T-3", after=["T-2"]),
        task("T-4", after=["T-5"]),
        task("T-5", after=["T-4", "T-1"]),
    )
    cycles = [f for f in validate_plan(plan, small_discovery()) if f.rule == "dependency-cycle"]
    assert [set(f.subjects) for f in cycles] == [{"T-2", "T-3"}, {"T-4", "T-5"}]


def test_unknown_and_self_dependencies() -> None:
    base = clean_plan().tasks()
    plan = plan_of(*base, task("T-4", after=["T-4", "T-9"]))
    findings = validate_plan(plan, small_discovery())
    assert rules(findings) == ["self-dependency", "unknown-dependency"]
    unknown = next(f for f in findings if f.rule == "unknown-dependency")
    assert "T-9" in unknown.message and "T-4 'task 4'" in unknown.message


def test_uncovered_entity_and_uncovered_criterion_are_errors() -> None:
    plan = plan_of(
        task("T-1", covers=["Money", "Shop", "Sold"], acceptance=["AC-1"]),
    )
    findings = validate_plan(plan, small_discovery())
    assert rules(findings) == ["uncovered-acceptance", "uncovered-element"]
    assert all(f.severity == "error" for f in findings)
    assert {f.subjects for f in findings} == {("E1",), ("AC-2",)}
    assert "criterion 2" in next(f.message for f in findings if f.rule == "uncovered-acceptance")


def test_names_the_model_lacks_are_warnings() -> None:
    tasks = clean_plan().tasks()
    stray = tasks[0].model_copy(
        update={"covers": [*tasks[0].covers, "Ghost"], "acceptance": ["AC-1", "AC-9"]}
    )
    findings = validate_plan(plan_of(stray, *tasks[1:]), small_discovery())
    assert rules(findings) == ["unknown-acceptance", "unknown-element"]
    assert blocking(findings) == []


def test_one_file_owned_by_two_tasks_is_an_error_after_normalising_paths() -> None:
    plan = plan_of(
        task(
            "T-1",
            files=["pkg/models.py"],
            covers=["E1", "Money", "Shop", "Sold"],
            acceptance=["AC-1", "AC-2"],
        ),
        task("T-2", files=["./pkg//models.py", "pkg/other.py"], after=["T-1"]),
    )
    findings = validate_plan(plan, small_discovery())
    assert rules(findings) == ["shared-file"]
    assert findings[0].subjects == ("pkg/models.py", "T-1", "T-2")


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.py", "pkg\\win.py", "  ", "."])
def test_paths_outside_the_project_are_errors(path: str) -> None:
    tasks = clean_plan().tasks()
    bad = tasks[0].model_copy(update={"files": [path]})
    findings = validate_plan(plan_of(bad, *tasks[1:]), small_discovery())
    assert rules(findings) == ["bad-path"]


def test_a_file_listed_twice_by_one_task_and_a_broad_task_are_warnings() -> None:
    tasks = clean_plan().tasks()
    files = ["pkg/a.py", "pkg/a.py", *[f"pkg/f{i}.py" for i in range(7)]]
    broad = tasks[0].model_copy(update={"files": files})
    findings = validate_plan(plan_of(broad, *tasks[1:]), small_discovery())
    assert rules(findings) == ["repeated-file", "task-too-broad"]
    assert blocking(findings) == []


def test_duplicate_task_ids_are_errors() -> None:
    tasks = clean_plan().tasks()
    dup = tasks[1].model_copy(update={"id": "T-1", "files": ["pkg/x.py"]})
    findings = validate_plan(plan_of(*tasks, dup), small_discovery())
    assert "duplicate-id" in rules(findings)


def test_plan_too_small_for_a_big_model() -> None:
    big = small_discovery(entities=40, criteria=30)
    names = big.domain.element_names()
    one = plan_of(task("T-1", covers=names, acceptance=[a.id for a in big.acceptance]))
    findings = validate_plan(one, big)
    assert rules(findings) == ["plan-size"]
    budget = task_budget(big)
    assert f"expected {budget.minimum} to {budget.maximum}" in findings[0].message
    assert "too few" in findings[0].message


def test_plan_too_big_for_a_small_model() -> None:
    d = small_discovery()
    budget = task_budget(d)
    extra = [task(f"T-{i}") for i in range(4, budget.maximum + 2)]
    findings = validate_plan(plan_of(*clean_plan().tasks(), *extra), d)
    assert rules(findings) == ["plan-size"]
    assert "too many" in findings[0].message


def test_budget_grows_with_the_model_and_is_capped() -> None:
    small, service, huge = (
        task_budget(small_discovery(e, c)) for e, c in ((1, 2), (40, 40), (500, 500))
    )
    assert small.minimum == 1 and small.maximum <= 12
    assert service.minimum <= 50 and service.maximum >= 100  # a full service: 50–100 tasks fit
    assert huge.maximum == MAX_TASKS and huge.minimum <= huge.maximum


def test_pattern_ids_not_offered_are_warnings_only_when_offers_are_known() -> None:
    plan = clean_plan().model_copy(update={"patterns_used": ["py-a", "py-b"]})
    assert validate_plan(plan, small_discovery()) == []
    findings = validate_plan(plan, small_discovery(), offered_patterns=["py-a"])
    assert rules(findings) == ["unknown-pattern"] and findings[0].subjects == ("py-b",)
    assert blocking(findings) == []


def test_report_lists_errors_before_warnings() -> None:
    report = render_report(
        [
            Finding(rule="unknown-element", message="w", severity="warning"),
            Finding(rule="shared-file", message="e"),
        ]
    )
    assert report.splitlines() == ["error: [shared-file] e", "warning: [unknown-element] w"]


@given(
    deps=st.lists(
        st.sets(st.integers(min_value=0, max_value=30), max_size=4), min_size=2, max_size=30
    ),
    data=st.data(),
)
def test_random_dags_are_acyclic_and_one_back_edge_makes_one_cycle(
    deps: list[set[int]], data: st.DataObject
) -> None:
    # Task i may depend only on tasks before it: always a DAG.
    tasks = [
        task(f"T-{i + 1}", after=[f"T-{d + 1}" for d in sorted(ds) if d < i])
        for i, ds in enumerate(deps)
    ]
    d = small_discovery()
    assert not [f for f in validate_plan(plan_of(*tasks), d) if f.rule == "dependency-cycle"]
    # Add j -> i (consistent with the order) and the back edge i -> j: exactly one cycle (SCC).
    n = len(tasks)
    i = data.draw(st.integers(min_value=0, max_value=n - 2))
    j = data.draw(st.integers(min_value=i + 1, max_value=n - 1))
    ti, tj = tasks[i], tasks[j]
    tasks[j] = tj.model_copy(update={"depends_on": [*tj.depends_on, ti.id]})
    tasks[i] = ti.model_copy(update={"depends_on": [*ti.depends_on, tj.id]})
    cycles = [f for f in validate_plan(plan_of(*tasks), d) if f.rule == "dependency-cycle"]
    assert len(cycles) == 1
    assert {ti.id, tj.id} <= set(cycles[0].subjects)
