"""Which tool runs each readiness check, per language: the one table a language extends.

A :class:`ToolCheck` says what to run in the sandbox (an argv whose ``python``/``node`` is the
sandbox's interpreter, on the ``runtime`` it names), which exit codes mean "the tool ran", and
the pure parser of its output. Checks with the same ``item`` share one run (ESLint's lint and
security findings come from one run, split by rule). :data:`READINESS_TOOLS` maps a language
to its checks; a language without an entry runs none and says so in the report.

The Python tools are pinned in ``pyproject.toml`` (the ``test`` extra, installed beside MGE for
the local process sandbox) and in ``sandbox-image/requirements.txt`` (the sandbox Job image).
The Node tools (tsc, ESLint and its rule sets) are pinned in ``mge/sandbox/npm/package-lock.json``
(installed by ``scripts/install.sh`` locally, by ``npm ci`` in the image); the secret scan is
detect-secrets for every language (it reads any text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from mge.execution.readiness.install import driver_command
from mge.execution.readiness.nodejs import (
    ESLINT_CONFIG,
    ESLINT_FORMAT,
    FORMAT_DRIVER,
    INSTALL_DRIVER,
    MISSING_TOOL,
    RUN_TOOL,
)
from mge.execution.readiness.parse import (
    BANDIT_TEMPLATE,
    parse_bandit,
    parse_detect_secrets,
    parse_eslint_lint,
    parse_eslint_security,
    parse_install,
    parse_mypy,
    parse_npm_install,
    parse_prettier,
    parse_ruff_check,
    parse_ruff_format,
    parse_tsc,
)
from mge.models.readiness import Finding, ReadinessCheckName

Parser = Callable[[str, Sequence[str]], list[Finding]]
Runtime = Literal["python", "node"]

BANDIT_SEVERITY = "medium"
"""Lowest bandit severity reported: medium and high (SQL built from strings B608, shell
injection B602/B605, weak hashes B324, eval B307, exec B102 …); low (assert, random,
subprocess imports) is what tests and ordinary code do and is left out."""

RUFF_RULES = "E4,E7,E9,F,B"
"""The shipped rule set (``--isolated``: no config file changes it): ruff's long-standing
defaults (pycodestyle errors, pyflakes) plus flake8-bugbear, the likely bugs."""


@dataclass(frozen=True)
class ToolCheck:
    """One readiness check for one language."""

    name: ReadinessCheckName
    tool: str
    """Distribution (or npm package) name of the tool (its version is reported; a missing one is
    named)."""
    module: str
    """The module ``python -m`` runs, or the npm package the Node driver looks for (how a
    missing tool shows in the sandbox's output)."""
    argv: tuple[str, ...]
    parse: Parser
    ok_codes: frozenset[int] = frozenset({0, 1})
    """Exit codes of a run that gave a verdict (anything else is a tool error)."""
    runtime: Runtime = "python"
    """The sandbox toolchain the argv needs (one sandbox batch per runtime)."""
    item: str = ""
    """The sandbox item whose output this check reads (default: its own, ``readiness-<name>``);
    checks naming the same item share one run."""

    @property
    def item_id(self) -> str:
        """The sandbox item id this check's run has."""
        return f"readiness-{self.item or self.name}"

    @property
    def missing(self) -> str:
        """What the sandbox prints when the tool is not installed there."""
        if self.runtime == "node":
            return f"{MISSING_TOOL}{self.module}"
        return f"No module named {self.module}"

    @property
    def install_hint(self) -> str:
        """Where the tool is pinned (said when it is missing)."""
        if self.runtime == "node":
            return (
                "mge/sandbox/npm/package-lock.json: `bash scripts/install.sh` locally, the "
                "sandbox image's npm ci in the cluster"
            )
        return "pyproject.toml's test extra locally, sandbox-image/requirements.txt in the image"


SECRETS_EXCLUDE = r"^\.(mge-|eslint-readiness)|(^|/)package-lock\.json$"
"""Files the secret scan skips: MGE's own sandbox files, and npm lockfiles (their integrity
hashes are high-entropy strings, not credentials)."""
SECRETS_CHECK = ToolCheck(
    "secrets",
    "detect-secrets",
    "detect_secrets",
    ("python", "-m", "detect_secrets", "scan", "--all-files", "--exclude-files", SECRETS_EXCLUDE),
    parse_detect_secrets,
    ok_codes=frozenset({0}),
)
"""detect-secrets reads any text: the same scan for every language."""


PYTHON_CHECKS: tuple[ToolCheck, ...] = (
    ToolCheck(
        "lint",
        "ruff",
        "ruff",
        (
            "python",
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--output-format=concise",
            f"--select={RUFF_RULES}",
            ".",
        ),
        parse_ruff_check,
    ),
    ToolCheck(
        "format",
        "ruff",
        "ruff",
        ("python", "-m", "ruff", "format", "--isolated", "--no-cache", "--check", "--diff", "."),
        parse_ruff_format,
    ),
    ToolCheck(
        "types",
        "mypy",
        "mypy",
        (
            "python",
            "-m",
            "mypy",
            "--strict",
            "--explicit-package-bases",
            "--cache-dir=/dev/null",
            "--no-error-summary",
            "--show-error-codes",
            "--no-color-output",
            "--hide-error-context",
            "--no-pretty",
            ".",
        ),
        parse_mypy,
    ),
    ToolCheck(
        "security",
        "bandit",
        "bandit",
        (
            "python",
            "-m",
            "bandit",
            "-r",
            ".",
            "-q",
            f"--severity-level={BANDIT_SEVERITY}",
            "-f",
            "custom",
            f"--msg-template={BANDIT_TEMPLATE}",
        ),
        parse_bandit,
    ),
    SECRETS_CHECK,
    ToolCheck("install", "pip", "pip", tuple(driver_command()), parse_install),
)


def _node_tool(package: str, entry: str, *args: str) -> tuple[str, ...]:
    return ("node", "-e", RUN_TOOL, package, entry, *args)


ESLINT_ARGV = _node_tool(
    "eslint",
    "bin/eslint.js",
    "--config",
    ESLINT_CONFIG,
    "--format",
    f"./{ESLINT_FORMAT}",
    "--ignore-pattern",
    ".eslint-readiness*",
    "--ignore-pattern",
    ".mge-*",
    "--no-warn-ignored",
    "--max-warnings=-1",
    ".",
)
"""One ESLint run over the project with MGE's config; lint and security read it."""
ESLINT_LINT = ToolCheck(
    "lint", "eslint", "eslint", ESLINT_ARGV, parse_eslint_lint, runtime="node", item="eslint"
)
ESLINT_SECURITY = ToolCheck(
    "security",
    "eslint-plugin-security",
    "eslint",
    ESLINT_ARGV,
    parse_eslint_security,
    runtime="node",
    item="eslint",
)
PRETTIER = ToolCheck(
    "format",
    "prettier",
    "prettier",
    ("node", "-e", FORMAT_DRIVER),
    parse_prettier,
    runtime="node",
)
"""prettier's defaults (no config: what a team gets from ``npx prettier --check .``)."""
NPM_INSTALL = ToolCheck(
    "install",
    "npm-install",
    "typescript",
    ("node", "-e", INSTALL_DRIVER),
    parse_npm_install,
    ok_codes=frozenset({0}),
    runtime="node",
)

TYPESCRIPT_CHECKS: tuple[ToolCheck, ...] = (
    ESLINT_LINT,
    PRETTIER,
    ToolCheck(
        "types",
        "typescript",
        "typescript",
        _node_tool("typescript", "bin/tsc", "-p", "tsconfig.json", "--noEmit", "--pretty", "false"),
        parse_tsc,
        ok_codes=frozenset({0, 1, 2}),
        runtime="node",
    ),
    ESLINT_SECURITY,
    SECRETS_CHECK,
    NPM_INSTALL,
)
JAVASCRIPT_CHECKS: tuple[ToolCheck, ...] = (
    ESLINT_LINT,
    PRETTIER,
    ESLINT_SECURITY,
    SECRETS_CHECK,
    NPM_INSTALL,
)

READINESS_TOOLS: Mapping[str, tuple[ToolCheck, ...]] = {
    "python": PYTHON_CHECKS,
    "typescript": TYPESCRIPT_CHECKS,
    "javascript": JAVASCRIPT_CHECKS,
}
"""Language → its readiness checks (see the module docstring to add one)."""


def checks_for(language: str) -> tuple[ToolCheck, ...]:
    """The readiness checks of ``language`` (none for a language without tools yet)."""
    return READINESS_TOOLS.get(language, ())
