"""The run report: figures computed from the execution state (pure), and a rich rendering.

The same :class:`RunReport` is written as ``report.json`` into the output folder and printed
at the end of ``mge run``. Rates are over the atoms that were attempted:

- first-try pass rate: atoms whose attempt 1 passed validation;
- pass rate after retries: atoms that have a passing attempt (any attempt).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
from pydantic import Field
from rich.console import Group
from rich.table import Table
from rich.text import Text

from mge.execution.state import ExecutionResult, ExecutionState, RunStatus
from mge.models.atoms import AtomicUnit, AtomState
from mge.models.base import WireModel
from mge.models.execution import Usage, ValidationResult
from mge.models.performance import PerformanceReport
from mge.models.readiness import ReadinessReport
from mge.models.review import ConfidenceParts, ReviewItem

REPORT_VERSION = 1


class AtomLine(WireModel):
    """One atom in the report."""

    id: str
    file: str
    qualname: str
    level: int | None = None
    state: str
    attempts: int
    first_try: bool
    confidence: float | None = None


class ReviewLine(WireModel):
    """One review item in the report."""

    atom_id: str
    reason: str
    score: float
    decision: str


class CheckLine(WireModel):
    """One L2/L3/L4/integration validation in the report."""

    level: str
    subject: str
    passed: bool


class RetrievalUse(WireModel):
    """What retrieval gave each phase of a run, and what the run taught the learned collection."""

    planning: list[str] = Field(
        default_factory=list,
        description="Pattern ids (and learned atom ids) the masterplan and skeletons were shown.",
    )
    generation: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Atom id → learned entry ids its prompt showed as examples (atoms shown "
        "none are left out).",
    )
    learned: list[str] = Field(
        default_factory=list,
        description="Learned entry ids this project stored (or found already stored) when it "
        "completed.",
    )
    notes: list[str] = Field(
        default_factory=list, description="Why retrieval or learning did less (unavailable, …)."
    )


class RunReport(WireModel):
    """Machine-readable figures of one run (``report.json``)."""

    version: int = REPORT_VERSION
    project: str
    status: RunStatus | str = "completed"
    message: str = ""
    provider: str = ""
    model: str = ""
    recorded: bool = Field(default=False, description="True when a scripted recording ran.")
    planner: str = Field(
        default="",
        description="Who answered discovery, masterplan and skeletons when not the same model "
        "('provider/model', 'scripted/recording' for recordings); empty: provider/model did.",
    )
    atoms: int
    attempted: int
    validated: int
    approved: int
    failed: int
    exhausted: int = Field(description="Atoms with no passing attempt (failed or in review).")
    in_review: int
    pending: int
    attempts: int
    retries: int
    levels: int
    levels_done: int
    first_try_pass_rate: float
    pass_rate_after_retries: float
    review_items: int
    usage: Usage = Field(
        default_factory=Usage,
        description="Tokens over every run of the project so far (its cost ledger).",
    )
    llm_calls: int = Field(default=0, description="Model calls this run made.")
    cache_hits: int = Field(default=0, description="Requests this run had answered by the cache.")
    cost_usd: float = Field(
        default=0.0, description="USD over every run of the project so far (its cost ledger)."
    )
    wall_s: float = 0.0
    critical_path: list[str] = Field(default_factory=list)
    validations: list[CheckLine] = Field(default_factory=list)
    review: list[ReviewLine] = Field(default_factory=list)
    atom_list: list[AtomLine] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    readiness: ReadinessReport | None = Field(
        default=None, description="L4 production readiness (readiness.md renders it)."
    )
    performance: PerformanceReport | None = Field(
        default=None, description="L3 performance benchmarks (performance.md renders it)."
    )
    retrieval: RetrievalUse = Field(default_factory=RetrievalUse)


def critical_path(atoms: Mapping[str, AtomicUnit]) -> list[str]:
    """The longest dependency chain, first-generated atom first (networkx)."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(sorted(atoms))
    for atom in atoms.values():
        for dep in atom.dependencies:
            if dep in atoms:
                graph.add_edge(dep, atom.id)
    if graph.number_of_nodes() == 0:
        return []
    return [
        str(n)
        for n in nx.dag_longest_path(graph, topo_order=nx.lexicographical_topological_sort(graph))
    ]


def _cost_note(report: RunReport) -> str:
    """Say where a cost comes from when recordings contributed to it."""
    if report.recorded or report.planner.startswith("scripted/"):
        return " (recordings' token counts at list prices: what they would have cost)"
    return ""


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def latest_checks(results: Sequence[ValidationResult]) -> list[ValidationResult]:
    """The project's checks beyond single atoms (pure): the last result of each level and
    subject, in the order each subject was first checked. A re-run re-checks some subjects
    and not others (an integration checkpoint is not repeated), so this is what the codebase
    stands on whichever run wrote the report."""
    last: dict[tuple[str, str], ValidationResult] = {}
    for r in results:
        if r.level != "L1":
            last[(r.level, r.subject)] = r
    return list(last.values())


