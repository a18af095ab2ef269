"""Rows ↔ models (pure): how each domain model is laid out in its table and read back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mge.models import (
    AtomicityReport,
    AtomicUnit,
    AtomState,
    Attempt,
    ConfidenceParts,
    ProjectSpec,
    ReviewItem,
    Task,
    Usage,
    ValidationResult,
)
from mge.models.execution import CheckResult
from mge.store.codec import content_hash, to_document
from mge.store.records import StoredAtom, StoredProject

__all__ = [
    "atom_from_row",
    "atom_row",
    "attempt_from_row",
    "attempt_key",
    "attempt_row",
    "ledger_row",
    "project_from_row",
    "review_from_row",
    "review_row",
    "task_row",
    "usage_columns",
    "validation_from_row",
    "validation_row",
]

Row = Mapping[Any, Any]


def usage_columns(usage: Usage) -> dict[str, int]:
    """The four token columns shared by ``attempts`` and ``cost_ledger``."""
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
    }


def _usage_from(row: Row) -> Usage:
    return Usage(
        input_tokens=int(row["input_tokens"] or 0),
        output_tokens=int(row["output_tokens"] or 0),
        cache_read_tokens=int(row["cache_read_tokens"] or 0),
        cache_write_tokens=int(row["cache_write_tokens"] or 0),
    )


def project_from_row(row: Row) -> StoredProject:
    """A ``projects`` row as a StoredProject."""
    return StoredProject(
        key=row["key"],
        spec=ProjectSpec.model_validate(row["spec"]),
        spec_hash=row["spec_hash"],
        generation=int(row["generation"]),
        phase=row["phase"],
        summary=dict(row["summary"] or {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def task_row(project: str, position: int, task: Task, now: datetime) -> dict[str, Any]:
    """A ``tasks`` row."""
    return {
        "project": project,
        "id": task.id,
        "position": position,
        "title": task.title,
        "role": task.role,
        "data": to_document(task),
        "updated_at": now,
    }


def atom_row(project: str, unit: AtomicUnit, level: int | None, now: datetime) -> dict[str, Any]:
    """The planned part of an ``atoms`` row (no state, code or timestamps of creation)."""
    return {
        "project": project,
        "id": unit.id,
        "task_id": unit.task_id,
        "file": unit.file,
        "qualname": unit.qualname,
        "level": level,
        "unit": to_document(unit),
        "unit_hash": content_hash(unit),
        "updated_at": now,
    }


def atom_from_row(row: Row) -> StoredAtom:
    """An ``atoms`` row as a StoredAtom."""
    report = row["atomicity"]
    confidence = row["confidence"]
    return StoredAtom(
        unit=AtomicUnit.model_validate(row["unit"]),
        state=AtomState(row["state"]),
        level=None if row["level"] is None else int(row["level"]),
        code=row["code"],
        atomicity=None if report is None else AtomicityReport.model_validate(report),
        confidence=None if confidence is None else float(confidence),
        unit_hash=row["unit_hash"],
        updated_at=row["updated_at"],
    )


def attempt_row(project: str, attempt: Attempt, now: datetime) -> dict[str, Any]:
    """An ``attempts`` row."""
    return {
        "project": project,
        "atom_id": attempt.atom_id,
        "number": attempt.number,
        "temperature": attempt.temperature,
        "prompt_hash": attempt.prompt_hash,
        "code": attempt.code,
        "validation": None if attempt.validation is None else to_document(attempt.validation),
        **usage_columns(attempt.usage),
        "cost_usd": attempt.cost_usd,
        "duration_s": attempt.duration_s,
        "error": attempt.error,
        "created_at": now,
    }


def attempt_from_row(row: Row) -> Attempt:
    """An ``attempts`` row as an Attempt."""
    validation = row["validation"]
    return Attempt(
        atom_id=row["atom_id"],
        number=int(row["number"]),
        temperature=float(row["temperature"]),
        prompt_hash=row["prompt_hash"],
        code=row["code"],
        validation=None if validation is None else ValidationResult.model_validate(validation),
        usage=_usage_from(row),
        cost_usd=float(row["cost_usd"]),
        duration_s=float(row["duration_s"]),
        error=row["error"],
    )


def attempt_key(attempt: Attempt) -> str:
    """Identity of an attempt's ledger row: the same attempt recorded twice is charged once."""
    return f"{attempt.atom_id}#{attempt.number}#{attempt.prompt_hash}"


def ledger_row(
    project: str | None,
    request_key: str,
    *,
    model: str,
    provider: str,
    usage: Usage,
    cost_usd: float,
    now: datetime,
    attempt: str | None = None,
) -> dict[str, Any]:
    """A ``cost_ledger`` row."""
    return {
        "project": project,
        "request_key": request_key,
        "model": model,
        "provider": provider,
        **usage_columns(usage),
        "cost_usd": cost_usd,
        "attempt_key": attempt,
        "at": now,
    }


def validation_row(project: str, result: ValidationResult, now: datetime) -> dict[str, Any]:
    """A ``validations`` row."""
    return {
        "project": project,
        "level": result.level,
        "subject": result.subject,
        "passed": result.passed,
        "checks": [to_document(c) for c in result.checks],
        "created_at": now,
    }


def validation_from_row(row: Row) -> ValidationResult:
    """A ``validations`` row as a ValidationResult."""
    return ValidationResult(
        level=row["level"],
        subject=row["subject"],
        passed=bool(row["passed"]),
        checks=[CheckResult.model_validate(c) for c in row["checks"]],
    )


def review_row(project: str, item: ReviewItem, now: datetime) -> dict[str, Any]:
    """A ``review_items`` row (without created_at, which an update must keep)."""
    return {
        "project": project,
        "atom_id": item.atom_id,
        "reason": item.reason,
        "code": item.code,
        "confidence": to_document(item.confidence),
        "confidence_score": item.confidence.score,
        "context_summary": item.context_summary,
        "suggestion": item.suggestion,
        "decision": item.decision,
        "edited_code": item.edited_code,
        "feedback": item.feedback,
        "decided_by": item.decided_by,
        "decided_at": item.decided_at,
        "updated_at": now,
    }


def review_from_row(row: Row) -> ReviewItem:
    """A ``review_items`` row as a ReviewItem."""
    return ReviewItem(
        atom_id=row["atom_id"],
        reason=row["reason"],
        code=row["code"],
        confidence=ConfidenceParts.model_validate(row["confidence"]),
        context_summary=row["context_summary"],
        suggestion=row["suggestion"],
        decision=row["decision"],
        edited_code=row["edited_code"],
        feedback=row["feedback"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
    )
