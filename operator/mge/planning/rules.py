"""The plan validation rules, one pure function each: a plan (and its model) in, findings out."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from pathlib import PurePosixPath

import networkx as nx

from mge.models.domain import DiscoveryResult
from mge.models.plan import Masterplan, Task
from mge.planning.findings import Finding
from mge.planning.sizing import task_budget

__all__ = [
    "MAX_FILES_PER_TASK",
    "check_coverage",
    "check_cycles",
    "check_dependencies",
    "check_files",
    "check_ids",
    "check_patterns",
    "check_size",
    "normalise_path",
]

MAX_FILES_PER_TASK = 6
"""A task owning more files than this is probably two tasks (a warning, not an error)."""


def _label(task: Task) -> str:
    return f"{task.id} {task.title!r}"


def _dups(values: list[str]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


def check_ids(plan: Masterplan) -> list[Finding]:
    """Task, milestone and phase ids are unique (dependencies and reviews refer to them)."""
    found = []
    for what, ids in (
        ("task", [t.id for t in plan.tasks()]),
        ("milestone", [m.id for p in plan.phases for m in p.milestones]),
        ("phase", [p.id for p in plan.phases]),
    ):
        for dup in _dups(ids):
            found.append(
                Finding(
                    rule="duplicate-id",
                    message=f"{what} id {dup} is used twice or more",
                    subjects=(dup,),
                )
            )
    return found


def check_dependencies(plan: Masterplan) -> list[Finding]:
    """Every dependency names an existing task other than the task itself."""
    ids = {t.id for t in plan.tasks()}
    found = []
    for t in plan.tasks():
        for dep in t.depends_on:
            if dep == t.id:
                found.append(
                    Finding(
                        rule="self-dependency",
                        subjects=(t.id,),
                        message=f"task {_label(t)} depends on itself",
                    )
                )
            elif dep not in ids:
                found.append(
                    Finding(
                        rule="unknown-dependency",
                        subjects=(t.id, dep),
                        message=f"task {_label(t)} depends on {dep}, "
                        "which is not a task of this plan",
                    )
                )
    return found


def dependency_graph(plan: Masterplan) -> nx.DiGraph:
    """Tasks as nodes, an edge dependency → dependent; unknown ids and self-loops left out."""
    graph = nx.DiGraph()
    tasks = plan.tasks()
    ids = {t.id for t in tasks}
    graph.add_nodes_from(ids)
    for t in tasks:
        graph.add_edges_from((d, t.id) for d in t.depends_on if d in ids and d != t.id)
    return graph


def check_cycles(plan: Masterplan) -> list[Finding]:
    """The dependency graph is acyclic; each cycle is reported by task ids and titles."""
    titles = {t.id: t.title for t in plan.tasks()}
    graph = dependency_graph(plan)
    found = []
    for component in sorted(nx.strongly_connected_components(graph), key=min):
        if len(component) < 2:
            continue
        edges = nx.find_cycle(graph.subgraph(component))
        # Edges run dependency → dependent; read the cycle as "A depends on B depends on …".
        order = [u for u, _v in edges]
        order.reverse()
        start = order.index(min(order))
        order = order[start:] + order[:start] + [order[start]]
        rendered = " → ".join(f"{tid} {titles[tid]!r}" for tid in order)
        found.append(
            Finding(
                rule="dependency-cycle",
                subjects=tuple(order[:-1]),
                message=f"tasks depend on each other in a cycle: {rendered}",
            )
        )
    return found


def check_coverage(plan: Masterplan, discovery: DiscoveryResult) -> list[Finding]:
    """Every DDD element and acceptance criterion is covered by some task.

    Names a task claims but the model lacks are warnings: they cover nothing, and the element
    they were meant for shows up as uncovered anyway.
    """
    tasks = plan.tasks()
    covered = {name for t in tasks for name in t.covers}
    checked = {ac for t in tasks for ac in t.acceptance}
    elements = list(dict.fromkeys(discovery.domain.element_names()))
    criteria = {ac.id: ac.text for ac in discovery.acceptance}
    found = [
        Finding(
            rule="uncovered-element",
            subjects=(name,),
            message=f"domain element {name} is covered by no task",
        )
        for name in elements
        if name not in covered
    ]
    found += [
        Finding(
            rule="uncovered-acceptance",
            subjects=(ac_id,),
            message=f"acceptance criterion {ac_id} ({text}) is checked by no task",
        )
        for ac_id, text in criteria.items()
        if ac_id not in checked
    ]
    known = set(elements)
    for t in tasks:
        stray = [n for n in t.covers if n not in known]
        if stray:
            found.append(
                Finding(
                    rule="unknown-element",
                    severity="warning",
                    subjects=(t.id, *stray),
                    message=f"task {_label(t)} covers {', '.join(stray)}, "
                    "which the domain model does not define",
                )
            )
        stray_ac = [a for a in t.acceptance if a not in criteria]
        if stray_ac:
            found.append(
                Finding(
                    rule="unknown-acceptance",
                    severity="warning",
                    subjects=(t.id, *stray_ac),
                    message=f"task {_label(t)} lists {', '.join(stray_ac)}, "
                    "which are not acceptance criteria of the model",
                )
            )
    return found


def normalise_path(path: str) -> str | None:
    """``path`` in canonical relative form (``./a//b.py`` → ``a/b.py``), or None when it is
    absolute, empty, uses backslashes, or leaves the project with ``..``."""
    if not path.strip() or "\\" in path:
        return None
    p = PurePosixPath(path.strip())
    if p.is_absolute() or ".." in p.parts:
        return None
    text = str(p)
    return None if text == "." else text


def check_files(plan: Masterplan) -> list[Finding]:
    """Each file has one owner, stays inside the project, and tasks own a sane number of files."""
    owners: dict[str, list[str]] = defaultdict(list)
    found = []
    for t in plan.tasks():
        seen: set[str] = set()
        for raw in t.files:
            path = normalise_path(raw)
            if path is None:
                found.append(
                    Finding(
                        rule="bad-path",
                        subjects=(t.id, raw),
                        message=f"task {_label(t)} owns {raw!r}: paths must be "
                        "relative, use forward slashes and stay inside the project",
                    )
                )
                continue
            if path in seen:
                found.append(
                    Finding(
                        rule="repeated-file",
                        severity="warning",
                        subjects=(t.id, path),
                        message=f"task {_label(t)} lists {path} more than once",
                    )
                )
                continue
            seen.add(path)
            owners[path].append(t.id)
        if len(seen) > MAX_FILES_PER_TASK:
            found.append(
                Finding(
                    rule="task-too-broad",
                    severity="warning",
                    subjects=(t.id,),
                    message=f"task {_label(t)} owns {len(seen)} files (more than "
                    f"{MAX_FILES_PER_TASK}); consider splitting it",
                )
            )
    for path, task_ids in sorted(owners.items()):
        if len(task_ids) > 1:
            found.append(
                Finding(
                    rule="shared-file",
                    subjects=(path, *task_ids),
                    message=f"file {path} is owned by {len(task_ids)} tasks "
                    f"({', '.join(task_ids)}); each file needs exactly one owner",
                )
            )
    return found


def check_size(plan: Masterplan, discovery: DiscoveryResult) -> list[Finding]:
    """The number of tasks fits the amount of work in the model (see sizing.py)."""
    budget = task_budget(discovery)
    count = len(plan.tasks())
    if budget.admits(count):
        return []
    side = "few" if count < budget.minimum else "many"
    return [
        Finding(
            rule="plan-size",
            subjects=(str(count),),
            message=f"the plan has {count} tasks, too {side} for {budget.work_items} "
            f"domain elements and acceptance criteria (expected {budget.minimum} to "
            f"{budget.maximum})",
        )
    ]


def check_patterns(plan: Masterplan, offered: Collection[str] | None) -> list[Finding]:
    """``patterns_used`` cites only offered patterns (skipped when ``offered`` is None)."""
    if offered is None:
        return []
    unknown = [p for p in plan.patterns_used if p not in offered]
    if not unknown:
        return []
    return [
        Finding(
            rule="unknown-pattern",
            severity="warning",
            subjects=tuple(unknown),
            message=f"the plan cites pattern id(s) {', '.join(unknown)} that were not "
            "offered to it",
        )
    ]
