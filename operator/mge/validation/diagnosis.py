"""Error analysis: classify why an attempt failed and pick out the lines that matter.

The retry prompt feeds this back to the model: attempt 2 gets the summary and the key lines,
attempt 3 a detailed analysis (every failing check, the offending code lines with numbers, and
a hint for that kind of failure). Pure: a ValidationResult and the code in, an analysis out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from mge.models.execution import CheckResult, ValidationResult

MAX_KEY_LINES = 8
"""Lines of error output quoted back in a retry prompt."""

MAX_DETAIL_CHARS = 2000
"""Characters of one check's output quoted in a detailed analysis."""

CODE_CONTEXT_LINES = 2
"""Code lines shown above and below a line an error points at."""


class FailureKind(StrEnum):
    """What kind of failure an attempt had; decides the hint given to the model."""

    NO_CODE = "no_code"
    SYNTAX = "syntax"
    SIGNATURE = "signature"
    IMPORT = "import"
    NAME = "name"
    ATTRIBUTE = "attribute"
    TYPE = "type"
    ASSERTION = "assertion"
    EXCEPTION = "exception"
    TIMEOUT = "timeout"
    RESOURCE = "resource"
    INTEGRATION = "integration"
    UNKNOWN = "unknown"


HINTS: dict[FailureKind, str] = {
    FailureKind.NO_CODE: "Answer with exactly one fenced code block holding the function.",
    FailureKind.SYNTAX: "Fix the syntax at the line shown; keep the signature exactly as given.",
    FailureKind.SIGNATURE: "Keep the signature exactly as in the skeleton: same name, "
    "parameters, types and return type. Change only the body.",
    FailureKind.IMPORT: "Import only the standard library, the project modules named in the "
    "context, or packages of the stack; put an import you need inside the function body.",
    FailureKind.NAME: "A name is not defined: use only parameters, the dependencies shown, and "
    "names you import or define.",
    FailureKind.ATTRIBUTE: "An attribute does not exist on that object: check the dependency "
    "signatures and types in the context.",
    FailureKind.TYPE: "Types do not line up: match the annotated parameter and return types and "
    "the dependency signatures.",
    FailureKind.ASSERTION: "The result differs from what the test expects: re-read the "
    "docstring, the postconditions and the test's expected values.",
    FailureKind.EXCEPTION: "The body raised an exception the tests do not expect: handle the "
    "case shown or respect the preconditions.",
    FailureKind.TIMEOUT: "The body did not finish in time: look for a loop that never ends or "
    "unneeded work.",
    FailureKind.RESOURCE: "The body used too much memory, processes or output: avoid building "
    "huge data and printing.",
    FailureKind.INTEGRATION: "The atom passed its own tests but broke a module test that "
    "combines it with others: check the contract its callers rely on.",
    FailureKind.UNKNOWN: "Re-read the specification and the error output.",
}

# Order matters: the first rule whose pattern matches the failing output wins.
_RULES: tuple[tuple[FailureKind, re.Pattern[str]], ...] = (
    (FailureKind.TIMEOUT, re.compile(r"timed? ?out|TimeoutExpired|wall[- ]clock", re.I)),
    (
        FailureKind.RESOURCE,
        re.compile(
            r"MemoryError|out of memory|OOM|killed|output limit|"
            r"file size|RLIMIT|BlockingIOError|fork",
            re.I,
        ),
    ),
    (
        FailureKind.SYNTAX,
        re.compile(
            r"SyntaxError|IndentationError|TabError|unexpected token|"
            r"syntax error",
            re.I,
        ),
    ),
    (
        FailureKind.IMPORT,
        re.compile(
            r"ModuleNotFoundError|ImportError|No module named|"
            r"Cannot find module|import-not-found|import-untyped"
        ),
    ),
    (FailureKind.NAME, re.compile(r"NameError|is not defined|name-defined|Cannot find name")),
    (
        FailureKind.ATTRIBUTE,
        re.compile(
            r"AttributeError|has no attribute|attr-defined|"
            r"Property '.*' does not exist"
        ),
    ),
    (FailureKind.ASSERTION, re.compile(r"AssertionError|\bassert\b|Expected:|expected .* to")),
    (
        FailureKind.TYPE,
        re.compile(
            r"TypeError|Incompatible|incompatible|\[(arg-type|"
            r"return-value|assignment|call-arg|operator|index|union-attr"
            r"|misc|override|return)\]|error TS\d+"
        ),
    ),
    (FailureKind.EXCEPTION, re.compile(r"Traceback|Error:|Exception|raise")),
)

_BY_CHECK: dict[str, FailureKind] = {
    "generate": FailureKind.NO_CODE,
    "parse": FailureKind.SYNTAX,
    "signature": FailureKind.SIGNATURE,
    "integration": FailureKind.INTEGRATION,
}