def compute_report(
    project: str,
    atoms: Mapping[str, AtomicUnit],
    state: ExecutionState,
    *,
    result: ExecutionResult | None = None,
    levels: Sequence[Sequence[str]] = (),
    review: Sequence[ReviewItem] = (),
    scores: Mapping[str, ConfidenceParts] | None = None,
    validations: Sequence[ValidationResult] = (),
    provider: str = "",
    model: str = "",
    recorded: bool = False,
    planner: str = "",
    usage: Usage | None = None,
    llm_calls: int | None = None,
    cache_hits: int | None = None,
    cost_usd: float | None = None,
    wall_s: float | None = None,
    files: Sequence[str] = (),
    readiness: ReadinessReport | None = None,
    retrieval: RetrievalUse | None = None,
    performance: PerformanceReport | None = None,
) -> RunReport:
    """The report for a run (pure). Totals default to the sums over the stored attempts;
    pass the ledger's totals to include discovery, planning and review calls.
    ``validations`` are the checks to list (the project's stored checks, see
    :func:`latest_checks`); without them, the result's module and integration checks."""
    level_of = {a: k for k, level in enumerate(levels) for a in level}
    progress = state.atoms
    attempted = [p for p in progress.values() if p.attempts]
    passed_any = [
        p
        for p in attempted
        if any(a.validation is not None and a.validation.passed for a in p.attempts)
    ]
    all_attempts = [a for p in progress.values() for a in p.attempts]
    summed = Usage()
    for a in all_attempts:
        summed = summed + a.usage
    lines = [
        AtomLine(
            id=atom_id,
            file=atoms[atom_id].file if atom_id in atoms else "",
            qualname=atoms[atom_id].qualname if atom_id in atoms else "",
            level=level_of.get(atom_id),
            state=p.state.value,
            attempts=len(p.attempts),
            first_try=p.first_try_passed,
            confidence=scores[atom_id].score if scores and atom_id in scores else None,
        )
        for atom_id, p in sorted(
            progress.items(), key=lambda kv: (level_of.get(kv[0], 1 << 30), kv[0])
        )
    ]
    checks = list(validations) or [
        *(result.modules if result else []),
        *(result.integration if result else []),
    ]
    return RunReport(
        project=project,
        status=result.status if result else "completed",
        message=result.message if result else "",
        provider=provider,
        model=model,
        recorded=recorded,
        planner=planner,
        atoms=len(progress),
        attempted=len(attempted),
        validated=state.count(AtomState.VALIDATED),
        approved=state.count(AtomState.APPROVED),
        failed=state.count(AtomState.FAILED),
        exhausted=sum(
            1
            for p in attempted
            if p not in passed_any and p.state in (AtomState.FAILED, AtomState.IN_REVIEW)
        ),
        in_review=state.count(AtomState.IN_REVIEW),
        pending=state.count(AtomState.PENDING, AtomState.GENERATING),
        attempts=len(all_attempts),
        retries=sum(max(0, len(p.attempts) - 1) for p in attempted),
        levels=len(levels) if levels else (result.levels if result else 0),
        levels_done=result.levels_done if result else len(levels),
        first_try_pass_rate=_rate(sum(p.first_try_passed for p in attempted), len(attempted)),
        pass_rate_after_retries=_rate(len(passed_any), len(attempted)),
        review_items=len(review),
        usage=usage if usage is not None else summed,
        llm_calls=llm_calls if llm_calls is not None else (result.llm_calls if result else 0),
        cache_hits=cache_hits if cache_hits is not None else (result.cache_hits if result else 0),
        cost_usd=round(
            cost_usd if cost_usd is not None else sum(a.cost_usd for a in all_attempts), 6
        ),
        wall_s=wall_s if wall_s is not None else (result.wall_s if result else 0.0),
        critical_path=critical_path(atoms),
        validations=[CheckLine(level=v.level, subject=v.subject, passed=v.passed) for v in checks],
        review=[
            ReviewLine(
                atom_id=i.atom_id, reason=i.reason, score=i.confidence.score, decision=i.decision
            )
            for i in review
        ],
        atom_list=lines,
        files=sorted(files),
        readiness=readiness if readiness is not None else (result.readiness if result else None),
        performance=(
            performance if performance is not None else (result.performance if result else None)
        ),
        retrieval=retrieval or RetrievalUse(),
    )


