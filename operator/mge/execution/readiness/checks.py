"""Which tool runs each readiness check, per language: the one table a language extends.

A :class:`ToolCheck` says what to run in the sandbox (an argv whose ``python``/``node`` is the
sandbox's interpreter), which exit codes mean "the tool ran" (0 clean, 1 findings for all of
these), and the pure parser of its output. :data:`READINESS_TOOLS` maps a language to its
checks; a language without an entry runs none and says so in the report. To add TypeScript:
an entry ``"typescript": (ToolCheck("lint", "eslint", …), ToolCheck("types", "tsc", …), …)``
with parsers for their output, and the tools in the sandbox image.

The Python tools are pinned in ``pyproject.toml`` (the ``test`` extra, installed beside MGE for
the local process sandbox) and in ``sandbox-image/requirements.txt`` (the sandbox Job image).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from mge.execution.readiness.install import driver_command
from mge.execution.readiness.parse import (
    BANDIT_TEMPLATE,
    parse_bandit,
    parse_detect_secrets,
    parse_install,
    parse_mypy,
    parse_ruff_check,
    parse_ruff_format,
)
from mge.models.readiness import Finding, ReadinessCheckName

Parser = Callable[[str, Sequence[str]], list[Finding]]

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
    """Distribution name of the tool (its version is reported; a missing one is named)."""
    module: str
    """The module ``python -m`` runs (how a missing tool shows in the sandbox's stderr)."""
    argv: tuple[str, ...]
    parse: Parser
    ok_codes: frozenset[int] = frozenset({0, 1})
    """Exit codes of a run that gave a verdict (anything else is a tool error)."""


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
    ToolCheck(
        "secrets",
        "detect-secrets",
        "detect_secrets",
        ("python", "-m", "detect_secrets", "scan", "--all-files", "--exclude-files", r"^\.mge-"),
        parse_detect_secrets,
        ok_codes=frozenset({0}),
    ),
    ToolCheck("install", "pip", "pip", tuple(driver_command()), parse_install),
)

READINESS_TOOLS: Mapping[str, tuple[ToolCheck, ...]] = {"python": PYTHON_CHECKS}
"""Language → its readiness checks (see the module docstring to add one)."""


def checks_for(language: str) -> tuple[ToolCheck, ...]:
    """The readiness checks of ``language`` (none for a language without tools yet)."""
    return READINESS_TOOLS.get(language, ())
