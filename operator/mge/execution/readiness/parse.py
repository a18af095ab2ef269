"""Reading what the readiness tools print: one pure function per tool, output → findings.

Every tool runs with a machine-readable output where it has one (ruff's and bandit's one-line
formats, detect-secrets' baseline JSON, mypy's and tsc's one-line errors, ruff format's unified
diff, ESLint through a one-line formatter of MGE's). Paths come
back absolute (ruff), ``./``-prefixed (bandit) or relative; :func:`known_path` maps each to the
project path it names, so attribution to atoms can compare paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from mge.execution.eslint_config import SECURITY_RULES
from mge.models.readiness import Finding
from mge.validation.tscheck import parse_tsc_output
from mge.validation.typecheck import parse_mypy_output

BANDIT_TEMPLATE = "{relpath}:{line}: {test_id} {severity} {msg}"
"""bandit's ``--msg-template``: one line per issue, read by :func:`parse_bandit`."""
INSTALL_MARKER = "MGE-INSTALL "
"""Prefix of the install driver's result lines (one JSON object each)."""

_HUNK = re.compile(r"^@@ -(?P<start>\d+)(?:,(?P<count>\d+))? \+\d+(?:,\d+)? @@")
_NO_MODULE = re.compile(r"No module named '(?P<name>[\w.]+)'")


def known_path(reported: str, known: Iterable[str]) -> str:
    """The project path ``reported`` names: itself when known, else the known path it ends
    with (``/work/app/x.py`` → ``app/x.py``), else ``reported`` without a leading ``./``."""
    clean = reported.removeprefix("./")
    paths = sorted(known, key=len, reverse=True)
    if clean in paths:
        return clean
    for p in paths:
        if clean.endswith("/" + p):
            return p
    return clean


def _json(text: str) -> Any:
    """The first JSON document in ``text`` (tools may print a warning line before it)."""
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ValueError("no JSON in the tool's output")
    return json.JSONDecoder().raw_decode(text[start:])[0]


_RUFF_LINE = re.compile(
    r"^(?P<path>[^:\n]+):(?P<line>\d+):\d+: (?P<code>[A-Z]+[0-9]+) (?:\[\*\] )?(?P<msg>.*)$"
)
_BANDIT_LINE = re.compile(
    r"^(?P<path>[^:\n]+):(?P<line>\d+): (?P<code>B\d+) (?P<sev>[A-Z]+) (?P<msg>.*)$"
)