_KEY_LINE = re.compile(
    r"^E\s|Error\b|error:|Exception|assert|Traceback|line \d+|:\d+:|expected|Expected|FAILED|"
    r"timed out|killed"
)
_LINE_REF = re.compile(r"(?:line |:)(\d+)(?:[:,]|\b)")


@dataclass(frozen=True)
class FailureAnalysis:
    """Why an attempt failed: a kind, the failing check, a summary and the lines that matter."""

    kind: FailureKind
    check: str
    summary: str
    key_lines: tuple[str, ...] = ()
    code_lines: tuple[str, ...] = ()
    other_failures: tuple[str, ...] = field(default=())

    @property
    def hint(self) -> str:
        """What usually fixes this kind of failure."""
        return HINTS[self.kind]

    def render(self, detailed: bool) -> str:
        """Text for a retry prompt: short for attempt 2, detailed for attempt 3 and later."""
        parts = [f"Failure kind: {self.kind.value} (check `{self.check}`)", self.summary]
        if self.key_lines:
            parts.append("Relevant output:\n" + "\n".join(self.key_lines))
        if detailed:
            if self.code_lines:
                parts.append("Your code where the error points:\n" + "\n".join(self.code_lines))
            if self.other_failures:
                parts.append("Other failing checks:\n" + "\n".join(self.other_failures))
            parts.append("How to fix: " + self.hint)
        return "\n\n".join(parts)


def classify(check: str, text: str) -> FailureKind:
    """The failure kind of a failing check with name ``check`` and output ``text``."""
    if check in _BY_CHECK:
        return _BY_CHECK[check]
    for kind, pattern in _RULES:
        if pattern.search(text):
            return kind
    if check == "types":
        return FailureKind.TYPE
    if check == "import":
        return FailureKind.IMPORT
    return FailureKind.UNKNOWN


def key_lines(text: str, limit: int = MAX_KEY_LINES) -> tuple[str, ...]:
    """The lines of error output worth quoting: error lines, assertions, locations."""
    picked = [ln.rstrip() for ln in text.splitlines() if _KEY_LINE.search(ln)]
    if not picked:
        picked = [ln.rstrip() for ln in text.splitlines() if ln.strip()][-limit:]
    return tuple(_dedupe(picked)[:limit])


def code_context(code: str, text: str, around: int = CODE_CONTEXT_LINES) -> tuple[str, ...]:
    """The numbered code lines near each line number ``text`` mentions that exists in ``code``."""
    lines = code.splitlines()
    wanted: set[int] = set()
    for m in _LINE_REF.finditer(text):
        n = int(m.group(1))
        if 1 <= n <= len(lines):
            wanted.update(range(max(1, n - around), min(len(lines), n + around) + 1))
    return tuple(f"{n:4d} | {lines[n - 1]}" for n in sorted(wanted))


def analyze(result: ValidationResult | None, code: str, error: str = "") -> FailureAnalysis:
    """Analyse a failed attempt.

    ``result`` is the attempt's validation (None when generation itself failed, e.g. no code
    block came back); ``error`` the generation error, if any. The first failing check decides
    the kind; the others are listed for the detailed analysis.
    """
    failing: list[CheckResult] = [c for c in result.checks if not c.passed] if result else []
    if not failing:
        text = error or "the attempt failed without a failing check"
        kind = FailureKind.NO_CODE if result is None else classify("", text)
        first_line = text.strip().splitlines()[0] if text.strip() else text
        return FailureAnalysis(
            kind,
            "generate" if result is None else "unknown",
            first_line,
            key_lines(text),
            code_context(code, text),
        )
    first = failing[0]
    kind = classify(first.name, first.detail)
    summary = _summary(first)
    others = tuple(f"- {c.name}: {_first_line(c.detail)}" for c in failing[1:])
    return FailureAnalysis(
        kind=kind,
        check=first.name,
        summary=summary,
        key_lines=key_lines(first.detail),
        code_lines=code_context(code, first.detail),
        other_failures=others,
    )


def _summary(check: CheckResult) -> str:
    line = _first_error_line(check.detail) or _first_line(check.detail)
    return f"`{check.name}` failed: {line}" if line else f"`{check.name}` failed"


def _first_error_line(text: str) -> str:
    for ln in text.splitlines():
        s = ln.strip()
        if s.startswith("E ") or re.search(r"\w+Error\b|error:", s):
            return s.removeprefix("E ").strip()[:300]
    return ""


def _first_line(text: str) -> str:
    for ln in text.splitlines():
        if ln.strip():
            return ln.strip()[:300]
    return ""


def _dedupe(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for ln in lines:
        if ln not in seen:
            seen.add(ln)
            out.append(ln)
    return out


def truncate(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` cut to ``limit`` characters, keeping the end (where errors usually are)."""
    if len(text) <= limit:
        return text
    return "[…]\n" + text[-(limit - 4) :]
