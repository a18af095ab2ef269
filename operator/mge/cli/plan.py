"""`mge plan MANIFEST`: discovery → retrieval → masterplan, printed as a tree (or JSON).

Runs phases 0–2 of the pipeline for one Project manifest without storing anything, so a person
can see the domain model and the plan before paying for a full run. Answers to clarifying
questions come from ``spec.discovery.answers``, ``--answers FILE`` (which wins), and with
``--interactive`` from the terminal; unanswered questions take their defaults.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from mge.cli.app import State, app
from mge.config import Settings, describe_error
from mge.discovery import answers_from_spec, discover, load_answers, resolve_answers
from mge.discovery.intake import Ask
from mge.errors import ConfigError, InputError
from mge.models.domain import DiscoveryResult, Question
from mge.models.plan import Masterplan
from mge.models.project import ProjectManifest
from mge.pipeline.collaborators import open_llm, open_pattern_source, recordings_beside
from mge.planning import (
    Finding,
    PatternRef,
    gather_patterns,
    make_plan,
    render_report,
    validate_plan,
)

__all__ = ["PlanOutcome", "domain_tree", "load_manifest", "plan_command", "plan_tree"]


def load_manifest(path: Path) -> ProjectManifest:
    """Read and validate a Project manifest file; errors name the file and the fields."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"manifest {path} does not exist") from e
    except yaml.YAMLError as e:
        raise InputError(f"manifest {path} is not valid YAML: {e}") from e
    try:
        return ProjectManifest.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"manifest {path} is invalid:\n{describe_error(e)}") from e


@dataclass(frozen=True)
class PlanOutcome:
    """What `mge plan` produced: the answered discovery, the patterns offered, the plan."""

    discovery: DiscoveryResult
    patterns: list[PatternRef]
    plan: Masterplan
    findings: list[Finding]

    def wire(self) -> dict[str, object]:
        """The JSON printed by ``--json`` (camelCase, like the store and the CRD status)."""
        return {
            "discovery": self.discovery.wire(),
            "patternsOffered": [p.pattern_id for p in self.patterns],
            "plan": self.plan.wire(),
            "findings": [f.model_dump(mode="json") for f in self.findings],
        }


async def run_plan(
    manifest_path: Path,
    settings: Settings,
    *,
    answers_file: Path | None = None,
    ask: Ask | None = None,
    retrieve: bool = True,
) -> PlanOutcome:
    """Discovery, answers, retrieval and planning for one manifest (nothing is stored)."""
    manifest = load_manifest(manifest_path)
    spec = manifest.spec
    if spec.requirements is None:
        raise InputError(
            "spec.requirementsFrom reads a ConfigMap, which only the operator can do; "
            "put the requirements inline in spec.requirements to plan locally"
        )
    file_answers = load_answers(answers_file) if answers_file else {}
    client = await open_llm(  # spec.llm.planner when set; nothing stored, so no cache
        spec.llm.for_planning(), settings, None, recordings=recordings_beside(manifest_path.parent)
    )
    name = manifest.metadata.name
    try:
        found = await discover(spec.requirements, spec.hints, client, project=name)
        answered = resolve_answers(
            found, answers_from_spec(spec.discovery.answers), file_answers, ask=ask
        )
        patterns: list[PatternRef] = []
        if retrieve:
            source = await open_pattern_source(settings, answered.stack.language)
            patterns = await gather_patterns(answered, source)
        plan = await make_plan(answered, patterns, client, project=name)
    finally:
        await client.aclose()
    offered = [p.pattern_id for p in patterns] if retrieve else None
    findings = validate_plan(plan, answered, offered_patterns=offered)
    return PlanOutcome(answered, patterns, plan, findings)


def _names(items: list[str]) -> str:
    return escape(", ".join(items)) if items else "—"


