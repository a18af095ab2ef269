"""The readiness gate: run every readiness check of the language once, in the sandbox, on the
assembled codebase with its manifest, and report the findings attributed to atoms.

All checks of one round that need the same runtime go into one sandbox batch, one item per
tool run (each in its own folder holding the whole codebase), so locally they share the process
sandbox and in the cluster one Job runs them (TypeScript/JavaScript: a Node batch for ESLint,
tsc and the install check, a Python batch for the secret scan). The tools read code or run
it (install + tests), so they run where generated code runs: the sandbox, never the trusted process.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from itertools import count

from mge.execution.eslint_config import eslint_config
from mge.execution.manifest import PACKAGE_JSON, PYPROJECT, pinned_version, with_manifest
from mge.execution.readiness.checks import ToolCheck, checks_for
from mge.execution.readiness.install import undeclared_imports
from mge.execution.readiness.nodejs import (
    ESLINT_CONFIG,
    ESLINT_FORMAT,
    ESLINT_FORMATTER,
    undeclared_npm_imports,
)
from mge.execution.readiness.verdict import Spans, attribute, check_result
from mge.models.readiness import ReadinessCheckResult, ReadinessPolicy, ReadinessReport
from mge.models.sandbox import SandboxBatch, SandboxItem, SandboxLimits, SandboxResult
from mge.validation.codebase import Codebase
from mge.validation.sandboxed import BatchRunner

READINESS_TIMEOUT_SECONDS = 300.0
"""Wall clock per tool run (mypy --strict over a few hundred files, install + tests)."""
READINESS_LIMITS = SandboxLimits(
    timeout_seconds=READINESS_TIMEOUT_SECONDS,
    memory_mb=2048,
    max_processes=128,
    max_output_bytes=8 * 1024 * 1024,
    tmp_size_mb=512,
)
"""Whole-project tools need more than one atom's tests: mypy's memory, pip's processes, a
fresh environment in the private /tmp."""

_rounds = count(1)


def _version(check: ToolCheck) -> str:
    if check.runtime == "node":
        return pinned_version(check.tool)
    try:
        return metadata.version(check.tool)
    except metadata.PackageNotFoundError:
        return ""


class ReadinessGate:
    """Runs the readiness checks of ``language`` for a codebase (see module docstring)."""

    def __init__(
        self,
        codebase: Codebase,
        run_batch: BatchRunner,
        policy: ReadinessPolicy,
        *,
        language: str,
        project: str,
        limits: SandboxLimits = READINESS_LIMITS,
    ) -> None:
        self.codebase = codebase
        self.run_batch = run_batch
        self.policy = policy
        self.language = language
        self.project = project
        self.limits = limits

    @property
    def checks(self) -> tuple[ToolCheck, ...]:
        """The checks that run (those not ``off`` in the policy)."""
        return tuple(c for c in checks_for(self.language) if self.policy.mode(c.name) != "off")

    def files(self, codes: Mapping[str, str]) -> dict[str, str]:
        """The codebase as the output folder will hold it (manifest included)."""
        rendered = self.codebase.render(codes, stub_missing=True)
        return with_manifest(rendered, self.project, self.language)

    def spans(self, codes: Mapping[str, str]) -> Spans:
        """Where each atom's code sits in its assembled file."""
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for path, atoms in self.codebase.atoms_by_file.items():
            if path not in self.codebase.files:
                continue
            assembly = self.codebase.render_file(path, codes, stub_missing=True)
            by_name = {a.qualname: a.id for a in atoms}
            out[path] = {by_name[q]: s for q, s in assembly.spans.items() if q in by_name}
        return out

    async def check(self, codes: Mapping[str, str]) -> ReadinessReport:
        """One round of every check over the codebase with ``codes`` spliced in."""
        checks = self.checks
        if not checks:
            return ReadinessReport(language=self.language)
        files = self.files(codes)
        known = sorted(files)
        shared = dict(files)
        if any(c.runtime == "node" for c in checks):
            shared[ESLINT_CONFIG] = eslint_config(self.language)
            shared[ESLINT_FORMAT] = ESLINT_FORMATTER
        round_id = next(_rounds)
        results: dict[str, SandboxResult] = {}
        for runtime in sorted({c.runtime for c in checks}):
            items: dict[str, SandboxItem] = {}
            for c in checks:
                if c.runtime == runtime and c.item_id not in items:
                    items[c.item_id] = SandboxItem(
                        atom_id=c.item_id,
                        command=list(c.argv),
                        timeout_seconds=self.limits.timeout_seconds,
                    )
            batch = SandboxBatch(
                batch_id=f"readiness-{round_id}-{runtime}",
                language="python" if runtime == "python" else "javascript",
                limits=self.limits,
                shared_files=shared if runtime == "node" else files,
                items=list(items.values()),
            )
            results[runtime] = await self.run_batch(batch)
        spans = self.spans(codes)
        done = [self._result(c, results[c.runtime], files, known, spans) for c in checks]
        return ReadinessReport(language=self.language, checks=done)

    def _result(
        self,
        check: ToolCheck,
        result: SandboxResult,
        files: Mapping[str, str],
        known: list[str],
        spans: Spans,
    ) -> ReadinessCheckResult:
        mode = self.policy.mode(check.name)
        extra = []
        if check.name == "install":
            extra = (
                undeclared_imports(files, PYPROJECT)
                if self.language == "python"
                else undeclared_npm_imports(files, PACKAGE_JSON)
            )
        try:
            outcome = result.outcome(check.item_id)
        except KeyError:
            return ReadinessCheckResult(
                name=check.name,
                tool=check.tool,
                mode=mode,
                passed=False,
                error="the sandbox returned no outcome for this check",
            )
        done = check_result(
            check,
            mode,
            exit_code=outcome.exit_code,
            output=outcome.stdout_tail + "\n" + outcome.stderr_tail,
            detail=outcome.detail,
            known=known,
            version=_version(check),
            extra=extra,
        )
        return done.model_copy(update={"findings": attribute(done.findings, spans)})
