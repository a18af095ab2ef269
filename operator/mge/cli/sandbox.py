"""`mge sandbox run BATCH.json` and `mge sandbox check`.

``run`` is the batch runner as a command: a batch JSON in (a file, or ``-`` for stdin), a result
JSON on stdout (and in ``--out FILE``). Atoms failing is a normal result (exit 0); exit 2 means
the sandbox itself could not run. The sandbox Job image calls it with ``--isolation pod``.

This module imports neither the store nor the LLM layer. ``python -m mge.cli.sandbox run …``
runs these commands without loading any other command module — the entry point for the sandbox
image.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError

from mge.cli.app import State, app
from mge.config import describe_error
from mge.errors import InputError, MGEError
from mge.models.sandbox import SandboxBatch, SandboxResult
from mge.sandbox import (
    HostReport,
    IsolationChoice,
    IsolationKind,
    LocalSandbox,
    RunnerOptions,
    choose_isolation,
    probe_host,
)

sandbox_app = typer.Typer(
    name="sandbox",
    help="Run generated code and its tests for a batch of atoms, isolated and limited.",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")

IsolationOption = Literal["auto", "bwrap", "unshare", "pod", "unsandboxed"]
ISOLATION_HELP = (
    "auto (bubblewrap, else unshare, else refuse), bwrap, unshare, pod (inside the sandbox Job: "
    "the pod isolates, limits still apply) or unsandboxed (NO isolation; must be asked for). "
    "Default: the `sandbox` setting (MGE_SANDBOX)."
)


def _read_batch(source: str) -> SandboxBatch:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as e:
        raise InputError(f"cannot read batch {source}: {e}") from e
    try:
        return SandboxBatch.model_validate_json(text)
    except ValidationError as e:
        raise InputError(f"batch {source} is invalid:\n{describe_error(e)}") from e


def _isolation(flag: IsolationOption | None) -> IsolationChoice:
    if flag is not None:
        return flag
    return State.settings().sandbox


def _loud(warnings: list[str]) -> None:
    for w in warnings:
        typer.secho(f"WARNING: {w}", fg="red", bold=True, err=True)


@sandbox_app.command("run")
def run_cmd(
    batch: Annotated[str, typer.Argument(help="Batch JSON file, or - for stdin.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the result JSON to this file.")
    ] = None,
    isolation: Annotated[
        IsolationOption | None, typer.Option("--isolation", help=ISOLATION_HELP)
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Atoms at once (default: CPUs).")
    ] = None,
    scratch: Annotated[
        Path | None, typer.Option("--scratch", help="Folder for batch folders (default: temp).")
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the batch folder afterwards.")] = False,
    no_cgroups: Annotated[
        bool, typer.Option("--no-cgroups", help="Do not use per-atom cgroups even if available.")
    ] = False,
    cold: Annotated[
        bool,
        typer.Option(
            "--cold",
            help="Start a fresh interpreter per atom even where the batch's pytest runs could "
            "fork from one warm interpreter (pod, unsandboxed); for comparison.",
        ),
    ] = False,
) -> None:
    """Run a batch; print one JSON result (an outcome per atom) on stdout."""
    parsed = _read_batch(batch)
    options = RunnerOptions(
        isolation=_isolation(isolation),
        concurrency=concurrency,
        scratch_dir=scratch,
        keep_files=keep,
        use_cgroups=not no_cgroups,
        warm=not cold,
    )
    result: SandboxResult = asyncio.run(LocalSandbox(options).run(parsed))
    _loud([w for w in result.warnings if w.startswith("UNSANDBOXED")])
    text = result.model_dump_json(by_alias=True)
    if out is not None:
        out.write_text(text + "\n")
    passed = result.passed_count
    summary = (
        f"batch {result.batch_id}: {passed}/{len(result.outcomes)} atoms passed "
        f"in {result.duration_s:.2f} s ({result.isolation})"
    )
    # In a pod both streams land in one container log, and containerd splits a long line into
    # 16 KiB pieces read per stream: a stderr line can land between two pieces of the result,
    # cutting it in two (measured on the real test node, whichever stream was written first).
    # So in a pod the summary goes to stdout, before the result line (the last line is read).
    typer.echo(summary, err=_isolation(isolation) != "pod")
    typer.echo(text)


def _check_report(host: HostReport, choice: IsolationChoice) -> dict[str, Any]:
    def probe(p: Any) -> dict[str, Any]:
        return {"ok": p.ok, "path": p.path, "reason": p.reason}

    report: dict[str, Any] = {
        "root": host.root,
        "prlimit": probe(host.prlimit),
        "bwrap": probe(host.bwrap),
        "unshare": probe(host.unshare),
        "cgroups": host.cgroups.describe() if host.cgroups else None,
        "python": probe(host.python),
        "node": probe(host.node),
    }
    try:
        kind, warnings = choose_isolation(choice, host)
    except MGEError as e:
        report.update(choice=choice, chosen=None, error=str(e))
        return report
    matrix = host.matrix(kind)
    report.update(
        choice=choice,
        chosen=kind.value,
        warnings=warnings,
        threats={t.value: {"level": c.level, "how": c.how} for t, c in matrix.items()},
    )
    return report


@sandbox_app.command("check")
def check_cmd(
    isolation: Annotated[
        IsolationOption | None, typer.Option("--isolation", help=ISOLATION_HELP)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Report which isolation this machine has and what it contains. Exit 1 if none."""
    choice = _isolation(isolation)
    probe_all = choice not in ("pod", "unsandboxed")
    host = asyncio.run(probe_host(None if probe_all else choice))
    report = _check_report(host, choice)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_check(report)
    if report["chosen"] is None:
        raise typer.Exit(1)
    if report["chosen"] == IsolationKind.NONE.value:
        _loud(report["warnings"])


def _print_check(report: dict[str, Any]) -> None:
    yes = {True: "yes", False: "no"}
    typer.echo(f"running as root: {yes[report['root']]}")
    for name in ("bwrap", "unshare", "prlimit", "python", "node"):
        p = report[name]
        why = f"  ({p['reason']})" if p["reason"] else ""
        typer.echo(f"{name:8} {yes[p['ok']]:3} {p['path'] or ''}{why}")
    typer.echo(f"cgroups  {report['cgroups'] or 'none usable'}")
    if report["chosen"] is None:
        typer.secho(f"isolation: NONE AVAILABLE — {report['error']}", fg="red", err=True)
        return
    typer.echo(f"isolation for {report['choice']!r}: {report['chosen']}")
    for w in report["warnings"]:
        typer.echo(f"  warning: {w}")
    typer.echo("threats:")
    for threat, c in report["threats"].items():
        typer.echo(f"  {threat:17} {c['level']:9} {c['how']}")


def main() -> None:
    """``python -m mge.cli.sandbox``: only the sandbox commands (the sandbox image's entry)."""
    import click

    try:
        sandbox_app(standalone_mode=False, prog_name="mge sandbox")
    except MGEError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        sys.exit(2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
