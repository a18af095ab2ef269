"""Read a JUnit XML report (pytest ``--junitxml`` or ``node --test --test-reporter=junit``).

The report is written by code under test, so it is untrusted: the runner reads at most
:data:`MAX_REPORT_BYTES`, and the stdlib parser (expat ≥ 2.4 refuses entity-expansion bombs)
never fetches external entities. Pure: bytes in, cases out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mge.models.sandbox import MAX_MESSAGE_CHARS, CaseOutcome, CaseStatus

MAX_REPORT_BYTES = 4 * 1024 * 1024
"""A larger report is not parsed (the atom is reported from its exit status and output)."""
_HEAD_CHARS = MAX_MESSAGE_CHARS // 4


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` shortened to ``limit`` characters, keeping its start and (mostly) its end, where
    tracebacks put the failing line."""
    text = text.strip()
    if len(text) <= limit:
        return text
    marker = "\n…\n"
    head = _HEAD_CHARS if limit > _HEAD_CHARS * 2 else limit // 4
    tail = limit - head - len(marker)
    return text[:head] + marker + text[-tail:]


_CHILD_STATUS: tuple[tuple[str, CaseStatus], ...] = (
    ("failure", "failed"),
    ("error", "error"),
    ("skipped", "skipped"),
)


def _status_and_message(case: ET.Element) -> tuple[CaseStatus, str]:
    for tag, status in _CHILD_STATUS:
        el = case.find(tag)
        if el is not None:
            parts = [el.get("message", ""), el.text or ""]
            text = "\n".join(p.strip() for p in parts if p and p.strip())
            return status, clip(text)
    return "passed", ""


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


def parse_junit(data: bytes) -> list[CaseOutcome]:
    """Every ``testcase`` in the report, in document order. ValueError if it is not JUnit XML."""
    if len(data) > MAX_REPORT_BYTES:
        raise ValueError(f"report is {len(data)} bytes, over the {MAX_REPORT_BYTES} limit")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ValueError(f"report is not valid XML: {e}") from e
    if root.tag not in ("testsuites", "testsuite"):
        raise ValueError(f"report root is <{root.tag}>, not <testsuites> or <testsuite>")
    cases = []
    for case in root.iter("testcase"):
        status, message = _status_and_message(case)
        cases.append(
            CaseOutcome(
                name=case.get("name", "")[:500],
                classname=case.get("classname", "")[:500],
                status=status,
                message=message,
                duration_s=_seconds(case.get("time")),
            )
        )
    return cases
