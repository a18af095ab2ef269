"""Atoms: the ~10-line units MGE generates one at a time, and the edges between them."""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from typing import Literal

from pydantic import Field

from mge.models.base import WireModel

AtomKind = Literal["function", "method", "statements", "class", "module"]
EdgeKind = Literal["import", "call", "type", "data"]


def atom_id(file: str, qualname: str) -> str:
    """Stable atom id from file and qualified name (never a counter).

    Readable prefix plus a short hash, so ids survive re-runs and are safe as Kubernetes names.
    """
    digest = hashlib.sha256(f"{file}::{qualname}".encode()).hexdigest()[:10]
    tail = re.sub(r"[^a-z0-9]+", "-", qualname.lower())[-40:].strip("-")
    return f"{tail}-{digest}" if tail else digest


class AtomState(StrEnum):
    """Where an atom is in its life."""

    PENDING = "pending"
    GENERATING = "generating"
    VALIDATED = "validated"
    FAILED = "failed"
    IN_REVIEW = "in_review"
    APPROVED = "approved"


class Span(WireModel):
    """1-based inclusive line span in a file."""

    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)


class ContextPack(WireModel):
    """What the generator is told about an atom besides its signature."""

    types: list[str] = Field(default_factory=list, description="Schemas/types the atom uses.")
    dependency_signatures: list[str] = Field(default_factory=list)
    preconditions: list[str] = Field(default_factory=list)
    postconditions: list[str] = Field(default_factory=list)
    tests: list[str] = Field(default_factory=list, description="Test source that exercises it.")
    completeness: float = Field(default=0.0, ge=0.0, le=1.0)
    missing: list[str] = Field(default_factory=list, description="What the context lacks.")


class AtomicUnit(WireModel):
    """One atom: a function/method body (or statement group) to write, with its contract."""

    id: str
    task_id: str | None = None
    file: str
    language: Literal["python", "typescript", "javascript"]
    kind: AtomKind
    qualname: str
    signature: str
    spec: str = Field(default="", description="Docstring/JSDoc: what the body must do.")
    preconditions: list[str] = Field(default_factory=list)
    postconditions: list[str] = Field(default_factory=list)
    test_cases: list[str] = Field(default_factory=list, description="Names of tests covering it.")
    estimated_loc: int = Field(ge=0)
    complexity: int = Field(ge=1)
    dependencies: list[str] = Field(default_factory=list, description="Atom ids it needs.")
    span: Span | None = None
    parent: str | None = Field(default=None, description="Atom id this was split from.")
    context: ContextPack = Field(default_factory=ContextPack)


class Edge(WireModel):
    """A dependency: ``src`` needs ``dst`` (so ``dst`` is generated first)."""

    src: str
    dst: str
    kind: EdgeKind


class CriterionResult(WireModel):
    """One named atomicity criterion, passed or not, and why."""

    name: str
    passed: bool
    reason: str


class AtomicityReport(WireModel):
    """The atomicity validator's verdict on one atom."""

    atom_id: str
    criteria: list[CriterionResult]

    @property
    def passed(self) -> bool:
        """True when every criterion passed."""
        return all(c.passed for c in self.criteria)