def domain_tree(d: DiscoveryResult) -> Tree:
    """The DDD model, stack, criteria, questions and assumptions as a rich tree."""
    root = Tree(f"[bold]Discovery[/] — {escape(d.summary)}" if d.summary else "[bold]Discovery")
    for ctx in d.domain.contexts:
        node = root.add(f"[bold cyan]context {escape(ctx.name)}[/] {escape(ctx.description)}")
        for kind, items in (("entity", ctx.entities), ("value object", ctx.value_objects)):
            for item in items:
                branch = node.add(f"[green]{kind}[/] [bold]{escape(item.name)}")
                for f in item.fields:
                    branch.add(f"{escape(f.name)}: [magenta]{escape(f.type)}[/]")
                for inv in item.invariants:
                    branch.add(f"[dim]invariant:[/] {escape(inv)}")
        for agg in ctx.aggregates:
            node.add(
                f"[green]aggregate[/] [bold]{escape(agg.name)}[/] root {escape(agg.root)}; "
                f"members {_names(agg.members)}"
            )
        for svc in ctx.services:
            branch = node.add(f"[green]service[/] [bold]{escape(svc.name)}")
            for op in svc.operations:
                branch.add(escape(op))
        for ev in ctx.events:
            fields = [f"{f.name}: {f.type}" for f in ev.fields]
            node.add(f"[green]event[/] [bold]{escape(ev.name)}[/]({_names(fields)})")
    stack = root.add(
        f"[bold cyan]stack[/] {d.stack.language}"
        + (f" + {escape(d.stack.framework)}" if d.stack.framework else "")
    )
    for c in d.stack.choices:
        stack.add(f"{escape(c.name)} [dim]— {escape(c.reason)}")
    criteria = root.add("[bold cyan]acceptance criteria")
    for ac in d.acceptance:
        criteria.add(f"[yellow]{ac.id}[/] {escape(ac.text)}")
    if d.questions:
        qs = root.add("[bold cyan]questions")
        for q in d.questions:
            given = (
                f"[green]answer:[/] {escape(q.answer)}"
                if q.answer is not None
                else f"[dim]default:[/] {escape(q.default)}"
            )
            qs.add(f"[yellow]{q.id}[/] {escape(q.text)}").add(given)
    if d.assumptions:
        assumed = root.add("[bold cyan]assumptions")
        for a in d.assumptions:
            assumed.add(escape(a))
    return root


def plan_tree(plan: Masterplan, patterns: list[PatternRef] | None = None) -> Tree:
    """The masterplan as phases → milestones → tasks, with files, coverage and dependencies."""
    tasks = plan.tasks()
    root = Tree(f"[bold]Masterplan[/] — {len(tasks)} tasks")
    for phase in plan.phases:
        p = root.add(f"[bold cyan]{phase.id}[/] {escape(phase.title)}")
        for ms in phase.milestones:
            m = p.add(f"[bold blue]{ms.id}[/] {escape(ms.title)}")
            for t in ms.tasks:
                task = m.add(f"[bold yellow]{t.id}[/] {escape(t.title)} [dim]({t.role})")
                task.add(f"files: {_names(t.files)}")
                if t.covers:
                    task.add(f"covers: {_names(t.covers)}")
                if t.acceptance:
                    task.add(f"checks: {_names(t.acceptance)}")
                if t.depends_on:
                    task.add(f"after: {_names(t.depends_on)}")
    titles = {p.pattern_id: p.title for p in patterns or []}
    used = root.add("[bold cyan]patterns used")
    for pid in plan.patterns_used:
        used.add(escape(pid) + (f" [dim]— {escape(titles[pid])}" if pid in titles else ""))
    if not plan.patterns_used:
        used.add("[dim]none")
    return root


def _terminal_ask(console: Console) -> Ask:
    def ask(question: Question) -> str:
        console.print(f"[bold yellow]{question.id}[/] {escape(question.text)}")
        reply: str = typer.prompt("  answer", default=question.default)
        return reply

    return ask


@app.command("plan")
def plan_command(
    manifest: Annotated[
        Path, typer.Argument(help="Project manifest, e.g. examples/NAME/project.yaml.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print discovery and plan as JSON instead of trees.")
    ] = False,
    answers: Annotated[
        Path | None,
        typer.Option(
            "--answers", help="YAML answers to clarifying questions: `Q-1: ...` or [{id, answer}]."
        ),
    ] = None,
    interactive: Annotated[
        bool, typer.Option("--interactive", help="Ask the open questions in the terminal.")
    ] = False,
    patterns: Annotated[
        bool,
        typer.Option(
            "--patterns/--no-patterns", help="Retrieve patterns from the library for the planner."
        ),
    ] = True,
) -> None:
    """Run discovery and the masterplan for MANIFEST and print the DDD model and the plan.

    Unanswered questions take their defaults, recorded as assumptions. Nothing is stored.
    """
    console = Console()
    ask = _terminal_ask(Console(stderr=True)) if interactive else None
    outcome = asyncio.run(
        run_plan(manifest, State.settings(), answers_file=answers, ask=ask, retrieve=patterns)
    )
    if as_json:
        typer.echo(json.dumps(outcome.wire(), indent=2, ensure_ascii=False))
        return
    console.print(domain_tree(outcome.discovery))
    console.print(plan_tree(outcome.plan, outcome.patterns))
    report = render_report(outcome.findings)
    if report:
        console.print(f"[yellow]{escape(report)}")
