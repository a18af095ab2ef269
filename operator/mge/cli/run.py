"""`mge run MANIFEST`: the whole pipeline locally, with a progress display and a run report.

On a terminal the display is a live progress bar (phase, level, atoms done/total, retries,
cost); elsewhere (CI, pipes) it degrades to plain log lines. Kill it at any moment and run it
again: it resumes from the store without repeating LLM calls.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mge.cli.app import State, app
from mge.cli.plan import load_manifest
from mge.discovery import load_answers
from mge.discovery.intake import Ask
from mge.execution.executor import Progress as ExecProgress
from mge.execution.report import render_report
from mge.models.domain import Question
from mge.models.project import Phase
from mge.pipeline.context import LogReporter
from mge.pipeline.local import run_local

EXIT_STALLED = 3
"""Exit code when the run stopped before the end (budget reached); run again to resume."""
EXIT_REVIEW = 0
"""Exit code when the codebase is written and review items wait (not an error)."""
EXIT_NOT_READY = 4
"""Exit code when the codebase is written but a readiness check in ``block`` mode still fails
after its retries (spec.validation.readiness; the findings are in readiness.md), or a
performance budget in ``block`` mode is still missed (spec.validation.performance;
performance.md)."""


class BarReporter:
    """Reporter for a terminal: one live bar for the current phase and its work."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = Progress(
            TextColumn("[bold]{task.fields[phase]:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task = self.bar.add_task("run", total=None, phase="Pending", detail="")

    def phase(self, name: str, detail: str = "") -> None:
        self.bar.update(self.task, phase=name, detail=detail, completed=0, total=None)
        self.console.log(f"[bold]{name}[/] {detail}")

    def progress(self, done: int, total: int, detail: str = "") -> None:
        self.bar.update(self.task, completed=done, total=total, detail=detail)

    def note(self, message: str) -> None:
        self.console.log(message)

    def execution(self, p: ExecProgress) -> None:
        self.progress(
            p.settled,
            p.total,
            f"level {p.level + 1}/{p.levels} · ok {p.validated} · failed {p.failed} · "
            f"retries {p.retries} · ${p.cost_usd:.4f}",
        )


def _terminal_ask(console: Console) -> Ask:
    def ask(q: Question) -> str:
        reply: str = typer.prompt(f"{q.id}: {q.text}", default=q.default, show_default=True)
        return reply

    return ask


@app.command("run")
def run_command(
    manifest: Annotated[Path, typer.Argument(help="A Project manifest (kind: Project).")],
    answers: Annotated[
        Path | None, typer.Option("--answers", help="YAML answers to clarifying questions.")
    ] = None,
    interactive: Annotated[
        bool, typer.Option("--interactive", help="Ask open clarifying questions here.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output folder (default spec.output.path)."),
    ] = None,
    patterns: Annotated[
        bool, typer.Option("--patterns/--no-patterns", help="Retrieve patterns (Chroma).")
    ] = True,
    unsandboxed: Annotated[
        bool,
        typer.Option(
            "--unsandboxed",
            help="Run generated code WITHOUT isolation (limits still apply) when no sandbox "
            "is available. Never the default.",
        ),
    ] = False,
) -> None:
    """Run the whole pipeline: discovery → patterns → plan → skeletons → atoms → graph →
    generation with validation and retries → system validation → production readiness →
    review queue → output folder.

    Offline with the scripted provider (recordings, clearly marked as such). Resumable: run
    the same command again after a kill or a budget stop. Exit codes: 0 done (review items
    may wait), 3 stopped early (budget; run again), 4 written but a blocking readiness check
    still fails (readiness.md; spec.validation.readiness) or a performance budget is still
    missed (performance.md; spec.validation.performance).
    """
    extra: dict[str, object] = {"sandbox": "unsandboxed"} if unsandboxed else {}
    settings = State.settings(**extra)
    m = load_manifest(manifest)
    given = load_answers(answers) if answers else {}
    console = Console(stderr=True)
    tty = console.is_terminal
    bar = BarReporter(console) if tty else None
    log_reporter = LogReporter(lambda line: print(line, file=sys.stderr, flush=True))
    reporter = bar or log_reporter
    ask = _terminal_ask(console) if interactive else None

    def on_progress(p: ExecProgress) -> None:
        if bar is not None:
            bar.execution(p)
        elif p.settled == p.total or p.settled % 10 == 0:
            log_reporter.progress(
                p.settled,
                p.total,
                f"atoms (level {p.level + 1}/{p.levels}, failed {p.failed}, "
                f"retries {p.retries}, ${p.cost_usd:.4f})",
            )

    async def go() -> int:
        if bar is not None:
            bar.bar.start()
        try:
            result = await run_local(
                m,
                manifest.parent,
                settings,
                reporter,
                answers=given,
                ask=ask,
                use_patterns=patterns,
                output=output,
                on_progress=on_progress,
            )
        finally:
            if bar is not None:
                bar.bar.stop()
        out = Console()
        if result.report is not None:
            out.print(render_report(result.report))
        if result.written is not None:
            out.print(f"codebase written to {result.written.folder}")
        if result.phase == Phase.EXECUTING:
            out.print(f"[yellow]stopped: {result.message}[/]")
            return EXIT_STALLED
        if result.phase == Phase.REVIEWING:
            out.print(f"review items are waiting: `mge review list` (project {result.key})")
        code = 0
        performance = result.report.performance if result.report is not None else None
        if performance is not None and performance.blocking:
            missed = ", ".join(r.criterion.id for r in performance.missed)
            out.print(
                f"[red]performance budgets missed: {missed} (performance.md); set "
                "spec.validation.performance.mode to `report` to accept that[/]"
            )
            code = EXIT_NOT_READY
        readiness = result.report.readiness if result.report is not None else None
        if readiness is not None and not readiness.ready:
            blocking = ", ".join(c.name for c in readiness.blocking_failures)
            out.print(
                f"[red]not production-ready: {blocking} still fail (readiness.md); "
                "set them to `report` in spec.validation.readiness to accept that[/]"
            )
            code = EXIT_NOT_READY
        return code

    code = asyncio.run(go())
    if code:
        raise typer.Exit(code)