def parse_ruff_check(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """``ruff check --output-format=concise``: ``path:line:col: CODE [*] message`` lines
    (a line format, so a tail the sandbox cut still parses)."""
    out = []
    for line in text.splitlines():
        m = _RUFF_LINE.match(line.strip())
        if m:
            out.append(
                Finding(
                    check="lint",
                    rule=m.group("code"),
                    path=known_path(m.group("path"), known),
                    line=int(m.group("line")),
                    message=m.group("msg"),
                )
            )
    return out


def parse_ruff_format(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """``ruff format --check --diff``: one finding per hunk, at the first line of the original
    file that ruff would change (so it falls in the span of the atom it reformats)."""
    out: list[Finding] = []
    path = ""
    old: int | None = None
    pending = False
    for line in text.splitlines():
        if line.startswith("--- "):
            path, old = known_path(line[4:].split("\t")[0].strip(), known), None
            continue
        if line.startswith("+++ "):
            continue
        m = _HUNK.match(line)
        if m:
            old, pending = int(m.group("start")), True
            continue
        if old is None or not path:
            continue
        if line.startswith(("-", "+")) and pending:
            out.append(
                Finding(
                    check="format", path=path, line=old, message="ruff format would change this"
                )
            )
            pending = False
        if not line.startswith("+"):
            old += 1
    return out


def parse_mypy(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """mypy's ``path:line: error: message  [code]`` lines."""
    out = []
    for issue in parse_mypy_output(text):
        message, rule = issue.message, ""
        m = re.search(r"\s+\[(?P<code>[\w-]+)\]$", message)
        if m:
            message, rule = message[: m.start()], m.group("code")
        out.append(
            Finding(
                check="types",
                rule=rule,
                path=known_path(issue.path, known),
                line=issue.line,
                message=message,
            )
        )
    return out


def parse_bandit(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """bandit's custom format ``path:line: B608 MEDIUM message`` (see :data:`BANDIT_TEMPLATE`)."""
    out = []
    for line in text.splitlines():
        m = _BANDIT_LINE.match(line.strip())
        if m:
            out.append(
                Finding(
                    check="security",
                    rule=m.group("code"),
                    path=known_path(m.group("path"), known),
                    line=int(m.group("line")),
                    message=f"{m.group('msg')} (severity {m.group('sev').lower()})",
                )
            )
    return out


def parse_detect_secrets(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """``detect-secrets scan``: a baseline whose ``results`` map file → secrets found
    (the secret itself is never printed, only its type and line)."""
    data = _json(text)
    if not isinstance(data, dict):
        raise ValueError("detect-secrets' JSON output is not an object")
    out = []
    for filename, secrets in sorted((data.get("results") or {}).items()):
        for s in secrets:
            out.append(
                Finding(
                    check="secrets",
                    rule=str(s.get("type", "")),
                    path=known_path(str(filename), known),
                    line=int(s["line_number"]) if "line_number" in s else None,
                    message=f"possible secret ({s.get('type', 'unknown type')})",
                )
            )
    return out


def parse_install(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """The install driver's ``MGE-INSTALL {json}`` lines: one per failed stage."""
    out = []
    for line in text.splitlines():
        if not line.startswith(INSTALL_MARKER):
            continue
        try:
            data = json.loads(line[len(INSTALL_MARKER) :])
        except ValueError:
            continue
        if data.get("ok"):
            continue
        stage = str(data.get("stage", ""))
        detail = str(data.get("detail", "")).strip()
        missing = _NO_MODULE.findall(detail)
        message = f"{stage} failed: {detail[-1500:]}"
        if missing:
            message = (
                f"{stage} failed in a fresh environment: no module named "
                f"{', '.join(sorted(set(missing)))} (declare it in pyproject.toml)\n"
                + detail[-1000:]
            )
        out.append(Finding(check="install", rule=stage, message=message))
    return out


_ESLINT_LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):\d+: (?P<rule>\S+) (?P<msg>.*)$")


def _eslint(text: str, known: Sequence[str], *, security: bool) -> list[Finding]:
    """The formatter's ``path:line:col: rule message`` lines whose rule is (or is not) one of
    :data:`~mge.execution.eslint_config.SECURITY_RULES`."""
    out = []
    for line in text.splitlines():
        m = _ESLINT_LINE.match(line.strip())
        if not m or (m.group("rule") in SECURITY_RULES) != security:
            continue
        rule = m.group("rule")
        out.append(
            Finding(
                check="security" if security else "lint",
                rule=rule,
                path=known_path(m.group("path"), known),
                line=int(m.group("line")) or None,
                message=m.group("msg"),
            )
        )
    return out


def parse_eslint_lint(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """ESLint's problems outside the security rules (the ``lint`` check)."""
    return _eslint(text, known, security=False)


def parse_eslint_security(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """ESLint's problems from the security rules (the ``security`` check)."""
    return _eslint(text, known, security=True)


def parse_tsc(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """``tsc --pretty false``: ``path(line,col): error TS2322: message`` (continuation lines
    join their error)."""
    out = []
    for issue in parse_tsc_output(text):
        message, rule = issue.message, ""
        m = re.search(r"\s+\[(?P<code>TS\d+)\]", message)
        if m:
            message, rule = message[: m.start()] + message[m.end() :], m.group("code")
        out.append(
            Finding(
                check="types",
                rule=rule,
                path=known_path(issue.path, known),
                line=issue.line,
                message=message,
            )
        )
    return out


_PRETTIER_LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): (?P<msg>prettier .*)$")


def parse_prettier(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """MGE's prettier driver: ``path:line: prettier would reformat this`` at the first line of
    each region prettier would change (so it falls in the span of the atom it reformats)."""
    out = []
    for line in text.splitlines():
        m = _PRETTIER_LINE.match(line.strip())
        if m:
            out.append(
                Finding(
                    check="format",
                    path=known_path(m.group("path"), known),
                    line=int(m.group("line")),
                    message=m.group("msg"),
                )
            )
    return out


_NO_PACKAGE = re.compile(r"Cannot find (?:package|module) '(?P<name>[^']+)'")


def parse_npm_install(text: str, known: Sequence[str] = ()) -> list[Finding]:
    """The npm install driver's ``MGE-INSTALL {json}`` lines: one per failed stage (a package
    the fresh copy cannot find is named, with where to declare it)."""
    out = []
    for finding in parse_install(text, known):
        missing = sorted(set(_NO_PACKAGE.findall(finding.message)))
        if missing:
            finding = finding.model_copy(
                update={
                    "message": f"{finding.rule} failed in a fresh install: cannot find "
                    f"{', '.join(missing)} (declare it in package.json)\n{finding.message}"
                }
            )
        out.append(finding)
    return out