def retrieval_line(use: RetrievalUse) -> str:
    """The report's one-line account of retrieval and learning."""
    shown = {e for ids in use.generation.values() for e in ids}
    planning = ", ".join(use.planning[:5]) + (" …" if len(use.planning) > 5 else "")
    line = (
        f"planning: {len(use.planning)} pattern(s)"
        + (f" ({planning})" if planning else "")
        + f"; generation: {len(use.generation)} atom(s) shown {len(shown)} learned example(s)"
        + f"; learned: {len(use.learned)} entr{'y' if len(use.learned) == 1 else 'ies'}"
    )
    return line + "".join(f"; {n}" for n in use.notes)


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def render_report(report: RunReport) -> Group:
    """A rich renderable: a headline, the figures table, and the review items."""
    ok = report.status == "completed"
    headline = Text(
        f"{report.project}: {report.status}" + (f" — {report.message}" if report.message else ""),
        style="bold green" if ok and not report.failed else "bold yellow",
    )
    table = Table(title="Run report", show_header=False, box=None, pad_edge=False)
    table.add_column("figure", style="bold")
    table.add_column("value")
    source = f"{report.provider}/{report.model}" if report.provider else "unknown"
    if report.recorded:
        source += " (scripted recording: no model ran)"
    if report.planner:
        source = f"atoms: {source}; planning: {report.planner}"
        if report.planner.startswith("scripted/"):
            source += " (scripted recording: no model planned)"
    rows = [
        ("LLM", source),
        (
            "atoms",
            f"{report.atoms} ({report.attempted} generated, {report.levels_done}/"
            f"{report.levels} levels)",
        ),
        ("validated", f"{report.validated + report.approved}"),
        ("first-try pass rate", _pct(report.first_try_pass_rate)),
        ("pass rate after retries", _pct(report.pass_rate_after_retries)),
        ("attempts", f"{report.attempts} ({report.retries} retries)"),
        (
            "failed all attempts",
            str(report.exhausted),
        ),
        ("in review", str(report.review_items)),
        (
            "tokens",
            f"{report.usage.input_tokens:,} in / {report.usage.output_tokens:,} out, "
            f"{report.usage.cache_read_tokens:,} cache read / "
            f"{report.usage.cache_write_tokens:,} cache write",
        ),
        ("LLM calls (this run)", f"{report.llm_calls} ({report.cache_hits} answered by the cache)"),
        ("cost", f"${report.cost_usd:.4f}" + _cost_note(report)),
        ("wall time", f"{report.wall_s:.1f} s"),
        (
            "critical path",
            f"{len(report.critical_path)} atoms"
            + (f": {' → '.join(report.critical_path[:6])}" if report.critical_path else "")
            + (" …" if len(report.critical_path) > 6 else ""),
        ),
    ]
    rows.append(("retrieval", retrieval_line(report.retrieval)))
    failed_checks = [c for c in report.validations if not c.passed]
    rows.append(
        (
            "checks",
            f"{len(report.validations) - len(failed_checks)}/"
            f"{len(report.validations)} module/integration/system checks passed",
        )
    )
    if report.readiness is not None and report.readiness.checks:
        ready = report.readiness
        failing = [c.name for c in ready.checks if not c.passed]
        rows.append(
            (
                "readiness",
                ("ready" if ready.ready else "NOT ready")
                + f": {len(ready.checks) - len(failing)}/{len(ready.checks)} checks pass"
                + (f" (failing: {', '.join(failing)})" if failing else "")
                + f"; {ready.findings} findings; see readiness.md",
            )
        )
    if report.performance is not None and (
        report.performance.results or report.performance.questions
    ):
        perf = report.performance
        missed = [r.criterion.id for r in perf.missed]
        figures = "; ".join(
            f"{r.criterion.id} {r.median_ms:.1f}/{r.criterion.budget_ms:g} ms"
            for r in perf.results
            if r.median_ms is not None
        )
        rows.append(
            (
                "performance",
                ("met" if perf.met else "MISSED")
                + f": {len(perf.results) - len(missed)}/{len(perf.results)} budgets met"
                + (f" ({figures})" if figures else "")
                + (f"; retried {', '.join(perf.retried)}" if perf.retried else "")
                + (f"; {len(perf.questions)} unmeasured" if perf.questions else "")
                + "; see performance.md",
            )
        )
    for name, value in rows:
        table.add_row(name, value)
    parts: list[Table | Text] = [headline, table]
    if report.review:
        items = Table(title="Review queue", show_lines=False)
        items.add_column("atom")
        items.add_column("reason")
        items.add_column("confidence", justify="right")
        items.add_column("decision")
        for r in report.review:
            items.add_row(r.atom_id, r.reason, f"{r.score:.2f}", r.decision)
        parts.append(items)
    return Group(*parts)
